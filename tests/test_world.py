"""The generated world: deterministic, in contract, and as messy as the brief says."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from pypdf import PdfReader
from unidecode import unidecode

from connect_pipeline.harvest.collections import ALL_KNOWN_SCOPES
from connect_pipeline.testkit.world.__main__ import main as world_cli
from connect_pipeline.testkit.world.generate import KINDS, TenantSpec, _namesake, generate_world
from connect_pipeline.testkit.world.layout import account_dir, profiles_glob, truth_path
from connect_pipeline.testkit.world.people import make_people

from tests.conftest import WORLD_PROFILES, WORLD_SEED, WORLD_TENANTS

# The world under test is the session's shared one (conftest's ``world``): every other test
# file reads it too, so checking it here costs no generation of its own.
TENANTS = tuple(TenantSpec(tenant_id, n) for tenant_id, n in WORLD_TENANTS)
N_PROFILES = WORLD_PROFILES
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
CONTACT_ARRAYS = ("email_addresses", "phone_numbers", "addresses", "website_addresses", "social_media_addresses")


def read_jsonl(world: Path, tenant: str, collection: str) -> list[dict]:
    path = account_dir(world, tenant) / f"{collection}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def profiles(world: Path) -> pl.DataFrame:
    return pl.read_parquet(profiles_glob(world))


def fold(text: str) -> str:
    return unidecode(text).lower()


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def linkedin_slug(url: str) -> str:
    """The test's own canonicaliser: lower case, no query, no trailing slash, last path segment."""
    return url.lower().split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def linkedin_strings(candidate: dict, applications: list[dict]) -> list[str]:
    values = [a["value"] for a in candidate["social_media_addresses"] + candidate["website_addresses"]]
    values += [f["value"] for f in candidate["custom_fields"].values() if f["name"] == "LinkedIn Profile"]
    values += [a["answer"] for app in applications for a in app["answers"] if a["question"] == "LinkedIn Profile"]
    return [v for v in values if "linkedin" in v.lower()]


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_byte_identical_files(world: Path, tmp_path: Path) -> None:
    again = generate_world(tmp_path / "again", seed=WORLD_SEED, n_profiles=N_PROFILES, tenants=TENANTS)
    first, second = digest(world), digest(again)
    assert first.keys() == second.keys()
    assert any(k.endswith(".parquet") for k in first) and any(k.endswith(".jsonl") for k in first)
    assert first == second


def test_other_seed_gives_another_world(world: Path, tmp_path: Path) -> None:
    other = generate_world(tmp_path / "other", seed=WORLD_SEED + 1, n_profiles=N_PROFILES, tenants=TENANTS, resumes=False)
    assert not profiles(world).equals(profiles(other))
    assert read_jsonl(world, "acme", "candidates") != read_jsonl(other, "acme", "candidates")
    assert json.loads((other / "world.json").read_text())["seed"] == WORLD_SEED + 1


# --------------------------------------------------------------------------- profile index


def test_profile_index_matches_the_contract(world: Path) -> None:
    df = profiles(world)
    assert dict(df.schema) == {
        "profile_id": pl.String(), "first_name": pl.String(), "last_name": pl.String(),
        "full_name": pl.String(), "current_title": pl.String(), "current_company": pl.String(),
        "past_companies": pl.List(pl.String()), "location": pl.String(), "linkedin_url": pl.String(),
        "emails": pl.List(pl.String()), "phones": pl.List(pl.String()),
        "updated_at": pl.Datetime("us", "UTC"),
    }
    assert df.height == N_PROFILES
    assert df["profile_id"].n_unique() == N_PROFILES
    assert df.select(pl.col("first_name", "last_name", "full_name").null_count()).sum_horizontal().item() == 0
    assert 0.6 < df["linkedin_url"].is_not_null().mean() < 0.95  # not everyone has one
    assert df["linkedin_url"].drop_nulls().n_unique() == df["linkedin_url"].is_not_null().sum()
    assert (df["emails"].list.len() == 0).any() and (df["emails"].list.len() == 2).any()
    assert df.select(pl.col("emails").explode().drop_nulls().is_duplicated().any()).item() is False
    locations = df["location"].drop_nulls()
    assert locations.str.count_matches(", ").eq(2).all()
    assert str(df["updated_at"].max()) <= "2026-11-01 00:00:00+00:00"
    assert str(df["updated_at"].min()) >= "2024-11-01 00:00:00+00:00"


def test_profile_index_is_split_into_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import connect_pipeline.testkit.world.generate as generate

    monkeypatch.setattr(generate, "PART_ROWS", 1000)
    world = generate_world(tmp_path / "w", n_profiles=2500, tenants=[TenantSpec("solo", 40)], resumes=False)
    parts = sorted(p.name for p in (world / "profiles").iterdir())
    assert parts == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert [pl.read_parquet(world / "profiles" / p).height for p in parts] == [1000, 1000, 500]


def test_index_has_many_namesakes_and_international_names() -> None:
    df = make_people(np.random.default_rng(1), 50_000)
    counts = df.group_by("full_name").len().sort("len", descending=True)
    assert counts["len"][0] >= 100  # a common name repeats hundreds of times at a million
    same_city = df.group_by("full_name", "location").len()["len"].max()
    assert same_city >= 5
    names = set(df["last_name"].unique()) | set(df["first_name"].unique())
    for expected in ("Müller", "Mueller", "Łukasz", "Nguyễn", "José", "Wang", "Sharma", "Ivanov"):
        assert expected in names, expected
    assert {"Aleksandr", "Alexander"} <= names  # transliteration variants of one name
    phones = df["phones"].explode().drop_nulls()
    assert phones.str.starts_with("(").any() and phones.str.starts_with("+").any()
    assert phones.str.starts_with("00").any() and phones.str.contains(r"^\d{3}\.\d{3}\.\d{4}$").any()


def test_a_mix_of_name_cultures_replaces_the_default_one() -> None:
    """A test world of another mix draws its names from those cultures only, in those shares;
    no mix keeps the default draw exactly, so the development worlds stay what they were."""
    from connect_pipeline.testkit.world.catalog import catalog

    cultures = catalog().cultures
    mixed = make_people(np.random.default_rng(2), 20_000, cultures={"chinese": 3, "vietnamese": 1})
    share = mixed["_culture"].value_counts(normalize=True)
    drawn = {cultures[c]: p for c, p in zip(share["_culture"], share["proportion"])}
    assert set(drawn) == {"chinese", "vietnamese"}
    assert drawn["chinese"] == pytest.approx(0.75, abs=0.02)
    assert "Nguyễn" in set(mixed["last_name"]) and "Smith" not in set(mixed["last_name"])
    default = make_people(np.random.default_rng(2), 2_000)
    drawn_names = "\n".join(default["full_name"].to_list() + default["location"].fill_null("").to_list())
    # the names and places the default draw gave before the knob existed
    assert hashlib.sha256(drawn_names.encode()).hexdigest() == (
        "4559c54c7ef96da128828fd076343622cc5ee34ccc1010a49a62f8e834370df2")
    assert len(set(default["_culture"])) == len(cultures)
    with pytest.raises(ValueError, match="unknown name cultures"):
        make_people(np.random.default_rng(2), 10, cultures={"klingon": 1.0})


# --------------------------------------------------------------------------- truth


def test_truth_refers_to_real_candidates_and_profiles(world: Path) -> None:
    ids = set(profiles(world)["profile_id"])
    for spec in TENANTS:
        truth = pl.read_parquet(truth_path(world, spec.tenant_id))
        assert dict(truth.schema) == {"candidate_id": pl.Int64(), "profile_id": pl.String(), "kind": pl.String()}
        assert truth.height == spec.n_candidates
        assert set(truth["kind"]) <= set(KINDS)
        assert set(truth["profile_id"].drop_nulls()) <= ids
        candidates = {c["id"] for c in read_jsonl(world, spec.tenant_id, "candidates")}
        assert candidates == set(truth["candidate_id"])
        null_kinds = set(truth.filter(pl.col("profile_id").is_null())["kind"])
        assert null_kinds == {"not_in_index", "anonymised"}


def test_a_quarter_of_candidates_are_not_in_the_index_many_namesakes(world: Path) -> None:
    index = profiles(world)
    index_names = set(zip(index["first_name"].map_elements(fold, return_dtype=pl.String),
                          index["last_name"].map_elements(fold, return_dtype=pl.String)))
    namesakes = outsiders = 0
    for spec in TENANTS:
        truth = pl.read_parquet(truth_path(world, spec.tenant_id))
        outside = truth.filter(pl.col("kind") == "not_in_index")
        assert abs(outside.height / truth.height - 0.25) < 0.03
        by_id = {c["id"]: c for c in read_jsonl(world, spec.tenant_id, "candidates")}
        namesakes += sum((fold(by_id[i]["first_name"]), fold(by_id[i]["last_name"])) in index_names
                         for i in outside["candidate_id"])
        outsiders += outside.height
    assert namesakes / outsiders > 0.45  # chance alone gives about 0.3 at this index size


def test_an_absent_namesake_shares_the_city_and_employer_as_often_as_set() -> None:
    """The namesake's city and employer are settings of their own (``--knob`` in the accuracy
    bench turns them off to see which errors they cause); the name is always the donor's."""
    donors = make_people(np.random.default_rng(1), 200).to_dicts()
    outsiders = make_people(np.random.default_rng(2), 200, outsiders=True).to_dicts()
    pairs = [(o, d) for o, d in zip(outsiders, donors) if d["_company"] >= 0 and d["_city"] != o["_city"]
             and d["_company"] != o["_company"]]
    assert len(pairs) > 50

    def made(city: float, employer: float) -> list[tuple[dict, dict]]:
        r = random.Random(4)
        return [(_namesake(o, d, r, set(), city, employer), d) for o, d in pairs]

    for person, donor in made(1.0, 1.0):
        assert (person["full_name"], person["_city"], person["location"]) == \
            (donor["full_name"], donor["_city"], donor["location"])
        assert person["current_company"] == donor["current_company"]
    for (person, donor), (outsider, _) in zip(made(0.0, 0.0), pairs):
        assert person["full_name"] == donor["full_name"]
        assert (person["_city"], person["current_company"]) == (outsider["_city"], outsider["current_company"])


def test_the_world_places_absent_namesakes_as_its_settings_say(tmp_path: Path) -> None:
    """``namesake_city`` reaches the world: every absent namesake lives in the city of the person
    whose name it carries at 1, and seldom does at 0."""

    def beside_namesake(city: float) -> float:
        out = tmp_path / f"w{city}"
        generate_world(out, seed=5, n_profiles=800, tenants=[TenantSpec("t", 300)], resumes=False,
                       not_in_index=0.5, namesake=1.0, namesake_city=city)
        index = profiles(out)
        places: dict[tuple[str, str], set[str]] = {}
        for row in index.filter(pl.col("location").is_not_null()).iter_rows(named=True):
            key = (fold(row["first_name"]), fold(row["last_name"]))
            places.setdefault(key, set()).add(fold(row["location"].split(",")[0]))
        truth = pl.read_parquet(truth_path(out, "t"))
        absent = set(truth.filter(pl.col("kind") == "not_in_index")["candidate_id"])
        beside = counted = 0
        for c in read_jsonl(out, "t", "candidates"):
            key = (fold(c["first_name"]), fold(c["last_name"]))
            if c["id"] in absent and c["addresses"] and key in places:
                counted += 1
                beside += fold(c["addresses"][0]["value"].split(",")[0]) in places[key]
        assert counted >= 30
        return beside / counted

    assert beside_namesake(1.0) > 0.9  # an address may spell the city another way
    assert beside_namesake(0.0) < 0.2


def test_a_world_writes_postal_addresses_whose_city_is_the_persons(tmp_path: Path) -> None:
    """``postal_addresses`` reaches the world: at 1, people of a country with a postal locale
    write a full postal address, whose city the pipeline reads as the one their profile names;
    at 0 the records are the ones the world always wrote."""
    from connect_pipeline.normalise.addresses import address_place
    from connect_pipeline.normalise.location import location_parts

    def write(name: str, **knobs: float) -> Path:
        return generate_world(tmp_path / name, seed=5, n_profiles=800, tenants=[TenantSpec("t", 300)],
                              resumes=False, **knobs)

    zero, postal = write("zero", postal_addresses=0.0), write("postal", postal_addresses=1.0)
    # the candidates this world wrote before the setting existed
    assert hashlib.sha256((account_dir(zero, "t") / "candidates.jsonl").read_bytes()).hexdigest() == (
        "33f02b3a03be36099e0ac3ebbd904651f1aaef40966f9c353b74ce96da2eaa4f")
    located = dict(zip(*profiles(postal).select("profile_id", "location")))
    truth = pl.read_parquet(truth_path(postal, "t"))
    where = {c: located.get(p) for c, p in zip(truth["candidate_id"], truth["profile_id"]) if p is not None}
    rows = [(c["addresses"][0]["value"], where[c["id"]]) for c in read_jsonl(postal, "t", "candidates")
            if c["addresses"] and where.get(c["id"]) and "\n" in c["addresses"][0]["value"]]
    assert len(rows) >= 40
    read = pl.DataFrame({"a": [address_place(a) for a, _ in rows], "p": [p for _, p in rows]}).select(
        location_parts(pl.col("a"))[0].alias("read"), location_parts(pl.col("p"))[0].alias("city"))
    assert (read["read"] == read["city"]).mean() >= 0.95


def test_a_share_outside_0_and_1_is_refused(tmp_path: Path) -> None:
    for knob in ({"postal_addresses": 1.5}, {"namesake": -0.1}):
        with pytest.raises(ValueError, match="between 0 and 1"):
            generate_world(tmp_path / "w", seed=5, n_profiles=100, tenants=[TenantSpec("t", 10)], resumes=False, **knob)


def test_duplicates_and_shared_people(world: Path) -> None:
    truths = {s.tenant_id: pl.read_parquet(truth_path(world, s.tenant_id)) for s in TENANTS}
    for truth in truths.values():
        dups = truth.filter(pl.col("kind") == "duplicate").group_by("profile_id").agg(pl.col("candidate_id"))
        assert dups.height >= 2
        assert dups["candidate_id"].list.len().eq(2).all()
        assert dups["candidate_id"].list.n_unique().eq(2).all()
        # nobody else shares a profile within one tenant
        assert truth.filter(pl.col("kind") != "duplicate")["profile_id"].drop_nulls().is_unique().all()
    shared = [set(t.filter(pl.col("kind") == "shared")["profile_id"]) for t in truths.values()]
    assert shared[0] == shared[1] and len(shared[0]) == round(0.05 * 300)
    acme_ids, globex_ids = (set(t["candidate_id"]) for t in truths.values())
    assert not acme_ids & globex_ids
    others = [set(t.filter(pl.col("kind") != "shared")["profile_id"].drop_nulls()) for t in truths.values()]
    assert not others[0] & others[1]


def test_anonymised_and_private_candidates(world: Path) -> None:
    for spec in TENANTS:
        truth = pl.read_parquet(truth_path(world, spec.tenant_id))
        candidates = {c["id"]: c for c in read_jsonl(world, spec.tenant_id, "candidates")}
        attached = {a["candidate_id"] for a in read_jsonl(world, spec.tenant_id, "attachments")}
        anonymised = truth.filter(pl.col("kind") == "anonymised")["candidate_id"].to_list()
        assert len(anonymised) == round(spec.n_candidates / 100)  # 1 % of the tenant's candidates
        for cid in anonymised:
            record = candidates[cid]
            assert record["first_name"] == "Anonymized" and record["last_name"] == str(cid)
            assert all(record[key] == [] for key in CONTACT_ARRAYS)
            assert cid not in attached
        others = [c for c in candidates.values() if c["id"] not in set(anonymised)]
        assert not any(c["first_name"] == "Anonymized" for c in others)
        private = set(truth.filter(pl.col("kind") == "private")["candidate_id"])
        assert private == {c["id"] for c in candidates.values() if c["private"]}
        assert abs(len(private) / truth.height - 0.02) < 0.01


def test_ats_names_are_noisy_but_mostly_recognisable(world: Path) -> None:
    index = profiles(world).select("profile_id", "first_name", "last_name")
    truth = pl.read_parquet(truth_path(world, "acme")).filter(pl.col("kind") == "in_index")
    candidates = pl.DataFrame(read_jsonl(world, "acme", "candidates")).select(
        pl.col("id").alias("candidate_id"), pl.col("first_name").alias("ats_first"),
        pl.col("last_name").alias("ats_last"))
    joined = truth.join(candidates, on="candidate_id").join(index, on="profile_id")
    exact = (joined["ats_first"] == joined["first_name"]) & (joined["ats_last"] == joined["last_name"])
    same_last = joined["ats_last"].map_elements(fold, return_dtype=pl.String) == \
        joined["last_name"].map_elements(fold, return_dtype=pl.String)
    assert 0.3 < exact.mean() < 0.9  # noise is common, but not universal
    assert same_last.mean() > 0.6


# --------------------------------------------------------------------------- Greenhouse records


def test_records_have_v3_shape_and_links(world: Path) -> None:
    for spec in TENANTS:
        t = spec.tenant_id
        account = json.loads((account_dir(world, t) / "account.json").read_text())
        credential = account["credentials"][0]
        assert re.fullmatch(r"[0-9a-f]{40}", credential["client_secret"])
        assert credential["scopes"] == list(ALL_KNOWN_SCOPES)
        users = {u["id"]: u for u in read_jsonl(world, t, "users")}
        assert users[account["site_admin_user_id"]]["site_admin"] is True
        assert users[account["non_admin_user_id"]]["site_admin"] is False
        assert any(u["deactivated"] for u in users.values())
        candidates = {c["id"] for c in read_jsonl(world, t, "candidates")}
        jobs = {j["id"] for j in read_jsonl(world, t, "jobs")}
        stages = {s["id"]: s for s in read_jsonl(world, t, "job_interview_stages")}
        pools = {p["id"] for p in read_jsonl(world, t, "prospect_pools")}
        pool_stages = {s["id"]: s for s in read_jsonl(world, t, "prospect_pool_stages")}
        applications = read_jsonl(world, t, "applications")
        details = {d["application_id"]: d for d in read_jsonl(world, t, "prospect_details")}
        assert {a["candidate_id"] for a in applications} == candidates
        assert {a["status"] for a in applications} == {"in_process", "rejected", "hired", "converted"}
        for app in applications:
            assert app["job_id"] is None or app["job_id"] in jobs
            assert app["recruiter_id"] is None or app["recruiter_id"] in users
            if app["prospect"]:
                detail = details[app["id"]]
                assert detail["id"] == app["id"] and detail["pool_id"] in pools
                assert pool_stages[detail["pool_stage_id"]]["prospect_pool_id"] == detail["pool_id"]
            else:
                assert stages[app["stage_id"]]["job_id"] == app["job_id"]
                assert stages[app["stage_id"]]["name"] == app["stage_name"]
            assert (app["rejected_at"] is not None) == (app["status"] == "rejected")
        assert set(details) == {a["id"] for a in applications if a["prospect"]}
        assert any(a["prospect"] and a["job_id"] is None for a in applications)
        assert Counter(a["candidate_id"] for a in applications).most_common(1)[0][1] >= 2
        for name in ("users", "jobs", "job_interview_stages", "prospect_pools", "prospect_pool_stages",
                     "close_reasons", "candidates", "applications", "prospect_details", "attachments",
                     "openings", "job_posts"):
            records = read_jsonl(world, t, name)
            assert records, name
            ids = [r["id"] for r in records]
            assert all(isinstance(i, int) for i in ids) and len(set(ids)) == len(ids)
            assert all(ISO_UTC.match(r["created_at"]) for r in records), name
            assert all(ISO_UTC.match(r.get("updated_at") or r["created_at"]) for r in records), name


def test_linkedin_urls_come_in_every_form_and_point_at_the_profile(world: Path) -> None:
    slugs = {pid: linkedin_slug(url) for pid, url in profiles(world).select("profile_id", "linkedin_url").iter_rows()
             if url}
    seen: list[str] = []
    checked = 0
    for spec in TENANTS:
        truth = dict(pl.read_parquet(truth_path(world, spec.tenant_id)).select("candidate_id", "profile_id").iter_rows())
        apps: dict[int, list[dict]] = {}
        for app in read_jsonl(world, spec.tenant_id, "applications"):
            apps.setdefault(app["candidate_id"], []).append(app)
        for candidate in read_jsonl(world, spec.tenant_id, "candidates"):
            urls = linkedin_strings(candidate, apps[candidate["id"]])
            seen += urls
            profile = truth[candidate["id"]]
            for url in urls:
                if profile is not None:
                    assert linkedin_slug(url) == slugs[profile], (url, profile)
                    checked += 1
                else:
                    assert linkedin_slug(url) not in set(slugs.values())
    assert checked > 50
    assert any(u.startswith("http://") for u in seen) and any(u.startswith("https://") for u in seen)
    assert any(u.lower().startswith(("linkedin.com", "www.linkedin.com")) for u in seen)  # no scheme
    assert any(re.match(r"(https?://)?(uk|de|fr|br|in|ca|es)\.linkedin\.com", u.lower()) for u in seen)
    assert any("/pub/" in u.lower() for u in seen) and any("/in/" in u.lower() for u in seen)
    assert any(u.endswith("/") for u in seen) and any("?" in u for u in seen)
    assert any(u == u.upper() for u in seen)
    places = Counter()
    for spec in TENANTS:
        for c in read_jsonl(world, spec.tenant_id, "candidates"):
            places["social"] += any("linkedin" in a["value"].lower() for a in c["social_media_addresses"])
            places["website"] += any("linkedin" in a["value"].lower() for a in c["website_addresses"])
            places["custom"] += "linkedin_profile" in c["custom_fields"]
        for a in read_jsonl(world, spec.tenant_id, "applications"):
            places["answer"] += any(q["question"] == "LinkedIn Profile" for q in a["answers"])
    assert all(places[k] > 0 for k in ("social", "website", "custom", "answer")), places


# --------------------------------------------------------------------------- attachments and PDFs


def test_attachments_point_at_readable_resumes(world: Path) -> None:
    meta = json.loads((world / "world.json").read_text())
    for spec in TENANTS:
        t = spec.tenant_id
        hostile = {aid for ids in meta["hostile_attachments"][t].values() for aid in ids}
        candidates = {c["id"]: c for c in read_jsonl(world, t, "candidates")}
        attachments = read_jsonl(world, t, "attachments")
        assert {a["type"] for a in attachments} == {"resume", "cover_letter"}
        assert len({a["candidate_id"] for a in attachments if a["type"] == "resume"}) > 0.6 * len(candidates)
        for attachment in attachments:
            assert "url" not in attachment
            path = account_dir(world, t) / attachment["_file"]
            assert path.is_file() and attachment["_file"] == f"files/{attachment['id']}.pdf"
            if attachment["id"] in hostile:
                continue
            text = fold("\n".join(page.extract_text() for page in PdfReader(path).pages))
            candidate = candidates[attachment["candidate_id"]]
            tokens = [fold(tok) for tok in f"{candidate['first_name']} {candidate['last_name']}".split()
                      if len(tok.strip(".")) > 1]
            assert any(tok in text for tok in tokens), (tokens, text[:80])


def test_hostile_pdfs_are_what_they_claim(world: Path) -> None:
    meta = json.loads((world / "world.json").read_text())
    for spec in TENANTS:
        kinds = meta["hostile_attachments"][spec.tenant_id]
        assert {k: len(v) for k, v in kinds.items()} == {"image_only": 2, "encrypted": 2, "corrupt": 2, "oversized": 1}
        files = account_dir(world, spec.tenant_id) / "files"
        for aid in kinds["encrypted"]:
            assert PdfReader(files / f"{aid}.pdf").is_encrypted
        for aid in kinds["corrupt"]:
            with pytest.raises(Exception):
                reader = PdfReader(files / f"{aid}.pdf")
                [page.extract_text() for page in reader.pages]
        for aid in kinds["image_only"]:
            reader = PdfReader(files / f"{aid}.pdf")
            assert not reader.is_encrypted and len(reader.pages) == 1
            assert reader.pages[0].extract_text().strip() == ""
            assert len(reader.pages[0].images) == 1
        (oversized,) = kinds["oversized"]
        assert (files / f"{oversized}.pdf").stat().st_size > 10_000_000


def test_world_json_describes_the_world(world: Path) -> None:
    meta = json.loads((world / "world.json").read_text())
    assert meta["seed"] == WORLD_SEED and meta["n_profiles"] == N_PROFILES
    assert meta["reference_time"] == "2026-11-01T00:00:00Z"
    assert meta["tenants"] == ["acme", "globex"]
    assert (meta["namesake"], meta["namesake_city"], meta["namesake_employer"]) == (0.6, 0.25, 0.04)


# --------------------------------------------------------------------------- CLI and errors


def test_cli_writes_a_world(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = world_cli(["--out", str(tmp_path / "cli"), "--seed", "3", "--profiles", "500",
                      "--tenant", "one:60", "--tenant", "two:40", "--no-resumes"])
    assert code == 0
    meta = json.loads((tmp_path / "cli" / "world.json").read_text())
    assert meta["tenants"] == ["one", "two"] and meta["n_profiles"] == 500
    assert pl.read_parquet(truth_path(tmp_path / "cli", "two")).height == 40
    assert read_jsonl(tmp_path / "cli", "one", "attachments") == []
    assert "world written" in capsys.readouterr().out


def test_too_small_an_index_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="too few"):
        generate_world(tmp_path / "w", n_profiles=100, tenants=[TenantSpec("big", 400)], resumes=False)
    with pytest.raises(SystemExit):
        world_cli(["--out", str(tmp_path / "x"), "--tenant", "nocount"])
