"""The normalisers and both feature builders, on the hard cases real data has."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from connect_pipeline.errors import ConfigError
from connect_pipeline.normalise.ats import build_ats_people
from connect_pipeline.normalise.companies import company_key
from connect_pipeline.normalise.contacts import email_key, phone_e164_exact, phones_e164
from connect_pipeline.normalise.features import ATS_EXTRA_SCHEMA, FEATURE_SCHEMA
from connect_pipeline.normalise.linkedin import linkedin_slug
from connect_pipeline.normalise.location import location_parts
from connect_pipeline.normalise.names import (
    first_name_canonical,
    first_name_key,
    fold_text,
    last_name_key,
    name_key,
)
from connect_pipeline.normalise.nicknames import maintained_pairs, nickname_pairs, own_pairs
from connect_pipeline.normalise.profiles import build_profile_features, profile_snapshot_id
from connect_pipeline.normalise.titles import title_key


def apply(builder, values: list) -> list:
    frame = pl.DataFrame({"v": pl.Series(values, dtype=pl.String)})
    return frame.select(builder(pl.col("v"))).to_series().to_list()


def test_fold_text_folds_accents_and_special_letters() -> None:
    assert apply(fold_text, ["  José ", "JOSÉ", "Łukasz", "Nguyễn", "Straße", "Øster", "Æsa", "Đorđe", ""]) == [
        "jose", "jose", "lukasz", "nguyen", "strasse", "oster", "aesa", "dorde", None,
    ]


def test_umlaut_spellings_share_a_name_key() -> None:
    assert len(set(apply(name_key, ["Müller", "Mueller", "Muller", "MÜLLER"]))) == 1
    assert apply(name_key, ["Schröder", "Schroeder"])[0] == apply(name_key, ["Schroeder"])[0]
    assert apply(name_key, ["O'Brien", "Jean-Luc"]) == ["obrien", "jean luc"]


def test_first_and_last_name_keys() -> None:
    assert apply(first_name_key, ["J. Michael", "Mary Ann", "Dr. Ana", "J", None]) == [
        apply(name_key, ["Michael"])[0], "mary", "ana", "j", None,
    ]
    assert apply(last_name_key, ["Smith Jr.", "van der Berg", "García López"]) == [
        "smith", "van der berg", "garcia lopez",
    ]


def test_nicknames_resolve_to_their_family() -> None:
    got = apply(first_name_canonical, ["Bill", "William", "Sasha", "Dima", "Pepe", "Paco", "Peggy", "Zebedee"])
    assert got == ["william", "william", "alexander", "dmitry", "joseph", "francisco", "margaret", "zebedee"]
    assert apply(first_name_canonical, ["José", "JOSE", "jose"]) == ["joseph"] * 3


def test_the_maintained_nickname_source_adds_families_without_overriding_ours() -> None:
    """The ``nicknames`` package knows English diminutives our table lacks; ours wins where both
    know a form, and a nickname standing for names of two families stays its own."""
    got = apply(first_name_canonical, ["Tiff", "Tiffany", "Judi", "Tibbie", "Nole", "Ron", "Abbey", "Amy", "Amelia"])
    assert got == [
        "tiffany", "tiffany", "judith",
        "elizabeth",  # Isabel, Isabella, Isabelle: all in our "elizabeth" family
        "nicholas",   # joins our family through its full name
        "ronald",     # ours: the package also reads it as Aaron or Veronica
        "abbey",      # Abbigail, Abigail, ...: four spellings, four families, so none
        "amelia", "amelia",  # a full name the package also calls a nickname keeps its family
    ]
    assert [f for f, _ in maintained_pairs({"tiff": "tiffany"})].count("tiff") == 0  # a known form is ours


def test_forms_that_key_alike_never_split_a_family_silently() -> None:
    """The lookup keeps the first of two forms that key alike, so which one that is must never
    be an accident: the maintained source's forms that key alike share a family, one that keys
    like a form of ours resolves to our family (ours wins: "joy" keys like our "joey"), and a
    form that keys to a bare initial is left out ("l.b." for Littleberry made every "L." one)."""
    own = {form: canonical for form, canonical in reversed(own_pairs())}
    added = maintained_pairs(own)
    keyed = apply(first_name_key, [form for form, _ in added])
    families: dict[str | None, set[str]] = {}
    for key, (_, family) in zip(keyed, added):
        families.setdefault(key, set()).add(family)
    assert all(len(f) == 1 for f in families.values())
    assert all(key is not None and len(key) >= 2 for key in keyed)
    own_keys = dict(zip(apply(first_name_key, sorted(own)), apply(first_name_canonical, sorted(own))))
    shared = [key for key in families if key in own_keys]
    assert apply(first_name_canonical, shared) == [own_keys[key] for key in shared]
    assert apply(first_name_canonical, ["L.", "L"]) == ["l", "l"]


def test_nickname_table_is_closed() -> None:
    """A canonical name must resolve to itself, or the single-pass lookup would disagree
    depending on which side wrote the full form."""
    canonicals = sorted({c for _, c in nickname_pairs()})
    assert apply(first_name_canonical, canonicals) == apply(first_name_key, canonicals)


def test_company_key_drops_legal_forms() -> None:
    got = apply(company_key, ["Acme, Inc.", "ACME Corporation", "acme corp", "Acme Holdings Co. Ltd", "The Acme Group"])
    assert set(got) == {"acme"}
    assert apply(company_key, ["Procter & Gamble Co.", "Umbrella S.A.", "Maersk A/S", "Company", ""]) == [
        "procter and gamble", "umbrella", "maersk", "company", None,
    ]


def test_title_key_expands_abbreviations() -> None:
    assert apply(title_key, ["Sr. SWE", "Senior Software Engineer", "VP, Eng", "Eng Mgr"]) == [
        "senior software engineer", "senior software engineer", "vice president engineer",
        "engineer manager",
    ]


def test_linkedin_slug_from_many_forms() -> None:
    forms = [
        "https://www.linkedin.com/in/jane-doe-1a2b3c",
        "http://www.linkedin.com/in/jane-doe-1a2b3c/",
        "www.linkedin.com/in/Jane-Doe-1a2b3c",
        "linkedin.com/in/jane-doe-1a2b3c",
        "https://uk.linkedin.com/in/jane-doe-1a2b3c/",
        "https://de.linkedin.com/in/jane-doe-1a2b3c?trk=public_profile",
        "HTTPS://WWW.LINKEDIN.COM/IN/JANE-DOE-1A2B3C",
        "https://www.linkedin.com/in/jane-doe-1a2b3c/en",
        "https://m.linkedin.com/in/jane-doe-1a2b3c#experience",
        "  https://www.linkedin.com/in/jane-doe-1a2b3c/?originalSubdomain=fr  ",
    ]
    assert apply(linkedin_slug, forms) == ["jane-doe-1a2b3c"] * len(forms)


def test_linkedin_legacy_pub_and_non_profiles() -> None:
    assert apply(linkedin_slug, ["https://sy.linkedin.com/pub/krzysztof-marzec/a7/576/b50?trk=x"]) == [
        "krzysztof-marzec-b50576a7"
    ]
    assert apply(linkedin_slug, [
        "https://github.com/jane-doe", "https://www.linkedin.com/company/acme",
        "https://notlinkedin.com.evil/in/jane", "jane-doe", "https://linkedin.com/in/", None,
    ]) == [None] * 6


def test_email_key() -> None:
    assert apply(email_key, ["Jane.Doe+jobs@GoogleMail.com", " <J.D@Example.COM> ", "mailto:a@b.io", "nope@", "x y@z.com"]) == [
        "janedoe@gmail.com", "j.d@example.com", "a@b.io", None, None,
    ]


@pytest.mark.parametrize(
    "raw", ["(415) 555-0100", "415.555.0100", "+1 415 555 0100", "1-415-555-0100", "415 555 0100 ext. 12"]
)
def test_us_phones_to_e164(raw: str) -> None:
    assert pl.select(phones_e164(pl.lit([raw]), "US")).item().to_list() == ["+14155550100"]
    assert phone_e164_exact(raw, "US") == "+14155550100"


@pytest.mark.parametrize("raw", ["+44 20 7946 0958", "0044 20 7946 0958", "+44 (0)20 7946 0958"])
def test_international_phones_to_e164(raw: str) -> None:
    assert pl.select(phones_e164(pl.lit([raw]), "US")).item().to_list() == ["+442079460958"]


def test_phones_use_each_rows_region_and_drop_junk() -> None:
    frame = pl.DataFrame(
        {"p": [["020 7946 0958", "n/a", "020 7946 0958"], ["030 1234567"], [], None], "r": ["GB", "DE", "US", "US"]}
    )
    got = frame.select(phones_e164(pl.col("p"), pl.col("r"))).to_series().to_list()
    assert got == [["+442079460958"], ["+49301234567"], [], None]


def test_location_parts() -> None:
    frame = pl.DataFrame({"l": [
        "San Francisco, California, United States", "Austin, TX", "München, Bayern, Deutschland",
        "Greater London Area, United Kingdom", "Germany", "Lyon", "Nowhere, Region, Atlantis", None,
    ]})
    city, country = location_parts(pl.col("l"))
    got = frame.select(city=city, country=country).rows()
    assert got == [
        ("san francisco", "us"), ("austin", "us"), ("munchen", "de"), ("london", "gb"),
        (None, "de"), ("lyon", None), ("nowhere", "atlantis"), (None, None),
    ]


def _candidate(cid: int, **fields) -> dict:
    base = {
        "id": cid, "first_name": None, "last_name": None, "preferred_name": None, "company": None,
        "title": None, "private": False, "email_addresses": [], "phone_numbers": [], "addresses": [],
        "website_addresses": [], "social_media_addresses": [], "custom_fields": {},
        "updated_at": "2026-11-01T00:00:00Z",
    }
    return {**base, **fields}


@pytest.fixture()
def ats_people() -> pl.DataFrame:
    candidates = [
        _candidate(1, first_name="William", last_name="Gates", company="Microsoft Corporation",
                   title="Sr. SWE", email_addresses=[{"value": "Bill@Example.com", "type": "work"}],
                   phone_numbers=[{"value": "(425) 555-0100", "type": "mobile"}],
                   addresses=[{"value": "1 Microsoft Way, Redmond, WA 98052, USA", "type": "work"}],
                   social_media_addresses=[{"value": "https://twitter.com/billgates"}]),
        _candidate(2, first_name="Anonymized", last_name="2", company="Secret Inc"),
        _candidate(3, first_name="Xiaoming", last_name="Li", preferred_name="Tom", private=True,
                   website_addresses=[{"value": "https://uk.linkedin.com/in/Tom-Li-42/", "type": "personal"}]),
        _candidate(4, first_name="José", last_name="Müller",
                   addresses=[{"value": "Calle Mayor 5, 28013 Madrid, Spain", "type": "home"}],
                   phone_numbers=[{"value": "612 345 678", "type": "mobile"}],
                   custom_fields={"profile": {"name": "LinkedIn", "type": "short_text", "value": "jose-muller"}}),
        _candidate(5, first_name="Ana", last_name="Silva",
                   custom_fields={"links": {"name": "Links", "type": "long_text",
                                            "value": "see www.linkedin.com/in/ana-silva-9 and more"}}),
    ]
    applications = [
        {"id": 10, "candidate_id": 1, "answers": [
            {"question": "LinkedIn Profile", "answer": "linkedin.com/in/WilliamHGates?trk=apply"},
            {"question": "Why us?", "answer": "Because"},
        ]},
    ]
    signals = pl.DataFrame(
        {"candidate_id": [1, 2, 4], "emails": [["bill@example.com", "b.gates@gmail.com"], [], []],
         "phones": [["+1 425 555 0199"], [], []], "linkedin_urls": [[], [], ["https://linkedin.com/in/other"]],
         "employers": [["Chief Architect", "Microsoft Corp.", "Traf-O-Data Inc", "Redmond", "Texas", "Seattle",
                        "GE", "Principal"],
                       ["Secret Inc", "Umbrella"], []]},
        schema={"candidate_id": pl.Int64, "emails": pl.List(pl.String), "phones": pl.List(pl.String),
                "linkedin_urls": pl.List(pl.String), "employers": pl.List(pl.String)},
    )
    return build_ats_people(candidates, applications, signals)


def test_ats_people_schema_and_one_row_per_candidate(ats_people: pl.DataFrame) -> None:
    assert ats_people.schema == pl.Schema({**FEATURE_SCHEMA, **ATS_EXTRA_SCHEMA})
    assert ats_people["candidate_id"].to_list() == [1, 2, 3, 4, 5]
    assert ats_people["unique_id"].to_list() == ["1", "2", "3", "4", "5"]


def test_ats_people_signals(ats_people: pl.DataFrame) -> None:
    bill = ats_people.row(0, named=True)
    assert (bill["first_name"], bill["last_name"], bill["company"], bill["title"]) == (
        "william", "gates", "microsoft", "senior software engineer")
    assert bill["linkedin_slug"] == "williamhgates"  # from the application answer
    assert bill["emails"] == ["bill@example.com", "bgates@gmail.com"]  # ATS + resume, deduplicated
    assert bill["phones"] == ["+14255550100", "+14255550199"]
    assert (bill["city"], bill["country"]) == ("redmond", "us")
    tom = ats_people.row(2, named=True)
    assert (tom["first_name"], tom["first_name_canonical"], tom["is_private"]) == ("xiaoming", "thomas", True)
    assert tom["linkedin_slug"] == "tom-li-42"  # website_addresses
    jose = ats_people.row(3, named=True)
    assert (jose["first_name"], jose["last_name"], jose["linkedin_slug"]) == ("jose", "muller", "jose-muller")
    assert jose["phones"] == ["+34612345678"]  # default region from the address (Spain)
    assert ats_people.row(4, named=True)["linkedin_slug"] == "ana-silva-9"  # custom field text
    # the resume's dated parts keyed like companies, less the current employer, a job title,
    # the candidate's own city and a region named in words (another city cannot be told from an
    # employer; a two-letter code or a word that also ends employers' names is kept)
    assert bill["resume_companies"] == ["ge", "principal", "seattle", "traf o data"]
    assert jose["resume_companies"] is None


def test_ats_people_anonymised_row_is_blank(ats_people: pl.DataFrame) -> None:
    anon = ats_people.row(1, named=True)
    assert anon["is_anonymised"] is True
    assert all(anon[c] is None for c in FEATURE_SCHEMA if c != "unique_id")
    assert anon["resume_companies"] is None  # its resume named employers
    assert ats_people.filter(~pl.col("is_anonymised")).height == 4


def test_ats_people_empty_input() -> None:
    people = build_ats_people([], [], None)
    assert people.height == 0 and people.schema == pl.Schema({**FEATURE_SCHEMA, **ATS_EXTRA_SCHEMA})


def _write_index(path: Path) -> None:
    pl.DataFrame(
        {
            "profile_id": ["p1", "p2", "p3", None],
            "first_name": ["Bill", None, "Łukasz", "X"],
            "last_name": ["Gates", None, "Nowak", "Y"],
            "full_name": ["Bill Gates", "Sasha Ivanova", "Łukasz Nowak", "X Y"],
            "current_title": ["Sr. SWE", None, "CTO", None],
            "current_company": ["Microsoft Corp.", None, "Acme, Inc.", None],
            "past_companies": [["Microsoft", "Traf-O-Data"], None, ["ACME corporation", None], []],
            "location": ["Redmond, WA", "Moscow, Russia", None, None],
            "linkedin_url": ["https://www.linkedin.com/in/williamhgates/", None, "https://example.com", None],
            "emails": [["Bill@Example.com", "bill@example.com"], [], None, []],
            "phones": [["(425) 555-0100", "+1 425 555 0100"], ["8 (495) 123-45-67"], [], []],
            "updated_at": [None, None, None, None],
            "extra": [1, 2, 3, 4],
        },
        schema_overrides={"updated_at": pl.Datetime("us")},
    ).write_parquet(path)


def test_build_profile_features(tmp_path: Path) -> None:
    _write_index(tmp_path / "part-0.parquet")
    out = build_profile_features(str(tmp_path / "*.parquet"), tmp_path / "out" / "features.parquet")
    features = pl.read_parquet(out)
    assert features.schema == pl.Schema(FEATURE_SCHEMA)
    assert features["unique_id"].to_list() == ["p1", "p2", "p3"]
    p1, p2, p3 = features.rows(named=True)
    assert (p1["first_name"], p1["first_name_canonical"], p1["company"]) == ("bill", "william", "microsoft")
    assert p1["companies"] == ["microsoft", "traf o data"]
    assert p1["emails"] == ["bill@example.com"] and p1["phones"] == ["+14255550100"]
    assert (p1["linkedin_slug"], p1["city"], p1["country"]) == ("williamhgates", "redmond", "us")
    assert (p2["first_name"], p2["last_name"], p2["first_name_canonical"]) == ("sasha", "ivanova", "alexander")
    assert p2["phones"] == ["+74951234567"] and p2["emails"] is None
    assert (p3["first_name"], p3["company"], p3["companies"], p3["linkedin_slug"]) == (
        "lukasz", "acme", ["acme"], None)
    for column in ("companies", "emails", "phones"):
        lists = features[column].drop_nulls()
        assert (lists.list.len() > 0).all()
        assert (lists.list.eval(pl.element().null_count()).explode() == 0).all()
        assert (lists.list.len() == lists.list.unique().list.len()).all()


def test_build_profile_features_tolerates_missing_optional_columns(tmp_path: Path) -> None:
    pl.DataFrame({"profile_id": ["a"], "full_name": ["Ana María García"]}).write_parquet(tmp_path / "a.parquet")
    features = pl.read_parquet(build_profile_features(str(tmp_path / "*.parquet"), tmp_path / "f.parquet"))
    assert features.schema == pl.Schema(FEATURE_SCHEMA)
    assert features.select("first_name", "last_name", "company", "emails").row(0) == ("ana", "maria garcia", None, None)


def test_profile_snapshot_id_changes_with_the_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        profile_snapshot_id(str(tmp_path / "*.parquet"))
    _write_index(tmp_path / "part-0.parquet")
    glob = str(tmp_path / "*.parquet")
    first = profile_snapshot_id(glob)
    assert profile_snapshot_id(glob) == first
    _write_index(tmp_path / "part-1.parquet")
    assert profile_snapshot_id(glob) != first


def test_countryless_postal_addresses_give_their_locality() -> None:
    """A home address as people write their own: street, building, then "locality STATE
    postcode", no country. The locality is the city; the state and postcode say the country."""
    addresses = [
        "8 stanley street, miami, winston hills NSW 4223",
        "12 Hay St, Perth WA 6000",
        "500 Pine St, Seattle WA 98101",
        "3 Kent Rd, Canterbury Vic 3126, Australia",
        "1 Microsoft Way, Redmond, WA 98052, USA",
    ]
    candidates = [
        _candidate(i + 1, first_name="Ann", last_name="Lee", addresses=[{"value": a, "type": "home"}])
        for i, a in enumerate(addresses)
    ]
    people = build_ats_people(candidates, [], None).sort("candidate_id")
    assert people.select("city", "country").rows() == [
        ("winston hills", "au"), ("perth", "au"), ("seattle", "us"), ("canterbury", "au"), ("redmond", "us"),
    ]
    profile = pl.DataFrame({"l": ["Winston Hills, New South Wales, Australia", "Perth, Western Australia, Australia"]})
    city, country = location_parts(pl.col("l"))
    assert profile.select(city=city, country=country).rows() == [("winston hills", "au"), ("perth", "au")]


def test_a_one_word_full_name_that_is_the_surname_names_no_given_name(tmp_path: Path) -> None:
    pl.DataFrame({"profile_id": ["a", "b"], "first_name": [None, None], "last_name": ["Lund", None],
                  "full_name": ["Lund", "Madonna"]}).write_parquet(tmp_path / "a.parquet")
    features = pl.read_parquet(build_profile_features(str(tmp_path / "*.parquet"), tmp_path / "f.parquet"))
    assert features.select("first_name", "last_name").rows() == [(None, "lund"), ("madonna", None)]


def test_a_candidate_without_an_address_is_placed_by_the_resume_header() -> None:
    """Most Greenhouse records carry no address while the resume says where its author lives;
    the address still wins when there is one, and a header line naming no known country or
    region ("Python, SQL") is not a place."""
    candidates = [
        _candidate(1, first_name="Ann", last_name="Lee"),
        _candidate(2, first_name="Bo", last_name="Ng", addresses=[{"value": "Leeds, UK", "type": "home"}]),
        _candidate(3, first_name="Cy", last_name="Ray"),
        _candidate(4, first_name="Di", last_name="Fox"),
    ]
    signals = pl.DataFrame(
        {"candidate_id": [1, 2, 3, 4], "emails": [[], [], [], []], "phones": [[], [], [], []],
         "linkedin_urls": [[], [], [], []],
         "places": [["Pune, Maharashtra, India"], ["Austin, TX"], ["Python, SQL"], ["Python, SQL", "Austin, TX"]]},
        schema={"candidate_id": pl.Int64, "emails": pl.List(pl.String), "phones": pl.List(pl.String),
                "linkedin_urls": pl.List(pl.String), "places": pl.List(pl.String)},
    )
    people = build_ats_people(candidates, [], signals).sort("candidate_id")
    assert people.select("city", "country").rows() == [
        ("pune", "in"), ("leeds", "gb"), (None, None), ("austin", "us"),
    ]


def test_remote_and_the_like_name_no_city() -> None:
    """Two people who both wrote "Remote" do not live in one city: on either side the city is
    unknown, and a country written beside it is kept."""
    places = pl.DataFrame({"l": ["Remote", "Remote, United States", "Anywhere", "N/A", "Remote - US", "Homestead, FL"]})
    city, country = location_parts(pl.col("l"))
    assert places.select(city=city, country=country).rows() == [
        (None, None), (None, "us"), (None, None), (None, None), (None, None), ("homestead", "us"),
    ]
    people = build_ats_people([_candidate(1, first_name="Ann", last_name="Lee",
                                          addresses=[{"value": "Remote", "type": "home"}])], [], None)
    assert people.select("city", "country").rows() == [(None, None)]
