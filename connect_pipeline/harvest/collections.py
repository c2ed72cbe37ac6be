"""The Harvest v3 collections the pipeline reads, declared as data.

One row per collection: adding a collection is a line here, not a new function. The paginator,
rate limiting, retries and auth live once in the client. ``permission`` is the guide's words (what
a customer ticks); ``scope`` is the v3 scope behind it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Collection:
    name: str
    scope: str
    permission: str  # the guide's permission name, shown to customers
    incremental_field: str | None = None  # filter used for incremental windows
    parent_filter: str | None = None  # e.g. "candidate_ids": children are read by parent-id batches
    fixed_params: tuple[tuple[str, str], ...] = ()  # always sent on the first request


COLLECTIONS: tuple[Collection, ...] = (
    Collection("users", "harvest:users:list", "Users: Retrieve User / List Users"),
    Collection("jobs", "harvest:jobs:list", "Jobs: Retrieve Job / List Jobs"),
    Collection(
        "job_interview_stages",
        "harvest:job_interview_stages:list",
        "Job Stages: Retrieve Job Stage / List Job Stages",
    ),
    Collection("prospect_pools", "harvest:prospect_pools:list", "Prospect Pool: List Prospect Pools"),
    Collection(
        "prospect_pool_stages",
        "harvest:prospect_pool_stages:list",
        "Prospect Pool: List Prospect Pools",
    ),
    Collection("close_reasons", "harvest:close_reasons:list", "Close Reasons: Get close reasons"),
    Collection(
        "candidates",
        "harvest:candidates:list",
        "Candidates: Retrieve Candidate / List Candidates",
        incremental_field="updated_at",
    ),
    Collection(
        "applications",
        "harvest:applications:list",
        "Applications: Retrieve Application / List Applications",
        incremental_field="updated_at",
    ),
    Collection(
        "prospect_details",
        "harvest:prospect_details:list",
        "Prospect details (new in v3, needed for Connect)",
        parent_filter="application_ids",
    ),
    Collection(
        "attachments",
        "harvest:attachments:list",
        "Attachments (new in v3, needed for Connect)",
        # every type is listed (the enrichment shows resumes *and* other attachments);
        # only resumes are downloaded and read
        incremental_field="created_at",
    ),
)

BY_NAME: dict[str, Collection] = {c.name: c for c in COLLECTIONS}

# Every scope the pipeline needs to read; the connection check asks for each.
REQUIRED_SCOPES: tuple[str, ...] = tuple(dict.fromkeys(c.scope for c in COLLECTIONS))

# The write scopes the guide asks customers to tick. The pipeline never calls them; the
# connection check reports them as "not needed by the pipeline" rather than failing.
GUIDE_WRITE_SCOPES: dict[str, str] = {
    "harvest:applications:update": "Applications: Update Application",
    "harvest:applications:move": "Applications: Advance / Move / Move to Job",
    "harvest:applications:reject": "Applications: Reject Application",
    "harvest:applications:unreject": "Applications: Unreject Application",
}

ALL_KNOWN_SCOPES: tuple[str, ...] = REQUIRED_SCOPES + tuple(GUIDE_WRITE_SCOPES) + (
    "harvest:job_posts:list",
    "harvest:openings:list",
)

PAGE_SIZE = 500  # the v3 maximum, sent on the first request only
MAX_IDS_PER_REQUEST = 50
