"""The fleet's match quality at a glance: every registered tenant's last run beside its previous
full run and its usual band, with a status, worst first.

Read from each tenant's state only (``run_state.publish_history`` and the last gate verdict):
counts and rates, never a candidate or a profile. The rules (band, status) are
``quality.tenant_quality``'s; this module gathers and words them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from connect_pipeline.quality import STATUS_ORDER, RunFigures, TenantQuality, percent, tenant_quality
from connect_pipeline.run_state import last_gate, publish_history
from connect_pipeline.storage import TenantStorage
from connect_pipeline.tenants import TenantRegistry

STATUS_MARK = {
    "outside band": "🔴 outside band",
    "blocked": "🔴 blocked",
    "stale": "🟠 stale",
    "never run": "⚪ never run",
    "band not ready": "⚪ band not ready",
    "ok": "🟢 ok",
}


def quality_of(root: Path, tenant_id: str, cadence: str, now: datetime | None = None) -> TenantQuality:
    storage = TenantStorage(root, tenant_id)
    return tenant_quality(
        tenant_id, publish_history(storage), last_gate(storage),
        cadence=cadence, now=now or datetime.now(timezone.utc),
    )


def fleet_quality(root: Path, now: datetime | None = None) -> list[TenantQuality]:
    """Every registered tenant's line, worst status first, then by name."""
    now = now or datetime.now(timezone.utc)
    rows = [quality_of(root, t.tenant_id, t.cadence, now) for t in TenantRegistry(root).list()]
    return sorted(rows, key=lambda q: (STATUS_ORDER.index(q.status), q.tenant))


def _rate(r: RunFigures | None) -> str:
    return "—" if r is None else f"{percent(r.rate):.1f}%"


def _run(r: RunFigures | None) -> str:
    if r is None:
        return "—"
    outcome = "" if r.passed else " **blocked**"
    return f"{r.at[5:16].replace('T', ' ')} {r.mode}{outcome}"


def _band(q: TenantQuality) -> str:
    if q.band is None:
        return q.band_text.replace("passed full run", "full run")
    return f"{percent(q.band.low):.1f}–{percent(q.band.high):.1f}%"


def _change(q: TenantQuality) -> str:
    change = q.change_points
    return "—" if change is None else f"{change:+.1f}"


def fleet_markdown(rows: list[TenantQuality], now: datetime | None = None) -> str:
    """The fleet table: one line per tenant, worst first; match rates are % of eligible."""
    now = now or datetime.now(timezone.utc)
    counts = {s: sum(q.status == s for q in rows) for s in STATUS_ORDER}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no tenant registered"
    lines = [
        f"**{len(rows)} tenants: {summary}** (as of {now:%Y-%m-%d %H:%M} UTC)",
        "",
        "| tenant | status | last run (UTC) | last full run | previous full | change (pts) | usual band | published matches |",
        "|---|---|---|---:|---:|---:|---|---:|",
    ]
    for q in rows:
        published = "—" if q.published_matches is None else f"{q.published_matches:,} ({percent(q.published_rate or 0):.1f}%)"
        lines.append(
            f"| **{q.tenant}** | {STATUS_MARK.get(q.status, q.status)} | {_run(q.last_run)} | {_rate(q.last_full)} | "
            f"{_rate(q.previous_full)} | {_change(q)} | {_band(q)} | {published} |"
        )
    lines += ["", "Why:"] + [f"- **{q.tenant}**: {q.reason}" for q in rows]
    lines += [
        "",
        "Match rates are matched ÷ eligible candidates. *Change* compares the last full run with the "
        "previous full run. The usual band is learnt from passed full runs only; incremental runs "
        "re-read a window and keep the published rate.",
    ]
    return "\n".join(lines)


def fleet_json(rows: list[TenantQuality]) -> list[dict]:
    """The same lines as data (rates as fractions of eligible, change in points)."""
    def run(r: RunFigures | None) -> dict | None:
        return None if r is None else {
            "at": r.at, "mode": r.mode, "eligible": r.eligible, "matched": r.matched,
            "match_rate_of_eligible": r.rate, "passed": r.passed, "problems": list(r.problems),
        }

    return [
        {
            "tenant": q.tenant,
            "status": q.status,
            "reason": q.reason,
            "last_run": run(q.last_run),
            "last_full_run": run(q.last_full),
            "previous_full_run": run(q.previous_full),
            "change_points": q.change_points,
            "usual_band": None if q.band is None else {"low": q.band.low, "high": q.band.high, "runs": q.band.runs},
            "usual_band_text": q.band_text,
            "published_matches": q.published_matches,
            "published_match_rate_of_eligible": q.published_rate,
        }
        for q in rows
    ]
