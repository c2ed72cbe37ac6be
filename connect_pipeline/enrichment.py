"""The enrichment table: what a recruiter sees on a profile that is already in their ATS.

One row per matched ``profile_id``. Several ATS candidates may be the same person (duplicates
in Greenhouse); they fold into one row whose most relevant application is chosen across all of
them: an active application first, then the one that moved most recently.
"""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl

from connect_pipeline.greenhouse_records import candidate_url, record_time

STATUS_LABELS = {
    "in_process": "Active",
    "active": "Active",
    "rejected": "Rejected",
    "hired": "Hired",
    "converted": "Converted",
}

APPLICATION_STRUCT = pl.Struct(
    {
        "application_id": pl.Int64(),
        "candidate_id": pl.Int64(),
        "kind": pl.String(),
        "job_name": pl.String(),
        "stage_name": pl.String(),
        "status": pl.String(),
        "last_activity_at": pl.Datetime("us", "UTC"),
    }
)
ATTACHMENT_STRUCT = pl.Struct(
    {"filename": pl.String(), "type": pl.String(), "created_at": pl.Datetime("us", "UTC")}
)

ENRICHMENT_SCHEMA: dict[str, pl.DataType] = {
    "profile_id": pl.String(),
    "candidate_ids": pl.List(pl.Int64()),
    "in_ats_as": pl.String(),
    "is_prospect": pl.Boolean(),
    "is_applicant": pl.Boolean(),
    "application_id": pl.Int64(),
    "job_name": pl.String(),
    "stage_name": pl.String(),
    "status": pl.String(),
    "status_label": pl.String(),
    "last_activity_at": pl.Datetime("us", "UTC"),
    "other_applications": pl.List(APPLICATION_STRUCT),
    "recruiter_name": pl.String(),
    "prospect_owner_name": pl.String(),
    "emails": pl.List(pl.String()),
    "phones": pl.List(pl.String()),
    "attachments": pl.List(ATTACHMENT_STRUCT),
    "greenhouse_url": pl.String(),
    "match_probability": pl.Float64(),
    "match_weight": pl.Float64(),
    "match_explanation": pl.String(),
    "computed_at": pl.Datetime("us", "UTC"),
}


def _name(user: dict | None) -> str | None:
    if not user:
        return None
    name = user.get("name") or " ".join(
        p for p in (user.get("first_name"), user.get("last_name")) if p
    )
    return name or None


def build_enrichment(
    matches: pl.DataFrame,
    *,
    candidates: list[dict],
    applications: list[dict],
    prospect_details: list[dict],
    users: list[dict],
    jobs: list[dict],
    attachments: list[dict],
    greenhouse_url: str,
    computed_at: datetime | None = None,
) -> pl.DataFrame:
    """Fold the matched candidates' Greenhouse records into one row per profile.

    Per-row Python is fine here: the input is the matched candidates of one tenant (at most a
    few hundred thousand), and the records are nested JSON that Polars would flatten no faster.
    """
    computed_at = computed_at or datetime.now(timezone.utc)
    if matches.is_empty():
        return pl.DataFrame(schema=ENRICHMENT_SCHEMA)

    users_by_id = {u["id"]: u for u in users}
    jobs_by_id = {j["id"]: j for j in jobs}
    details_by_app = {d.get("application_id", d.get("id")): d for d in prospect_details}
    cands = {c["id"]: c for c in candidates}
    apps_by_cand: dict[int, list[dict]] = {}
    for a in applications:
        apps_by_cand.setdefault(a["candidate_id"], []).append(a)
    files_by_cand: dict[int, list[dict]] = {}
    for a in attachments:
        files_by_cand.setdefault(a.get("candidate_id"), []).append(a)

    rows = []
    for profile_id, group in matches.sort("match_weight", descending=True).group_by(
        "profile_id", maintain_order=True
    ):
        best = group.row(0, named=True)
        candidate_ids = sorted(int(c) for c in group["candidate_id"].to_list())
        apps = [a for cid in candidate_ids for a in apps_by_cand.get(cid, [])]
        summaries = [_application_summary(a, jobs_by_id) for a in apps]
        summaries.sort(key=_relevance, reverse=True)
        main = summaries[0] if summaries else None
        main_app = next((a for a in apps if main and a["id"] == main["application_id"]), None)
        is_prospect = any(a.get("prospect") for a in apps)
        is_applicant = any(not a.get("prospect") for a in apps)
        emails, phones, files = [], [], []
        for cid in candidate_ids:
            cand = cands.get(cid, {})
            emails += [e.get("value") for e in cand.get("email_addresses") or [] if e.get("value")]
            phones += [p.get("value") for p in cand.get("phone_numbers") or [] if p.get("value")]
            files += [
                {
                    "filename": f.get("filename"),
                    "type": f.get("type"),
                    "created_at": record_time(f.get("created_at")),
                }
                for f in files_by_cand.get(cid, [])
            ]
        recruiter = _recruiter(main_app, apps, users_by_id)
        owner = _prospect_owner(apps, details_by_app, users_by_id)
        rows.append(
            {
                "profile_id": profile_id[0] if isinstance(profile_id, tuple) else profile_id,
                "candidate_ids": candidate_ids,
                "in_ats_as": _in_ats_as(is_prospect, is_applicant),
                "is_prospect": is_prospect,
                "is_applicant": is_applicant,
                "application_id": main["application_id"] if main else None,
                "job_name": main["job_name"] if main else None,
                "stage_name": main["stage_name"] if main else None,
                "status": main["status"] if main else None,
                "status_label": STATUS_LABELS.get(main["status"] or "", main["status"]) if main else None,
                "last_activity_at": main["last_activity_at"] if main else None,
                "other_applications": summaries[1:],
                "recruiter_name": _name(recruiter),
                "prospect_owner_name": _name(owner),
                "emails": list(dict.fromkeys(emails)),
                "phones": list(dict.fromkeys(phones)),
                "attachments": files,
                "greenhouse_url": candidate_url(
                    greenhouse_url, candidate_ids[0] if len(candidate_ids) == 1 else best["candidate_id"]
                ),
                "match_probability": float(best["match_probability"]),
                "match_weight": float(best["match_weight"]),
                "match_explanation": best.get("explanation"),
                "computed_at": computed_at,
            }
        )
    return pl.DataFrame(rows, schema=ENRICHMENT_SCHEMA)


def _in_ats_as(is_prospect: bool, is_applicant: bool) -> str:
    if is_prospect and is_applicant:
        return "prospect_and_applicant"
    return "prospect" if is_prospect else "applicant"


def _application_summary(app: dict, jobs_by_id: dict[int, dict]) -> dict:
    job = jobs_by_id.get(app.get("job_id")) if app.get("job_id") is not None else None
    return {
        "application_id": int(app["id"]),
        "candidate_id": int(app["candidate_id"]),
        "kind": "prospect" if app.get("prospect") else "applicant",
        "job_name": job.get("name") if job else None,
        "stage_name": app.get("stage_name"),
        "status": app.get("status"),
        "last_activity_at": record_time(app.get("last_activity_at") or app.get("updated_at")),
    }


def _relevance(summary: dict) -> tuple:
    """Active applications first, then the one that moved most recently."""
    active = summary["status"] in ("in_process", "active")
    moved = summary["last_activity_at"] or datetime.min.replace(tzinfo=timezone.utc)
    return (active, moved, summary["application_id"])


def _recruiter(main_app: dict | None, apps: list[dict], users: dict[int, dict]) -> dict | None:
    """The recruiter of the most relevant application, else of any application that has one."""
    for app in ([main_app] if main_app else []) + apps:
        if app.get("recruiter_id") in users:
            return users[app["recruiter_id"]]
    return None


def _prospect_owner(
    apps: list[dict], details: dict[int, dict], users: dict[int, dict]
) -> dict | None:
    for app in apps:
        owner_id = (details.get(app["id"]) or {}).get("prospect_owner_id")
        if owner_id in users:
            return users[owner_id]
    return None
