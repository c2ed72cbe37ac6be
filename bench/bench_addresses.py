"""How often the city is read right from postal addresses written in each country's own format.

A Greenhouse candidate's address is whatever the candidate or a recruiter typed: a full postal
address in the format of the candidate's country, usually without the country. The address is
reduced to a city (and a country where it names one) before the city is compared with the
profile's. This bench renders addresses with Faker's locale providers, written by other people
for other purposes, with a city drawn per address so the truth is known, and prints per locale
the share whose city key equals the city's own key. (The reader splits lines and commas alike,
so an address typed on one line with commas reads as the rendered one does.)

**Development locales** were looked at while the reader's rules were written (their misses, one
by one). **Test locales** are measured: no rule was added or changed for one of their misses
(their misses were printed once, by mistake, with ``--show``; nothing was changed after it).
A locale whose formats hold no city is left out.

    .venv/bin/python bench/bench_addresses.py               # both groups, 200 addresses each
    .venv/bin/python bench/bench_addresses.py --show 5      # and up to 5 misses per locale
    .venv/bin/python bench/bench_addresses.py --test        # the test locales only

Needs the test extra (``pip install -e '.[test]'``: Faker).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connect_pipeline.normalise.addresses import address_place  # noqa: E402
from connect_pipeline.normalise.location import location_parts  # noqa: E402
from connect_pipeline.normalise.names import name_key  # noqa: E402
from connect_pipeline.testkit.faker_addresses import DEV_LOCALES, TEST_LOCALES, faker_addresses  # noqa: E402

def read_cities(texts: list[str]) -> list[str | None]:
    """The city key the pipeline reads from each address."""
    places = pl.DataFrame({"place": [address_place(t) for t in texts]})
    city, _ = location_parts(pl.col("place"))
    return places.select(city.alias("city"))["city"].to_list()


def city_keys(cities: list[str]) -> list[str | None]:
    return pl.DataFrame({"c": cities}).select(name_key(pl.col("c")))["c"].to_list()


def measure(locale: str, n: int, seed: int) -> tuple[int, float, list[str]]:
    """(addresses, share read right, the misses)."""
    pairs = list(faker_addresses(locale, n, seed))
    if not pairs:
        return 0, float("nan"), []
    texts, cities = zip(*pairs)
    truth = city_keys(list(cities))
    read = read_cities(list(texts))
    misses = [f"{text!r} -> {r!r} (city {t!r})" for text, r, t in zip(texts, read, truth) if r != t]
    return len(pairs), 1 - len(misses) / len(pairs), misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=200, help="addresses per locale")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show", type=int, default=0, help="misses printed per locale")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--dev", action="store_true", help="the development locales only")
    group.add_argument("--test", action="store_true", help="the test locales only")
    args = parser.parse_args()
    groups = [("development", DEV_LOCALES), ("test", TEST_LOCALES)]
    if args.dev:
        groups = groups[:1]
    elif args.test:
        groups = groups[1:]
    for name, locales in groups:
        print(f"{name} locales: addresses, share whose city is read right")
        total = right = 0.0
        for locale in locales:
            n, share, misses = measure(locale, args.n, args.seed)
            if not n:
                print(f"  {locale:8} no address of its formats holds a city: left out")
                continue
            print(f"  {locale:8} {n:5}  {share:.3f}")
            for miss in misses[: args.show]:
                print(f"      miss: {miss}")
            total, right = total + n, right + share * n
        if total:
            print(f"  {'all':8} {int(total):5}  {right / total:.3f}")


if __name__ == "__main__":
    main()
