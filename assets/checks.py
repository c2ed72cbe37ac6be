"""Asset checks: match quality before a publish, and proof that staging is empty after it.

The rules live in ``connect_pipeline.quality``; these checks read the staged run, ask it, and
report its figures. ``match_quality`` is blocking: when it fails, the enrichment is not published
(the last good generation stays current), and the run's lease purges the staged inputs as the
run ends.
"""


import polars as pl
from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, asset_check

from assets.partitions import tenant_partitions
from assets.tenant_assets import ats_matches, connected_tenant, staging_purge
from connect_pipeline.linkage.link import borderline_share
from connect_pipeline.pipeline import eligible_people, publish_deletions
from connect_pipeline.quality import MAX_BORDERLINE_SHARE, judge, suggest_threshold
from connect_pipeline.run_state import GateRecord, publish_history, record_gate, staged_mode, utc_stamp
from assets.charts import threshold_metadata
from assets.labels import readable_figures, this_run
from resources.connect import ConnectResource, TenantRunResource


@asset_check(
    asset=ats_matches,
    blocking=True,
    partitions_def=tenant_partitions,
    description="No anonymised or private candidate matched; the match rate (of eligible "
    "candidates) inside the tenant's usual band, learnt from its passed full publishes (full runs); "
    "precision and recall against the tenant's confirmed matches (when it has any). Blocks the publish.",
)
def match_quality(
    context: AssetCheckExecutionContext, connect: ConnectResource, tenant_run: TenantRunResource
) -> AssetCheckResult:
    tenant = context.partition_key
    connection, storage = connected_tenant(connect, tenant)
    mode = staged_mode(storage)  # before reading staging: says why a purged one is gone
    eligible = eligible_people(pl.read_parquet(storage.people), include_private=connection.include_private)
    matches = pl.read_parquet(storage.staged_matches)
    labels = pl.read_parquet(storage.labels) if storage.labels.exists() else None
    verdict = judge(matches, eligible, mode=mode, history=publish_history(storage), labels=labels)
    record_gate(storage, GateRecord(
        run_id=context.run.run_id, checked_at=utc_stamp(), mode=mode, eligible=eligible.height,
        matched=int(verdict.figures["matched"]), match_rate_of_eligible=float(verdict.figures["match_rate_of_eligible"]),
        passed=verdict.passed, problems=list(verdict.problems), outside_band=verdict.outside_band,
    ))
    metadata = readable_figures(verdict.figures, mode=mode)
    if labels is not None:
        suggestion = suggest_threshold(matches, labels, eligible["candidate_id"], connect.link_threshold)
        if suggestion is not None:
            metadata |= threshold_metadata(suggestion)
    if not verdict.passed:
        metadata["problems"] = "; ".join(verdict.problems)
        context.log.error(f"tenant {tenant}: publish blocked ({metadata['problems']})")
        # what Greenhouse deleted leaves the published tables even when this run's matches do not
        # (the run's end would drop them too; here the check can say so)
        dropped = publish_deletions(storage, still_connected=lambda: connected_tenant(connect, tenant))
        metadata["deleted in Greenhouse: dropped from the published tables"] = dropped
    return AssetCheckResult(passed=verdict.passed, severity=AssetCheckSeverity.ERROR, metadata=metadata)


@asset_check(
    asset=ats_matches,
    partitions_def=tenant_partitions,
    description="Share of matches within 3 bits of the threshold (one weak detail away from not "
    "matching). Warns when over a quarter of the matches are borderline; does not block.",
)
def borderline_matches(
    context: AssetCheckExecutionContext, connect: ConnectResource, tenant_run: TenantRunResource
) -> AssetCheckResult:
    storage = connect.storage(context.partition_key)
    mode = staged_mode(storage)
    matches = pl.read_parquet(storage.staged_matches)
    share = borderline_share(matches, connect.link_threshold)
    return AssetCheckResult(
        passed=share <= MAX_BORDERLINE_SHARE,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "borderline matches (% of this run's matches)": round(100 * share, 2),
            # the same label as ats_matches: an incremental window's count is not the tenant's
            f"{this_run(mode)}: candidates matched": matches.height,
        },
    )


@asset_check(
    asset=staging_purge,
    partitions_def=tenant_partitions,
    description="Proves the purge: no staged Greenhouse record, resume or normalised row is left.",
)
def staging_is_empty(
    context: AssetCheckExecutionContext, connect: ConnectResource, tenant_run: TenantRunResource
) -> AssetCheckResult:
    left = connect.storage(context.partition_key).staged_files()
    return AssetCheckResult(
        passed=not left,
        severity=AssetCheckSeverity.ERROR,
        metadata={"staged files left": len(left), "examples": ", ".join(p.name for p in left[:5])},
    )


TENANT_CHECKS = [match_quality, borderline_matches, staging_is_empty]
