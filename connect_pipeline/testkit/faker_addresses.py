"""Postal addresses written by other people's code, with their city known: Faker's locale
providers render each country's own address formats. The reader in ``normalise.addresses`` is
judged on them (``bench/bench_addresses.py``, ``tests/test_addresses.py``).

The locales are split as the accuracy bench splits its worlds: the development locales' misses
were read one by one while the reader's rules were written; the test locales are only measured.
Faker is a test dependency (``pip install -e '.[test]'``), imported when addresses are made.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

DEV_LOCALES = ("en_US", "en_GB", "en_AU", "en_CA", "en_IN", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL",
               "pl_PL", "pt_BR", "sv_SE")
TEST_LOCALES = ("de_AT", "de_CH", "fr_CH", "fr_CA", "da_DK", "fi_FI", "no_NO", "cs_CZ", "sk_SK", "sl_SI",
                "hr_HR", "hu_HU", "pt_PT", "es_MX", "es_AR", "es_CL", "es_CO", "en_NZ", "en_IE", "en_PH",
                "ro_RO", "id_ID", "nl_BE", "en_MS")


# The locale whose formats a country's people write their address in, for the generator's
# countries whose locale is a development locale: a development world written in a test
# locale's formats would show that locale's misses (the other countries keep place formats).
POSTAL_LOCALES = {
    "US": "en_US", "GB": "en_GB", "CA": "en_CA", "AU": "en_AU", "ES": "es_ES", "BR": "pt_BR",
    "FR": "fr_FR", "DE": "de_DE", "PL": "pl_PL", "IN": "en_IN",
}


@lru_cache(maxsize=None)
def _generator(locale: str) -> Any:
    try:
        from faker import Faker
    except ImportError as exc:  # a test dependency
        raise RuntimeError("postal addresses are written with Faker: pip install -e '.[test]'") from exc
    return Faker(locale).factories[0]


def postal_address(country_iso: str, city: str, seed: int) -> str | None:
    """A postal address in the country's own format with ``city`` as its city; None for a
    country without a locale, or when a few draws found no format that writes a city."""
    locale = POSTAL_LOCALES.get(country_iso.upper())
    if locale is None:
        return None
    generator = _generator(locale)
    generator.seed_instance(seed)
    with _city_fixed(generator, city):
        for _ in range(5):
            address = generator.address()
            if city in address:
                return address
    return None


def faker_addresses(locale: str, n: int, seed: int) -> Iterator[tuple[str, str]]:
    """Up to ``n`` (address, city) pairs in the locale's own formats. A locale whose formats
    write no city (some name a municipality or a town instead) yields nothing: its truth is
    unknown."""
    generator = _generator(locale)
    generator.seed_instance(seed)
    draw_city = generator.city
    made = tries = 0
    while made < n and tries < 5 * n:
        tries += 1
        city = draw_city()
        with _city_fixed(generator, city):
            address = generator.address()
        if city in address:
            made += 1
            yield address, city


@contextmanager
def _city_fixed(generator: Any, city: str) -> Iterator[None]:
    """Every format the generator renders meanwhile names ``city``. The formats ask the
    generator for ``{{city}}`` (a provider's method, set on the generator itself); Italy's ask
    for ``{{postcode_city_province}}``, rendered here as its provider renders it, "31057, Silea
    (TV)", with the city fixed."""
    saved = {name: getattr(generator, name) for name in ("city", "postcode_city_province") if hasattr(generator, name)}
    generator.city = lambda: city
    if "postcode_city_province" in saved:
        generator.postcode_city_province = lambda: f"{generator.postcode()}, {city} ({generator.state_abbr()})"
    try:
        yield
    finally:
        for name, method in saved.items():
            setattr(generator, name, method)
