"""How linking time and peak memory grow with the tenant and with the profile index.

Each point generates its world in one process, computes the profile index's population figures
(once per snapshot, shared by every tenant) in a second and links in a third, so the peak RSS
printed is the link's alone; the population step's time is printed beside it.

    python bench/bench_link_growth.py                       # the default series below
    python bench/bench_link_growth.py --points 10000x2000000 100000x2000000

Default series: 10k, 100k and 1M candidates against 2M profiles; 100k candidates against 100k,
2M and 10M profiles. The largest points take tens of minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent / "bench_link.py"
DEFAULT_POINTS = ("10000x2000000", "100000x2000000", "1000000x2000000",
                  "100000x100000", "100000x10000000")


def run_point(ats: int, profiles: int, root: Path, keep: bool = False) -> dict[str, str]:
    work = root / f"{ats}x{profiles}"
    common = [sys.executable, str(BENCH), "--ats", str(ats), "--profiles", str(profiles), "--workdir", str(work)]
    if not (work / "ats.parquet").exists():
        subprocess.run(common + ["--generate-only"], check=True, stdout=subprocess.DEVNULL)
    pop = subprocess.run(common + ["--reuse", "--population-only"], check=True,
                         capture_output=True, text=True).stdout
    out = subprocess.run(common + ["--reuse"], check=True, capture_output=True, text=True).stdout
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    population = re.search(r"population figures \(once per snapshot\): ([\d.]+)s; peak RSS (\d+)", pop)
    total = re.search(r"link_tenant total: ([\d.]+)s; peak RSS (\d+) MiB", out)
    pairs = re.search(r"pairs compared ([\d,]+)", out)
    phases = re.search(r"phases: (\{.*\})", out)
    quality = re.search(r"precision ([\d.]+); recall ([\d.]+)", out)
    return {
        "seconds": total.group(1), "peak_mib": total.group(2), "pairs": pairs.group(1),
        "precision": quality.group(1), "recall": quality.group(2),
        "phases": phases.group(1) if phases else "",
        "population": f"{population.group(1)} s, {population.group(2)} MiB" if population else "reused",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", nargs="+", default=list(DEFAULT_POINTS), help="ATSxPROFILES")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="worlds already generated there (ATSxPROFILES folders) are reused")
    parser.add_argument("--keep", action="store_true", help="keep each world after its point")
    args = parser.parse_args()
    root = args.workdir or Path(tempfile.mkdtemp(prefix="bench_growth_"))
    print(f"{'candidates':>11} {'profiles':>11} {'pairs scored':>14} {'seconds':>8} {'peak MiB':>9} "
          f"{'precision':>9} {'recall':>7}", flush=True)
    for point in args.points:
        ats, profiles = (int(x) for x in point.split("x"))
        r = run_point(ats, profiles, root, keep=args.keep or args.workdir is not None)
        print(f"{ats:>11,} {profiles:>11,} {r['pairs']:>14} {r['seconds']:>8} {r['peak_mib']:>9} "
              f"{r['precision']:>9} {r['recall']:>7}", flush=True)
        print(f"    phases: {r['phases']}", flush=True)
        print(f"    population figures (once per snapshot, own process): {r['population']}", flush=True)


if __name__ == "__main__":
    main()
