"""profile_features by automation: observed on a cron, built once per index snapshot, on a real
Dagster instance with Dagster's own automation evaluator (the daemon's sensor runs the same)."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from dagster import AssetKey, DefaultSensorStatus, evaluate_automation_conditions, instance_for_test
from dagster._core.definitions.observe import observe

from assets.definitions import build_definitions
from assets.sensors import profile_automation_sensor
from assets.tenant_assets import profile_index

FEATURES, INDEX = AssetKey("profile_features"), AssetKey("profile_index")
T0 = datetime(2026, 12, 1, 9, 1, tzinfo=timezone.utc)


def _requested(result) -> set[AssetKey]:
    return {key for key in (FEATURES, INDEX) if result.get_num_requested(key)}


def _copy_index(world_profiles: str, into: Path) -> str:
    into.mkdir()
    for f in Path(world_profiles).parent.glob(Path(world_profiles).name):
        shutil.copy2(f, into / f.name)
    return str(into / Path(world_profiles).name)


@pytest.mark.slow  # runs Dagster materialisations: `make test-fast` leaves it out
def test_features_are_built_once_per_snapshot_by_the_sensor(tmp_path, world_profiles):
    glob = _copy_index(world_profiles, tmp_path / "index")
    defs = build_definitions(str(tmp_path / "data"), glob)
    job = defs.resolve_implicit_global_asset_job_def()
    with instance_for_test() as instance:
        # the sensor's first look observes the index; the features wait for that observation
        first = evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=T0)
        assert INDEX in _requested(first) and FEATURES not in _requested(first)
        observe([profile_index], instance=instance, resources={"connect": defs.resources["connect"]})
        second = evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=first.cursor, evaluation_time=T0 + timedelta(minutes=1)
        )
        assert FEATURES in _requested(second) and INDEX not in _requested(second)  # a snapshot never built
        assert job.get_subset(asset_selection={FEATURES}).execute_in_process(instance=instance).success

        # the same snapshot observed again: nothing to build
        observe([profile_index], instance=instance, resources={"connect": defs.resources["connect"]})
        third = evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=second.cursor, evaluation_time=T0 + timedelta(minutes=2)
        )
        assert _requested(third) == set()
        assert _stale(instance, defs) is False

        # the next cron tick (09:15) observes the index again
        fourth = evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=third.cursor, evaluation_time=T0 + timedelta(minutes=15)
        )
        assert _requested(fourth) == {INDEX}

        # a new snapshot (a file rewritten): the UI shows the features stale, the sensor builds them
        touched = sorted(Path(glob).parent.iterdir())[0]
        os.utime(touched, (touched.stat().st_atime, touched.stat().st_mtime + 60))
        observe([profile_index], instance=instance, resources={"connect": defs.resources["connect"]})
        assert _stale(instance, defs) is True
        fifth = evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=fourth.cursor, evaluation_time=T0 + timedelta(minutes=16)
        )
        assert FEATURES in _requested(fifth)


def _stale(instance, defs) -> bool:
    """What the UI's "stale" badge reads: the upstream data version the features were built from."""
    from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
    from dagster._core.loader import LoadingContextForTest

    resolver = CachingStaleStatusResolver(instance, defs.resolve_asset_graph(), LoadingContextForTest(instance))
    return resolver.get_status(FEATURES) == StaleStatus.STALE


def test_the_sensor_is_on_by_default_and_targets_the_profile_assets():
    assert profile_automation_sensor.default_status == DefaultSensorStatus.RUNNING
