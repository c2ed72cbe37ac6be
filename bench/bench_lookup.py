"""How fast a results page is answered from the published table.

Builds a synthetic published enrichment table of N rows (default 1,000,000) with the real
schema, publishes it the way the pipeline does, then times `lookup_profiles` for pages of 25
profile ids (a mix of published and unknown ids), printing p50/p95/max over the pages.

    .venv/bin/python bench/bench_lookup.py [--rows 1000000] [--pages 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from connect_pipeline.enrichment import ENRICHMENT_SCHEMA
from connect_pipeline.lookup import lookup_profiles
from connect_pipeline.publish import publish
from connect_pipeline.storage import TenantStorage


def synthetic_enrichment(rows: int) -> pl.DataFrame:
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    idx = pl.int_range(0, rows, eager=True)
    frame = pl.DataFrame({"i": idx}).with_columns(
        profile_id=pl.format("p{}", pl.col("i").cast(pl.String).str.zfill(9)),
        candidate_ids=pl.concat_list(pl.col("i").cast(pl.Int64)),
        in_ats_as=pl.lit("applicant"),
        is_prospect=pl.lit(False),
        is_applicant=pl.lit(True),
        application_id=pl.col("i").cast(pl.Int64) + 10_000_000,
        job_name=pl.lit("Senior Data Engineer"),
        stage_name=pl.lit("Phone Screen"),
        status=pl.lit("in_process"),
        status_label=pl.lit("Active"),
        last_activity_at=pl.lit(now),
        recruiter_name=pl.lit("Rita Recruiter"),
        prospect_owner_name=pl.lit(None, pl.String),
        emails=pl.concat_list(pl.format("person{}@example.com", pl.col("i"))),
        phones=pl.concat_list(pl.lit("+14155550100")),
        greenhouse_url=pl.format("https://app.greenhouse.io/people/{}", pl.col("i")),
        match_probability=pl.lit(0.999),
        match_weight=pl.lit(14.2),
        match_explanation=pl.lit("Same LinkedIn profile (+12.1); same e-mail (+9.8)"),
        computed_at=pl.lit(now),
    )
    empty = pl.DataFrame(schema=ENRICHMENT_SCHEMA)
    frame = frame.with_columns(
        other_applications=pl.lit(None, ENRICHMENT_SCHEMA["other_applications"]).fill_null(
            pl.lit([], ENRICHMENT_SCHEMA["other_applications"])
        ),
        attachments=pl.lit([], ENRICHMENT_SCHEMA["attachments"]),
    )
    return pl.concat([empty, frame.select(list(ENRICHMENT_SCHEMA))], how="vertical_relaxed")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        storage = TenantStorage(Path(tmp), "bench").ensure()
        started = time.perf_counter()
        table = synthetic_enrichment(args.rows)
        publish(storage, pl.DataFrame({"candidate_id": [0], "profile_id": ["p0"]}), table)
        print(f"published {args.rows:,} enrichment rows in {time.perf_counter() - started:.1f} s")
        rng = random.Random(7)
        timings = []
        for _ in range(args.pages):
            ids = [f"p{rng.randrange(args.rows):09d}" for _ in range(20)] + [f"x{rng.random()}" for _ in range(5)]
            t0 = time.perf_counter()
            found = lookup_profiles("bench", ids, data_dir=tmp)
            timings.append(time.perf_counter() - t0)
            assert len(found) == 20 or len(set(ids[:20])) < 20
        timings.sort()
        print(f"page of 25 profiles over {args.pages} pages: p50 {statistics.median(timings) * 1000:.1f} ms, "
              f"p95 {timings[int(0.95 * len(timings)) - 1] * 1000:.1f} ms, max {timings[-1] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
