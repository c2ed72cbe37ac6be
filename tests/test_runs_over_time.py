"""Runs after Greenhouse changed: the published tables follow what Greenhouse holds, and a
failed run loses nothing and leaves nothing staged."""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl
import pytest
from dagster import instance_for_test

from connect_pipeline.cli.runner import run_tenant
from connect_pipeline.storage import TenantStorage
from tests.conftest import connect_tenant

pytestmark = pytest.mark.slow  # whole Dagster runs: `make test-fast` leaves them out


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_changes_reach_the_published_tables(world, world_profiles, greenhouse, data_dir, monkeypatch, tmp_path):
    connect_tenant(data_dir, world, greenhouse, "acme", monkeypatch=monkeypatch)
    storage = TenantStorage(data_dir, "acme")
    with instance_for_test() as instance:
        def run(mode: str = "auto", profiles: str = world_profiles):
            return run_tenant("acme", data_dir=str(data_dir), profiles_glob=profiles, instance=instance, mode=mode)

        first = run()
        assert first.success, first.error
        assert first.metadata["ats_extract"]["mode"] == "full"
        matches = pl.read_parquet(storage.published_table("matches"))
        apps = greenhouse.records("acme", "applications")
        matched = sorted(matches["candidate_id"].to_list())
        applicant_of = {a["candidate_id"]: a for a in apps if not a.get("prospect") and a.get("job_id")}
        moved_cand = next(c for c in matched if c in applicant_of)
        anonymised_cand, deleted_cand = [c for c in matched if c != moved_cand][:2]

        # a stage change, made only on the application (the candidate's updated_at stays)
        moved = dict(applicant_of[moved_cand], stage_name="Final Interview 7", status="in_process",
                     last_activity_at=_now(), updated_at=_now())
        greenhouse.upsert("acme", "applications", moved)
        greenhouse.anonymise("acme", anonymised_cand)
        greenhouse.delete("acme", "candidates", deleted_cand)

        second = run()
        assert second.success, second.error
        assert second.metadata["ats_extract"]["mode"] == "incremental"
        assert storage.staged_files() == []
        matches = pl.read_parquet(storage.published_table("matches"))
        enrichment = pl.read_parquet(storage.published_table("enrichment"))
        row = enrichment.filter(pl.col("candidate_ids").list.contains(moved_cand)).row(0, named=True)
        assert (row["application_id"], row["stage_name"]) == (moved["id"], "Final Interview 7")
        assert anonymised_cand not in matches["candidate_id"].to_list()
        assert not enrichment["candidate_ids"].list.contains(anonymised_cand).any()

        # deletions leave no trace in a window: the weekly full sweep finds them
        third = run(mode="full")
        assert third.success, third.error
        matches = pl.read_parquet(storage.published_table("matches"))
        enrichment = pl.read_parquet(storage.published_table("enrichment"))
        assert deleted_cand not in matches["candidate_id"].to_list()
        assert not enrichment["candidate_ids"].list.contains(deleted_cand).any()
        still = enrichment.filter(pl.col("candidate_ids").list.contains(moved_cand))
        assert still["stage_name"].to_list() == ["Final Interview 7"]

        # an unreadable profile index fails the run at its first step, before any Greenhouse
        # request, naming the file; staging is purged and the published table kept
        before = pl.read_parquet(storage.published_table("enrichment"))
        bad = tmp_path / "bad"
        bad.mkdir()
        (bad / "broken.parquet").write_bytes(b"not parquet at all")
        failed = run(mode="full", profiles=str(bad / "*.parquet"))
        assert not failed.success
        # both first steps check the index (the features and the extract), and stop there
        assert sorted(failed.failed_steps) == ["ats_extract", "profile_features"]
        assert "broken.parquet" in failed.error
        assert storage.staged_files() == []
        assert pl.read_parquet(storage.published_table("enrichment")).equals(before)
