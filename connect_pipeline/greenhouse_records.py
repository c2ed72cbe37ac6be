"""What Greenhouse's records mean, where more than one stage needs to know."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def record_time(value: object) -> datetime | None:
    """A record's timestamp as the server wrote it: ISO 8601 with or without an offset (none
    means UTC, as Greenhouse's times are, never the host's zone), "Z" or "UTC" for UTC; None
    when absent or unreadable."""
    if not value:
        return None
    text = str(value).strip().removesuffix(" UTC").replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(timezone.utc) if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def is_anonymised(candidate: dict[str, Any]) -> bool:
    """Greenhouse anonymises in place: first name "Anonymized", last name = the candidate's id.

    Such a candidate is never matched, and anything published for it goes at the next run.
    """
    first = str(candidate.get("first_name") or "").strip().lower()
    last = str(candidate.get("last_name") or "").strip().lower()
    return first in {"anonymized", "anonymised"} and last == str(candidate.get("id")).lower()


def candidate_url(greenhouse_url: str, candidate_id: int) -> str:
    """The candidate's page in Greenhouse's web app (the URL the guide asks for ends in '/')."""
    return f"{greenhouse_url}people/{int(candidate_id)}"
