"""`python -m connect_pipeline.testkit.world --out DIR --seed 7 --profiles 20000 --tenant acme:2000 ...`"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from connect_pipeline.testkit.world.generate import TenantSpec, generate_world


def _tenant(text: str) -> TenantSpec:
    tenant_id, sep, count = text.partition(":")
    if not sep or not count.isdigit():
        raise argparse.ArgumentTypeError(f"expected TENANT:N_CANDIDATES, got {text!r}")
    return TenantSpec(tenant_id, int(count))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connect_pipeline.testkit.world",
                                     description="Generate a deterministic world (profile index, "
                                                 "Greenhouse accounts, ground truth).")
    parser.add_argument("--out", type=Path, required=True, help="world directory to (re)write")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profiles", type=int, default=20_000, help="profiles in the index")
    parser.add_argument("--tenant", type=_tenant, action="append", metavar="ID:N",
                        help="a tenant and its candidate count (repeatable; default acme:2000 globex:2000)")
    parser.add_argument("--shared-people", type=float, default=0.05)
    parser.add_argument("--no-resumes", action="store_true", help="write no attachments or PDF files")
    args = parser.parse_args(argv)
    tenants = args.tenant or [TenantSpec("acme", 2000), TenantSpec("globex", 2000)]
    started = time.perf_counter()
    try:
        world = generate_world(args.out, seed=args.seed, n_profiles=args.profiles, tenants=tenants,
                               shared_people=args.shared_people, resumes=not args.no_resumes)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"world written to {world} in {time.perf_counter() - started:.1f} s "
          f"({args.profiles} profiles, tenants {', '.join(f'{t.tenant_id}:{t.n_candidates}' for t in tenants)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
