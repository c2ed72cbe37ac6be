"""The stages of one tenant's run as plain functions: extract, normalise, link, publish, purge.

Dagster assets call these one to one; benchmarks and tests call them without Dagster. Each stage
reads what the previous one left in the tenant's staging folder and writes its own output there,
so data flows one way and a stage can be re-run alone.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from connect_pipeline.enrichment import build_enrichment
from connect_pipeline.extract import staged_collection, staged_resume_files
from connect_pipeline.linkage import (
    LinkConfig,
    LinkResult,
    build_key_index,
    build_population,
    key_index_is_current,
    link_tenant,
    population_is_current,
)
from connect_pipeline.normalise.ats import build_ats_people
from connect_pipeline.normalise.profiles import build_profile_features, profile_snapshot_id
from connect_pipeline.publish import PublishedPaths, publish, read_published
from connect_pipeline.quality import match_rate_of_eligible
from connect_pipeline.resumes import ResumeLimits, read_resumes
from connect_pipeline.run_state import (
    PublishRecord,
    commit_watermark,
    deleted_candidates,
    finished_extract,
    record_publish,
    require_full_read,
    staged_extract,
    staged_mode,
)
from connect_pipeline.errors import ConfigError
from connect_pipeline.storage import TenantStorage, private_dir, profile_features_dir, write_with
from connect_pipeline.tenants import TenantConnection

logger = logging.getLogger(__name__)


@dataclass
class NormaliseSummary:
    candidates: int
    eligible: int
    anonymised: int
    private_excluded: int
    resumes_read: int
    resumes_skipped: dict[str, int] = field(default_factory=dict)


def normalise_tenant(
    storage: TenantStorage,
    *,
    include_private: bool = False,
    resume_limits: ResumeLimits | None = None,
) -> NormaliseSummary:
    """Turn staged Greenhouse records and resumes into one row of matching signals per candidate."""
    staged_extract(storage)  # a purged staging reads as no candidates: refuse it, never publish it
    candidates = staged_collection(storage, "candidates")
    applications = staged_collection(storage, "applications")
    resumes = read_resumes(staged_resume_files(storage), resume_limits or ResumeLimits())
    write_with(storage.resume_text, resumes.write_parquet)
    ok = resumes.filter(pl.col("status") == "ok")
    skipped = dict(
        resumes.filter(pl.col("status") != "ok").group_by("reason").len().iter_rows()
    )
    signals = ok.group_by("candidate_id").agg(
        pl.col("emails").list.explode(keep_nulls=False, empty_as_null=False).unique().drop_nulls(),
        pl.col("phones").list.explode(keep_nulls=False, empty_as_null=False).unique().drop_nulls(),
        pl.col("linkedin_urls").list.explode(keep_nulls=False, empty_as_null=False).unique().drop_nulls(),
        # in file order: the first resume's place comes first
        pl.col("places").list.explode(keep_nulls=False, empty_as_null=False).drop_nulls().unique(maintain_order=True),
        pl.col("employers").list.explode(keep_nulls=False, empty_as_null=False).drop_nulls().unique(maintain_order=True),
    )
    people = build_ats_people(candidates, applications, signals)
    eligible = eligible_people(people, include_private=include_private)
    write_with(storage.people, people.write_parquet)
    summary = NormaliseSummary(
        candidates=people.height,
        eligible=eligible.height,
        anonymised=int(people["is_anonymised"].sum()),
        private_excluded=0 if include_private else int(
            (people["is_private"] & ~people["is_anonymised"]).sum()
        ),
        resumes_read=ok.height,
        resumes_skipped={str(k): int(v) for k, v in skipped.items()},
    )
    logger.info(
        "normalised %d candidates (%d eligible); resumes read %d, skipped %s",
        summary.candidates, summary.eligible, summary.resumes_read, summary.resumes_skipped,
    )
    return summary


def eligible_people(people: pl.DataFrame, *, include_private: bool) -> pl.DataFrame:
    """Anonymised candidates are never matched; private ones only when the tenant opted in."""
    keep = ~pl.col("is_anonymised")
    if not include_private:
        keep = keep & ~pl.col("is_private")
    return people.filter(keep)


def ensure_profile_features(root: Path, profile_glob: str) -> Path:
    """Profile features, population figures and the key index, built once per index snapshot
    for every tenant.

    The figures (``population_path``) and the key index (``key_index_path``) are rebuilt on
    their own when the model's definitions changed since they were written, and the index also
    when the features were rebuilt. Neither holds tenant data.
    """
    snapshot = profile_snapshot_id(profile_glob)
    folder = private_dir(profile_features_dir(root, snapshot))
    target = folder / "features.parquet"
    # tenants run in parallel and each run's first step asks for the snapshot: one builds it,
    # the others wait and find it built
    with open(folder / ".build.lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        if not target.exists():
            logger.info("building profile features for snapshot %s", snapshot)
            write_with(target, lambda tmp: build_profile_features(profile_glob, tmp))
        if not population_is_current(target, population_path(target)):
            logger.info("computing population figures for snapshot %s", snapshot)
            build_population(target, population_path(target))
        if not key_index_is_current(target, key_index_path(target)):
            logger.info("building the key index for snapshot %s", snapshot)
            build_key_index(target, key_index_path(target))
    return target


def built_profile_features(root: Path, profile_glob: str) -> Path:
    """The snapshot's features, which the ``profile_features`` step built earlier in the run.

    The link reads them and never builds them, so what Dagster shows as the features' lineage is
    what happened. The population figures and the key index are part of the snapshot: without a
    current key index the link would block over the whole index, minutes on a large one, so a
    stale one is refused like missing features rather than silently worked around.
    """
    snapshot = profile_snapshot_id(profile_glob)
    target = profile_features_dir(root, snapshot) / "features.parquet"
    if (
        not target.exists()
        or not population_is_current(target, population_path(target))
        or not key_index_is_current(target, key_index_path(target))
    ):
        raise ConfigError(
            f"the profile features of index snapshot {snapshot} are not built: materialise the "
            "profile_features asset (every run of tenant_job does it first, and so does "
            "`connect-pipeline run`)"
        )
    return target


def population_path(features: Path) -> Path:
    """Where a snapshot's population figures live: beside its features."""
    return Path(features).parent / "population"


def key_index_path(features: Path) -> Path:
    """Where a snapshot's key index lives: beside its features."""
    return Path(features).parent / "key_index"


def link_people(
    storage: TenantStorage,
    features: Path,
    *,
    include_private: bool = False,
    config: LinkConfig | None = None,
) -> LinkResult:
    mode = staged_mode(storage)  # before reading staging: says why a purged one is gone
    people = eligible_people(pl.read_parquet(storage.people), include_private=include_private)
    config = config or LinkConfig()
    trained = storage.trained_params
    if mode == "incremental" and trained.exists() and config.trained_params is None:
        # a window holds a handful of candidates: score them with the parameters this tenant's
        # last full run estimated on all of its candidates, rather than re-estimate on a few
        config = replace(config, trained_params=trained)
        logger.info("incremental run: scoring with the parameters of the last full run")
    # the working tables go in a file under staging: DuckDB can spill there, and the purge
    # that follows every match attempt removes it with the rest of the staged ATS data
    work_db = storage.link_db
    work_db.unlink(missing_ok=True)
    try:
        result = link_tenant(
            people, features, storage.model, config, db_path=work_db,
            population_dir=population_path(features), key_index_dir=key_index_path(features),
        )
    finally:
        work_db.unlink(missing_ok=True)
        work_db.with_name(work_db.name + ".wal").unlink(missing_ok=True)
    write_with(storage.staged_matches, result.matches.write_parquet)
    return result


def publish_tenant(
    storage: TenantStorage,
    connection: TenantConnection,
    *,
    still_connected: Callable[[], None] = lambda: None,
) -> tuple[PublishedPaths, pl.DataFrame, pl.DataFrame]:
    """Build the enrichment rows this run can vouch for, publish them as one generation, then
    record the publish and advance the watermark.

    A full run republishes everything, so whatever Greenhouse no longer holds is gone. An
    incremental run replaces the rows of the candidates it read and drops those the sweep found
    deleted, merged or anonymised, and rebuilds the enrichment of every profile they were or are
    matched to. ``still_connected`` raises when the tenant was removed during the run: nothing
    is published then.
    """
    mode = staged_mode(storage)  # before reading staging: says why a purged one is gone
    computed_at = datetime.now(timezone.utc)
    fresh = pl.read_parquet(storage.staged_matches).with_columns(
        pl.lit(computed_at).dt.cast_time_unit("us").alias("computed_at")
    )
    records = {
        name: staged_collection(storage, name)
        for name in ("candidates", "applications", "prospect_details", "users", "jobs", "attachments")
    }

    def enrich(matches: pl.DataFrame) -> pl.DataFrame:
        return build_enrichment(
            matches,
            candidates=records["candidates"],
            applications=records["applications"],
            prospect_details=records["prospect_details"],
            users=records["users"],
            jobs=records["jobs"],
            attachments=records["attachments"],
            greenhouse_url=connection.greenhouse_url,
            computed_at=computed_at,
        )

    previous_matches = read_published(storage, "matches")
    previous_enrichment = read_published(storage, "enrichment")
    if mode == "incremental" and previous_matches is not None and previous_enrichment is not None:
        touched = {c["id"] for c in records["candidates"]} | set(deleted_candidates(storage))
        was = previous_matches.filter(pl.col("candidate_id").is_in(list(touched)))
        matches = pl.concat(
            [previous_matches.filter(~pl.col("candidate_id").is_in(list(touched))), fresh],
            how="diagonal_relaxed",
        )
        profiles = set(was["profile_id"].to_list()) | set(fresh["profile_id"].to_list())
        rebuilt = enrich(matches.filter(pl.col("profile_id").is_in(list(profiles))))
        enrichment = pl.concat(
            [previous_enrichment.filter(~pl.col("profile_id").is_in(list(profiles))), rebuilt],
            how="diagonal_relaxed",
        )
        logger.info("incremental publish: %d candidates re-read, %d profiles rebuilt", len(touched), len(profiles))
    else:
        matches, enrichment = fresh, enrich(fresh)
    paths = publish(storage, matches, enrichment, before_switch=still_connected)
    eligible = eligible_people(
        pl.read_parquet(storage.people), include_private=connection.include_private
    ).height
    record_publish(storage, PublishRecord(
        generation=paths.generation,
        published_at=computed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        mode=mode,
        eligible=eligible,
        matched=fresh.height,
        match_rate_of_eligible=match_rate_of_eligible(fresh.height, eligible),
        published_matches=matches.height,
    ))
    marks = commit_watermark(storage)
    logger.info(
        "published %d matches, %d enriched profiles; watermark %s", matches.height, enrichment.height, marks.get("until")
    )
    return paths, matches, enrichment


def publish_deletions(storage: TenantStorage, *, still_connected: Callable[[], None] = lambda: None) -> int:
    """Drop what Greenhouse deleted from the published tables when a run ends without publishing.

    Why: a run whose quality gate blocked its publish, or whose link failed, leaves the last
    published tables current, and they still hold the candidates this run's sweep found
    deleted, merged or anonymised. Those must be gone at the next run whatever the gate says.
    So the last published tables are published again without them, and without the profiles
    they were matched to (a profile's row mixes its candidates' details); when other candidates
    were matched to those profiles, the next run is a full read, which publishes them again.
    Nothing else changes: no history line, no window advanced. Returns how many
    published candidates were dropped; 0 when there is nothing to drop (the run published, or
    no finished extract is staged).
    """
    if finished_extract(storage) is None:
        return 0
    gone = deleted_candidates(storage)
    previous_matches = read_published(storage, "matches")
    previous_enrichment = read_published(storage, "enrichment")
    if not gone or previous_matches is None or previous_enrichment is None:
        return 0
    dropped = previous_matches.filter(pl.col("candidate_id").is_in(gone))
    if dropped.is_empty():
        return 0
    profiles = dropped["profile_id"].unique().implode()
    on_them = pl.col("profile_id").is_in(profiles)
    # other candidates matched to those profiles leave with them; an incremental run would read
    # them again only if they changed, so the next run reads everything
    neighbours = previous_matches.filter(on_them & ~pl.col("candidate_id").is_in(gone)).height
    publish(
        storage,
        previous_matches.filter(~on_them),
        previous_enrichment.filter(~on_them),
        before_switch=still_connected,
    )
    if neighbours:
        require_full_read(storage)
    logger.warning(
        "this run published nothing, but the %d published candidates Greenhouse deleted, merged or "
        "anonymised are gone from the published tables, with the %d profiles they were matched to "
        "(and %d other candidates matched to those, which the next run, a full read, publishes again)",
        dropped.height, len(profiles[0]), neighbours,
    )
    return dropped.height


def purge_tenant(storage: TenantStorage) -> int:
    removed = storage.purge_staging()
    logger.info("purged %d staged files", removed)
    return removed
