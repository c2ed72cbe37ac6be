"""The one resource the tenant assets need: where data lives and how to reach Greenhouse.

It holds configuration only (paths and model knobs); secrets are resolved per run from the tenant
registry's reference (an environment variable or an encrypted value), never stored in run config.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from dagster import ConfigurableResource, DagsterInstance, DagsterRunStatus, InitResourceContext

from connect_pipeline.errors import ConnectError
from connect_pipeline.harvest.client import HarvestClient
from connect_pipeline.lease import LeaseHolder, TenantLease
from connect_pipeline.linkage import DEFAULT_THRESHOLD, DEFAULT_U_MAX_PAIRS, LinkConfig
from connect_pipeline.pipeline import publish_deletions
from connect_pipeline.run_state import last_gate
from resources.quality_report import report_match_quality
from connect_pipeline.storage import TenantStorage, data_root
from connect_pipeline.tenants import TenantConnection, TenantRegistry, complete_removal, removal_pending

LinkBackend = Literal["duckdb", "spark"]


class ConnectResource(ConfigurableResource):
    """Storage root, profile index and link settings shared by every tenant run."""

    data_dir: str
    profiles_glob: str
    link_threshold: float = DEFAULT_THRESHOLD
    u_max_pairs: float = DEFAULT_U_MAX_PAIRS
    link_backend: LinkBackend = "duckdb"  # "spark" for profile indexes past one machine (the spark extra)

    @property
    def root(self) -> Path:
        return data_root(self.data_dir)

    def registry(self) -> TenantRegistry:
        return TenantRegistry(self.root)

    def connection(self, tenant_id: str) -> TenantConnection:
        return self.registry().get(tenant_id)

    def storage(self, tenant_id: str) -> TenantStorage:
        return TenantStorage(self.root, tenant_id)

    def tenant(self, tenant_id: str) -> tuple[TenantConnection, TenantStorage]:
        """The connection and the folders of the tenant a partition names."""
        return self.connection(tenant_id), self.storage(tenant_id)

    def harvest_client(self, connection: TenantConnection) -> HarvestClient:
        """The tenant's client; its warnings go to the ``connect_pipeline`` loggers, which the
        instance's ``python_logs`` settings hand to Dagster's run log."""
        return HarvestClient(connection.api_base_url, connection.credential(), tenant_id=connection.tenant_id)

    def link_config(self) -> LinkConfig:
        return LinkConfig(
            threshold=self.link_threshold, u_max_pairs=self.u_max_pairs, backend=self.link_backend
        )


class TenantRunResource(ConfigurableResource):
    """Holds the tenant's run lease for the whole run, however the run was launched.

    Dagster initialises a run's resources once before its first step and tears them down after
    its last (the tenant job runs in one process), which is exactly the span the lease must
    cover: from the extract to the purge. Teardown also purges the staged ATS inputs, so a run
    that failed, or whose publish the quality gate blocked, still deletes them; a killed run
    (no teardown) leaves them for the next run, which resumes its extract.

    It also tags the run with its tenant (however it was launched), and when the run ends it
    refreshes the fleet's match-quality report (``resources/quality_report.py``).
    """

    data_dir: str

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator["TenantRunResource"]:
        run = context.run
        tenant_id = run.tags.get(PARTITION_TAG) if run is not None else None
        if tenant_id is None:
            yield self
            return
        root = data_root(self.data_dir)
        holder = LeaseHolder.this_process(run.run_id, started_by=launched_by(run.tags))
        instance = context.instance
        if instance is not None and run.tags.get(TENANT_TAG) != tenant_id:
            instance.add_run_tags(run.run_id, {TENANT_TAG: tenant_id})
        with TenantLease(root, tenant_id, holder) as lease:
            if lease.stale is not None and instance is not None:
                mark_dead_run_failed(instance, lease.stale, tenant_id)
            try:
                yield self
            finally:
                storage = TenantStorage(root, tenant_id)
                try:
                    if not _removed_during_run(root, tenant_id):
                        _publish_deletions(root, storage, context)
                finally:
                    storage.purge_staging()  # whatever happened above: no staged record outlives the run
                    if _removed_during_run(root, tenant_id):  # read again: as late as the lease allows
                        complete_removal(root, tenant_id)  # the removal could not take it from this run
                    elif instance is not None:
                        _report_quality(instance, root, storage, run.run_id, context)


PARTITION_TAG = "dagster/partition"
TENANT_TAG = "tenant"


def _removed_during_run(root: Path, tenant_id: str) -> bool:
    """Whether `tenants remove` marked the tenant and the registry, read cleanly, no longer
    holds it. A registry that is missing, damaged or unreadable is never a reason to delete a
    tenant's files."""
    try:
        return removal_pending(root, tenant_id) and not TenantRegistry(root).has(tenant_id)
    except (ConnectError, OSError, ValueError):
        return False


def _publish_deletions(root: Path, storage: TenantStorage, context: InitResourceContext) -> None:
    """A run ending without a publish (gate blocked, a stage failed) still drops what Greenhouse
    deleted from the published tables; if that fails, the next run finds the same deletions."""

    def still_connected() -> None:
        if _removed_during_run(root, storage.tenant_id):
            raise ConnectError(f"tenant {storage.tenant_id} was removed during this run: nothing published")

    try:
        publish_deletions(storage, still_connected=still_connected)  # logs what it dropped
    except Exception as exc:  # noqa: BLE001 (the staged inputs are purged whatever happens here)
        if context.log is not None:
            context.log.error(
                f"tenant {storage.tenant_id}: the candidates Greenhouse deleted could not be dropped from "
                f"the published tables ({type(exc).__name__}: {exc}); the next run drops them"
            )


def _report_quality(instance: DagsterInstance, root: Path, storage: TenantStorage, run_id: str,
                    context: InitResourceContext) -> None:
    """Refresh the match-quality assets; a report that fails never fails the run."""
    gate = last_gate(storage)
    try:
        report_match_quality(instance, root, storage.tenant_id, reached_gate=gate is not None and gate.run_id == run_id)
    except Exception as exc:  # noqa: BLE001 (the run's own outcome stands)
        if context.log is not None:
            context.log.warning(f"match quality report not refreshed: {type(exc).__name__}: {exc}")


def launched_by(tags: Mapping[str, str]) -> str:
    """Who started a run, in words: the schedule, sensor, backfill, CLI or the UI."""
    for tag, label in (("dagster/schedule_name", "schedule"), ("dagster/sensor_name", "sensor"),
                       ("dagster/backfill", "backfill"), ("connect/backfill", "CLI backfill")):
        if tag in tags:
            return f"{label} {tags[tag]}"
    return tags.get("connect/launched_by", "Dagster UI or API")


def mark_dead_run_failed(instance: DagsterInstance, dead: LeaseHolder, tenant_id: str) -> None:
    """A run named in a lease nobody holds died without releasing it: say so in Dagster."""
    record = instance.get_run_by_id(dead.run_id)
    if record is not None and record.status in (DagsterRunStatus.STARTED, DagsterRunStatus.STARTING):
        instance.report_run_failed(
            record,
            message=f"tenant {tenant_id}: the process of this run (pid {dead.pid} on {dead.host}) "
            "died without finishing; the next run of the tenant took over and marked it failed",
        )
