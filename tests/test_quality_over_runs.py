"""What the Dagster UI plots after each kind of run: the tenant's quality series never shows a
collapse an incremental run did not cause, runs carry their tenant and extract mode however they
were launched, and every run refreshes the tenant's own trend and the fleet report."""

from __future__ import annotations

import pytest
from dagster import AssetKey, DagsterEventType, instance_for_test

from assets.definitions import build_definitions
from resources.quality_report import FLEET_REPORT, PUBLISHED_RATE, tenant_quality_key
from assets.run_config import extract_run_config
from connect_pipeline.cli.runner import run_tenant
from connect_pipeline.storage import TenantStorage
from tests.conftest import connect_tenant

pytestmark = pytest.mark.slow  # whole Dagster runs: `make test-fast` leaves them out


def _latest(instance, key: str | AssetKey, run_id: str) -> dict:
    key = key if isinstance(key, AssetKey) else AssetKey(key)
    [record] = [r for r in instance.fetch_materializations(key, limit=20).records if r.run_id == run_id]
    return {k: v.value for k, v in record.asset_materialization.metadata.items()}


def test_a_quiet_incremental_run_posts_no_collapse(world, world_profiles, greenhouse, data_dir, monkeypatch):
    connect_tenant(data_dir, world, greenhouse, "acme", monkeypatch=monkeypatch)
    storage = TenantStorage(data_dir, "acme")
    with instance_for_test() as instance:
        full = run_tenant("acme", data_dir=str(data_dir), profiles_glob=world_profiles, instance=instance, mode="full")
        assert full.success, full.error
        full_rate = full.metadata["enrichment"][PUBLISHED_RATE]
        assert full_rate > 0

        # launched as the UI does: a partition, no tenant tag, no extract mode; nothing changed since
        defs = build_definitions(str(data_dir), world_profiles)
        quiet = defs.resolve_job_def("tenant_job").execute_in_process(
            partition_key="acme", instance=instance, run_config=extract_run_config("incremental"),
            raise_on_error=False,
        )
        assert quiet.success
        tags = instance.get_run_by_id(quiet.run_id).tags
        assert (tags["tenant"], tags["extract_mode"]) == ("acme", "incremental")
        assert instance.get_run_by_id(full.run_id).tags["extract_mode"] == "full"

        # every chart one click away: an inline image the UI's markdown renders, never a file path
        shown = _latest(instance, "ats_matches", full.run_id)
        for chart in ("score histogram", "unlinkables", "match weights", "m and u parameters"):
            assert "](data:image/svg+xml;base64," in shown[f"chart: {chart}"], chart
        assert 0 <= shown["unlinkable candidates (% of eligible)"] <= 100

        matches = _latest(instance, "ats_matches", quiet.run_id)
        assert PUBLISHED_RATE not in matches and "this run: match rate (% of eligible)" not in matches
        assert matches["extract mode"] == "incremental"
        borderline = [
            e.dagster_event.event_specific_data for e in instance.all_logs(quiet.run_id)
            if e.dagster_event and e.dagster_event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
            and e.dagster_event.event_specific_data.check_name == "borderline_matches"
        ]
        assert "this run (incremental window): candidates matched" in borderline[0].metadata  # not the tenant's
        published = _latest(instance, "enrichment", quiet.run_id)
        assert published[PUBLISHED_RATE] == full_rate  # the table still holds every match

        # the tenant's own trend: one point per run, never the window's zero
        trend = instance.fetch_materializations(tenant_quality_key("acme"), limit=10).records
        assert [r.asset_materialization.metadata[PUBLISHED_RATE].value for r in trend] == [full_rate, full_rate]
        latest = {k: v.value for k, v in trend[0].asset_materialization.metadata.items()}
        assert latest["usual band"] == "needs 2 more passed full runs"
        fleet = instance.get_latest_materialization_event(FLEET_REPORT).asset_materialization.metadata
        assert "| **acme** | ⚪ band not ready |" in fleet["fleet"].value

        # each run's charts in its own folder
        assert {p.name for p in storage.charts_root.iterdir()} == {full.run_id, quiet.run_id}
