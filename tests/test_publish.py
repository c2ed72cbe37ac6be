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


def test_deletions_alone_drop_the_deleted_candidates_profiles_and_nothing_else(tmp_path):
    """What a run that ends without publishing (gate blocked, a stage failed) publishes: the
    last tables without the candidates its sweep found deleted and the profiles they were
    matched to; nothing when no finished extract is staged or nothing published is deleted."""
    import json
    from datetime import datetime, timezone

    from connect_pipeline.extract import full_sweep_due
    from connect_pipeline.pipeline import publish_deletions
    from connect_pipeline.run_state import FINAL_EXTRACT_STEP, Manifest, read_watermarks, save_deleted

    storage = TenantStorage(tmp_path, "t1").ensure()
    matches = pl.DataFrame({"candidate_id": [1, 2, 3, 4], "profile_id": ["a", "a", "b", "c"]})
    publish(storage, matches, pl.DataFrame({"profile_id": ["a", "b", "c"], "tag": ["x", "y", "z"]}))
    first = storage.current_generation()
    save_deleted(storage, [2, 9])
    assert publish_deletions(storage) == 0  # no manifest: the extract that found them is not whole
    Manifest("incremental", "2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z", ["candidate_sweep"]).save(storage)
    assert publish_deletions(storage) == 0 and storage.current_generation() == first  # unfinished
    Manifest("incremental", "2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z", [FINAL_EXTRACT_STEP]).save(storage)
    storage.state.mkdir(exist_ok=True)
    storage.watermarks.write_text(json.dumps({"until": "2026-11-30T00:00:00Z", "last_full": "2026-11-29T00:00:00Z"}))
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert not full_sweep_due(read_watermarks(storage), now)
    assert publish_deletions(storage) == 1
    assert read_published(storage, "matches").sort("candidate_id")["candidate_id"].to_list() == [3, 4]
    assert sorted(read_published(storage, "enrichment")["profile_id"]) == ["b", "c"]  # "a" held candidate 2
    # candidate 1 left with profile "a" and no record says it must come back: the next run reads all
    assert full_sweep_due(read_watermarks(storage), now)
    again = storage.current_generation()
    assert publish_deletions(storage) == 0 and storage.current_generation() == again  # already gone

    def removed() -> None:
        raise RuntimeError("removed")

    save_deleted(storage, [3])
    with pytest.raises(RuntimeError):
        publish_deletions(storage, still_connected=removed)
    assert storage.current_generation() == again


def test_a_lookup_during_publishes_reads_whole_answers(tmp_path):
    """A publish deletes the generation before it as soon as the new one is current, so a
    lookup that had just resolved the old one found its file gone (about half of the lookups
    failed while publishes ran back to back). It reads the current generation instead."""
    import threading
    import time

    from connect_pipeline.lookup import lookup_profiles

    storage = TenantStorage(tmp_path, "t1").ensure()
    publish(storage, *_tables(50, "p"))
    stop = threading.Event()

    def publishing() -> None:
        while not stop.is_set():
            publish(storage, *_tables(50, "p"))

    writer = threading.Thread(target=publishing)
    writer.start()
    answers, deadline = [], time.monotonic() + 2.0
    try:
        while time.monotonic() < deadline:
            answers.append(lookup_profiles("t1", ["p1", "p2", "nobody"], data_dir=str(tmp_path)))
    finally:
        stop.set()
        writer.join()
    assert len(answers) > 20 and all(sorted(a) == ["p1", "p2"] for a in answers)
