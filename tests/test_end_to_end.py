"""The whole tenant graph through Dagster against the local Greenhouse over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dagster import instance_for_test

from connect_pipeline.cli.runner import run_tenant
from connect_pipeline.testkit.local_greenhouse import LocalGreenhouse
from resources.quality_report import PUBLISHED_RATE
from connect_pipeline.quality import match_rate_of_eligible, percent
from connect_pipeline.storage import TenantStorage
from connect_pipeline.testkit.world.layout import truth_path
from tests.conftest import connect_tenant

pytestmark = pytest.mark.slow  # whole Dagster runs: `make test-fast` leaves them out


def _truth(world: Path, tenant: str) -> pl.DataFrame:
    return pl.read_parquet(truth_path(world, tenant))


@pytest.fixture(scope="module")
def module_data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e-data")


@pytest.fixture(scope="module")
def acme_run(world, world_profiles, module_data_dir):
    """One whole run shared by the read-only assertions below (a run is the expensive part)."""
    with pytest.MonkeyPatch.context() as monkeypatch, LocalGreenhouse(world) as server:
        connect_tenant(module_data_dir, world, server, "acme", monkeypatch=monkeypatch)
        with instance_for_test() as instance:
            outcome = run_tenant("acme", data_dir=str(module_data_dir), profiles_glob=world_profiles, instance=instance)
            yield outcome, instance




def test_full_graph_publishes_against_ground_truth(acme_run, world, module_data_dir):
    outcome, _ = acme_run
    assert outcome.success, outcome.error
    storage = TenantStorage(module_data_dir, "acme")
    matches = pl.read_parquet(storage.published_table("matches"))
    enrichment = pl.read_parquet(storage.published_table("enrichment"))
    truth = _truth(world, "acme")

    joined = matches.join(truth, on="candidate_id", how="left", suffix="_true")
    correct = joined.filter(pl.col("profile_id") == pl.col("profile_id_true")).height
    eligible_in_index = truth.filter(
        pl.col("profile_id").is_not_null() & ~pl.col("kind").is_in(["anonymised", "private"])
    ).height
    assert correct / matches.height >= 0.97
    assert correct / eligible_in_index >= 0.85

    # never an anonymised or private candidate, at most one profile per candidate
    forbidden = truth.filter(pl.col("kind").is_in(["anonymised", "private"]))["candidate_id"]
    assert not matches["candidate_id"].is_in(forbidden.implode()).any()
    assert matches["candidate_id"].is_unique().all()

    # enrichment: one row per profile, each carrying the Greenhouse facts
    assert enrichment["profile_id"].is_unique().all()
    assert set(enrichment["profile_id"]) == set(matches["profile_id"])
    assert enrichment["in_ats_as"].is_in(["prospect", "applicant", "prospect_and_applicant"]).all()
    assert enrichment["greenhouse_url"].str.contains("/people/").all()
    assert enrichment["match_explanation"].str.len_chars().min() > 0
    assert enrichment.filter(pl.col("in_ats_as") == "applicant")["stage_name"].null_count() == 0


def test_staging_is_empty_and_checks_pass(acme_run, module_data_dir):
    outcome, _ = acme_run
    storage = TenantStorage(module_data_dir, "acme")
    assert storage.staged_files() == []
    assert outcome.checks["match_quality"] and outcome.checks["staging_is_empty"]
    assert "borderline_matches" in outcome.checks
    # what survives: published tables, model, run charts (parameters and score counts), the
    # tenant's DuckDB file; no raw ATS records
    survivors = {p.relative_to(storage.base).parts[0] for p in storage.base.rglob("*") if p.is_file()}
    assert survivors <= {"published", "model", "state", "charts", "tenant.duckdb", "labels.parquet"}


def test_profile_snapshot_holds_population_figures_and_no_tenant_data(acme_run, module_data_dir):
    """Name, employer and block-size figures are computed once per profile snapshot, beside its
    features, and hold only what the profile index says (no tenant's candidates)."""
    manifests = list((module_data_dir / "profile_features").glob("*/population/manifest.json"))
    assert len(manifests) == 1
    population = manifests[0].parent
    features = pl.read_parquet(population.parent / "features.parquet")
    assert json.loads(manifests[0].read_text())["n_profiles"] == features.height
    firsts = pl.read_parquet(population / "first_name.parquet")
    named = features.filter(pl.col("first_name").str.strip_chars() != "")
    assert firsts["n"].sum() == named.height
    assert set(firsts["first_name"]) <= set(features["first_name"])
    sample = pl.read_parquet(population / "u_sample.parquet")
    assert set(sample["unique_id"]) <= set(features["unique_id"])


def test_duckdb_file_holds_the_published_tables(acme_run, module_data_dir):
    storage = TenantStorage(module_data_dir, "acme")
    with duckdb.connect(str(storage.duckdb_path), read_only=True) as con:
        n_enriched = con.execute("SELECT count(*) FROM enrichment").fetchone()[0]
        n_matches = con.execute("SELECT count(*) FROM matches").fetchone()[0]
    assert n_enriched == pl.read_parquet(storage.published_table("enrichment")).height
    assert n_matches == pl.read_parquet(storage.published_table("matches")).height > 0


def test_run_metadata_reaches_dagster(acme_run):
    outcome, instance = acme_run
    extract = outcome.metadata["ats_extract"]
    assert extract["rows/candidates"] == 400
    assert extract["requests"] > 0
    matches = outcome.metadata["ats_matches"]
    rate = matches["this run: match rate (% of eligible)"]
    matched, eligible = matches["this run: candidates matched"], matches["this run: eligible candidates"]
    assert 0 < rate <= 100
    assert rate == percent(match_rate_of_eligible(matched, eligible))  # the one match rate, in %
    # the trained run's estimate of how many candidates the index holds, beside the rate: the
    # matches are nearly all right, so the index holds at least about that many
    assert 0.95 * rate <= matches["this run: candidates in the index (estimated %)"] <= 100
    published = outcome.metadata["enrichment"]
    assert published[PUBLISHED_RATE] == rate  # a full run publishes exactly its matches
    assert published["dagster/row_count"] == published["enriched profiles"]
    assert "profile_id" in [c.name for c in published["dagster/column_schema"].columns]
    records = instance.get_run_records()
    assert any(r.dagster_run.tags.get("tenant") == "acme" for r in records)


def test_tenants_never_mix(world, world_profiles, greenhouse, data_dir, monkeypatch):
    for tenant in ("acme", "globex"):
        connect_tenant(data_dir, world, greenhouse, tenant, monkeypatch=monkeypatch)
    with instance_for_test() as instance:
        for tenant in ("acme", "globex"):
            assert run_tenant(tenant, data_dir=str(data_dir), profiles_glob=world_profiles, instance=instance).success
    for tenant, other in (("acme", "globex"), ("globex", "acme")):
        mine = set(_truth(world, tenant)["candidate_id"])
        theirs = set(_truth(world, other)["candidate_id"]) - mine
        published = pl.read_parquet(TenantStorage(data_dir, tenant).published_table("matches"))
        assert set(published["candidate_id"]) <= mine
        assert not set(published["candidate_id"]) & theirs
        params = json.loads((TenantStorage(data_dir, tenant).model / "params.json").read_text())
        assert params  # each tenant trained its own model


def _records(world: Path, tenant: str, collection: str) -> dict[int, dict]:
    path = world / "greenhouse" / tenant / f"{collection}.jsonl"
    return {r["id"]: r for r in map(json.loads, path.read_text().splitlines()) if r}


def test_enrichment_fields_are_what_greenhouse_holds(acme_run, world, module_data_dir):
    enrichment = pl.read_parquet(TenantStorage(module_data_dir, "acme").published_table("enrichment"))
    candidates = _records(world, "acme", "candidates")
    applications = _records(world, "acme", "applications")
    users = _records(world, "acme", "users")
    jobs = _records(world, "acme", "jobs")
    attachments = list(_records(world, "acme", "attachments").values())
    checked = 0
    for row in enrichment.filter(pl.col("candidate_ids").list.len() == 1).iter_rows(named=True):
        cid = row["candidate_ids"][0]
        cand = candidates[cid]
        assert row["emails"] == list(dict.fromkeys(e["value"] for e in cand["email_addresses"]))
        assert row["phones"] == list(dict.fromkeys(p["value"] for p in cand["phone_numbers"]))
        assert row["greenhouse_url"].endswith(f"/people/{cid}")
        assert sorted(a["filename"] for a in row["attachments"]) == sorted(
            a["filename"] for a in attachments if a["candidate_id"] == cid)
        app = applications[row["application_id"]]
        assert app["candidate_id"] == cid
        assert (row["stage_name"], row["status"]) == (app["stage_name"], app["status"])
        assert row["job_name"] == (jobs[app["job_id"]]["name"] if app["job_id"] else None)
        assert row["is_prospect"] == any(a["prospect"] for a in applications.values() if a["candidate_id"] == cid)
        if app.get("recruiter_id") in users:
            assert row["recruiter_name"] == users[app["recruiter_id"]]["name"]
        others = [a for a in applications.values() if a["candidate_id"] == cid and a["id"] != app["id"]]
        assert len(row["other_applications"]) == len(others)
        if app["status"] != "in_process":  # an active application always wins over the rest
            assert all(o["status"] != "in_process" for o in others)
        checked += 1
    assert checked > 100
