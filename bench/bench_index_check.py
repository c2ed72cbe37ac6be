"""Time the profile index contract check on an N-profile index (default 2,000,000).

    python bench/bench_index_check.py [--rows N] [--files K] [--index GLOB] [--keep DIR]

Without --index it writes the synthetic index of bench_profile_features.py first. Prints the
time of a full check (footers, then the scan of profile_id and the name columns), of the re-check
of the same snapshot (answered from its record, no scan), and of a check that finds 40 duplicated
ids in an extra file (the failure path, which also names examples), with the peak resident memory.
The check runs before every tenant run, so it must stay a small fraction of one.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_profile_features import synthetic_index  # noqa: E402

from connect_pipeline.errors import ProfileIndexError  # noqa: E402
from connect_pipeline.profile_index import validate_profile_index  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--index", help="an existing profile index glob (skips generation)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep the files")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_index_check_"))
    glob = args.index
    if not glob:
        t0 = time.perf_counter()
        glob = synthetic_index(args.rows, work / "index", args.files)
        print(f"generated {args.rows:,} profiles in {args.files} files in {time.perf_counter() - t0:.1f}s")
    cache = Path(tempfile.mkdtemp(prefix="index_check_", dir=work))  # fresh: the first check scans

    t0 = time.perf_counter()
    summary = validate_profile_index(glob, cache_dir=cache)
    cold = time.perf_counter() - t0
    print(f"full check: {summary.rows:,} rows in {summary.files} files in {cold:.2f}s "
          f"= {summary.rows / cold:,.0f} rows/s")

    t0 = time.perf_counter()
    again = validate_profile_index(glob, cache_dir=cache)
    warm = time.perf_counter() - t0
    assert again.cached, "the re-check of an unchanged snapshot scanned again"
    print(f"re-check of the same snapshot (recorded): {warm * 1000:.1f} ms")

    if not args.index:
        folder = Path(glob).parent
        pl.read_parquet(sorted(folder.glob("*.parquet"))[0], n_rows=40).write_parquet(folder / "zz-dups.parquet")
        t0 = time.perf_counter()
        try:
            validate_profile_index(glob, cache_dir=cache)
            raise SystemExit("40 duplicated ids were not caught")
        except ProfileIndexError as exc:
            failed = time.perf_counter() - t0
            print(f"check finding 40 duplicated ids: {failed:.2f}s\n  {str(exc)[:300]}...")
        (folder / "zz-dups.parquet").unlink()

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_mb:,.0f} MB (including the index generation)")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
