"""Free-text locations -> (city, country) matching keys.

Profiles say "City, Region, Country"; ATS addresses are whatever a recruiter typed, often a full
postal address or a US-style "Austin, TX". The country is given as ISO 3166 alpha-2 (lower-case)
whenever the text names one in any common language or spelling ("Deutschland", "U.S.A.",
"United Kingdom", "UK", "England"); the names come from the phonenumbers locale data, so every
region is covered. With three or more parts the last one is the country (unrecognised ones are
kept as folded text); with two parts a US state, Canadian province or Australian state is tried first (so
"Austin, TX" is the US and "Wilmington, DE" is Delaware, not Germany), then a country; a single
part is a country if it names one, else a city. City keys drop metro-area wording ("Greater
London Area" -> "london", "San Francisco Bay Area" -> "san francisco"), and "Remote",
"Anywhere" and the like are no city (``NOT_A_CITY``).
"""

from __future__ import annotations

from functools import lru_cache

import polars as pl

from connect_pipeline.normalise.names import name_key

_EXTRA_COUNTRY_ALIASES: dict[str, str] = {
    "usa": "us", "us": "us", "u s": "us", "u s a": "us", "united states of america": "us",
    "america": "us", "estados unidos": "us", "etats unis": "us", "vereinigte staaten": "us",
    "uk": "gb", "u k": "gb", "united kingdom": "gb", "great britain": "gb", "britain": "gb",
    "england": "gb", "scotland": "gb", "wales": "gb", "northern ireland": "gb", "gbr": "gb",
    "deutschland": "de", "deu": "de", "holland": "nl", "the netherlands": "nl", "nld": "nl",
    "espana": "es", "esp": "es", "brasil": "br", "bra": "br", "mexico": "mx", "mex": "mx",
    "russia": "ru", "russian federation": "ru", "rossiya": "ru", "south korea": "kr",
    "korea": "kr", "republic of korea": "kr", "uae": "ae", "czechia": "cz",
    "czech republic": "cz", "ivory coast": "ci", "turkiye": "tr", "viet nam": "vn",
    "can": "ca", "aus": "au", "ind": "in", "chn": "cn", "jpn": "jp", "fra": "fr", "ita": "it",
    "che": "ch", "swe": "se", "pol": "pl", "prc": "cn", "mainland china": "cn",
    "hong kong sar": "hk", "polska": "pl", "italia": "it", "schweiz": "ch", "suisse": "ch",
    "osterreich": "at", "sverige": "se", "norge": "no", "danmark": "dk", "suomi": "fi",
    "nederland": "nl", "belgique": "be", "belgie": "be", "eire": "ie", "portugal": "pt",
}

US_STATES: dict[str, str] = {
    "al": "alabama", "ak": "alaska", "az": "arizona", "ar": "arkansas", "ca": "california",
    "co": "colorado", "ct": "connecticut", "de": "delaware", "fl": "florida", "ga": "georgia",
    "hi": "hawaii", "id": "idaho", "il": "illinois", "in": "indiana", "ia": "iowa",
    "ks": "kansas", "ky": "kentucky", "la": "louisiana", "me": "maine", "md": "maryland",
    "ma": "massachusetts", "mi": "michigan", "mn": "minnesota", "ms": "mississippi",
    "mo": "missouri", "mt": "montana", "ne": "nebraska", "nv": "nevada", "nh": "new hampshire",
    "nj": "new jersey", "nm": "new mexico", "ny": "new york", "nc": "north carolina",
    "nd": "north dakota", "oh": "ohio", "ok": "oklahoma", "or": "oregon", "pa": "pennsylvania",
    "ri": "rhode island", "sc": "south carolina", "sd": "south dakota", "tn": "tennessee",
    "tx": "texas", "ut": "utah", "vt": "vermont", "va": "virginia", "wa": "washington",
    "wv": "west virginia", "wi": "wisconsin", "wy": "wyoming", "dc": "district of columbia",
    "pr": "puerto rico",
}
CA_PROVINCES: dict[str, str] = {
    "ab": "alberta", "bc": "british columbia", "mb": "manitoba", "nb": "new brunswick",
    "nl": "newfoundland and labrador", "ns": "nova scotia", "nt": "northwest territories",
    "nu": "nunavut", "on": "ontario", "pe": "prince edward island", "qc": "quebec",
    "sk": "saskatchewan", "yt": "yukon",
}
# Australian states and territories. "WA" and "SA" are left out of the code lookup: "WA" is
# Washington there already and "SA" is Saudi Arabia's country code; an address says which by its
# postcode instead (see ``addresses._locality``).
AU_STATES: dict[str, str] = {
    "nsw": "new south wales", "vic": "victoria", "qld": "queensland", "wa": "western australia",
    "sa": "south australia", "tas": "tasmania", "act": "australian capital territory",
    "nt": "northern territory",
}
_AMBIGUOUS_AU_CODES = ("wa", "sa")
_LANGUAGE_ORDER = ("aa", "en", "de", "fr", "es", "it", "pt", "nl", "pl", "sv", "da", "no", "fi")


def _keyed(pairs: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    frame = pl.DataFrame(pairs, schema=["name", "code"], orient="row", infer_schema_length=None)
    keyed = (
        frame.select(name_key(pl.col("name")).alias("name"), pl.col("code"))
        .drop_nulls()
        .unique(subset="name", keep="first", maintain_order=True)
    )
    return keyed["name"].to_list(), keyed["code"].to_list()


@lru_cache(maxsize=1)
def country_lookup() -> tuple[list[str], list[str]]:
    """(country name key, iso2 lower) for every spelling we know, English names first."""
    from phonenumbers import SUPPORTED_REGIONS
    from phonenumbers.geodata.locale import LOCALE_DATA

    pairs: list[tuple[str, str]] = [(k, v) for k, v in _EXTRA_COUNTRY_ALIASES.items()]
    for region in sorted(LOCALE_DATA):
        names = LOCALE_DATA[region]
        ordered = list(_LANGUAGE_ORDER) + sorted(set(names) - set(_LANGUAGE_ORDER))
        for lang in ordered:
            value = names.get(lang)
            for _ in range(4):  # "*xx" points at another language's entry; never loop forever
                if not (isinstance(value, str) and value.startswith("*")):
                    break
                value = names.get(value[1:])
            if value and not value.startswith("*"):
                pairs.append((value, region.lower()))
    pairs += [(code.lower(), code.lower()) for code in SUPPORTED_REGIONS]
    return _keyed(pairs)


@lru_cache(maxsize=1)
def subdivision_lookup() -> tuple[list[str], list[str]]:
    """US states, Canadian provinces and Australian states (code and name) -> their country."""
    pairs = [(k, "us") for k in US_STATES] + [(v, "us") for v in US_STATES.values()]
    pairs += [(k, "ca") for k in CA_PROVINCES] + [(v, "ca") for v in CA_PROVINCES.values()]
    pairs += [(k, "au") for k in AU_STATES if k not in _AMBIGUOUS_AU_CODES]
    pairs += [(v, "au") for v in AU_STATES.values()]
    return _keyed(pairs)


def country_code(expr: pl.Expr) -> pl.Expr:
    """ISO alpha-2 (lower) of a country name or code, or null when the text names none."""
    names, codes = country_lookup()
    return name_key(expr).replace_strict(names, codes, default=None, return_dtype=pl.String)


# What people write where a place goes when they name none: "Remote, United States" lives in
# the United States, not in a city called "remote" that every remote worker would share.
# (Anything starting with "remote" is none either: "Remote - US", "Remote (EMEA)".)
NOT_A_CITY: tuple[str, ...] = (
    "100 remote", "anywhere", "worldwide",
    "global", "earth", "planet earth", "online", "virtual", "distributed", "hybrid", "home",
    "work from home", "wfh", "n a", "na", "none", "unknown", "various", "multiple locations",
    "tbd", "open to relocation", "relocating", "not specified",
)


def _city_key(expr: pl.Expr) -> pl.Expr:
    return (
        name_key(expr)
        .str.replace(r"^greater\s+", "")
        .str.replace(r"\s+(?:metropolitan|metro|bay)?\s*(?:area|region)$", "")
        .str.strip_chars()
        .str.replace(r"^(?:fully\s+)?remote\b.*", "")
        .replace("", None)
        .replace(list(NOT_A_CITY), None)
    )


LOCATION_DTYPE = pl.Struct({"city": pl.String, "country": pl.String})


def location_struct(expr: pl.Expr) -> pl.Expr:
    """{city, country} keys from "City, Region, Country"-style text, computed once per batch.

    The rules read the part count, the first and the last part several times, so they run as
    eager column steps (`_location_frame`) rather than one expression tree that would recompute
    each shared piece; still vectorised, no Python per row.
    """
    return expr.cast(pl.String).map_batches(
        lambda s: _location_frame(s).to_struct(), return_dtype=LOCATION_DTYPE, is_elementwise=True
    )


def location_parts(expr: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(city, country) keys; either may be null. Select both from one `location_struct` column
    when you need both on a large frame."""
    parts = location_struct(expr)
    return parts.struct.field("city"), parts.struct.field("country")


def _location_frame(text: pl.Series) -> pl.DataFrame:
    names, codes = country_lookup()
    sub_names, sub_codes = subdivision_lookup()
    return (
        pl.LazyFrame({"text": text})
        .with_columns(
            # Tidy the commas, then count and cut (string ops, no per-row lists).
            pl.col("text")
            .str.normalize("NFKC")  # a full-width comma separates parts too
            .str.replace_all(r"\s*,[\s,]*", ",")
            .str.strip_chars(" ,\t\n")
            .replace("", None)
        )
        .with_columns(
            n=(pl.col("text").str.count_matches(",") + 1).fill_null(0),
            first=pl.col("text").str.extract(r"^([^,]*)", 1),
            last_key=name_key(pl.col("text").str.extract(r"([^,]*)$", 1)),
        )
        .with_columns(
            last_country=pl.col("last_key").replace_strict(
                names, codes, default=None, return_dtype=pl.String
            ),
            last_subdivision=pl.col("last_key").replace_strict(
                sub_names, sub_codes, default=None, return_dtype=pl.String
            ),
        )
        .with_columns(
            country=pl.when(pl.col("n") >= 3)
            .then(pl.coalesce("last_country", "last_key"))
            .when(pl.col("n") == 2)
            .then(pl.coalesce("last_subdivision", "last_country"))
            .when(pl.col("n") == 1)
            .then(pl.coalesce("last_country", "last_subdivision")),
        )
        .select(
            pl.when((pl.col("n") >= 2) | ((pl.col("n") == 1) & pl.col("country").is_null()))
            .then(_city_key(pl.col("first")))
            .alias("city"),
            "country",
        )
        .collect()
    )


def location_city(expr: pl.Expr) -> pl.Expr:
    return location_parts(expr)[0]


def location_country(expr: pl.Expr) -> pl.Expr:
    return location_parts(expr)[1]
