"""The per-tenant asset graph: extract → normalise → link → publish → purge.

Each body reads like a sentence over connect_pipeline's stage functions; the assets hand results
between them through the tenant's staging folder, not an I/O manager, so nothing of a tenant's
ATS data lands in Dagster's storage. ``tenant_asset`` gives every stage the same partitioning,
the tenant's connection and folders, and the run lease (``TenantRunResource``), which also
purges the staged inputs when the run ends, however it ends.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl
from pydantic import Field
from dagster import (
    AssetExecutionContext,
    AutomationCondition,
    Config,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    ObserveResult,
    asset,
    observable_source_asset,
)

from assets.partitions import tenant_partitions
from assets.run_config import ExtractMode
from connect_pipeline.errors import TenantNotFound
from connect_pipeline.extract import extract_tenant
from connect_pipeline.pipeline import (
    built_profile_features,
    eligible_people,
    ensure_profile_features,
    link_people,
    normalise_tenant,
    publish_tenant,
    purge_tenant,
)
from connect_pipeline.profile_index import check_profile_index
from connect_pipeline.quality import match_rate_of_eligible, percent
from connect_pipeline.run_state import publish_history, staged_mode
from assets.charts import blocking_md, chart_metadata, column_schema, label_metadata
from assets.labels import this_run
from resources.quality_report import PUBLISHED_MATCHES, PUBLISHED_RATE
from connect_pipeline.storage import TenantStorage
from connect_pipeline.tenants import TenantConnection
from resources.connect import ConnectResource, TenantRunResource


PROFILE_INDEX_OBSERVE_CRON = "*/15 * * * *"
"""How often the automation sensor looks at the index files (a stat of each, plus the contract
check once per new snapshot)."""


@observable_source_asset(
    group_name="profiles",
    description="The public-profile index (Parquet). Its data version is the snapshot id (a hash "
    "of the files' names, sizes and modification times). Observed by profile_automation_sensor "
    "when it starts and every 15 minutes: a new snapshot shows profile_features as stale, and "
    "the sensor then builds it.",
    # observed as soon as the sensor first runs (a fresh deployment is never "never observed"),
    # then at every tick
    automation_condition=(
        AutomationCondition.initial_evaluation()
        | AutomationCondition.cron_tick_passed(PROFILE_INDEX_OBSERVE_CRON, "UTC")
    ) & ~AutomationCondition.in_progress(),
)
def profile_index(context, connect: ConnectResource) -> ObserveResult:
    summary = check_profile_index(connect.root, connect.profiles_glob)
    return ObserveResult(
        data_version=DataVersion(summary.snapshot_id),
        metadata={"files": summary.files, "dagster/row_count": summary.rows},
    )


@asset(
    group_name="profiles",
    deps=[profile_index],
    description="Normalised matching features of the profile index, built once per index snapshot "
    "and shared by every tenant (no tenant data). Built by profile_automation_sensor when the "
    "index's snapshot changes (eager: missing, or profile_index observed with a new data version); "
    "every tenant run also materialises it first, a no-op when the snapshot is built, so a run "
    "that meets a snapshot the sensor has not built yet builds it, once, under a lock.",
    automation_condition=AutomationCondition.eager(),
)
def profile_features(context: AssetExecutionContext, connect: ConnectResource) -> MaterializeResult:
    summary = check_profile_index(connect.root, connect.profiles_glob)
    path = ensure_profile_features(connect.root, connect.profiles_glob)
    rows = pl.scan_parquet(path).select(pl.len()).collect().item()
    return MaterializeResult(
        data_version=DataVersion(summary.snapshot_id),
        metadata={
            "snapshot": summary.snapshot_id,
            "profiles": rows,
            "path": MetadataValue.path(str(path)),
        },
    )


class ExtractConfig(Config):
    """``auto``: incremental when a full sweep ran in the last week, else full; ``full`` forces the
    full read; ``incremental`` reads only the window (every mode sweeps candidate ids for
    deletions)."""

    mode: ExtractMode = "auto"
    allow_mass_deletion: bool = Field(
        default=False,
        description="Let this run drop more than half of the published candidates (at least 100) when "
        "Greenhouse no longer lists them; without it such a run stops, as a list cut short looks "
        "the same as a purge.",
    )


@dataclass(frozen=True)
class Tenant:
    """What a stage knows about the tenant its partition names."""

    connection: TenantConnection
    storage: TenantStorage
    connect: ConnectResource

    def still_connected(self) -> None:
        """Raise when the tenant was removed while this run was going: nothing more is written."""
        ensure_connected(self.connect, self.connection.tenant_id)


def ensure_connected(connect: ConnectResource, tenant_id: str) -> None:
    if not connect.registry().has(tenant_id):
        raise _removed(tenant_id)


def connected_tenant(connect: ConnectResource, tenant_id: str) -> tuple[TenantConnection, TenantStorage]:
    """The tenant's connection and storage for a stage or check of a run. Removed since the run
    began, it is said so: the registry's own "not registered: add it" is for a command line."""
    try:
        return connect.tenant(tenant_id)
    except TenantNotFound as exc:
        raise _removed(tenant_id) from exc


def _removed(tenant_id: str) -> TenantNotFound:
    return TenantNotFound(
        f"tenant {tenant_id} is not connected: it was removed (or never added) while this run "
        "was in progress; nothing was published and its staged inputs are purged"
    )


def tenant_asset(
    *, deps: Sequence = (), description: str, config: type[Config] | None = None
) -> Callable:
    """Declare a stage of the tenant graph: partitioned by tenant, run under the tenant's lease.

    The body receives ``(context, tenant)`` (and the config, when the stage has one).
    """

    def decorate(body: Callable) -> Callable:
        def tenant_of(context: AssetExecutionContext, connect: ConnectResource) -> Tenant:
            connection, storage = connected_tenant(connect, context.partition_key)
            return Tenant(connection, storage, connect)

        if config is None:
            def compute(context: AssetExecutionContext, connect: ConnectResource, tenant_run: TenantRunResource):
                return body(context, tenant_of(context, connect))
        else:
            def compute(context: AssetExecutionContext, config, connect: ConnectResource, tenant_run: TenantRunResource):
                return body(context, tenant_of(context, connect), config)
            compute.__annotations__["config"] = config
        compute.__name__ = body.__name__
        compute.__doc__ = body.__doc__
        return asset(
            name=body.__name__,
            partitions_def=tenant_partitions,
            group_name="tenant_pipeline",
            deps=list(deps),
            description=description,
        )(compute)

    return decorate


@tenant_asset(
    description="Greenhouse records (Harvest v3) and resume files of one tenant, staged until the "
    "purge: an incremental window (plus a sweep of candidate ids for deletions) daily, a full "
    "read weekly.",
    config=ExtractConfig,
)
def ats_extract(context: AssetExecutionContext, tenant: Tenant, config: ExtractConfig) -> MaterializeResult:
    # a broken index fails the run in seconds, before any Greenhouse request (cached per snapshot)
    check_profile_index(tenant.connect.root, tenant.connect.profiles_glob)
    with tenant.connect.harvest_client(tenant.connection) as client:
        summary = extract_tenant(
            client,
            tenant.storage,
            mode=config.mode,
            include_private=tenant.connection.include_private,
            allow_mass_deletion=config.allow_mass_deletion,
        )
        stats = client.stats
    context.instance.add_run_tags(
        context.run.run_id,
        {"tenant": tenant.connection.tenant_id, "extract_mode": summary.mode, "extract_mode_requested": config.mode},
    )
    metadata: dict = {f"rows/{name}": n for name, n in summary.rows.items()}
    metadata["mode"] = summary.mode
    metadata["window"] = f"{summary.since or 'beginning'} → {summary.until}"
    metadata["deleted_candidates"] = summary.deleted_candidates
    metadata["resumes_downloaded"] = summary.resumes_downloaded
    metadata["resumes_skipped"] = MetadataValue.json(summary.resumes_skipped)
    metadata["requests"] = sum(s.get("requests", 0) for s in stats.values())
    metadata["http_429"] = sum(s.get("throttled_429", 0) for s in stats.values())
    metadata["retries"] = sum(s.get("retries", 0) for s in stats.values())
    metadata["per_collection"] = MetadataValue.json(stats)
    metadata["seconds"] = round(summary.seconds, 2)
    return MaterializeResult(metadata=metadata)


@tenant_asset(
    deps=[ats_extract],
    description="One row of matching signals per ATS candidate (names, companies, LinkedIn, "
    "e-mails, phones, location, resume signals). Staged; purged after the match attempt.",
)
def ats_people(context: AssetExecutionContext, tenant: Tenant) -> MaterializeResult:
    summary = normalise_tenant(tenant.storage, include_private=tenant.connection.include_private)
    return MaterializeResult(
        metadata={
            "candidates": summary.candidates,
            "eligible": summary.eligible,
            "anonymised": summary.anonymised,
            "private_excluded": summary.private_excluded,
            "resumes_read": summary.resumes_read,
            "resumes_skipped": MetadataValue.json(summary.resumes_skipped),
        }
    )


@tenant_asset(
    deps=[ats_people, profile_features],
    description="Splink link_only between the tenant's ATS people and the profile features, "
    "trained per tenant; at most one profile per candidate.",
)
def ats_matches(context: AssetExecutionContext, tenant: Tenant) -> MaterializeResult:
    connect, storage = tenant.connect, tenant.storage
    features = built_profile_features(connect.root, connect.profiles_glob)
    result = link_people(
        storage,
        features,
        include_private=tenant.connection.include_private,
        config=connect.link_config(),
    )
    eligible_frame = eligible_people(
        pl.read_parquet(storage.people), include_private=tenant.connection.include_private
    )
    eligible = eligible_frame.height
    mode = staged_mode(storage)
    run = this_run(mode)
    threshold = connect.link_threshold
    metadata: dict = {
        "extract mode": mode,
        f"{run}: candidates matched": result.matches.height,
        f"{run}: eligible candidates": eligible,
        f"{run}: match rate (% of eligible)": percent(match_rate_of_eligible(result.matches.height, eligible)),
        # beside the rate, how many the index should hold (trained runs): far above it is matches missed
        **({f"{run}: candidates in the index (estimated %)": percent(result.share_in_index)}
           if result.share_in_index is not None else {}),
        f"{run}: candidates scored": result.candidates_scored,
        f"{run}: pairs compared": result.pairs_compared,
        "prediction chunks": result.prediction_chunks,
        "borderline matches (% of this run's matches)": round(100 * result.borderline_share, 2),
        "match threshold (probability)": threshold,
        "pairs per blocking rule": MetadataValue.md(blocking_md(result.blocking_counts)),
    }
    if storage.labels.exists():
        metadata |= label_metadata(result.matches, pl.read_parquet(storage.labels), eligible_frame, threshold, run)
    metadata |= chart_metadata(storage, context.run.run_id, result, threshold)
    metadata["model parameters"] = MetadataValue.path(str(result.params_path))
    return MaterializeResult(metadata=metadata)


@tenant_asset(
    deps=[ats_matches],
    description="What a recruiter sees: one row per matched profile (prospect/applicant, stage, "
    "status, last activity, recruiter, contacts, attachments, Greenhouse link), published with "
    "the matches as one generation.",
)
def enrichment(context: AssetExecutionContext, tenant: Tenant) -> MaterializeResult:
    paths, matches, table = publish_tenant(
        tenant.storage, tenant.connection, still_connected=tenant.still_connected
    )
    history = publish_history(tenant.storage)
    eligible = next((r.eligible for r in reversed(history) if r.mode == "full"), history[-1].eligible)
    return MaterializeResult(
        metadata={
            # the tenant's quality series: the published table's figures, whatever kind of run this was
            PUBLISHED_RATE: percent(match_rate_of_eligible(matches.height, eligible)),
            PUBLISHED_MATCHES: matches.height,
            "eligible candidates (last full run)": eligible,
            "published by": f"{history[-1].mode} run",
            "enriched profiles": table.height,
            "prospects": int(table["is_prospect"].sum()) if table.height else 0,
            "applicants": int(table["is_applicant"].sum()) if table.height else 0,
            "generation": paths.generation,
            "dagster/row_count": table.height,
            "dagster/column_schema": column_schema(table),
            "enrichment table": MetadataValue.path(str(paths.enrichment)),
            "matches table": MetadataValue.path(str(paths.matches)),
            "DuckDB file (current generation)": MetadataValue.path(str(tenant.storage.duckdb_path)),
        }
    )


@tenant_asset(
    deps=[enrichment],
    description="Deletes the staged ATS inputs once the match was attempted; its check proves it.",
)
def staging_purge(context: AssetExecutionContext, tenant: Tenant) -> MaterializeResult:
    removed = purge_tenant(tenant.storage)
    return MaterializeResult(metadata={"files_removed": removed})


TENANT_ASSETS = [ats_extract, ats_people, ats_matches, enrichment, staging_purge]
__all__ = ["TENANT_ASSETS", "profile_features", "profile_index"]
