"""`connect-pipeline tenants add|verify|list|remove`: connecting a customer's Greenhouse.

Mounted by the main CLI through ``add_tenant_commands``. Each handler takes the parsed ``args``
and returns an exit code: 0 done, 1 the connection check found problems, 2 the command could not
do its job (bad input, unknown tenant). Secrets come from an environment variable name or stdin,
never from the command line, where they would land in shell history and process listings.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import TextIO

from connect_pipeline import secrets
from connect_pipeline.errors import ConnectError
from connect_pipeline.harvest.client import HarvestClient
from connect_pipeline.harvest.verify import verify_connection
from connect_pipeline.storage import data_root
from connect_pipeline.tenants import (
    CADENCES,
    DEFAULT_API_BASE_URL,
    DEFAULT_TOKEN_URL,
    TenantConnection,
    TenantRegistry,
)


def add_tenant_commands(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``tenants`` command group to the main CLI's sub-parsers."""
    tenants = subparsers.add_parser("tenants", help="connect, check, list and remove tenants")
    actions = tenants.add_subparsers(dest="tenants_command", metavar="{add,verify,list,remove}")
    actions.required = True

    add = actions.add_parser("add", help="connect a tenant's Greenhouse (or replace its connection)")
    add.add_argument("tenant_id", metavar="TENANT_ID", help="slug: lower-case letters, digits, '-', '_'")
    add.add_argument("--greenhouse-url", required=True, help="web app URL with https:// and trailing '/', e.g. https://app.greenhouse.io/")
    add.add_argument("--client-id", required=True, help="client id of the Harvest V3 (OAuth) credential")
    secret = add.add_mutually_exclusive_group(required=True)
    secret.add_argument("--secret-env", metavar="VAR", help="name of the environment variable holding the client secret at run time")
    secret.add_argument(
        "--secret-file", metavar="PATH",
        help="file holding the client secret at run time (a mounted secret), readable only by the service's user",
    )
    secret.add_argument(
        "--secret-stdin",
        action="store_true",
        help=f"read the client secret from stdin and store it encrypted (needs {secrets.SECRET_KEY_ENV})",
    )
    add.add_argument("--sub", type=int, default=None, help="Greenhouse user id (a Site Admin) the calls act as")
    add.add_argument("--cadence", choices=CADENCES, default="daily")
    add.add_argument("--api-base-url", default=DEFAULT_API_BASE_URL)
    add.add_argument("--token-url", default=DEFAULT_TOKEN_URL)
    add.add_argument("--include-private", action="store_true", help="also match candidates marked private")
    _data_dir(add)
    add.set_defaults(func=cmd_add)

    verify = actions.add_parser("verify", help="check the tenant's token, scopes and Site Admin")
    verify.add_argument("tenant_id", metavar="TENANT_ID")
    _data_dir(verify)
    verify.set_defaults(func=cmd_verify)

    listing = actions.add_parser("list", help="list registered tenants (never shows secrets)")
    _data_dir(listing)
    listing.set_defaults(func=cmd_list)

    remove = actions.add_parser("remove", help="forget a tenant and delete all of its files")
    remove.add_argument("tenant_id", metavar="TENANT_ID")
    _data_dir(remove)
    remove.set_defaults(func=cmd_remove)


def _data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=None, help="storage root (default: $CONNECT_PIPELINE_HOME or ./.data)")


def _registry(args: argparse.Namespace) -> TenantRegistry:
    return TenantRegistry(data_root(args.data_dir))


def _fail(exc: ConnectError, err: TextIO) -> int:
    print(f"error: {exc}", file=err)
    return 2


def cmd_add(args: argparse.Namespace, *, stdin: TextIO | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    stdin, out, err = stdin or sys.stdin, out or sys.stdout, err or sys.stderr
    try:
        if args.secret_stdin:
            ref = secrets.encrypt(_read_secret(stdin, err))
        elif getattr(args, "secret_file", None):
            ref = secrets.from_file(args.secret_file)
            secrets.resolve(ref, tenant_id=args.tenant_id)  # readable and not empty, or say so now
        else:
            ref = secrets.from_env(args.secret_env)
            if not os.environ.get(args.secret_env):
                print(
                    f"warning: {args.secret_env} is not set in this shell; it must be set wherever the pipeline runs",
                    file=err,
                )
        connection = TenantConnection(
            tenant_id=args.tenant_id,
            greenhouse_url=args.greenhouse_url,
            client_id=args.client_id,
            secret_ref=ref.stored,
            sub=args.sub,
            cadence=args.cadence,
            api_base_url=args.api_base_url,
            token_url=args.token_url,
            include_private=args.include_private,
        )
        _registry(args).add(connection)
    except ConnectError as exc:
        return _fail(exc, err)
    print(
        f"tenant {connection.tenant_id} saved (secret: {connection.secret.describe()}); "
        f"check it with `connect-pipeline tenants verify {connection.tenant_id}`",
        file=out,
    )
    return 0


def _read_secret(stdin: TextIO, err: TextIO) -> str:
    if stdin.isatty():
        return getpass.getpass("Client secret (input hidden): ", stream=err)
    return stdin.readline().strip()


def cmd_verify(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        connection = _registry(args).get(args.tenant_id)
        credential = connection.credential()
    except ConnectError as exc:
        return _fail(exc, err)
    with HarvestClient(
        connection.api_base_url, credential, tenant_id=connection.tenant_id, max_retries=3
    ) as client:
        report = verify_connection(client)
    for line in report.lines():
        print(line, file=out)
    return 0 if report.ok else 1


def cmd_list(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        connections = _registry(args).list()
    except ConnectError as exc:
        return _fail(exc, err)
    if not connections:
        print("no tenants registered; add one with `connect-pipeline tenants add`", file=out)
        return 0
    header = ("TENANT", "GREENHOUSE URL", "CLIENT ID", "SECRET", "SUB", "CADENCE", "PRIVATE", "API BASE URL")
    rows = [
        (
            c.tenant_id,
            c.greenhouse_url,
            c.client_id,
            c.secret.describe(),
            "-" if c.sub is None else str(c.sub),
            c.cadence,
            "yes" if c.include_private else "no",
            c.api_base_url,
        )
        for c in connections
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip(), file=out)
    return 0


def cmd_remove(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    registry = _registry(args)
    try:
        registry.remove(args.tenant_id)
    except ConnectError as exc:
        return _fail(exc, err)
    print(f"tenant {args.tenant_id} removed; its files under {Path(registry.root) / 'tenants'} were deleted", file=out)
    return 0
