"""Publish a tenant's tables as one unit: a new generation written whole, then one atomic switch.

A publish writes ``published/generations/<generation>/`` (matches, enrichment, the ids the next
run's deletion sweep checks, and a DuckDB file whose views read exactly that generation's Parquet
files), then replaces the symbolic link ``published/current`` in one ``rename``. So:

- a reader sees the old set or the new one, never matches from one and enrichment from another,
  and a ``kill -9`` at any line leaves the last published set current and whole;
- a reader never blocks a publish: nothing a reader holds open is ever written again (a DuckDB
  session on ``tenant.duckdb`` keeps the generation it opened; the next one is a new file);
- older generations are deleted right after the switch, so what Greenhouse deleted does not
  linger in a previous copy. A session still open on an old generation fails its next query
  with "file not found" and reopens ``tenant.duckdb``.

``tenant.duckdb`` at the tenant's root is a link to ``published/current/tenant.duckdb``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import polars as pl

from connect_pipeline.storage import TenantStorage, make_private, private_dir, write_with

TABLES = ("matches", "enrichment")
IDS_TABLE = "ids"
LOOKUP_ROW_GROUP = 16_384  # small row groups + sorted keys let a lookup skip almost every group


@dataclass(frozen=True)
class PublishedPaths:
    generation: str
    folder: Path
    matches: Path
    enrichment: Path
    duckdb: Path


def _new_generation_id() -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


def _write_duckdb(folder: Path) -> Path:
    """A small DuckDB file of views over this generation's Parquet files (no data copied)."""
    path = folder / "tenant.duckdb"
    tmp = folder / ".tenant.duckdb.part"
    with duckdb.connect(str(tmp)) as con:
        for name in TABLES:
            target = str(folder / f"{name}.parquet").replace("'", "''")
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{target}')")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def _switch(storage: TenantStorage, generation_id: str) -> None:
    """Point ``current`` at the generation: one rename, atomic on a POSIX filesystem."""
    tmp = storage.published / f".current.{os.getpid()}.{uuid.uuid4().hex[:6]}"
    os.symlink(Path("generations") / generation_id, tmp)
    os.replace(tmp, storage.current)
    _fsync_dir(storage.published)


def _link_duckdb(storage: TenantStorage) -> None:
    """Make ``tenant.duckdb`` a link through ``current`` (replacing a file of an older layout)."""
    link = storage.duckdb_path
    wanted = Path("published") / "current" / "tenant.duckdb"
    if link.is_symlink() and Path(os.readlink(link)) == wanted:
        return
    tmp = link.with_name(f".tenant.duckdb.{os.getpid()}.link")
    tmp.unlink(missing_ok=True)
    os.symlink(wanted, tmp)
    os.replace(tmp, link)
    link.with_name(link.name + ".wal").unlink(missing_ok=True)


def _drop_old(storage: TenantStorage, keep: str) -> None:
    """Every generation but the current one, and the files of the single-folder layout."""
    for folder in storage.generations.iterdir():
        if folder.name != keep:
            shutil.rmtree(folder, ignore_errors=True)
    for stale in storage.published.glob("*.parquet"):
        stale.unlink()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(
    storage: TenantStorage,
    matches: pl.DataFrame,
    enrichment: pl.DataFrame,
    *,
    before_switch: Callable[[], None] = lambda: None,
) -> PublishedPaths:
    """Write a generation and make it current. ``before_switch`` may raise to abandon it (the
    tenant was removed meanwhile); the abandoned generation is deleted, the current one stays."""
    generation_id = _new_generation_id()
    folder = private_dir(storage.generation(generation_id))
    try:
        # sorted by the key a reader looks up, so Parquet statistics prune row groups
        tables = {"matches": matches.sort("candidate_id"), "enrichment": enrichment.sort("profile_id")}
        for name, frame in tables.items():
            write_with(
                folder / f"{name}.parquet",
                lambda tmp, frame=frame: frame.write_parquet(tmp, row_group_size=LOOKUP_ROW_GROUP, statistics=True),
            )
        ids = tables["matches"].select(pl.col("candidate_id").cast(pl.Int64), pl.col("profile_id").cast(pl.String))
        write_with(folder / f"{IDS_TABLE}.parquet", ids.write_parquet)
        duckdb_file = _write_duckdb(folder)
        make_private(folder)
        _fsync_dir(folder)
        before_switch()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    _switch(storage, generation_id)
    _link_duckdb(storage)
    _drop_old(storage, keep=generation_id)
    return PublishedPaths(
        generation=generation_id,
        folder=folder,
        matches=folder / "matches.parquet",
        enrichment=folder / "enrichment.parquet",
        duckdb=duckdb_file,
    )


def read_published(storage: TenantStorage, table: str) -> pl.DataFrame | None:
    """The current generation's table, or None before the first publish."""
    path = storage.published_table(table)
    return pl.read_parquet(path) if path is not None else None
