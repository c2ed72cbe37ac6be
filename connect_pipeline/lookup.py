"""Answer "is this person already in our ATS?" the way the search tool does: from the published
enrichment table only, one query for a whole results page."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from connect_pipeline.errors import TenantNotFound
from connect_pipeline.storage import TenantStorage, data_root


def lookup_profiles(
    tenant_id: str, profile_ids: Sequence[str], *, data_dir: str | None = None
) -> dict[str, dict]:
    storage = TenantStorage(data_root(data_dir), tenant_id)
    path = storage.published_table("enrichment")  # resolved once: one generation for the whole page
    if path is None:
        raise TenantNotFound(
            f"tenant {tenant_id} has no published enrichment yet: run `connect-pipeline run {tenant_id}`"
        )
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
