"""Asset checks: match quality before a publish, and proof that staging is empty after it.

``match_quality`` is blocking: when it fails, the enrichment is not published (the last good table
stays), and because that ends the match attempt, the staged ATS inputs are purged right there.
"""


import polars as pl
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    AssetRecordsFilter,
    asset_check,
)

from assets.partitions import tenant_partitions
from assets.tenant_assets import ats_matches, staging_purge
from connect_pipeline.extract import staged_mode
from connect_pipeline.linkage.link import borderline_share
from connect_pipeline.pipeline import (
    eligible_people,
    purge_on_failure,
    labels_path,
    people_path,
    quality_against_labels,
    staged_matches_path,
)
from resources.connect import ConnectResource

MIN_PRECISION = 0.95
MIN_RECALL = 0.80
HISTORY_RUNS = 10  # how many earlier runs of the tenant set its usual match-rate band
MIN_BAND = 0.10  # the band is never narrower than ±10 points: small tenants move more
MAX_BORDERLINE_SHARE = 0.25


def usual_band(history: list[float]) -> tuple[float, float] | None:
    """The tenant's usual match rate: median of earlier runs ± max(10 points, 3 × MAD).

    Median and MAD rather than mean and standard deviation, so one bad run in the history does
    not widen the band enough to let the next bad run through.
    """
    if len(history) < 2:
        return None
    ordered = sorted(history)
    median = ordered[len(ordered) // 2] if len(ordered) % 2 else sum(ordered[len(ordered) // 2 - 1:len(ordered) // 2 + 1]) / 2
    deviations = sorted(abs(x - median) for x in history)
    mad = deviations[len(deviations) // 2]
    half = max(MIN_BAND, 3 * mad)
    return max(0.0, median - half), min(1.0, median + half)


def _earlier_match_rates(context: AssetCheckExecutionContext, tenant: str) -> list[float]:
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey("ats_matches"), asset_partitions=[tenant]),
        limit=HISTORY_RUNS + 1,
    ).records
    rates = []
    for record in records:
        if record.run_id == context.run.run_id:
            continue
        meta = record.asset_materialization.metadata if record.asset_materialization else {}
        # incremental runs score only the candidates that changed: a different population
        if "match_rate" in meta and getattr(meta.get("extract_mode"), "value", "full") == "full":
            rates.append(float(meta["match_rate"].value))
    return rates[:HISTORY_RUNS]


@asset_check(
    asset=ats_matches,
    blocking=True,
    partitions_def=tenant_partitions,
    description="No anonymised or private candidate matched; the match rate inside the tenant's "
    "usual band (full runs); precision and recall against the tenant's confirmed matches (when it "
    "has any). Blocks the publish.",
)
def match_quality(context: AssetCheckExecutionContext, connect: ConnectResource) -> AssetCheckResult:
    storage = connect.storage(context.partition_key)
    # a check that cannot run blocks the publish too, so it ends the match attempt: purge
    with purge_on_failure(storage, context.log.warning):
        return _match_quality(context, connect)


def _match_quality(context: AssetCheckExecutionContext, connect: ConnectResource) -> AssetCheckResult:
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
    band = usual_band(_earlier_match_rates(context, tenant))
    if band is not None and eligible.height >= 50 and staged_mode(storage) == "full":
        metadata["usual_band"] = f"{band[0]:.3f}–{band[1]:.3f}"
        if not band[0] <= metadata["match_rate"] <= band[1]:
            problems.append(
                f"match rate {metadata['match_rate']:.3f} is outside this tenant's usual band "
                f"{band[0]:.3f}–{band[1]:.3f}: check the profile index snapshot and the ATS extract "
                "before publishing (re-run once they are right)"
            )
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
    asset=ats_matches,
    partitions_def=tenant_partitions,
    description="Share of matches within 3 bits of the threshold (one weak detail away from not "
    "matching). Warns when over a quarter of the matches are borderline; does not block.",
)
def borderline_matches(context: AssetCheckExecutionContext, connect: ConnectResource) -> AssetCheckResult:
    storage = connect.storage(context.partition_key)
    matches = pl.read_parquet(staged_matches_path(storage))
    share = borderline_share(matches, connect.link_threshold)
    return AssetCheckResult(
        passed=share <= MAX_BORDERLINE_SHARE,
        severity=AssetCheckSeverity.WARN,
        metadata={"borderline_share": round(share, 4), "matched": matches.height},
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


TENANT_CHECKS = [match_quality, borderline_matches, staging_is_empty]
