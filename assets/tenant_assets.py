"""The per-tenant asset graph: extract → normalise → link → publish → purge.

Each body reads like a sentence over connect_pipeline's stage functions; the assets hand results
between them through the tenant's staging folder, not an I/O manager, so nothing of a tenant's
ATS data lands in Dagster's storage.
"""


import polars as pl
from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset

from assets.partitions import tenant_partitions
from connect_pipeline.extract import extract_tenant, staged_mode
from connect_pipeline.normalise.profiles import profile_snapshot_id
from connect_pipeline.pipeline import (
    ensure_profile_features,
    link_people,
    normalise_tenant,
    publish_tenant,
    purge_on_failure,
    purge_tenant,
)
from resources.connect import ConnectResource


@asset(
    group_name="profiles",
    description="Normalised matching features of the profile index, built once per index snapshot "
    "and shared by every tenant (no tenant data).",
)
def profile_features(context: AssetExecutionContext, connect: ConnectResource) -> MaterializeResult:
    path = ensure_profile_features(connect.root, connect.profiles_glob, context.log.info)
    rows = pl.scan_parquet(path).select(pl.len()).collect().item()
    return MaterializeResult(
        metadata={
            "snapshot": profile_snapshot_id(connect.profiles_glob),
            "profiles": rows,
            "path": MetadataValue.path(str(path)),
        }
    )


class ExtractConfig(Config):
    """``auto``: incremental when a full sweep ran in the last week, else full; ``full`` forces the
    sweep that also finds deleted and merged candidates; ``incremental`` reads only the window."""

    mode: str = "auto"


@asset(
    partitions_def=tenant_partitions,
    group_name="tenant_pipeline",
    description="Greenhouse records (Harvest v3) and resume files of one tenant, staged until the "
    "purge: a full sweep weekly (finds deletions), an incremental window otherwise.",
)
def ats_extract(
    context: AssetExecutionContext, config: ExtractConfig, connect: ConnectResource
) -> MaterializeResult:
    connection, storage = connect.tenant(context.partition_key)
    with purge_on_failure(storage, context.log.warning):
        with connect.harvest_client(connection, log=context.log.info) as client:
            summary = extract_tenant(
                client,
                storage,
                mode=config.mode,
                include_private=connection.include_private,
                log=context.log.info,
            )
            stats = client.stats
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


@asset(
    partitions_def=tenant_partitions,
    group_name="tenant_pipeline",
    deps=[ats_extract],
    description="One row of matching signals per ATS candidate (names, companies, LinkedIn, "
    "e-mails, phones, location, resume signals). Staged; purged after the match attempt.",
)
def ats_people(context: AssetExecutionContext, connect: ConnectResource) -> MaterializeResult:
    connection, storage = connect.tenant(context.partition_key)
    with purge_on_failure(storage, context.log.warning):
        summary = normalise_tenant(
            storage, include_private=connection.include_private, log=context.log.info
        )
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


@asset(
    partitions_def=tenant_partitions,
    group_name="tenant_pipeline",
    deps=[ats_people, profile_features],
    description="Splink link_only between the tenant's ATS people and the profile features, "
    "trained per tenant; at most one profile per candidate.",
)
def ats_matches(context: AssetExecutionContext, connect: ConnectResource) -> MaterializeResult:
    connection, storage = connect.tenant(context.partition_key)
    with purge_on_failure(storage, context.log.warning):
        features = ensure_profile_features(connect.root, connect.profiles_glob, context.log.info)
        result = link_people(
            storage,
            features,
            include_private=connection.include_private,
            config=connect.link_config(),
            log=context.log.info,
        )
    eligible = pl.scan_parquet(storage.staging / "ats_people.parquet").select(pl.len()).collect().item()
    metadata = {
        "extract_mode": staged_mode(storage),
        "matched": result.matches.height,
        "candidates_scored": result.candidates_scored,
        "match_rate": round(result.matches.height / eligible, 4) if eligible else 0.0,
        "pairs_compared": result.pairs_compared,
        "prediction_chunks": result.prediction_chunks,
        "borderline_share": round(result.borderline_share, 4),
        "blocking_counts": MetadataValue.json(result.blocking_counts),
        "score_histogram": MetadataValue.md(_histogram_md(result.score_histogram)),
        "model_params": MetadataValue.path(str(result.params_path)),
    }
    if result.chart_path:
        metadata["match_weights_chart"] = MetadataValue.path(str(result.chart_path))
    return MaterializeResult(metadata=metadata)


@asset(
    partitions_def=tenant_partitions,
    group_name="tenant_pipeline",
    deps=[ats_matches],
    description="What a recruiter sees: one row per matched profile (prospect/applicant, stage, "
    "status, last activity, recruiter, contacts, attachments, Greenhouse link), swapped in atomically.",
)
def enrichment(context: AssetExecutionContext, connect: ConnectResource) -> MaterializeResult:
    connection, storage = connect.tenant(context.partition_key)
    with purge_on_failure(storage, context.log.warning):
        paths, matches, table = publish_tenant(storage, connection, log=context.log.info)
    return MaterializeResult(
        metadata={
            "matches": matches.height,
            "enriched_profiles": table.height,
            "prospects": int(table["is_prospect"].sum()) if table.height else 0,
            "applicants": int(table["is_applicant"].sum()) if table.height else 0,
            "enrichment_path": MetadataValue.path(str(paths.enrichment)),
            "matches_path": MetadataValue.path(str(paths.matches)),
            "duckdb_path": MetadataValue.path(str(paths.duckdb)),
        }
    )


@asset(
    partitions_def=tenant_partitions,
    group_name="tenant_pipeline",
    deps=[enrichment],
    description="Deletes the staged ATS inputs once the match was attempted; its check proves it.",
)
def staging_purge(context: AssetExecutionContext, connect: ConnectResource) -> MaterializeResult:
    storage = connect.storage(context.partition_key)
    removed = purge_tenant(storage, context.log.info)
    return MaterializeResult(metadata={"files_removed": removed})


def _histogram_md(histogram: list[tuple[float, int]]) -> str:
    lines = ["| match weight ≥ | pairs |", "|---:|---:|"]
    lines += [f"| {edge:.1f} | {count} |" for edge, count in histogram]
    return "\n".join(lines)


TENANT_ASSETS = [ats_extract, ats_people, ats_matches, enrichment, staging_purge]
__all__ = ["TENANT_ASSETS", "profile_features"]
