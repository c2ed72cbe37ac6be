"""Re-running part of the tenant graph: what Dagster's "re-execute from failure" and a
materialisation of a later stage alone do. Every run purges its staged Greenhouse records when it
ends, so such a run has nothing to read; it must say so, and never publish that nothing."""

from __future__ import annotations

import json

import polars as pl
import pytest
from dagster import AssetKey, instance_for_test

from assets.definitions import build_definitions
from connect_pipeline.cli.runner import run_tenant
from connect_pipeline.storage import TenantStorage
from tests.conftest import connect_tenant

pytestmark = pytest.mark.slow  # whole Dagster runs: `make test-fast` leaves them out

LATER_STAGES = ("ats_people", "ats_matches", "enrichment", "staging_purge")


def test_a_later_stage_run_alone_publishes_nothing_and_says_to_start_a_whole_run(
    world, world_profiles, greenhouse, data_dir, monkeypatch
):
    connect_tenant(data_dir, world, greenhouse, "acme", monkeypatch=monkeypatch)
    storage = TenantStorage(data_dir, "acme")
    with instance_for_test() as instance:
        whole = run_tenant("acme", data_dir=str(data_dir), profiles_glob=world_profiles, instance=instance, mode="full")
        assert whole.success, whole.error
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
