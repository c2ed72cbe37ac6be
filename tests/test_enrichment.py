"""The enrichment row a recruiter sees, built from hand-written Greenhouse v3 records."""

from __future__ import annotations

import polars as pl

from connect_pipeline.enrichment import build_enrichment

USERS = [
    {"id": 1, "first_name": "Rita", "last_name": "Recruiter", "name": "Rita Recruiter"},
    {"id": 2, "first_name": "Owen", "last_name": "Owner", "name": "Owen Owner"},
]
JOBS = [{"id": 10, "name": "Data Engineer"}, {"id": 11, "name": "Analyst"}]


def _matches(rows):
    return pl.DataFrame(
        rows, schema={"candidate_id": pl.Int64, "profile_id": pl.String, "match_probability": pl.Float64,
                      "match_weight": pl.Float64, "explanation": pl.String},
        orient="row",
    )


def test_active_application_wins_and_duplicates_fold():
    candidates = [
        {"id": 100, "email_addresses": [{"value": "a@x.io", "type": "personal"}], "phone_numbers": []},
        {"id": 101, "email_addresses": [{"value": "a@work.io", "type": "work"}],
         "phone_numbers": [{"value": "+1 415 555 0100", "type": "mobile"}]},
    ]
    applications = [
        {"id": 1000, "candidate_id": 100, "prospect": False, "job_id": 11, "status": "rejected",
         "stage_name": "Offer", "recruiter_id": 2, "last_activity_at": "2026-10-01T00:00:00Z"},
        {"id": 1001, "candidate_id": 101, "prospect": False, "job_id": 10, "status": "in_process",
         "stage_name": "Onsite", "recruiter_id": 1, "last_activity_at": "2026-05-01T00:00:00Z"},
        {"id": 1002, "candidate_id": 101, "prospect": True, "job_id": None, "status": "in_process",
         "stage_name": None, "recruiter_id": None, "last_activity_at": "2026-01-01T00:00:00Z"},
    ]
    details = [{"id": 1002, "application_id": 1002, "pool_id": 5, "pool_stage_id": 6, "prospect_owner_id": 2}]
    attachments = [{"id": 9, "candidate_id": 101, "filename": "cv.pdf", "type": "resume",
                    "created_at": "2026-01-02T00:00:00Z"}]
    table = build_enrichment(
        _matches([(100, "p1", 0.99, 12.0, "same e-mail"), (101, "p1", 0.999, 15.0, "same LinkedIn")]),
        candidates=candidates, applications=applications, prospect_details=details, users=USERS,
        jobs=JOBS, attachments=attachments, greenhouse_url="https://app.greenhouse.io/",
    )
    assert table.height == 1
    row = table.row(0, named=True)
    assert row["candidate_ids"] == [100, 101]
    assert row["in_ats_as"] == "prospect_and_applicant"
    # active beats the more recent rejected one; among active, the most recent
    assert (row["application_id"], row["job_name"], row["stage_name"]) == (1001, "Data Engineer", "Onsite")
    assert row["status_label"] == "Active"
    assert row["recruiter_name"] == "Rita Recruiter"
    assert row["prospect_owner_name"] == "Owen Owner"
    assert sorted(row["emails"]) == ["a@work.io", "a@x.io"]
    assert row["phones"] == ["+1 415 555 0100"]
    assert [a["filename"] for a in row["attachments"]] == ["cv.pdf"]
    assert row["greenhouse_url"] == "https://app.greenhouse.io/people/101"
    assert row["match_explanation"] == "same LinkedIn"
    assert {a["application_id"] for a in row["other_applications"]} == {1000, 1002}


def test_no_matches_gives_an_empty_typed_table():
    table = build_enrichment(
        _matches([]), candidates=[], applications=[], prospect_details=[], users=[], jobs=[],
        attachments=[], greenhouse_url="https://app.greenhouse.io/",
    )
    assert table.height == 0 and "profile_id" in table.columns


def test_times_written_without_an_offset_are_utc_and_an_unreadable_one_is_unknown(monkeypatch):
    """Another server may write "2026-10-01 09:30:00 UTC" or no offset at all: Greenhouse's
    times are UTC whatever the host's zone, and a time nothing reads leaves the field empty
    rather than failing the publish."""
    import time
    from datetime import datetime, timezone

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        applications = [
            {"id": 1, "candidate_id": 100, "prospect": False, "job_id": 10, "status": "in_process",
             "stage_name": "Onsite", "last_activity_at": "2026-10-01T09:30:00"},
            {"id": 2, "candidate_id": 101, "prospect": False, "job_id": 10, "status": "in_process",
             "stage_name": "Onsite", "last_activity_at": "2026-10-01 09:30:00 UTC"},
            {"id": 3, "candidate_id": 102, "prospect": False, "job_id": 10, "status": "in_process",
             "stage_name": "Onsite", "last_activity_at": "last Tuesday"},
        ]
        table = build_enrichment(
            _matches([(100, "p1", 0.99, 12.0, "x"), (101, "p2", 0.99, 12.0, "x"), (102, "p3", 0.99, 12.0, "x")]),
            candidates=[{"id": i} for i in (100, 101, 102)], applications=applications, prospect_details=[],
            users=USERS, jobs=JOBS, attachments=[], greenhouse_url="https://app.greenhouse.io/",
        )
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    when = dict(zip(table["profile_id"], table["last_activity_at"]))
    expected = datetime(2026, 10, 1, 9, 30, tzinfo=timezone.utc)
    assert when["p1"] == when["p2"] == expected and when["p3"] is None
