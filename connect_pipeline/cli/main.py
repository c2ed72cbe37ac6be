"""The `connect-pipeline` command: tenant connections, runs, lookups and the demo."""

from __future__ import annotations

import argparse
import sys

from connect_pipeline.errors import ConfigError, ConnectError


def _preflight(tenant_ids: list[str], data_dir: str | None, profiles: str | None) -> str:
    """Refuse what would only fail later, before Dagster is imported and before any Greenhouse request.

    Every tenant must be registered (a malformed or unknown id would otherwise become a Dagster
    partition and a failed run) and the profile index must meet its contract (a broken one would
    otherwise fail, or silently lose matches, after the whole extract). Raises a ConnectError
    (exit code 2); returns the profile glob the run must use, so the run reads what was checked.
    """
    from connect_pipeline.storage import data_root, validate_tenant_id
    from connect_pipeline.tenants import TenantRegistry

    root = data_root(data_dir)
    registry = TenantRegistry(root)
    for tenant_id in tenant_ids:
        try:
            validate_tenant_id(tenant_id)
        except ConfigError as exc:
            raise ConfigError(f"{exc}; `connect-pipeline tenants list` shows the registered tenants") from None
        registry.get(tenant_id)  # TenantNotFound names the id and how to list or add tenants
    # the index check needs Polars and PyArrow: imported once the tenants are known to be good
    from connect_pipeline.profile_index import check_profile_index, default_profiles_glob

    profile_glob = profiles or default_profiles_glob()
    check_profile_index(root, profile_glob)
    return profile_glob


def _run(args: argparse.Namespace) -> int:
    profile_glob = _preflight([args.tenant_id], args.data_dir, args.profiles)

    from connect_pipeline.cli.runner import run_tenant  # Dagster is imported only by the commands that run it

    mode = "full" if args.full else "incremental" if args.incremental else "auto"
    outcome = run_tenant(args.tenant_id, data_dir=args.data_dir, profiles_glob=profile_glob, mode=mode,
                         allow_mass_deletion=args.allow_mass_deletion)
    for asset_key, meta in outcome.metadata.items():
        print("\n".join(asset_figures(asset_key, meta)))
    for check, passed in outcome.checks.items():
        print(f"check {check}: {'passed' if passed else 'FAILED'}")
    if not outcome.success:
        print(f"run {outcome.run_id} failed at {', '.join(outcome.failed_steps)}: {outcome.error}",
              file=sys.stderr)
        return 1
    print(f"run {outcome.run_id} succeeded for tenant {args.tenant_id}")
    return 0


TERMINAL_VALUE = 160
"""The longest metadata text a terminal is shown; a longer one is a chart or table for the UI."""


def asset_figures(asset_key: str, meta: dict) -> list[str]:
    """One asset's figures as terminal lines: numbers and one-line texts. Charts, tables and
    schemas (inline SVG images, markdown, column lists) belong to the Dagster UI; printing them
    buried the figures under pages of base64, so they are counted and pointed to instead."""
    lines = [f"{asset_key}:"]
    left_out = 0
    for key, value in meta.items():
        shown = value if isinstance(value, (bool, int, float, str)) else (
            repr(value) if isinstance(value, (dict, list)) else None  # e.g. resumes skipped by reason
        )
        if isinstance(shown, (bool, int, float)) or (
            isinstance(shown, str) and "\n" not in shown and len(shown) <= TERMINAL_VALUE
        ):
            lines.append(f"  {key}: {shown}")
        else:
            left_out += 1
    if left_out:
        lines.append(f"  (and {left_out} charts or tables: the asset's page in the Dagster UI)")
    return lines


def _backfill(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from connect_pipeline.storage import data_root
    from connect_pipeline.tenants import TenantRegistry

    tenants = args.tenant_ids or [t.tenant_id for t in TenantRegistry(data_root(args.data_dir)).list()]
    if not tenants:
        print("no tenants to backfill: add one with `connect-pipeline tenants add`", file=sys.stderr)
        return 2
    profile_glob = _preflight(tenants, args.data_dir, args.profiles)

    from connect_pipeline.cli.runner import backfill  # Dagster is imported only by the commands that run it
    from connect_pipeline.cli.progress import ProgressBar

    backfill_id = args.resume or datetime.now(timezone.utc).strftime("bf-%Y%m%dT%H%M%SZ")
    print(f"backfill {backfill_id} over {len(tenants)} tenants (resume with --resume {backfill_id})")
    bar = ProgressBar(len(tenants), label="tenants")
    outcome = backfill(
        tenants, backfill_id=backfill_id, data_dir=args.data_dir, profiles_glob=profile_glob,
        mode="full" if args.full else "auto",
        on_tenant=lambda i, n, tenant, status: bar.update(i, f"{tenant}: {status}"),
    )
    bar.close()
    failed = [t for t, status in outcome.items() if status.startswith("failed")]
    for tenant, status in outcome.items():
        print(f"{tenant}: {status}")
    return 1 if failed else 0


def _lookup(args: argparse.Namespace) -> int:
    from connect_pipeline.lookup import format_lookup, lookup_profiles

    rows = lookup_profiles(args.tenant_id, args.profile_ids, data_dir=args.data_dir)
    print(format_lookup(args.profile_ids, rows))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from connect_pipeline.cli.demo import run_demo, serve_ui

    return serve_ui(args.data_dir, port=args.port) if args.ui else run_demo(args.data_dir, small=args.small)


def build_parser() -> argparse.ArgumentParser:
    from connect_pipeline.cli.tenants import add_tenant_commands

    parser = argparse.ArgumentParser(
        prog="connect-pipeline",
        description="Match a tenant's Greenhouse candidates to a profile index and publish enrichment.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    add_tenant_commands(sub)

    run = sub.add_parser("run", help="materialise the whole asset graph for one tenant")
    run.add_argument("tenant_id")
    run.add_argument("--data-dir", default=None, help="storage root (default $CONNECT_PIPELINE_HOME or ./.data)")
    run.add_argument("--profiles", default=None, help="profile index Parquet glob (default $CONNECT_PIPELINE_PROFILES)")
    how = run.add_mutually_exclusive_group()
    how.add_argument("--full", action="store_true", help="full sweep: re-read everything, drop what Greenhouse deleted")
    how.add_argument("--incremental", action="store_true", help="read only what changed since the last run")
    run.add_argument("--allow-mass-deletion", action="store_true",
                     help="let this run drop most of the published candidates when Greenhouse really deleted them")
    run.set_defaults(func=_run)

    bf = sub.add_parser("backfill", help="re-run the whole graph for several tenants (default: all)")
    bf.add_argument("tenant_ids", nargs="*")
    bf.add_argument("--resume", metavar="BACKFILL_ID", help="finish an earlier backfill: skip tenants it completed")
    bf.add_argument("--full", action="store_true", help="full sweep for every tenant")
    bf.add_argument("--data-dir", default=None)
    bf.add_argument("--profiles", default=None)
    bf.set_defaults(func=_backfill)

    lookup = sub.add_parser("lookup", help="what a recruiter sees for these profiles")
    lookup.add_argument("tenant_id")
    lookup.add_argument("profile_ids", nargs="+")
    lookup.add_argument("--data-dir", default=None)
    lookup.set_defaults(func=_lookup)

    demo = sub.add_parser("demo", help="generate a demo world, run both tenants, print the summary")
    demo.add_argument("--data-dir", default=None)
    demo.add_argument("--small", action="store_true", help="a smaller world (for quick checks)")
    demo.add_argument("--ui", action="store_true", help="serve the demo's Greenhouse and open the Dagster UI")
    demo.add_argument("--port", type=int, default=3000, help="the Dagster UI's port (with --ui)")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConnectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
