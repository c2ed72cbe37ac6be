"""A backfill over several tenants, resumable after a failure."""

from __future__ import annotations

import pytest
from dagster import RunsFilter, instance_for_test

from connect_pipeline.cli.runner import BACKFILL_TAG, backfill
from connect_pipeline.storage import TenantStorage
from tests.conftest import connect_tenant

pytestmark = pytest.mark.slow  # whole Dagster runs: `make test-fast` leaves them out


def test_backfill_resumes_and_retries_only_the_failure(world, world_profiles, greenhouse, data_dir, monkeypatch):
    connect_tenant(data_dir, world, greenhouse, "acme", monkeypatch=monkeypatch)
    connect_tenant(data_dir, world, greenhouse, "globex", monkeypatch=monkeypatch)
    good_secret = __import__("os").environ["TEST_SECRET_GLOBEX"]
    monkeypatch.setenv("TEST_SECRET_GLOBEX", "wrong-secret")
    seen = []
    with instance_for_test() as instance:
        first = backfill(["acme", "globex"], backfill_id="bf-1", data_dir=str(data_dir),
                         profiles_glob=world_profiles, instance=instance,
                         on_tenant=lambda i, n, t, s: seen.append((i, n, t)))
        assert first["acme"] == "succeeded"
        assert first["globex"].startswith("failed") and "globex" in first["globex"]
        assert seen == [(1, 2, "acme"), (2, 2, "globex")]

        monkeypatch.setenv("TEST_SECRET_GLOBEX", good_secret)
        second = backfill(["acme", "globex"], backfill_id="bf-1", data_dir=str(data_dir),
                          profiles_glob=world_profiles, instance=instance)
        assert second["acme"].startswith("skipped")
        assert second["globex"] == "succeeded"
        runs = instance.get_run_records(filters=RunsFilter(tags={BACKFILL_TAG: "bf-1"}))
        assert sorted(r.dagster_run.tags["dagster/partition"] for r in runs) == ["acme", "globex", "globex"]
    assert TenantStorage(data_dir, "globex").published_table("enrichment") is not None
    assert list((data_dir / "tenants" / "globex").rglob("staging/*")) == []
