"""A publish killed at any moment leaves one whole generation current: never matches from one
publish and enrichment from another."""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import time
from pathlib import Path

import duckdb
import pytest
import polars as pl

from connect_pipeline.publish import publish
from connect_pipeline.storage import TenantStorage

NEW_ROWS = 500_000  # large enough that a publish takes long enough to be killed inside


def _frame(n: int, tag: str) -> pl.DataFrame:
    return pl.DataFrame({"candidate_id": range(n), "profile_id": [f"{tag}{i}" for i in range(n)]})


def _publish_new(root: str, ready) -> None:
    frame = _frame(NEW_ROWS, "new")
    ready.send(time.monotonic())  # the frame is built: from here on the child only publishes
    publish(TenantStorage(Path(root), "t1"), frame, frame)
    ready.send(time.monotonic())


@pytest.mark.slow  # kills a spawned publisher many times: `make test-fast` leaves it out
def test_kill_during_publish_keeps_previous_table(tmp_path):
    storage = TenantStorage(tmp_path, "t1").ensure()
    old = _frame(1000, "old")
    ctx = mp.get_context("spawn")

    # one uninterrupted publish tells how long the kill window is
    publish(storage, old, old)
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_publish_new, args=(str(tmp_path), child))
    proc.start()
    began, ended = parent.recv(), parent.recv()
    proc.join()
    duration = ended - began

    rng = random.Random(3)
    for _ in range(5):
        publish(storage, old, old)
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_publish_new, args=(str(tmp_path), child))
        proc.start()
        parent.recv()
        time.sleep(rng.uniform(0, duration))
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        tables = [pl.read_parquet(storage.published_table(name)) for name in ("matches", "enrichment")]
        heights = {t.height for t in tables}
        firsts = {t.sort("candidate_id")["profile_id"][0] for t in tables}
        assert heights in ({1000}, {NEW_ROWS})  # old or new, never a half-written file
        assert firsts in ({"old0"}, {"new0"})  # and the two tables of one generation
        with duckdb.connect(str(storage.duckdb_path), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM matches").fetchone()[0] in heights
