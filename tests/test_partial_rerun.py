"""Runs that end without publishing their matches: part of the tenant graph run alone (what
Dagster's "re-execute from failure" and a materialisation of a later stage do), and a run whose
quality gate blocks its publish. Every run purges its staged Greenhouse records when it ends, so
a later stage alone has nothing to read: it must say so and never publish that nothing. And what
Greenhouse deleted leaves the published tables at the next run, whether or not it publishes."""

from __future__ import annotations

import json

import polars as pl
import pytest
from dagster import AssetKey, DagsterEventType, instance_for_test

from assets.definitions import build_definitions
from connect_pipeline.cli.runner import run_tenant
from connect_pipeline.run_state import read_watermarks
from connect_pipeline.storage import TenantStorage, write_with
from tests.conftest import connect_tenant

pytestmark = pytest.mark.slow  # whole Dagster runs: `make test-fast` leaves them out

LATER_STAGES = ("ats_people", "ats_matches", "enrichment", "staging_purge")


@pytest.fixture()
def published_acme(world, world_profiles, greenhouse, data_dir, monkeypatch):
    """acme connected and published by one whole full run; its storage and Dagster instance."""
    connect_tenant(data_dir, world, greenhouse, "acme", monkeypatch=monkeypatch)
    with instance_for_test() as instance:
        whole = run_tenant("acme", data_dir=str(data_dir), profiles_glob=world_profiles, instance=instance, mode="full")
        assert whole.success, whole.error
        yield TenantStorage(data_dir, "acme"), instance


def test_a_later_stage_run_alone_publishes_nothing_and_says_to_start_a_whole_run(
    published_acme, world_profiles, data_dir
):
    storage, instance = published_acme
    published = pl.read_parquet(storage.published_table("matches"))
    generation = storage.published_table("matches").parent
    params = storage.trained_params.read_text()
    assert published.height > 0

    job = build_definitions(str(data_dir), world_profiles).resolve_job_def("tenant_job")
    for first in LATER_STAGES[:3]:  # from the normalising stage, from the link, the publish alone
        selection = [AssetKey(name) for name in LATER_STAGES[LATER_STAGES.index(first):]]
        partial = job.execute_in_process(
            partition_key="acme", instance=instance, asset_selection=selection, raise_on_error=False,
        )
        assert not partial.success, first
        failure = next(e for e in partial.all_events if e.is_step_failure)
        message = str(failure.step_failure_data.error.to_string())
        assert "no finished Greenhouse extract is staged" in message, (first, message[-1500:])
        assert "connect-pipeline run acme" in message and "tenant_job" in message

    # the last published tables, and the model the next incremental run carries, untouched
    assert storage.published_table("matches").parent == generation
    assert pl.read_parquet(storage.published_table("matches")).equals(published)
    assert storage.trained_params.read_text() == params
    assert json.loads(params)["comparisons"]
    assert storage.staged_files() == []

    again = run_tenant("acme", data_dir=str(data_dir), profiles_glob=world_profiles, instance=instance)
    assert again.success, again.error  # the whole run the message asks for finishes the job


def test_a_run_whose_gate_blocks_its_publish_still_drops_what_greenhouse_deleted(
    published_acme, world_profiles, greenhouse, data_dir
):
    storage, instance = published_acme
    before = pl.read_parquet(storage.published_table("matches"))
    enrichment_before = pl.read_parquet(storage.published_table("enrichment"))
    marks = read_watermarks(storage)
    gone = before["candidate_id"][0]
    profile = before.filter(pl.col("candidate_id") == gone)["profile_id"][0]
    greenhouse.delete("acme", "candidates", gone)
    # the tenant's labels now say every match is wrong: the quality gate blocks the publish
    write_with(storage.labels, before.select("candidate_id", pl.lit("no-such-profile").alias("profile_id")).write_parquet)

    blocked = run_tenant("acme", data_dir=str(data_dir), profiles_glob=world_profiles, instance=instance, mode="full")
    assert blocked.checks["match_quality"] is False and "enrichment" not in blocked.metadata

    after = pl.read_parquet(storage.published_table("matches"))
    enrichment = pl.read_parquet(storage.published_table("enrichment"))
    assert gone not in after["candidate_id"] and profile not in enrichment["profile_id"]
    # the rest is the last publish as it was: the blocked run's own matches were not published
    kept = before.filter(pl.col("profile_id") != profile)
    assert after.sort("candidate_id").equals(kept.sort("candidate_id"))
    assert enrichment.height == enrichment_before.height - 1
    assert read_watermarks(storage) == marks and storage.staged_files() == []
    [check] = [
        e.dagster_event.event_specific_data for e in instance.all_logs(blocked.run_id)
        if e.dagster_event and e.dagster_event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
        and e.dagster_event.event_specific_data.check_name == "match_quality"
    ]
    assert check.metadata["deleted in Greenhouse: dropped from the published tables"].value == 1
