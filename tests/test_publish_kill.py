"""A publish killed at any moment leaves the previous table readable and whole."""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import time

import polars as pl

from connect_pipeline.publish import publish
from connect_pipeline.storage import TenantStorage


def _big(n: int, tag: str) -> pl.DataFrame:
    return pl.DataFrame({"candidate_id": range(n), "profile_id": [f"{tag}{i}" for i in range(n)]})


def _publish_new(root: str) -> None:
    storage = TenantStorage(__import__("pathlib").Path(root), "t1")
    frame = _big(2_000_000, "new")
    publish(storage, frame, frame)


def test_kill_during_publish_keeps_previous_table(tmp_path):
    storage = TenantStorage(tmp_path, "t1").ensure()
    old = _big(1000, "old")
    publish(storage, old, old)
    rng = random.Random(3)
    ctx = mp.get_context("spawn")
    outcomes = set()
    for _ in range(4):
        proc = ctx.Process(target=_publish_new, args=(str(tmp_path),))
        proc.start()
        time.sleep(rng.uniform(0.5, 3.0))
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        for name in ("matches", "enrichment"):
            table = pl.read_parquet(storage.published / f"{name}.parquet")
            # old or new, never a half-written file
            assert table.height in (1000, 2_000_000)
            outcomes.add(table.height)
        # reset to the old version so every round kills a replacement of the old table
        publish(storage, old, old)
    assert 1000 in outcomes
