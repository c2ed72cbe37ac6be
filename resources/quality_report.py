"""Match quality across tenants, where Dagster shows it best.

- ``match_quality_report``: one asset for the whole fleet, its latest materialisation a table of
  every tenant's last run beside its previous full run and its usual band, with a status.
- ``match_quality/<tenant>``: one asset per tenant, so each tenant's trend plots as its own line
  (the tenant pipeline's assets are partitioned by tenant, and Dagster's plots join partitions).

Both are refreshed when a tenant run ends (``report_match_quality``, called by the run's lease
resource); ``match_quality_report`` (in ``assets/quality_report.py``) can also be materialised
by hand to refresh the staleness. This module lives with the resources because the run's lease
resource calls it; the asset imports it from here, so nothing below ``assets/`` imports upward.
The figures come from ``connect_pipeline.fleet``: aggregates of each tenant's state only.
"""


from datetime import datetime, timedelta, timezone
from pathlib import Path

from dagster import AssetKey, AssetMaterialization, AssetSpec, DagsterInstance, FreshnessPolicy, MetadataValue

from connect_pipeline.fleet import STATUS_MARK, fleet_json, fleet_markdown, fleet_quality, quality_of
from connect_pipeline.quality import TenantQuality, overdue_after, percent, stale_after
from connect_pipeline.tenants import TenantRegistry

GROUP = "match_quality"
FLEET_REPORT = AssetKey("match_quality_report")
FLEET_DESCRIPTION = (
    "Did match quality drop for any tenant? Every registered tenant's last run beside its previous "
    "full run and its usual band, with the change in points and a status (outside band, blocked, "
    "stale, band not ready, ok), worst first. Refreshed at the end of every tenant run."
)

# metadata labels of a tenant's quality series (the units are in the labels: Dagster shows keys as-is)
PUBLISHED_RATE = "published match rate (% of eligible)"
PUBLISHED_MATCHES = "published matches"
LAST_FULL_RATE = "last full run match rate (% of eligible)"
PREVIOUS_FULL_RATE = "previous full run match rate (% of eligible)"
CHANGE = "change vs previous full run (points)"
BAND_LOW, BAND_HIGH = "usual band low (%)", "usual band high (%)"


def tenant_quality_key(tenant_id: str) -> AssetKey:
    return AssetKey([GROUP, tenant_id])


def tenant_quality_specs(root: Path) -> list[AssetSpec]:
    """One asset per registered tenant (read when the code location loads), with a freshness
    policy from the tenant's cadence: the asset turns red in the UI once the tenant has gone
    longer than ``quality.STALE_AFTER`` without a run reaching the quality gate, the same rule
    the fleet report's "stale" status uses. A changed cadence applies when the code location
    reloads (the registry sensor's next new tenant, or Reload in the UI)."""
    try:
        tenants = [(t.tenant_id, t.cadence) for t in TenantRegistry(root).list()]
    except Exception:  # an unreadable registry must not stop the code location from loading
        tenants = []
    return [
        AssetSpec(
            tenant_quality_key(t),
            group_name=GROUP,
            description=f"Match quality of tenant {t} ({cadence} cadence) over time, one point per run "
            "that reached the quality gate: the published match rate, the last full run's rate and "
            f"the usual band. Freshness: late (warn) after {_window(overdue_after(cadence))} without a "
            f"run reaching the gate, stale (fail) after {_window(stale_after(cadence))}.",
            freshness_policy=freshness_policy(cadence),
            tags={"tenant": t, "cadence": cadence},
        )
        for t, cadence in tenants
    ]


def freshness_policy(cadence: str) -> FreshnessPolicy:
    """Red (fail) past the cadence's staleness limit; amber (warn) once the scheduled run is late."""
    return FreshnessPolicy.time_window(fail_window=stale_after(cadence), warn_window=overdue_after(cadence))


def _window(span: timedelta) -> str:
    """36 hours, 8 days, 7 days 2 hours: how the windows read in the asset's description."""
    hours = round(span.total_seconds() / 3600)
    if hours < 48:
        return f"{hours} hours"
    days, rest = divmod(hours, 24)
    return f"{days} days" + (f" {rest} hours" if rest else "")


def tenant_metadata(q: TenantQuality) -> dict:
    metadata: dict = {
        "status": MetadataValue.text(STATUS_MARK.get(q.status, q.status)),
        "why": MetadataValue.text(q.reason),
        "usual band": MetadataValue.text(
            q.band_text if q.band is None else f"{percent(q.band.low)}–{percent(q.band.high)}% "
            f"(from {q.band.runs} passed full runs)"
        ),
    }
    if q.last_run is not None:
        metadata["last run"] = MetadataValue.text(
            f"{q.last_run.at} · {q.last_run.mode} · {'published' if q.last_run.passed else 'blocked'}"
        )
    if q.published_rate is not None:
        metadata[PUBLISHED_RATE] = MetadataValue.float(percent(q.published_rate))
        metadata[PUBLISHED_MATCHES] = MetadataValue.int(q.published_matches or 0)
    if q.last_full is not None:
        metadata[LAST_FULL_RATE] = MetadataValue.float(percent(q.last_full.rate))
    if q.previous_full is not None:
        metadata[PREVIOUS_FULL_RATE] = MetadataValue.float(percent(q.previous_full.rate))
    if q.change_points is not None:
        metadata[CHANGE] = MetadataValue.float(q.change_points)
    if q.band is not None:
        metadata[BAND_LOW] = MetadataValue.float(percent(q.band.low))
        metadata[BAND_HIGH] = MetadataValue.float(percent(q.band.high))
    return metadata


def fleet_metadata(root: Path, now: datetime | None = None) -> dict:
    rows = fleet_quality(root, now)
    return {
        "fleet": MetadataValue.md(fleet_markdown(rows, now)),
        "tenants needing a look": MetadataValue.int(
            sum(q.status in ("outside band", "blocked", "stale") for q in rows)
        ),
        "tenants": MetadataValue.int(len(rows)),
        "fleet (json)": MetadataValue.json(fleet_json(rows)),
    }


def report_match_quality(instance: DagsterInstance, root: Path, tenant_id: str, *, reached_gate: bool) -> None:
    """At the end of a tenant run: a point on the tenant's trend (when the run reached the gate)
    and a fresh fleet report."""
    now = datetime.now(timezone.utc)
    if reached_gate:
        registry = TenantRegistry(root)
        cadence = registry.get(tenant_id).cadence if registry.has(tenant_id) else "daily"
        q = quality_of(root, tenant_id, cadence, now)
        instance.report_runless_asset_event(
            AssetMaterialization(tenant_quality_key(tenant_id), metadata=tenant_metadata(q))
        )
    instance.report_runless_asset_event(AssetMaterialization(FLEET_REPORT, metadata=fleet_metadata(root, now)))


