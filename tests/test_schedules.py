"""Schedules and the tenant sensor, evaluated against a real Dagster instance and registry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from dagster import (
    AddDynamicPartitionsRequest,
    DagsterInstance,
    DeleteDynamicPartitionsRequest,
    build_schedule_context,
    build_sensor_context,
    instance_for_test,
)

import polars as pl

from assets.definitions import build_definitions
from connect_pipeline.extract import full_sweep_due
from assets.schedules import tenant_cadence_schedule
from assets.sensors import tenant_registry_sensor
from connect_pipeline.tenants import TenantConnection, TenantRegistry
from resources.connect import ConnectResource


def _register(root, tenant_id: str, cadence: str) -> None:
    TenantRegistry(root).add(
        TenantConnection(
            tenant_id=tenant_id, greenhouse_url="https://app.greenhouse.io/", client_id=f"id-{tenant_id}",
            secret_ref="env:UNUSED", sub=1, cadence=cadence,
        )
    )


def _resource(root) -> ConnectResource:
    return ConnectResource(data_dir=str(root), profiles_glob=str(root / "p" / "*.parquet"))


def _write_index(root, *, names_as_lists: bool = False) -> None:
    (root / "p").mkdir(exist_ok=True)
    first = [["Ada"], ["Alan"]] if names_as_lists else ["Ada", "Alan"]
    pl.DataFrame({
        "profile_id": ["p1", "p2"], "first_name": first, "last_name": ["Lovelace", "Turing"],
        "full_name": ["Ada Lovelace", "Alan Turing"], "current_title": [None, None],
        "current_company": [None, None], "past_companies": [[], []], "location": [None, None],
        "linkedin_url": [None, None], "emails": [[], []], "phones": [[], []],
        "updated_at": [datetime(2026, 1, 1), datetime(2026, 1, 1)],
    }, schema_overrides={"past_companies": pl.List(pl.String), "emails": pl.List(pl.String),
                         "phones": pl.List(pl.String)}).write_parquet(root / "p" / "index.parquet")


@pytest.fixture(scope="module")
def module_instance() -> Iterator[DagsterInstance]:
    """One persistent test instance for the module: creating one costs a good part of a second."""
    with instance_for_test() as instance:
        yield instance


@pytest.fixture()
def instance(module_instance: DagsterInstance) -> DagsterInstance:
    """The module's instance with no tenant partition left by an earlier test."""
    for key in module_instance.get_dynamic_partitions("tenants"):
        module_instance.delete_dynamic_partition("tenants", key)
    return module_instance


def _evaluate(instance: DagsterInstance, root, when: datetime):
    repository = build_definitions(str(root), str(root / "p" / "*.parquet")).get_repository_def()
    for key in instance.get_dynamic_partitions("tenants"):
        instance.delete_dynamic_partition("tenants", key)
    instance.add_dynamic_partitions("tenants", [t.tenant_id for t in TenantRegistry(root).list()])
    # used as a context manager: it leaves the instance context it enters (or later tests break)
    with build_schedule_context(instance=instance, scheduled_execution_time=when,
                                repository_def=repository, resources={"connect": _resource(root)}) as ctx:
        return tenant_cadence_schedule.evaluate_tick(ctx)


def test_a_broken_index_skips_the_tick_naming_the_file(instance, tmp_path):
    _register(tmp_path, "daily-co", "daily")
    _write_index(tmp_path, names_as_lists=True)
    result = _evaluate(instance, tmp_path, datetime(2026, 12, 1, 2, tzinfo=timezone.utc))
    assert not result.run_requests
    assert "index.parquet" in result.skip_message and "first_name" in result.skip_message


def _requests(instance: DagsterInstance, root, when: datetime):
    if not (root / "p" / "index.parquet").exists():
        _write_index(root)
    return list(_evaluate(instance, root, when).run_requests or [])


def test_daily_and_weekly_tenants_run_on_their_days(instance, tmp_path):
    _register(tmp_path, "daily-co", "daily")
    _register(tmp_path, "weekly-co", "weekly")
    tuesday = datetime(2026, 12, 1, 2, tzinfo=timezone.utc)
    monday = datetime(2026, 12, 7, 2, tzinfo=timezone.utc)

    on_tuesday = _requests(instance, tmp_path, tuesday)
    assert [r.partition_key for r in on_tuesday] == ["daily-co"]
    assert on_tuesday[0].run_config["ops"]["ats_extract"]["config"]["mode"] == "auto"
    assert on_tuesday[0].tags["tenant"] == "daily-co"

    on_monday = _requests(instance, tmp_path, monday)
    assert sorted(r.partition_key for r in on_monday) == ["daily-co", "weekly-co"]
    # the schedule does not choose full or incremental: the extract's one rule does (below)
    assert {r.run_config["ops"]["ats_extract"]["config"]["mode"] for r in on_monday} == {"auto"}
    assert len({r.run_key for r in on_monday}) == 2


def test_changing_a_cadence_takes_effect_without_code(instance, tmp_path):
    _register(tmp_path, "acme", "weekly")
    tuesday = datetime(2026, 12, 1, 2, tzinfo=timezone.utc)
    assert _requests(instance, tmp_path, tuesday) == []
    _register(tmp_path, "acme", "daily")
    assert [r.partition_key for r in _requests(instance, tmp_path, tuesday)] == ["acme"]


def test_sensor_adds_new_tenants_with_a_first_run_and_drops_removed_ones(instance, tmp_path):
    _register(tmp_path, "new-co", "daily")
    instance.add_dynamic_partitions("tenants", ["gone-co"])
    ctx = build_sensor_context(instance=instance, resources={"connect": _resource(tmp_path)})
    result = tenant_registry_sensor(ctx)
    adds = [r for r in result.dynamic_partitions_requests if isinstance(r, AddDynamicPartitionsRequest)]
    deletes = [r for r in result.dynamic_partitions_requests if isinstance(r, DeleteDynamicPartitionsRequest)]
    assert adds[0].partition_keys == ["new-co"]
    assert deletes[0].partition_keys == ["gone-co"]
    assert [r.partition_key for r in result.run_requests] == ["new-co"]
    assert result.run_requests[0].run_key == "first-run-new-co"


def test_a_full_read_is_due_a_week_after_the_last_one_whatever_starts_the_run():
    last = datetime(2026, 11, 30, 2, 0, 5, tzinfo=timezone.utc)
    marks = {"last_full": last.strftime("%Y-%m-%dT%H:%M:%SZ")}
    # the next weekly tick lands a few seconds before seven whole days: still due
    assert full_sweep_due(marks, datetime(2026, 12, 7, 2, 0, 1, tzinfo=timezone.utc))
    assert not full_sweep_due(marks, datetime(2026, 12, 6, 2, 0, 1, tzinfo=timezone.utc))
    assert full_sweep_due({}, last)


def test_schedule_and_sensor_run_by_default():
    from dagster import DefaultScheduleStatus, DefaultSensorStatus

    assert tenant_cadence_schedule.default_status == DefaultScheduleStatus.RUNNING
    assert tenant_registry_sensor.default_status == DefaultSensorStatus.RUNNING


def test_sensor_skip_says_what_it_saw(instance, tmp_path):
    ctx = build_sensor_context(instance=instance, resources={"connect": _resource(tmp_path)})
    assert "no tenant registered" in tenant_registry_sensor(ctx).skip_message
    _register(tmp_path, "a-co", "daily")
    _register(tmp_path, "b-co", "weekly")
    instance.add_dynamic_partitions("tenants", ["a-co", "b-co"])
    ctx = build_sensor_context(instance=instance, resources={"connect": _resource(tmp_path)})
    assert tenant_registry_sensor(ctx).skip_message == "2 tenants registered, all have partitions; none removed"


def test_schedule_skip_names_the_day(instance, tmp_path):
    _register(tmp_path, "weekly-co", "weekly")
    _write_index(tmp_path)
    result = _evaluate(instance, tmp_path, datetime(2026, 12, 1, 2, tzinfo=timezone.utc))
    assert result.skip_message.startswith("no tenant is due on Tuesday 2026-12-01: 1 connected, all weekly")
