"""Free-text locations -> (city, country) matching keys.

Profiles say "City, Region, Country"; ATS addresses are whatever a recruiter typed, often a full
postal address or a US-style "Austin, TX". The country is given as ISO 3166 alpha-2 (lower-case)
whenever the text names one in any common language or spelling ("Deutschland", "U.S.A.",
"United Kingdom", "UK", "England"); the names come from the phonenumbers locale data, so every
region is covered. With three or more parts the last one is the country (unrecognised ones are
kept as folded text); with two parts a US state or Canadian province is tried first (so
"Austin, TX" is the US and "Wilmington, DE" is Delaware, not Germany), then a country; a single
part is a country if it names one, else a city. City keys drop metro-area wording ("Greater
London Area" -> "london", "San Francisco Bay Area" -> "san francisco").
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
            while isinstance(value, str) and value.startswith("*"):
                value = names.get(value[1:])
            if value:
                pairs.append((value, region.lower()))
    pairs += [(code.lower(), code.lower()) for code in SUPPORTED_REGIONS]
    return _keyed(pairs)


@lru_cache(maxsize=1)
def subdivision_lookup() -> tuple[list[str], list[str]]:
    """US states and Canadian provinces (code and name) -> their country."""
    pairs = [(k, "us") for k in US_STATES] + [(v, "us") for v in US_STATES.values()]
    pairs += [(k, "ca") for k in CA_PROVINCES] + [(v, "ca") for v in CA_PROVINCES.values()]
    return _keyed(pairs)


def country_code(expr: pl.Expr) -> pl.Expr:
    """ISO alpha-2 (lower) of a country name or code, or null when the text names none."""
    names, codes = country_lookup()
    return name_key(expr).replace_strict(names, codes, default=None, return_dtype=pl.String)


def _subdivision_country(key: pl.Expr) -> pl.Expr:
    names, codes = subdivision_lookup()
    return key.replace_strict(names, codes, default=None, return_dtype=pl.String)


def _city_key(expr: pl.Expr) -> pl.Expr:
    key = (
        name_key(expr)
        .str.replace(r"^greater\s+", "")
        .str.replace(r"\s+(?:metropolitan|metro|bay)?\s*(?:area|region)$", "")
        .str.strip_chars()
    )
    return pl.when(key.str.len_bytes() > 0).then(key)


def location_parts(expr: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(city, country) keys from "City, Region, Country"-style text; either may be null."""
    parts = (
        expr.cast(pl.String)
        .str.split(",")
        .list.eval(pl.element().str.strip_chars().filter(pl.element().str.len_bytes() > 0))
    )
    n = parts.list.len()
    first = parts.list.first()
    last = parts.list.last()
    last_key = name_key(last)
    names, codes = country_lookup()
    last_country = last_key.replace_strict(names, codes, default=None, return_dtype=pl.String)
    last_subdivision = _subdivision_country(last_key)
    country = (
        pl.when(n >= 3)
        .then(pl.coalesce(last_country, last_key))
        .when(n == 2)
        .then(pl.coalesce(last_subdivision, last_country))
        .when(n == 1)
        .then(pl.coalesce(last_country, last_subdivision))
    )
    single_is_place = (n == 1) & (last_country.is_not_null() | last_subdivision.is_not_null())
    city = pl.when((n >= 2) | ((n == 1) & ~single_is_place)).then(_city_key(first))
    return city, country


def location_city(expr: pl.Expr) -> pl.Expr:
    return location_parts(expr)[0]


def location_country(expr: pl.Expr) -> pl.Expr:
    return location_parts(expr)[1]
