"""Publishing swaps tables in whole and keeps the previous version."""

from __future__ import annotations

import duckdb
import polars as pl

from connect_pipeline.publish import publish
from connect_pipeline.storage import TenantStorage


def test_publish_replaces_and_keeps_previous(tmp_path):
    storage = TenantStorage(tmp_path, "t1").ensure()
    first = pl.DataFrame({"candidate_id": [1], "profile_id": ["p1"]})
    second = pl.DataFrame({"candidate_id": [1, 2], "profile_id": ["p1", "p2"]})
    publish(storage, first, first.rename({"candidate_id": "n"}))
    publish(storage, second, second.rename({"candidate_id": "n"}))
    assert pl.read_parquet(storage.published / "matches.parquet").height == 2
    assert pl.read_parquet(storage.published / "matches.previous.parquet").height == 1
    assert not list(storage.published.glob(".*incoming*"))
    with duckdb.connect(str(storage.duckdb_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM matches").fetchone()[0] == 2


def test_purge_removes_every_staged_file(tmp_path):
    storage = TenantStorage(tmp_path, "t1").ensure()
    (storage.raw / "candidates.jsonl").write_text("{}\n")
    (storage.resumes / "1.pdf").write_bytes(b"%PDF-1.4")
    assert len(storage.staged_files()) == 2
    assert storage.purge_staging() == 2
    assert storage.staged_files() == []
