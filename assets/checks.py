"""Asset checks: match quality before a publish, and proof that staging is empty after it.

``match_quality`` is blocking: when it fails, the enrichment is not published (the last good table
stays), and because that ends the match attempt, the staged ATS inputs are purged right there.
"""


import polars as pl
from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, asset_check

from assets.partitions import tenant_partitions
from assets.tenant_assets import ats_matches, staging_purge
from connect_pipeline.pipeline import (
    eligible_people,
    labels_path,
    people_path,
    quality_against_labels,
    staged_matches_path,
)
from resources.connect import ConnectResource

MIN_PRECISION = 0.95
MIN_RECALL = 0.80


@asset_check(
    asset=ats_matches,
    blocking=True,
    partitions_def=tenant_partitions,
    description="No anonymised or private candidate matched; precision and recall against the "
    "tenant's confirmed matches (when it has any); a non-zero match rate. Blocks the publish.",
)
def match_quality(context: AssetCheckExecutionContext, connect: ConnectResource) -> AssetCheckResult:
    tenant = context.partition_key
    connection = connect.connection(tenant)
    storage = connect.storage(tenant)
    people = pl.read_parquet(people_path(storage))
    matches = pl.read_parquet(staged_matches_path(storage))
    eligible = eligible_people(people, include_private=connection.include_private)
    forbidden = matches.filter(~pl.col("candidate_id").is_in(eligible["candidate_id"].implode()))
    problems: list[str] = []
    metadata: dict = {
        "matched": matches.height,
        "eligible": eligible.height,
        "match_rate": round(matches.height / eligible.height, 4) if eligible.height else 0.0,
        "forbidden_matches": forbidden.height,
    }
    if forbidden.height:
        problems.append(f"{forbidden.height} anonymised or private candidates were matched")
    if eligible.height >= 50 and matches.height == 0:
        problems.append("no candidate matched at all: the profile index or the model is broken")
    if labels_path(storage).exists():
        quality = quality_against_labels(
            matches, pl.read_parquet(labels_path(storage)), eligible["candidate_id"]
        )
        metadata |= {
            "precision": round(quality.precision, 4),
            "recall": round(quality.recall, 4),
            "labelled_in_index": quality.labelled_in_index,
        }
        if quality.precision < MIN_PRECISION:
            problems.append(f"precision {quality.precision:.3f} is below {MIN_PRECISION}")
        if quality.recall < MIN_RECALL:
            problems.append(f"recall {quality.recall:.3f} is below {MIN_RECALL}")
    if problems:
        removed = storage.purge_staging()
        context.log.error(
            f"tenant {tenant}: publish blocked ({'; '.join(problems)}); purged {removed} staged files"
        )
        metadata["problems"] = "; ".join(problems)
    return AssetCheckResult(
        passed=not problems, severity=AssetCheckSeverity.ERROR, metadata=metadata
    )


@asset_check(
    asset=staging_purge,
    partitions_def=tenant_partitions,
    description="Proves the purge: no staged Greenhouse record, resume or normalised row is left.",
)
def staging_is_empty(context: AssetCheckExecutionContext, connect: ConnectResource) -> AssetCheckResult:
    left = connect.storage(context.partition_key).staged_files()
    return AssetCheckResult(
        passed=not left,
        severity=AssetCheckSeverity.ERROR,
        metadata={"files_left": len(left), "examples": ", ".join(p.name for p in left[:5])},
    )


TENANT_CHECKS = [match_quality, staging_is_empty]
