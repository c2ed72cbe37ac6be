"""Validate a list request's query string the way Harvest v3 does: strictly.

Anything the real API would refuse answers 422 here too (old-style ``updated_after``, too many
ids, unknown parameters), so a client that passes against the local server is not relying on
the server being lenient.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timezone

MAX_IDS = 50
MAX_PER_PAGE = 500
DEFAULT_PER_PAGE = 100

DATE_OPERATORS = ("gte", "gt", "lte", "lt")
OLD_STYLE = {
    f"{name}_{side}"
    for name in ("updated", "created", "last_activity")
    for side in ("after", "before")
}
STATUS_FILTER = {"active": "in_process", "rejected": "rejected", "hired": "hired", "converted": "converted"}

# collection -> {parameter: kind}; every collection also takes ids, per_page, created_at, updated_at.
_EXTRA: dict[str, dict[str, str]] = {
    "candidates": {"last_activity_at": "date"},
    "applications": {
        "last_activity_at": "date",
        "candidate_ids": "parent:candidate_id",
        "status": "status",
    },
    "prospect_details": {"application_ids": "parent:application_id"},
    "users": {"show_service_accounts": "bool"},
    "jobs": {},
    "job_interview_stages": {"job_ids": "parent:job_id"},
    "prospect_pools": {},
    "prospect_pool_stages": {},
    "close_reasons": {},
    "attachments": {"candidate_ids": "parent:candidate_id", "type": "text"},
    "openings": {"job_ids": "parent:job_id"},
    "job_posts": {"job_ids": "parent:job_id"},
}
SERVED_COLLECTIONS: tuple[str, ...] = tuple(_EXTRA)
_COMMON = {"ids": "ids", "per_page": "per_page", "created_at": "date", "updated_at": "date"}


class QueryError(Exception):
    """A 422: ``errors`` lists one {field, message} per problem."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class ListQuery:
    collection: str
    per_page: int = DEFAULT_PER_PAGE
    ids: frozenset[int] | None = None
    parent: tuple[str, frozenset[int]] | None = None  # (record field, allowed values)
    windows: tuple[tuple[str, str, datetime], ...] = ()  # (record field, operator, bound)
    equals: tuple[tuple[str, str], ...] = ()  # (record field, value)
    show_service_accounts: bool = False
    params: dict[str, str] = field(default_factory=dict)  # the validated originals, for the cursor

    def matches(self, record: dict) -> bool:
        if self.ids is not None and record["id"] not in self.ids:
            return False
        if self.parent is not None and record.get(self.parent[0]) not in self.parent[1]:
            return False
        for name, value in self.equals:
            if record.get(name) != value:
                return False
        for name, op, bound in self.windows:
            stamp = parse_record_time(record.get(name))
            if stamp is None or not _compare(stamp, op, bound):
                return False
        if self.collection == "users" and not self.show_service_accounts:
            if record.get("_service_account") or record.get("service_account"):
                return False
        return True


def parse_list_query(collection: str, pairs: list[tuple[str, str]]) -> ListQuery:
    """Turn query pairs (cursor already removed) into a ListQuery, or raise QueryError."""
    allowed = {**_COMMON, **_EXTRA[collection]}
    errors: list[dict[str, str]] = []
    seen: dict[str, str] = {}
    for name, value in pairs:
        if name in seen:
            errors.append(_err(name, f"parameter {name} is given more than once"))
        elif name in OLD_STYLE:
            stem = name.rsplit("_", 1)[0]
            errors.append(
                _err(name, f"{name} is not supported in v3: use {stem}_at=gte|<ISO 8601>|lte|<ISO 8601>")
            )
        elif name not in allowed:
            errors.append(_err(name, f"unknown parameter {name} for /v3/{collection}"))
        seen[name] = value
    if errors:
        raise QueryError(errors)

    per_page = DEFAULT_PER_PAGE
    ids: frozenset[int] | None = None
    parent: tuple[str, frozenset[int]] | None = None
    windows: list[tuple[str, str, datetime]] = []
    equals: list[tuple[str, str]] = []
    show_service = False
    for name, value in seen.items():
        kind = allowed[name]
        try:
            if kind == "per_page":
                per_page = _parse_per_page(value)
            elif kind == "ids":
                ids = _parse_ids(value)
            elif kind.startswith("parent:"):
                parent = (kind.split(":", 1)[1], _parse_ids(value))
            elif kind == "date":
                windows.extend((name, op, bound) for op, bound in _parse_window(value))
            elif kind == "status":
                if value not in STATUS_FILTER:
                    raise ValueError(f"status must be one of {', '.join(STATUS_FILTER)}")
                equals.append(("status", STATUS_FILTER[value]))
            elif kind == "text":
                if not value:
                    raise ValueError(f"{name} must not be empty")
                equals.append((name, value))
            elif kind == "bool":
                if value not in ("true", "false"):
                    raise ValueError(f"{name} must be true or false")
                show_service = value == "true"
        except ValueError as exc:
            errors.append(_err(name, str(exc)))
    if errors:
        raise QueryError(errors)
    return ListQuery(
        collection=collection,
        per_page=per_page,
        ids=ids,
        parent=parent,
        windows=tuple(windows),
        equals=tuple(equals),
        show_service_accounts=show_service,
        params=dict(seen),
    )


@functools.lru_cache(maxsize=262_144)
def parse_record_time(value: object) -> datetime | None:
    """A record's timestamp as an aware datetime; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return _aware(datetime.fromisoformat(value))
    except ValueError:
        return None


def _parse_per_page(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError("per_page must be an integer") from None
    if not 1 <= number <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}")
    return number


def _parse_ids(value: str) -> frozenset[int]:
    parts = value.split(",")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise ValueError("must be a comma-separated list of integer ids") from None
    if len(numbers) > MAX_IDS:
        raise ValueError(f"at most {MAX_IDS} ids per request, got {len(numbers)}")
    return frozenset(numbers)


def _parse_window(value: str) -> list[tuple[str, datetime]]:
    parts = value.split("|")
    if len(parts) < 2 or len(parts) % 2:
        raise ValueError("expected operator|timestamp pairs, e.g. gte|2026-11-01T00:00:00Z")
    out = []
    for op, stamp in zip(parts[::2], parts[1::2]):
        if op not in DATE_OPERATORS:
            raise ValueError(f"unknown operator {op!r}: use one of {', '.join(DATE_OPERATORS)}")
        out.append((op, _parse_bound(stamp)))
    return out


def _parse_bound(stamp: str) -> datetime:
    # A '+' in an unencoded offset arrives as a space.
    for candidate in (stamp, stamp.replace(" ", "+")):
        try:
            return _aware(datetime.fromisoformat(candidate))
        except ValueError:
            continue
    raise ValueError(f"{stamp!r} is not an ISO 8601 timestamp")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _compare(stamp: datetime, op: str, bound: datetime) -> bool:
    if op == "gte":
        return stamp >= bound
    if op == "gt":
        return stamp > bound
    if op == "lte":
        return stamp <= bound
    return stamp < bound


def _err(name: str, message: str) -> dict[str, str]:
    return {"field": name, "message": message}
