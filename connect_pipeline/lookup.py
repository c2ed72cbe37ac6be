"""Answer "is this person already in our ATS?" the way the search tool does: from the published
enrichment table only, one query for a whole results page."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from connect_pipeline.errors import ConnectError, TenantNotFound
from connect_pipeline.storage import TenantStorage, data_root


_REREADS = 20
"""How many times a lookup resolves the current generation again when a publish removed the
one it was reading (publishes are minutes apart; one more read nearly always does)."""


def lookup_profiles(
    tenant_id: str, profile_ids: Sequence[str], *, data_dir: str | None = None
) -> dict[str, dict]:
    """One query for a whole results page, from one generation of the published enrichment.

    A publish deletes the generation before it as soon as the new one is current (what
    Greenhouse deleted must not linger in an older copy), so a lookup that resolved the old one
    just before may find it gone: it then reads the new one.
    """
    storage = TenantStorage(data_root(data_dir), tenant_id)
    for _ in range(_REREADS):
        path = storage.published_table("enrichment")  # resolved once: one generation for the whole page
        if path is None:
            raise TenantNotFound(
                f"tenant {tenant_id} has no published enrichment yet: run `connect-pipeline run {tenant_id}`"
            )
        try:
            return _read_page(path, profile_ids)
        except duckdb.IOException:
            if storage.published_table("enrichment") == path:
                raise  # no publish moved on: the file itself is unreadable
    raise ConnectError(
        f"tenant {tenant_id}: the published tables changed {_REREADS} times while this lookup read "
        "them; try again"
    )


def _read_page(path: Path, profile_ids: Sequence[str]) -> dict[str, dict]:
    with duckdb.connect() as con:
        rel = con.execute(
            "SELECT * FROM read_parquet(?) WHERE profile_id IN (SELECT unnest(?::VARCHAR[]))",
            [str(path), list(profile_ids)],
        )
        cols = [d[0] for d in rel.description]
        return {row[0]: dict(zip(cols, row)) for row in rel.fetchall()}


def format_lookup(profile_ids: Sequence[str], rows: dict[str, dict]) -> str:
    out = []
    for pid in profile_ids:
        row = rows.get(pid)
        if row is None:
            out.append(f"{pid}: not in your ATS")
            continue
        when = row["last_activity_at"].strftime("%Y-%m-%d") if row["last_activity_at"] else "unknown"
        out.append(
            f"{pid}: in your ATS as {row['in_ats_as'].replace('_', ' ')}\n"
            f"  {row['job_name'] or 'no job'} · {row['stage_name'] or 'no stage'} · "
            f"{row['status_label'] or row['status']} (last activity {when})\n"
            f"  recruiter: {row['recruiter_name'] or '—'}"
            + (f" · prospect owner: {row['prospect_owner_name']}" if row["prospect_owner_name"] else "")
            + f"\n  e-mail: {', '.join(row['emails']) or '—'} · phone: {', '.join(row['phones']) or '—'}\n"
            f"  attachments: {', '.join(a['filename'] for a in row['attachments']) or '—'}\n"
            f"  open in Greenhouse: {row['greenhouse_url']}\n"
            f"  why: {row['match_explanation']} (p={row['match_probability']:.3f})"
        )
    return "\n".join(out)
