"""Keep the tenant partitions in step with the tenant registry, and start new tenants' first run."""


from dagster import (
    AddDynamicPartitionsRequest,
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    DeleteDynamicPartitionsRequest,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from assets.jobs import tenant_job
from assets.partitions import TENANTS_PARTITION
from assets.tenant_assets import profile_features, profile_index
from resources.connect import ConnectResource


def registry_sync(registered: set[str], known: set[str]) -> tuple[list[str], list[str]]:
    """Which partitions to add and which to delete so Dagster matches the registry."""
    return sorted(registered - known), sorted(known - registered)


def sync_skip_reason(registered: int) -> str:
    """Why a tick did nothing, in what it saw."""
    if registered == 0:
        return "no tenant registered (connect one with `connect-pipeline tenants add`); no partition to add or remove"
    return f"{registered} tenant{'s' if registered != 1 else ''} registered, all have partitions; none removed"


@sensor(job=tenant_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING,
        description="Adds a partition for each newly connected tenant (and requests its first run); "
        "removes partitions of removed tenants.")
def tenant_registry_sensor(context: SensorEvaluationContext, connect: ConnectResource) -> SensorResult | SkipReason:
    registered = {t.tenant_id for t in connect.registry().list()}
    known = set(context.instance.get_dynamic_partitions(TENANTS_PARTITION))
    added, removed = registry_sync(registered, known)
    if not added and not removed:
        return SkipReason(sync_skip_reason(len(registered)))
    requests = []
    if added:
        requests.append(AddDynamicPartitionsRequest(TENANTS_PARTITION, added))
    if removed:
        requests.append(DeleteDynamicPartitionsRequest(TENANTS_PARTITION, removed))
    return SensorResult(
        run_requests=[
            RunRequest(partition_key=t, run_key=f"first-run-{t}",
                       tags={"tenant": t, "extract_mode_requested": "auto"}) for t in added
        ],
        dynamic_partitions_requests=requests,
    )


profile_automation_sensor = AutomationConditionSensorDefinition(
    "profile_automation_sensor",
    target=AssetSelection.assets(profile_index.key, profile_features.key),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Observes profile_index every 15 minutes and builds profile_features once per new "
    "snapshot, so the first tenant run after an index update does not pay for it.",
)
