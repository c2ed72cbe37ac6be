"""A postal address, as a candidate or a recruiter typed it -> the place a profile would name.

Greenhouse keeps an address as one free-text value. People write their own address in their
country's postal format and seldom add the country, so the city has to be found by where
each format puts it rather than by position. Lines are split at commas, semicolons, bars and
line breaks; only the first 500 characters are read.

* "8 stanley street, miami, winston hills NSW 4223", "350 5th Ave New York NY 10118": a
  locality, a US state, Canadian province or Australian state code and its postcode at the end
  of a line (``_locality``). The code says the country.
* Everywhere else the city is written next to the postcode: after it in most of Europe and
  Latin America ("10115 Berlin", "1015 CJ Amsterdam", "00-001 Warszawa", "H-7317
  Mátrafüred"), before it in the UK, India and much of Asia ("London SW1A 2AA",
  "Bhagalpur-706690", "221B Baker Street London NW1 6XE"). A postcode on a line of its own has
  its city on the line after it (the Netherlands, Italy's "56011, Gabella (PI)") unless that
  line is a region or a country, else on a line before it ("North Holly, S6 7LJ", "Madrid,
  02857", "Austin, 78701, Texas"). A region, county or country may stand beside the postcode
  instead ("Johnsonfurt, NE 80119", "Bengaluru, Karnataka 560001", "Bangalore, India 560001"):
  then the city is on a line before it. Where every candidate line is named like something above
  a city, the one named like the least is taken (``_rank``: "Berlin, Germany, 10115").
* A street line, a flat or floor with its number ("Flat 2", "2nd Floor"), and a number starting
  the first of several lines (a house number: "4500 El Camino Real, Los Altos, CA") are never
  read as the city or the postcode. "St." and "Ste." before a name are saints, not streets.
* The region or country found beside the city is kept after it, and where the address names no
  country, a postcode only one country writes in its shape says it ("SW1A 2AA", "01310-100").

Without a postcode the address is read as a place already ("Leeds, West Yorkshire, United
Kingdom", "Austin, TX"): street lines (by the common street words) and numbers are dropped and
the rest is left to ``location.location_struct``, which reads the first part as the city.

The result is place text for ``location.location_struct``: the city, then what stands above it
(a region, a country), else the postcode ("Berlin, 10115", "Gurugram, Haryana, India",
"London, United Kingdom"). The postcode stands last so that a city alone is never read as a
country ("Granada" alone is Grenada in Spanish); a city-state's name alone is ("Singapore").
"""
from __future__ import annotations

import re
from functools import lru_cache

from unidecode import unidecode

from connect_pipeline.normalise.location import AU_STATES, CA_PROVINCES, US_STATES, country_lookup

_MAX_ADDRESS = 500  # characters read: no postal address is longer, and the rules stay cheap

# Street words of English and the common European ones: without a postcode, a line holding one
# (or a leading house number) is dropped as a street, since such an address is mostly a place.
# (Flats, floors and boxes are ``_UNIT``'s: "FL" and "SC" are states too.)
_COMMON_STREET_WORDS = (
    r"st|street|ave|avenue|rd|road|blvd|boulevard|lane|ln|drive|dr|way|pkwy|parkway|ct|court|"
    r"pl|place|sq|square|hwy|highway|str|strasse|straße|"
    r"calle|avenida|rua|rue|via|viale|ul|ulica|plaza|carrera|weg|gasse|platz"
)
# Beside a postcode, more languages' words, and the endings Germanic and Nordic street names are
# written with ("Drubinstraße 47", "Dampfærgevej 77", "Skolvägen 76", "Keizersgracht 123").
_MORE_STREET_WORDS = (
    r"crescent|cres|close|terrace|tce|grove|gardens|mews|row|walk|circle|cir|trail|alley|laneway|"
    r"esplanade|parade|pde|quay|wharf|pike|allee|ring|damm|ufer|avda|av|chemin|impasse|allée|quai|"
    r"cours|piazza|corso|vicolo|strada|largo|travessa|praça|alameda|rodovia|estrada|diagonal|"
    r"transversal|jalan|jln|ulice|aleja|náměstí|nám|trg|cesta|utca|út|tér|sokak|cadde|caddesi|"
    r"intrarea|calea|bulevardul|soseaua|straat|laan|gracht|singel|plein|kade|dreef|steeg|vej|gade|"
    r"gata|gatan|vägen|väg|veien|vegen|gaten|katu|kuja|tie|polku|kaari|marg"
)
_STREET_ENDINGS = (
    r"straße|strasse|str\.|gasse|weg|platz|allee|vej|gade|gatan|vägen|veien|vegen|gata|katu|kuja|tie|"
    r"polku|gracht|straat|laan|singel|plein|kade|utca|ova|ská|ká"
)
_COMMON_STREET = re.compile(rf"\b(?:{_COMMON_STREET_WORDS})\b\.?", re.IGNORECASE)
_STREET = re.compile(
    rf"\b(?:{_COMMON_STREET_WORDS}|{_MORE_STREET_WORDS})\b\.?|\w(?:{_STREET_ENDINGS})\s+\d", re.IGNORECASE
)
# "St. Albans", "Sault Ste. Marie", "Fort St. John": a saint before a name, not a street.
_SAINT = re.compile(r"\b(?i:st|ste|saint|sainte)\b\.?\s+(?=[A-Z])")
_LEADING_NUMBER = re.compile(r"^\d+[a-z]?\s+\S+\s+\S+", re.IGNORECASE)
# A flat, floor, building or box, with its number or letter: never the city. Without one the
# word may be a town's ("Flat Rock", "Block Island", "Interior").
_UNIT = re.compile(
    r"^\s*(?:(?:\d+(?:st|nd|rd|th)|ground|first|second|third|top|upper|lower|basement)\s+(?:floor|fl|level)\b"
    r"|(?:apt|apartment|flat|unit|suite|ste|room|rm|floor|fl|level|lvl|building|bldg|block|blk|"
    r"house\s+no|h\.?\s*no|no|nr|piso|depto|dpto|departamento|andar|bl|sc|ap|"
    r"interior|int|oficina|office|sector|plot|door|p\.?\s*o\.?\s*box|postfach)\b\.?\s*(?:#\s*)?"
    r"(?:\w*\d\w*|[a-z](?:\s|$))|#\s*\d|c/o\b)",
    re.IGNORECASE,
)
# A house number somewhere in a line ("Grammova 8", "Erlerstraße 7/6", "47-26", "8a", "Nº 1177").
_HOUSE_NUMBER = re.compile(r"(?:^|\s)(?:n[º°o]\.?\s*)?\d{1,4}[a-z]?(?:[/-]\d{1,4}[a-z]?)?(?=\s|$)", re.IGNORECASE)

# Postcode shapes, most specific first, with the one country that writes a postcode so, where
# only one does (the country an address leaves out). Not the Netherlands' "1234 AB": a US house
# number and its compass point, "1234 NE", look the same.
_POSTCODE_SHAPES: tuple[tuple[str, str | None], ...] = (
    (r"[a-z]{1,2}\d[a-z\d]?\s?\d[a-z]{2}", "United Kingdom"),  # SW1A 2AA, S6 7LJ
    (r"[a-z]\d[a-z]\s?\d[a-z]\d", "Canada"),  # M5X 1A9
    (r"[ac-fhknprtv-y]\d{2}\s?[ac-fhknprtv-y\d]{4}", "Ireland"),  # Eircode: D02 X285
    (r"\d{4}\s?[a-z]{2}(?![\w])", None),  # the Netherlands: 1015 CJ
    (r"\d{5}-\d{4}", "United States"),  # ZIP+4
    (r"\d{5}-\d{3}", "Brazil"),  # 01310-100
    (r"\d{4}-\d{3}", "Portugal"),  # 1170-669
    (r"(?:[a-z]{1,2}-)?\d{4,6}", None),  # 10115, 75002, H-7317
    (r"\d{7,8}", None),  # Chile; Brazil without its hyphen
    (r"\d{3}-\d{4}", "Japan"),  # 150-0002
    (r"\d{3}\s\d{2}", None),  # Sweden, Czechia, Slovakia, Greece: 111 22
    (r"\d{2}-\d{3}", "Poland"),  # 00-001
)
# each a whole token: no letter or digit touches it
_POSTCODE = re.compile(
    r"(?<!\w)(?<!\d-)(?:" + "|".join(shape for shape, _ in _POSTCODE_SHAPES) + r")(?![\w])", re.IGNORECASE
)
_POSTCODE_COUNTRIES = tuple(
    (re.compile(shape, re.IGNORECASE), country) for shape, country in _POSTCODE_SHAPES if country
)
_REGION_CODES = frozenset({*US_STATES, *CA_PROVINCES, *AU_STATES})
_REGION_NAMES = frozenset({*US_STATES.values(), *CA_PROVINCES.values(), *AU_STATES.values()})
# The UK's metropolitan and ceremonial counties that ISO 3166-2 does not list (it lists their
# districts), as addresses still write them; Irish counties are written "County Cork", "Co. Cork".
_UK_COUNTIES = frozenset({
    "greater manchester", "merseyside", "south yorkshire", "west yorkshire", "north yorkshire",
    "tyne and wear", "west midlands", "greater london", "berkshire", "cheshire", "bedfordshire",
    "middlesex", "avon", "cleveland", "humberside", "county durham", "east riding of yorkshire",
    "east sussex", "west sussex",
})
_IRISH_COUNTY = re.compile(r"^(?:county|co\.?)\s+\w", re.IGNORECASE)
# The postcodes that follow a US, Canadian or Australian state code: AU 4 digits, US 5 or ZIP+4,
# Canadian A1A 1A1 (one token or two).
_STATE_POSTCODE = re.compile(r"\d{4}|\d{5}(?:-\d{4})?|[a-z]\d[a-z]\s?\d[a-z]\d", re.IGNORECASE)
# A region's code written after a city, in capitals: "Gabella (PI)", "São Paulo - SP", "Nunes /
# GO", "Roma RM" (case matters: "Berg en Dal" and "Mühldorf am Inn" end in a name). In text in
# capitals throughout only the marked forms are codes (``_MARKED_CODE``: "BAD EMS" is a town).
_MARKED = r"\s*\(\s*[A-Z]{2,4}\s*\)|\s+[-/]\s*[A-Z]{2,3}"
_MARKED_CODE = re.compile(rf"(?:{_MARKED})\s*$")
_TRAILING_CODE = re.compile(rf"(?:{_MARKED}|\s+[A-Z]{{2,3}})\s*$")
_EDGE = " ,.;:-/|#\t"
# Countries that are one city: beside a postcode their name is still read as the country, as a
# profile's "Singapore" is.
_CITY_STATES = frozenset({"singapore", "monaco", "luxembourg", "hong kong", "macau", "macao", "gibraltar",
                          "san marino", "vatican city", "kuwait", "djibouti"})
# Subdivision kinds that sit above a city. Beside a postcode, a line named like one is read as
# the region when another line can be the city ("Bengaluru, Karnataka 560001"), and as the city
# when none can ("Granada, 25059": a Spanish province too); see ``_city_by_postcode``.
_WIDE_REGIONS = frozenset({
    "state", "province", "region", "department", "territory", "autonomous region",
    "governorate", "oblast", "voivodship", "autonomous community", "regional state", "division",
    "administrative region", "county", "two-tier county", "canton", "land", "emirate",
})


def address_place(address: str) -> str:
    """Place text for ``location.location_struct`` from one postal address (see the module
    docstring); "" when nothing in it can be a place."""
    parts = [" ".join(p.split()).strip(" ,;:|") for p in re.split(r"[,\n;|]+", address[:_MAX_ADDRESS])]
    parts = [p for p in parts if p]
    # a "locality STATE postcode" line, or a locality and then "STATE postcode" ("Columbia, SC
    # 29201": read before units, since "SC" and "FL" are also a unit's words)
    for i in range(len(parts) - 1, -1, -1):
        place = _locality(parts[i]) or (_locality(f"{parts[i - 1]} {parts[i]}") if i and _is_state_line(parts[i]) else None)
        if place is not None:
            return ", ".join([place, *parts[i + 1:]]) if "Australia" not in place else place
    parts = [p for p in parts if not _is_unit(p)]
    country = parts[-1] if parts and _is_country(parts[-1]) else None  # a country is written last
    found = _city_by_postcode(parts[:-1] if country else parts)
    if found is not None:
        city, region, postcode = found
        if _fold(city) in _CITY_STATES:  # "10 Anson Road, Singapore 079903": read as the country
            return city
        country = country or _country_of_postcode(postcode)
        # else the postcode stands in for the unknown country, so a city named like a country in
        # some language ("Granada", Spanish for Grenada) is still read as the city
        return ", ".join(x for x in (city, region, country or (None if region else postcode)) if x)
    # no postcode: a place already ("Leeds, West Yorkshire, UK"), perhaps after a street line
    kept = (_without_numbers(p) for p in parts if p is country  # "PL" is Poland's, not a "pl." (place)
            or not _COMMON_STREET.search(_SAINT.sub("", p)) and not _LEADING_NUMBER.match(p))
    return ", ".join(p for p in kept if p)


def _country_of_postcode(postcode: str) -> str | None:
    """The country whose postcodes alone take this shape ("SW1A 2AA", "01310-100"), or None
    (most countries write four to six digits)."""
    return next((country for shape, country in _POSTCODE_COUNTRIES if shape.fullmatch(postcode)), None)


def _city_by_postcode(parts: list[str]) -> tuple[str, str | None, str] | None:
    """(city, the region or country written between it and the postcode or after it, or None,
    the postcode) by the address's last postcode; None when no line holds one."""
    for i in range(len(parts) - 1, -1, -1):
        found = _postcode_in(parts[i], first_line=i == 0 and len(parts) > 1)
        if found is None:
            continue
        postcode, before = found.group(0), parts[i][: found.start()]
        after_street = _after_street_word(before)  # "221B Baker Street London NW1 6XE"
        before_words = _city_words(after_street if after_street is not None else "" if _is_street(before) else before)
        after_words, after_country = _split_country(_city_words(parts[i][found.end():]))
        if after_words and not (before_words and _above_city(after_words)):  # "10115 Berlin Germany"
            return after_words, after_country, postcode
        if before_words and not _above_city(before_words):  # "London SW1A 2AA", "Paris 75002 France"
            return before_words, _joined(after_words, after_country), postcode
        above = before_words or None  # "Johnsonfurt, NE 80119", "Bangalore, India 560001"
        following = next((p for p in parts[i + 1:] if _city_words(p)), None)
        earlier = [p for p in reversed(parts[:i]) if not _is_street(p) and _city_words(p)]
        # a postcode alone on its line has its city on the line after it ("1317 YB, Wirdum",
        # "56011, Gabella (PI)"), unless that line is a region or a country: then on the line
        # before it ("Austin, 78701, Texas", "North Holly, S6 7LJ", "Madrid, 02857"). Where every
        # line is named like something above a city, the likeliest city is the one named like the
        # least above it, nearest first ("Berlin, Germany, 10115": Berlin is a German Land too;
        # "Granada, 25059": Spanish for Grenada, and a Spanish province).
        if above is None and following is not None and _rank(following) == 0:
            return _city_words(following), None, postcode
        candidates = earlier + ([following] if above is None and following is not None else [])
        if not candidates:  # "Calle Mayor 10, Granada 18001": named like a region and a country
            return (before_words, None, postcode) if before_words and not _is_code(before_words) else None
        city_line = min(candidates, key=lambda p: (_rank(p), candidates.index(p)))
        if above is None and following is not None and following is not city_line:
            above = _city_words(following)
        elif above is None and city_line in earlier:  # "East Tony, VIC, 2609": the region between
            above = next((_city_words(p) for p in earlier[: earlier.index(city_line)] if _rank(p)), None)
        city = _city_words(city_line)
        # "New York, New York 10001" keeps its state; "Granada, Granada" would read as Grenada
        kept = above and (_fold(above) != _fold(city) or _fold(above) in _REGION_NAMES)
        return city, (above if kept else None), postcode
    return None


def _split_country(words: str) -> tuple[str, str | None]:
    """Words and the country that ends them, typed on one line: "Berlin Germany" -> ("Berlin",
    "Germany"); a country alone is left as the words (a city named like one, "Granada")."""
    tokens = words.split()
    for n in (3, 2, 1):
        if len(tokens) > n and _is_country(" ".join(tokens[-n:])):
            return " ".join(tokens[:-n]), " ".join(tokens[-n:])
    return words, None


def _joined(*texts: str | None) -> str | None:
    return ", ".join(t for t in texts if t) or None


def _rank(text: str) -> int:
    """How far above a city a line is named: 0 a city's name, 1 a region's name (many are a
    city's too: "Madrid", "Berlin", "Cork"), 2 a region's code or a county, 3 a country."""
    words = text.strip(_EDGE)
    if _is_country(words):
        return 3
    if _is_code(words) or _IRISH_COUNTY.match(words) or _fold(words) in _UK_COUNTIES:
        return 2
    return 1 if _region(words) else 0


def _above_city(text: str) -> bool:
    """A region, county or country: what an address writes after its city."""
    return _rank(text) > 0


def _postcode_in(part: str, first_line: bool) -> re.Match[str] | None:
    """The last postcode on a line, not counting a street's house number: after a street word
    only ("17 O'Rafferty Street W31AWX4 Roisin Ville"), and never a number that starts the first
    of several lines ("1234 NE Broadway, Portland, OR", "4500 El Camino Real, Los Altos, CA":
    where a postcode starts a line, the street came before it)."""
    if not _POSTCODE.fullmatch(part.strip()):
        after = _after_street_word(part)
        if after is not None:
            return _last_postcode(part, offset=len(part) - len(after))
    found = _last_postcode(part)
    if found is not None and found.start() == 0 and (first_line or _ends_in_state(part[found.end():])):
        return None  # ... or one line ending in a US, Canadian or Australian state: "1234 NE Broadway Portland OR"
    return found


def _is_state_line(part: str) -> bool:
    """A US, Canadian or Australian state's code with its postcode: "SC 29201". (Not a code
    alone: "Toronto, Ontario, CA" ends in Canada's, "Berlin, Berlin, DE" in Germany's.)"""
    words = part.split()
    return len(words) >= 2 and words[0].rstrip(".").lower() in _REGION_CODES and (
        _STATE_POSTCODE.fullmatch(" ".join(words[1:])) is not None
    )


def _ends_in_state(text: str) -> bool:
    """A city and a US, Canadian or Australian state's code after it, as a US one-liner ends
    ("... Portland OR"); not a Brazilian state's after its slash ("... Nunes / PR")."""
    words = text.split()
    return len(words) >= 2 and words[-1].rstrip(".").lower() in _REGION_CODES and words[-2].isalpha()


def _last_match(pattern: re.Pattern[str], text: str, offset: int = 0) -> re.Match[str] | None:
    found = None
    for found in pattern.finditer(text, offset):
        pass
    return found


def _last_postcode(part: str, offset: int = 0) -> re.Match[str] | None:
    return _last_match(_POSTCODE, part, offset)


def _after_street_word(part: str) -> str | None:
    """What follows a line's last street word, or None when the line is a street by its number
    alone."""
    found = _last_match(_STREET, part)
    # a street word starting the line is a saint's ("St. Albans 1234"): "Baker St London" is not
    return part[found.end():] if found and found.start() > 0 else None


def _city_words(text: str) -> str:
    """The words of a city: a region's code after it, parenthesised asides ("Frankfurt (Oder)",
    "Montréal (Québec)", as a profile's are dropped) and stray punctuation dropped."""
    text = text.strip(_EDGE)
    if re.search(r"[^\W\d_]['’.]?[\s(/-]+[A-Z]{2,3}\)?$", text):  # a code after a name, never a name alone
        # in capitals throughout, a last short word is a name's ("SOUTHEND ON SEA", "BAD EMS"):
        # only a code in brackets or after a spaced dash or slash is one
        text = (_TRAILING_CODE if re.search(r"[a-z]", text) else _MARKED_CODE).sub("", text)
    text = re.sub(r"\s*\([^()]*\)?", " ", text).strip(_EDGE)
    return text if re.search(r"[^\W\d_]", text) else ""


def _is_code(text: str) -> bool:
    """Two or three capitals on their own, dots aside ("NE", "AGS", "U.P.", also "UK"), or a
    US, Canadian or Australian region's code in any case. A city written in capitals may look
    the same ("ULM"); callers ask only of what stands beside a city or a postcode."""
    words = text.strip(_EDGE).replace(".", "")  # "U.P."
    return bool(re.fullmatch(r"[A-Z]{2,3}", words)) or words.lower() in _REGION_CODES


def _region(text: str) -> bool:
    """A state or region, by its code (``_is_code``) or its name ("Karnataka", "Sumatera
    Barat"). Many are also a city's name ("Madrid", "Berlin", "São Paulo"), which is why a
    region is only passed over for another line that can be the city."""
    folded = _fold(text.strip(_EDGE))
    return _is_code(text) or folded in _REGION_NAMES or folded in _region_names()


def _fold(text: str) -> str:
    """Lower-case ASCII words, apostrophes dropped as ``names.name_key`` drops them ("Côte
    d'Ivoire" -> "cote divoire"): the lookups below are folded by this same function as the
    text looked up in them (a per-string fold; ``name_key`` is vectorised, for columns). Not
    cached: what it folds is a candidate's address."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", unidecode(text).lower().replace("'", "").replace("’", "")).split())


@lru_cache(maxsize=1)
def _region_names() -> frozenset[str]:
    """Folded names of the world's states, provinces and regions (ISO 3166-2, from pycountry),
    in their own language and in every language pycountry translates them into ("Bayern",
    "Bavaria", "Bavière")."""
    import gettext
    from pathlib import Path

    import pycountry

    names = [s.name for s in pycountry.subdivisions if s.type.lower() in _WIDE_REGIONS]
    languages = sorted(p.parent.parent.name for p in Path(pycountry.LOCALES_DIR).glob("*/LC_MESSAGES/iso3166-2.mo"))
    translated = {
        catalog.gettext(name)
        for catalog in (gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=[lang]) for lang in languages)
        for name in names
    }
    return frozenset(_fold(name) for name in {*names, *translated})


@lru_cache(maxsize=1)
def _country_names() -> frozenset[str]:
    return frozenset(_fold(name) for name in country_lookup()[0])


def _is_country(part: str) -> bool:
    """A country's name or code in any language, but not a US, Canadian or Australian region's
    code ("CA", "IN", "DE" after a US city are states), as ``location.location_struct`` reads
    two parts."""
    return part.strip(_EDGE).lower() not in _REGION_CODES and _fold(part) in _country_names()


def _is_unit(part: str) -> bool:
    """A flat or building line with its number, unless a postcode follows on it ("Apt 4 10115
    Berlin" typed without its comma keeps its city)."""
    unit = _UNIT.match(part)
    return unit is not None and not _POSTCODE.search(part, unit.end())


def _is_street(part: str) -> bool:
    if _POSTCODE.fullmatch(part.strip()):  # "6554 CT" is a Dutch postcode, not a court
        return False
    part = _SAINT.sub("", part)
    return bool(_STREET.search(part)) or bool(_LEADING_NUMBER.match(part)) or (
        bool(_HOUSE_NUMBER.search(part)) and not _POSTCODE.search(part)
    )


def _without_numbers(part: str) -> str:
    return " ".join(w for w in part.split() if not any(ch.isdigit() for ch in w))


def _locality(part: str) -> str | None:
    """ "winston hills NSW 4223" -> "winston hills, New South Wales, Australia"; "Austin TX 78701"
    -> "Austin, TX"; None when the part does not end in a state or province code (and perhaps
    its postcode) after a locality without digits.

    Four-digit postcodes are Australian, which settles the codes Australia shares with others
    ("WA 6000" is Western Australia, "WA 98101" Washington). Read token by token from the end:
    a regular expression with the locality's words free backtracks without end on long text.
    """
    words = part.split()
    postcode = None
    if len(words) >= 3 and _STATE_POSTCODE.fullmatch(" ".join(words[-2:])):  # "K1A 0B1"
        postcode, words = " ".join(words[-2:]), words[:-2]
    elif len(words) >= 2 and _STATE_POSTCODE.fullmatch(words[-1]):
        postcode, words = words[-1], words[:-1]
    if len(words) < 2:
        return None
    code = words[-1].rstrip(".").lower()
    # typed on one line, the house number and the street come first: "350 5th Ave New York NY
    # 10118" (without a number, a street word is a place's own: "raymond terrace", "st albans")
    numbered = any(ch.isdigit() for w in words[:-1] for ch in w)
    ends = [n for n, w in enumerate(words[:-1]) if numbered and _STREET.fullmatch(w)]
    locality = " ".join(words[ends[-1] + 1 if ends else 0:-1]).strip(" ,")
    if code not in _REGION_CODES or any(ch.isdigit() for ch in locality) or not re.search(r"[^\W\d_]", locality):
        return None
    australian = code in AU_STATES and (
        (postcode is not None and len(postcode) == 4) or code not in US_STATES and code not in CA_PROVINCES
    )
    if australian:
        return f"{locality}, {AU_STATES[code]}, Australia"
    if code in US_STATES or code in CA_PROVINCES:
        return f"{locality}, {code.upper()}"
    return None
