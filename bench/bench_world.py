"""Time the world generator: the profile index (draw + Parquet parts) and, optionally, a full world.

    python bench/bench_world.py                       # 1,000,000 profiles
    python bench/bench_world.py --profiles 200000 --full --tenant acme:2000 --tenant globex:2000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from connect_pipeline.testkit.world.__main__ import _tenant
from connect_pipeline.testkit.world.generate import TenantSpec, generate_world, write_profiles
from connect_pipeline.testkit.world.people import make_people


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: a temporary folder)")
    parser.add_argument("--full", action="store_true", help="also time a whole world (index + tenants + PDFs)")
    parser.add_argument("--tenant", type=_tenant, action="append", metavar="ID:N")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-world-") as tmp:
        out = args.out or Path(tmp)
        started = time.perf_counter()
        people = make_people(np.random.default_rng([args.seed, 1]), args.profiles)
        drawn = time.perf_counter()
        parts = write_profiles(people, out / "profiles")
        written = time.perf_counter()
        total = written - started
        size = sum(p.stat().st_size for p in (out / "profiles").glob("*.parquet"))
        print(f"profiles: {args.profiles:,} in {total:.1f} s ({args.profiles / total:,.0f} profiles/s); "
              f"draw {drawn - started:.1f} s, write {written - drawn:.1f} s, {parts} parts, {size / 1e6:.0f} MB")
        if args.full:
            tenants = args.tenant or [TenantSpec("acme", 2000), TenantSpec("globex", 2000)]
            started = time.perf_counter()
            generate_world(out / "world", seed=args.seed, n_profiles=args.profiles, tenants=tenants)
            elapsed = time.perf_counter() - started
            n_candidates = sum(t.n_candidates for t in tenants)
            print(f"full world: {args.profiles:,} profiles + {n_candidates:,} candidates in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
