"""Swap a tenant's published tables in atomically.

Readers of ``published/*.parquet`` see the old file or the new one, never half of one: each table
is written beside its target and renamed over it (``os.replace`` is atomic on one filesystem).
The previous version is kept as ``*.previous.parquet`` until the next publish completes. The
tenant's DuckDB file gets the same tables in one transaction, so a query sees both old or both new.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from connect_pipeline.storage import TenantStorage

TABLES = ("matches", "enrichment")


@dataclass(frozen=True)
class PublishedPaths:
    matches: Path
    enrichment: Path
    duckdb: Path


LOOKUP_ROW_GROUP = 16_384  # small row groups + sorted keys let a lookup skip almost every group


def _write_atomic(frame: pl.DataFrame, target: Path) -> None:
    tmp = target.with_name(f".{target.stem}.incoming.parquet")
    frame.write_parquet(tmp, row_group_size=LOOKUP_ROW_GROUP, statistics=True)
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    if target.exists():
        previous = target.with_name(f"{target.stem}.previous.parquet")
        _copy_previous(target, previous)
    os.replace(tmp, target)


def _copy_previous(target: Path, previous: Path) -> None:
    """Keep the version being replaced; a hard link costs nothing and survives the rename."""
    if previous.exists():
        previous.unlink()
    try:
        os.link(target, previous)
    except OSError:
        previous.write_bytes(target.read_bytes())


def publish(storage: TenantStorage, matches: pl.DataFrame, enrichment: pl.DataFrame) -> PublishedPaths:
    storage.published.mkdir(parents=True, exist_ok=True)
    paths = PublishedPaths(
        matches=storage.published / "matches.parquet",
        enrichment=storage.published / "enrichment.parquet",
        duckdb=storage.duckdb_path,
    )
    # sorted by the key a reader looks up, so Parquet statistics prune row groups
    matches = matches.sort("candidate_id")
    enrichment = enrichment.sort("profile_id")
    _write_atomic(matches, paths.matches)
    _write_atomic(enrichment, paths.enrichment)
    with duckdb.connect(str(paths.duckdb)) as con:
        con.execute("BEGIN TRANSACTION")
        for name, frame in (("matches", matches), ("enrichment", enrichment)):
            con.register(f"incoming_{name}", frame.to_arrow())
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM incoming_{name}")
            con.unregister(f"incoming_{name}")
        con.execute("COMMIT")
    return paths


def read_published(storage: TenantStorage, table: str) -> pl.DataFrame | None:
    path = storage.published / f"{table}.parquet"
    return pl.read_parquet(path) if path.exists() else None
