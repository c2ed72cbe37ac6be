"""A candidate's postal address, in its country's own format, gives the city a profile names."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connect_pipeline.normalise.addresses import address_place
from connect_pipeline.normalise.ats import build_ats_people
from connect_pipeline.normalise.location import location_parts
from connect_pipeline.normalise.names import name_key
from connect_pipeline.testkit.faker_addresses import DEV_LOCALES, faker_addresses

# (address as typed, the city and country keys the pipeline must read)
FORMATS = [
    ("Hauptstraße 5, 10115 Berlin", "berlin", None),
    ("Hauptstr. 5\n10115 Berlin\nDeutschland", "berlin", "de"),
    ("12 rue de la Paix, 75002 Paris", "paris", None),
    ("Keizersgracht 123, 1015 CJ Amsterdam", "amsterdam", None),
    ("ul. Marszałkowska 10, 00-001 Warszawa", "warszawa", "pl"),  # a postcode only Poland writes so
    ("Storgatan 1, 111 22 Stockholm", "stockholm", None),
    ("Bahnhofstrasse 1, 8001 Zürich", "zurich", None),
    ("Via Roma 1, 00184 Roma RM, Italia", "roma", "it"),
    ("Strada Taliercio, 47\n56011, Gabella (PI)", "gabella", None),
    ("Rua Augusta 100, São Paulo - SP, 01305-000", "sao paulo", "br"),
    ("10 Downing Street, London SW1A 2AA", "london", "gb"),
    ("Flat 2, 45 Baker Street, London W1U 8EW, UK", "london", "gb"),
    ("17 Jones Light\nNorth Holly\nS6 7LJ", "north holly", "gb"),
    ("Flat 4, MG Road, Bengaluru, Karnataka 560001", "bengaluru", None),
    ("221B, Sector 14, Gurugram, Haryana 122001, India", "gurugram", "in"),
    ("H.No. 17, Sodhi Chowk\nBhagalpur-706690", "bhagalpur", None),
    ("Apartment 5B, 350 Fifth Avenue, New York, NY 10118", "new york", "us"),
    ("100 King St W, Toronto, ON M5X 1A9", "toronto", "ca"),
    ("17 Kennedy Laneway\nEast Tony, VIC, 2609", "east tony", "au"),
    ("Room 1201, 88 Century Avenue, Pudong, Shanghai 200120, China", "shanghai", "cn"),
    # orders web forms write, towns named like units or saints, city-states, asides, boxes
    ("Austin, 78701, Texas", "austin", "us"),
    ("Munich, 80331, Bavaria, Germany", "munich", "de"),
    ("10 High St, Oxford, OX1 4AA, Oxfordshire, UK", "oxford", "gb"),
    ("Paris 75002 France", "paris", "fr"),
    ("Sault Ste. Marie, ON P6A 1Y5", "sault ste marie", "ca"),
    ("St. Louis, MO", "st louis", "us"),
    ("Flat Rock, MI", "flat rock", "us"),
    ("10 Anson Road, Singapore 079903", None, "sg"),
    ("Montréal (Québec) H3B 2Y5", "montreal", "ca"),
    ("P.O. Box 55\nWellington 6140\nNew Zealand", "wellington", "nz"),
    ("c/o Jane Doe, 12 Rue X, 75002 Paris", "paris", None),
    # a house number starting the first line is no postcode
    ("1234 NE Broadway, Portland, OR", "portland", "us"),
    ("4500 El Camino Real, Los Altos, CA", "los altos", "us"),
    # a country or a county before or after the postcode; capitals throughout; one typed line
    ("Bangalore, India 560001", "bangalore", "in"),
    ("Berlin, Germany, 10115", "berlin", "de"),
    ("12 Elm Road, Bolton, Greater Manchester, BL1 1AA", "bolton", "gb"),
    ("1 Low Road, Cork, Co. Cork, T12 X70A", "cork", "ie"),
    ("12 HIGH STREET\nSOUTHEND ON SEA\nSS1 1AA", "southend on sea", "gb"),
    ("84453 MÜHLDORF AM INN", "muhldorf am inn", None),
    ("10115 Berlin Germany", "berlin", "de"),
    ("221B Baker Street London NW1 6XE", "london", "gb"),
    ("350 5th Ave New York NY 10118", "new york", "us"),
    ("New York, New York 10001", "new york", "us"),
    ("Washington, District of Columbia 20001", "washington", "us"),
    ("Keizersgracht 123 ,  1015  CJ  Amsterdam", "amsterdam", None),
    ("2nd Floor, 12 MG Road, Bangalore", "bangalore", None),
    ("1234 NE Broadway Portland OR", None, None),  # no city rather than a wrong one
    # a state code beside its postcode that is also a unit's word; a city named like a country
    ("Columbia, SC 29201", "columbia", "us"),
    ("Tampa, FL 33602", "tampa", "us"),
    ("Tampa, FL", "tampa", "us"),
    ("Calle Mayor 10, Granada 18001", "granada", None),
    ("Abidjan, Côte d'Ivoire, 01234", "abidjan", "ci"),
    ("5 rosella street, rowethorpe, WA 2540", "rowethorpe", "au"),  # WA with a 4-digit postcode
    ("17, QLD 3225", None, "au"),  # a state's code is never the city
    # what the reader read before postcodes were looked at stays as it was
    ("8 stanley street, miami, winston hills NSW 4223", "winston hills", "au"),
    ("1 Microsoft Way, Redmond, WA 98052, USA", "redmond", "us"),
    ("Leeds, West Yorkshire, United Kingdom", "leeds", "gb"),
    ("Dubai Marina, Dubai, UAE", "dubai marina", "ae"),
    ("Dublin 2, Ireland", "dublin", "ie"),
    ("Austin, TX", "austin", "us"),
]


def _read(addresses: list[str]) -> list[tuple[str | None, str | None]]:
    candidates = [
        {"id": i + 1, "first_name": "Ann", "last_name": "Lee", "addresses": [{"value": a, "type": "home"}],
         "updated_at": "2026-11-01T00:00:00Z"}
        for i, a in enumerate(addresses)
    ]
    return build_ats_people(candidates, [], None).sort("candidate_id").select("city", "country").rows()


def test_the_city_is_read_where_each_countrys_postal_format_puts_it() -> None:
    read = _read([address for address, _, _ in FORMATS])
    wrong = [(a, got, (city, country)) for (a, city, country), got in zip(FORMATS, read) if got != (city, country)]
    assert wrong == []


def test_a_city_named_like_a_country_is_still_the_city_beside_its_postcode() -> None:
    """"Granada" is Spanish for Grenada, and "Montenegro" a town in Brazil: read alone, either
    names a country; beside a postcode it is the city (and Brazil's postcode says Brazil)."""
    assert _read(["Calle Mayor 10\nGranada, 18001", "Rua Augusta 1, 95780-000 Montenegro / RS"]) == [
        ("granada", None), ("montenegro", "br"),
    ]


@pytest.mark.parametrize("locale", DEV_LOCALES)
def test_addresses_in_the_formats_of_other_peoples_code_give_their_city(locale: str) -> None:
    """Faker's renderings of each development locale's own formats."""
    pairs = list(faker_addresses(locale, 100, seed=7))
    assert len(pairs) == 100
    texts, cities = zip(*pairs)
    truth = pl.DataFrame({"c": cities}).select(name_key(pl.col("c")))["c"].to_list()
    places = pl.DataFrame({"p": [address_place(t) for t in texts]})
    read = places.select(location_parts(pl.col("p"))[0].alias("city"))["city"].to_list()
    right = sum(r == t for r, t in zip(read, truth))
    assert right >= 0.98 * len(pairs), [(t, r, c) for t, r, c in zip(texts, read, truth) if r != c][:5]


def test_a_text_is_read_only_as_far_as_an_address_goes() -> None:
    """A record may hold pages of text where an address goes: only the first 500 characters
    are read (the suite's time limit stops a reader that backtracks over all of it)."""
    text = "a" * 3000 + " " * 3000 + "1"
    assert address_place(text) == address_place(text[:500])
    assert address_place("Hauptstraße 5, 10115 Berlin" + " " * 5000 + "x") == "Berlin, 10115"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=120)
       | st.lists(st.sampled_from(["12", "10115", "SW1A 2AA", "Berlin", "NSW", "(PI)", "-", "/", "Flat 3",
                                   "Street", "Granada", ",", "\n", "UK", "St.", "Apt", "ON", " "]),
                  max_size=12).map(" ".join))
def test_any_text_reads_as_some_place_or_none(text: str) -> None:
    """Whatever a record holds, reading it never fails and what it gives is place text."""
    place = address_place(text)
    assert isinstance(place, str)
    city, country = location_parts(pl.col("p"))
    pl.DataFrame({"p": [place]}).select(city, country)


def test_places_written_without_a_postcode_keep_their_city_and_country() -> None:
    """Most addresses in Greenhouse are places, not postal addresses: "Toronto, Ontario, CA"
    ends in Canada's code, which is California's too, and "Berlin, Berlin, DE" in Germany's,
    which is Delaware's. Every city of the generator's catalogue, written the ways its places
    are written, keeps its own city and country."""
    from connect_pipeline.testkit.world.pools import COUNTRIES

    rows = [(text, city, country.iso.lower())
            for country in COUNTRIES.values() for city, region in country.cities
            for text in (f"{city}, {country.name}", f"{city}, {region}, {country.iso}")]
    places = pl.DataFrame({"p": [address_place(t) for t, _, _ in rows], "c": [c for _, c, _ in rows]})
    read = places.select(
        location_parts(pl.col("p"))[0].alias("city"), location_parts(pl.col("p"))[1].alias("country"),
        name_key(pl.col("c")).alias("truth"),
    )
    wrong = [(t, got) for (t, _, iso), got, truth in zip(rows, read.select("city", "country").rows(), read["truth"])
             if got != (truth, iso)]
    assert wrong == []
