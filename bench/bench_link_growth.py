"""How linking time, peak memory and recall grow with the tenant and with the profile index.

One world is generated at the largest size (``--world``, realistic names by default); every
point is carved out of it, so growing the index keeps the *same candidates*: a point with A
candidates and P profiles takes the first A candidates (in a fixed shuffled order) and an index
of their true profiles plus other profiles of the world up to P. Recall at 10M profiles is then
comparable with recall at 100k on the same people.

Each point builds the snapshot's figures and key index in one process (once per snapshot, shared
by every tenant: reported apart) and links in another, so the peak RSS printed is the link's.
Points whose index is the whole world share the world's snapshot, built once (``--workdir``
keeps it between invocations).

    python bench/bench_link_growth.py --world 1000000x10000000 \\
        --points 100000x100000 100000x1000000 100000x10000000 10000x10000000 1000000x10000000
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl

BENCH = Path(__file__).resolve().parent / "bench_link.py"
DEFAULT_WORLD = "1000000x10000000"
DEFAULT_POINTS = ("100000x100000", "100000x1000000", "100000x10000000",
                  "10000x10000000", "1000000x10000000")


def carve(world: Path, work: Path, n_ats: int, n_profiles: int) -> None:
    """Write the point's candidates, truth and profile index from the world."""
    work.mkdir(parents=True, exist_ok=True)
    ats = pl.scan_parquet(world / "ats.parquet").with_columns(
        order=pl.col("candidate_id").hash(7)
    ).sort("order").head(n_ats).drop("order").collect()
    truth = pl.read_parquet(world / "truth.parquet").filter(pl.col("candidate_id").is_in(ats["candidate_id"].implode()))
    ats.write_parquet(work / "ats.parquet")
    truth.write_parquet(work / "truth.parquet")
    profiles = pl.scan_parquet(world / "profile_features.parquet")
    if n_profiles >= profiles.select(pl.len()).collect().item():
        share_snapshot(world, work)
        return
    wanted = truth["profile_id"].unique()
    true_profiles = profiles.filter(pl.col("unique_id").is_in(wanted.implode()))
    others = (profiles.filter(~pl.col("unique_id").is_in(wanted.implode()))
              .with_columns(order=pl.col("unique_id").hash(11)).sort("order")
              .head(max(0, n_profiles - wanted.len())).drop("order"))
    pl.concat([true_profiles, others]).sink_parquet(work / "profile_features.parquet")


def share_snapshot(world: Path, work: Path) -> None:
    """A point whose index is the whole world's links against the world's own snapshot:
    features, population figures and key index hard-linked, as every tenant of a snapshot
    shares one build (the manifests still match: same files, same sizes and times)."""
    os.link(world / "profile_features.parquet", work / "profile_features.parquet")
    for folder in ("population", "key_index"):
        if (world / folder).is_dir():
            shutil.copytree(world / folder, work / folder, copy_function=os.link)


def run_point(world: Path, ats: int, profiles: int, root: Path, extra: list[str], keep: bool) -> dict[str, str]:
    work = root / f"{ats}x{profiles}"
    if not (work / "ats.parquet").exists():
        # in a process of its own: Linux carries a parent's peak RSS into the children it
        # starts, so carving here would inflate the peak the link reports
        job = multiprocessing.get_context("spawn").Process(target=carve, args=(world, work, ats, profiles))
        job.start()
        job.join()
        if job.exitcode != 0:
            raise SystemExit(f"carving {ats}x{profiles} failed")
    common = [sys.executable, str(BENCH), "--workdir", str(work), "--reuse", *extra]
    pop = subprocess.run(common + ["--population-only"], check=True, capture_output=True, text=True).stdout
    out = subprocess.run(common, check=True, capture_output=True, text=True).stdout
    (work / "link.log").write_text(out)
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    population = re.search(r"population figures \(once per snapshot\): ([\d.]+)s; peak RSS (\d+)", pop)
    index = re.search(r"key index \(once per snapshot\): ([\d.]+)s; peak RSS (\d+)", pop)
    total = re.search(r"link_tenant total: ([\d.]+)s; peak RSS (\d+) MiB", out)
    pairs = re.search(r"pairs compared ([\d,]+)", out)
    phases = re.search(r"phases: (\{.*\})", out)
    quality = re.search(r"precision ([\d.]+); recall ([\d.]+)", out)
    hits = re.search(r"first pass: ([\d,]+) key hits", out)
    return {
        "seconds": total.group(1), "peak_mib": total.group(2), "pairs": pairs.group(1),
        "precision": quality.group(1), "recall": quality.group(2),
        "phases": phases.group(1) if phases else "", "hits": hits.group(1) if hits else "-",
        "population": f"{population.group(1)} s, {population.group(2)} MiB" if population else "reused",
        "index": f"{index.group(1)} s, {index.group(2)} MiB" if index else "reused or not used",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default=DEFAULT_WORLD, help="ATSxPROFILES of the one world generated")
    parser.add_argument("--points", nargs="+", default=list(DEFAULT_POINTS), help="ATSxPROFILES")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="the world and points already there are reused")
    parser.add_argument("--keep", action="store_true", help="keep each point's files")
    parser.add_argument("--names", choices=("realistic", "synthetic"), default="realistic")
    parser.add_argument("--no-index", action="store_true", help="block over the whole index")
    parser.add_argument("--bound", type=int, default=None, help="first pass bound")
    args = parser.parse_args()
    root = args.workdir or Path(tempfile.mkdtemp(prefix="bench_growth_"))
    world_ats, world_profiles = (int(x) for x in args.world.split("x"))
    world = root / "world"
    if not (world / "ats.parquet").exists():
        subprocess.run([sys.executable, str(BENCH), "--ats", str(world_ats), "--profiles", str(world_profiles),
                        "--names", args.names, "--workdir", str(world), "--generate-only"], check=True)
    extra = (["--no-index"] if args.no_index else []) + ([f"--bound={args.bound}"] if args.bound else [])
    if any(int(p.split("x")[1]) >= world_profiles for p in args.points):
        # the whole-world points share one snapshot: built here once, timed like any other
        built = subprocess.run([sys.executable, str(BENCH), "--workdir", str(world), "--reuse",
                                "--population-only", *extra], check=True, capture_output=True, text=True)
        print("".join(line + "\n" for line in built.stdout.splitlines() if "once per snapshot" in line)
              or "the world's snapshot is built already\n", end="", flush=True)
    print(f"{'candidates':>11} {'profiles':>11} {'key hits':>13} {'pairs scored':>13} {'seconds':>8} "
          f"{'peak MiB':>9} {'precision':>9} {'recall':>7}", flush=True)
    for point in args.points:
        ats, profiles = (int(x) for x in point.split("x"))
        r = run_point(world, ats, profiles, root, extra, keep=args.keep or args.workdir is not None)
        print(f"{ats:>11,} {profiles:>11,} {r['hits']:>13} {r['pairs']:>13} {r['seconds']:>8} {r['peak_mib']:>9} "
              f"{r['precision']:>9} {r['recall']:>7}", flush=True)
        print(f"    phases: {r['phases']}", flush=True)
        print(f"    once per snapshot (own process): population {r['population']}; key index {r['index']}",
              flush=True)


if __name__ == "__main__":
    main()
