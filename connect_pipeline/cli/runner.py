"""Run the tenant graph through Dagster from the command line (`connect-pipeline run`).

Runs execute in this process against the persistent Dagster instance ($DAGSTER_HOME), so they
show up in the Dagster UI with their metadata and check results, like scheduled runs do.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from collections.abc import Callable

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from assets.definitions import build_definitions
from assets.partitions import TENANTS_PARTITION
from assets.run_config import ExtractMode, extract_run_config
from connect_pipeline.errors import ConnectError
from connect_pipeline.lease import RunInProgress, current_holder
from connect_pipeline.storage import data_root, private_dir


@dataclass(frozen=True)
class TenantRun:
    tenant_id: str
    run_id: str
    success: bool
    failed_steps: list[str]
    metadata: dict[str, dict]
    checks: dict[str, bool]
    error: str | None


INSTANCE_TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "dagster.yaml"


def _root_cause(error) -> str:
    """The message of the innermost cause: our own error with its fix, not Dagster's wrapper."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    lines = [line for line in error.message.strip().splitlines() if line.strip()]
    return lines[-1] if lines else error.message


def default_dagster_home(root: Path) -> Path:
    """$DAGSTER_HOME, else <data>/dagster, with the project's run-queue limits on first use.

    Private to the service's user, like the tenants' folders: the instance keeps every tenant's
    run logs, metadata and error messages, and the files Dagster writes in it follow the umask.
    """
    home = private_dir(Path(os.environ.get("DAGSTER_HOME") or root / "dagster"))
    config = home / "dagster.yaml"
    if not config.exists() and INSTANCE_TEMPLATE.exists():
        shutil.copyfile(INSTANCE_TEMPLATE, config)
    return home


def open_instance(root: Path) -> DagsterInstance:
    """The persistent instance the UI and the daemon use, without touching the environment.

    Two commands started together on a new instance would both create its SQLite tables and one
    would fail with a raw "table already exists": the first to take the lock creates them.
    """
    home = default_dagster_home(root)
    with open(home / ".instance.lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        instance = DagsterInstance.from_config(str(home))
        instance.get_runs(limit=1)  # creates the storage's tables while we hold the lock
    return instance


def run_tenant(
    tenant_id: str,
    *,
    data_dir: str | None = None,
    profiles_glob: str | None = None,
    instance: DagsterInstance | None = None,
    mode: ExtractMode = "auto",
    allow_mass_deletion: bool = False,
    tags: dict[str, str] | None = None,
    log_level: str = "INFO",
) -> TenantRun:
    root = data_root(data_dir)
    holder = current_holder(root, tenant_id)
    if holder is not None:  # refuse before Dagster records a run that could only fail
        raise RunInProgress(tenant_id, holder)
    defs = build_definitions(str(root), profiles_glob)
    if instance is None:
        instance = open_instance(root)
    if not instance.has_dynamic_partition(TENANTS_PARTITION, tenant_id):
        instance.add_dynamic_partitions(TENANTS_PARTITION, [tenant_id])
    result = defs.resolve_job_def("tenant_job").execute_in_process(
        partition_key=tenant_id,
        instance=instance,
        tags={"tenant": tenant_id, "extract_mode_requested": mode, "connect/launched_by": "CLI", **(tags or {})},
        run_config={**extract_run_config(mode, allow_mass_deletion=allow_mass_deletion), "loggers": {"console": {"config": {"log_level": log_level}}}},
        raise_on_error=False,
    )
    metadata: dict[str, dict] = {}
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        metadata[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
    checks = {
        e.event_specific_data.check_name: e.event_specific_data.passed
        for e in result.all_events
        if e.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
    }
    failed = [e.step_key for e in result.all_events if e.is_step_failure]
    error = None
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error:
            error = _root_cause(event.step_failure_data.error)
        elif error is None and event.event_type == DagsterEventType.RUN_FAILURE:
            # a run that failed before any step (e.g. another run holds the tenant's lease)
            failure = event.event_specific_data
            if failure is not None and getattr(failure, "error", None) is not None:
                error = _root_cause(failure.error)
    return TenantRun(tenant_id, result.run_id, result.success, failed, metadata, checks, error)


BACKFILL_TAG = "connect/backfill"


def backfill(
    tenant_ids: list[str],
    *,
    backfill_id: str,
    data_dir: str | None = None,
    profiles_glob: str | None = None,
    mode: ExtractMode = "auto",
    instance: DagsterInstance | None = None,
    on_tenant: "Callable[[int, int, str, str], None] | None" = None,
) -> dict[str, str]:
    """Run the whole graph for each tenant, one after another, under one backfill id.

    Resumable: re-running the same backfill id skips tenants whose run in it already succeeded,
    so a backfill that failed half-way finishes the rest and retries only the failures.
    """
    if instance is None:
        instance = open_instance(data_root(data_dir))
    done = {
        record.dagster_run.tags.get("dagster/partition")
        for record in instance.get_run_records(
            filters=RunsFilter(tags={BACKFILL_TAG: backfill_id}, statuses=[DagsterRunStatus.SUCCESS])
        )
    }
    outcome: dict[str, str] = {}
    for i, tenant_id in enumerate(tenant_ids, start=1):
        if tenant_id in done:
            outcome[tenant_id] = "skipped (already succeeded in this backfill)"
        else:
            try:
                run = run_tenant(
                    tenant_id, data_dir=data_dir, profiles_glob=profiles_glob, instance=instance,
                    mode=mode, tags={BACKFILL_TAG: backfill_id},
                )
                outcome[tenant_id] = "succeeded" if run.success else f"failed: {run.error}"
            except ConnectError as exc:  # e.g. another run holds the tenant: the others go on
                outcome[tenant_id] = f"failed: {exc}"
        if on_tenant:
            on_tenant(i, len(tenant_ids), tenant_id, outcome[tenant_id])
    return outcome
