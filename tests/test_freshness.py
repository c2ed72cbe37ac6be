"""A tenant not refreshed within its cadence turns red: the freshness policy of its quality asset,
evaluated by Dagster's own evaluator against a real instance, at times moved past the windows."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

from dagster import AssetMaterialization, DagsterInstance, instance_for_test
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.loader import LoadingContextForTest
from dagster._core.test_utils import freeze_time

from assets.definitions import build_definitions
from connect_pipeline.quality import STALE_AFTER, overdue_after
from connect_pipeline.tenants import TenantConnection, TenantRegistry
from resources.quality_report import tenant_quality_key

T0 = datetime(2026, 12, 1, 2, 5, tzinfo=timezone.utc)


def _register(root: Path, tenant_id: str, cadence: str) -> None:
    TenantRegistry(root).add(TenantConnection(
        tenant_id=tenant_id, greenhouse_url="https://app.greenhouse.io/", client_id="client",
        secret_ref="env:UNUSED_SECRET", sub=1, cadence=cadence,
    ))


def _state(instance: DagsterInstance, defs, tenant_id: str, at: datetime) -> FreshnessState:
    # imported here, not at the top: most of a second that only the worker running this file pays
    from dagster._core.definitions.freshness_evaluator import TimeWindowFreshnessPolicyEvaluator

    node = defs.resolve_asset_graph().get(tenant_quality_key(tenant_id))
    with freeze_time(at):
        return asyncio.run(
            TimeWindowFreshnessPolicyEvaluator().evaluate_freshness(LoadingContextForTest(instance), node)
        )


def test_each_tenant_turns_red_when_not_refreshed_within_its_cadence(tmp_path):
    _register(tmp_path, "acme", "daily")
    _register(tmp_path, "globex", "weekly")
    defs = build_definitions(str(tmp_path), str(tmp_path / "profiles" / "*.parquet"))
    with instance_for_test() as instance:
        assert _state(instance, defs, "acme", T0) == FreshnessState.UNKNOWN  # never run: not green
        with freeze_time(T0):
            for tenant in ("acme", "globex"):
                instance.report_runless_asset_event(AssetMaterialization(tenant_quality_key(tenant)))
        hour = timedelta(hours=1)
        assert _state(instance, defs, "acme", T0 + 20 * hour) == FreshnessState.PASS
        assert _state(instance, defs, "acme", T0 + overdue_after("daily") + hour) == FreshnessState.WARN
        assert _state(instance, defs, "acme", T0 + STALE_AFTER["daily"] + hour) == FreshnessState.FAIL
        # the same two days leave the weekly tenant green; it goes red past its own window
        assert _state(instance, defs, "globex", T0 + STALE_AFTER["daily"] + hour) == FreshnessState.PASS
        assert _state(instance, defs, "globex", T0 + STALE_AFTER["weekly"] + hour) == FreshnessState.FAIL


def test_the_policy_follows_the_registry_cadence(tmp_path):
    _register(tmp_path, "acme", "weekly")
    node = build_definitions(str(tmp_path), "unused").resolve_asset_graph().get(tenant_quality_key("acme"))
    policy = node.freshness_policy_or_from_metadata
    assert policy.fail_window.to_timedelta() == STALE_AFTER["weekly"]
    assert policy.warn_window.to_timedelta() == overdue_after("weekly")
    assert "late (warn) after 7 days 2 hours" in node.description and "stale (fail) after 8 days" in node.description
