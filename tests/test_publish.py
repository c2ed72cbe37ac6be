"""Publishing writes a generation whole, then switches to it in one rename."""

from __future__ import annotations

import os
import stat

import duckdb
import polars as pl
import pytest

from connect_pipeline.publish import publish, read_published
from connect_pipeline.storage import TenantStorage


def _tables(n: int, tag: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    matches = pl.DataFrame({"candidate_id": list(range(n)), "profile_id": [f"{tag}{i}" for i in range(n)]})
    return matches, matches.select("profile_id", pl.lit(tag).alias("tag"))


def test_publish_switches_generation_and_keeps_only_current(tmp_path):
    storage = TenantStorage(tmp_path, "t1").ensure()
    first = publish(storage, *_tables(1, "a"))
    second = publish(storage, *_tables(2, "b"))
    assert storage.current_generation() == second.folder.resolve()
    assert read_published(storage, "matches").height == 2
    # what Greenhouse deleted must not linger in an older copy
    assert [p.name for p in storage.generations.iterdir()] == [second.generation]
    assert not first.folder.exists()
    assert not list(storage.published.rglob("*.part"))
    with duckdb.connect(str(storage.duckdb_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM matches").fetchone()[0] == 2
        assert con.execute("SELECT DISTINCT tag FROM enrichment").fetchall() == [("b",)]


def test_reader_holding_the_duckdb_file_never_blocks_a_publish(tmp_path):
    storage = TenantStorage(tmp_path, "t1").ensure()
    publish(storage, *_tables(3, "old"))
    reader = duckdb.connect(str(storage.duckdb_path), read_only=True)
    try:
        assert reader.execute("SELECT count(*) FROM matches").fetchone()[0] == 3
        publish(storage, *_tables(5, "new"))  # raised "could not set lock" before generations
        with duckdb.connect(str(storage.duckdb_path), read_only=True) as fresh:
            assert fresh.execute("SELECT count(*) FROM matches").fetchone()[0] == 5
            assert fresh.execute("SELECT DISTINCT tag FROM enrichment").fetchall() == [("new",)]
    finally:
        reader.close()


def test_abandoned_publish_leaves_current_generation(tmp_path):
    storage = TenantStorage(tmp_path, "t1").ensure()
    kept = publish(storage, *_tables(2, "kept"))

    def removed() -> None:
        raise RuntimeError("tenant removed")

    with pytest.raises(RuntimeError, match="tenant removed"):
        publish(storage, *_tables(9, "late"), before_switch=removed)
    assert storage.current_generation() == kept.folder.resolve()
    assert [p.name for p in storage.generations.iterdir()] == [kept.generation]
    assert read_published(storage, "matches").height == 2


def test_published_files_are_private_whatever_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        storage = TenantStorage(tmp_path, "t1").ensure()
        publish(storage, *_tables(2, "a"))
    finally:
        os.umask(previous)
    for path in storage.base.rglob("*"):
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    assert stat.S_IMODE(storage.base.stat().st_mode) == 0o700


def test_purge_removes_every_staged_file(tmp_path):
    storage = TenantStorage(tmp_path, "t1").ensure()
    (storage.raw / "candidates.jsonl").write_text("{}\n")
    (storage.resumes / "1.pdf").write_bytes(b"%PDF-1.4")
    assert len(storage.staged_files()) == 2
    assert storage.purge_staging() == 2
    assert storage.staged_files() == []
