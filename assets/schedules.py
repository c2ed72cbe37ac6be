"""Daily and weekly cadences: the tenant's own setting decides, no code change needed."""


from datetime import datetime

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, SkipReason, schedule

from assets.jobs import tenant_job
from assets.run_config import extract_run_config
from connect_pipeline.errors import ProfileIndexError
from connect_pipeline.profile_index import check_profile_index
from resources.connect import ConnectResource

WEEKLY_DAY = 0  # Monday: weekly tenants run
# Whether a run reads everything or a window is not decided here: every run asks for ``auto``
# and the extract's one rule (``extract.full_sweep_due``) makes it full a week after the last.


def tenants_due(cadences: dict[str, str], when: datetime) -> list[str]:
    """Daily tenants every day; weekly tenants on the weekly day."""
    return sorted(
        t for t, cadence in cadences.items() if cadence == "daily" or when.weekday() == WEEKLY_DAY
    )


@schedule(job=tenant_job, cron_schedule="0 2 * * *", execution_timezone="UTC",
          default_status=DefaultScheduleStatus.RUNNING,
          description="02:00 UTC: a run per tenant whose cadence is due today (daily tenants every "
          "day, weekly tenants on Mondays). Each run reads everything when its last full read is a "
          "week old, else an incremental window; deletions are swept at every run.")
def tenant_cadence_schedule(context: ScheduleEvaluationContext, connect: ConnectResource):
    when = context.scheduled_execution_time
    cadences = {t.tenant_id: t.cadence for t in connect.registry().list()}
    due = tenants_due(cadences, when)
    if not cadences:
        return SkipReason("no tenant is connected yet (connect one with `connect-pipeline tenants add`)")
    if not due:
        return SkipReason(
            f"no tenant is due on {when:%A %Y-%m-%d}: {len(cadences)} connected, all weekly, and weekly "
            "tenants run on Mondays"
        )
    try:
        check_profile_index(connect.root, connect.profiles_glob)
    except ProfileIndexError as exc:  # no run would get past its first step: say why here
        return SkipReason(f"{len(due)} tenants due, none started: {exc}")
    stamp = when.strftime("%Y-%m-%d")
    return [
        RunRequest(
            partition_key=t,
            run_key=f"{t}-{stamp}",
            run_config=extract_run_config("auto"),
            tags={"tenant": t, "cadence": cadences[t], "extract_mode_requested": "auto"},
        )
        for t in due
    ]
