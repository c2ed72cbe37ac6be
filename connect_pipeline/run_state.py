"""What one run tells the next, and what extract tells publish: the run's state, in one place.

Data flows one way through a run (extract → normalise → link → publish → purge) and from one run
to the next only through this module:

- the **manifest** (in staging): the window this extract reads and the steps already finished,
  so a killed run resumes the same window; publish reads its mode;
- the **deleted candidates** (in staging): ids the sweep no longer found in Greenhouse; publish
  drops their rows;
- the **watermarks** (in state): the end of the last published window and the last full sweep;
  they move only after a publish, so a failed run never skips a window;
- the **published ids**: which candidate is published on which profile, written by publish into
  its generation and read here for the next extract (its deletion sweep and the neighbours whose
  rows must be rebuilt), so extract never opens the published tables;
- the **publish history** (in state): the figures of each passed publish, from which the usual
  match-rate band is built (a blocked run never enters it);
- the **last gate verdict** (in state): the figures of the last run that reached the quality gate,
  passed or blocked, so the fleet's quality report can show a blocked run the history never holds.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Literal

import polars as pl

from connect_pipeline.errors import StagedExtractGone
from connect_pipeline.storage import TenantStorage, private_dir, write_text_atomic

ExtractMode = Literal["full", "incremental"]


@dataclass
class Manifest:
    """What this extract is doing, kept in staging so a killed run can finish the same window."""

    mode: ExtractMode
    since: str | None
    until: str
    completed: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, storage: TenantStorage) -> "Manifest | None":
        path = storage.manifest
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text()))

    def save(self, storage: TenantStorage) -> None:
        write_text_atomic(storage.manifest, json.dumps(asdict(self)))


FINAL_EXTRACT_STEP = "resumes"
"""The extract's last step: a manifest that lists it describes a whole staged extract."""


def finished_extract(storage: TenantStorage) -> Manifest | None:
    """The staged extract when it ran to its last step, else None (purged, or never finished)."""
    manifest = Manifest.load(storage)
    return manifest if manifest is not None and FINAL_EXTRACT_STEP in manifest.completed else None


def staged_extract(storage: TenantStorage) -> Manifest:
    """The finished extract the stages after it read; raises ``StagedExtractGone`` when it was
    purged or never finished, so a stage never reads "no candidates" into an empty publish."""
    manifest = finished_extract(storage)
    if manifest is None:
        raise StagedExtractGone(storage.tenant_id)
    return manifest


def staged_mode(storage: TenantStorage) -> ExtractMode:
    """The mode of the extract staged for this run."""
    return staged_extract(storage).mode


def save_deleted(storage: TenantStorage, candidate_ids: list[int]) -> None:
    write_text_atomic(storage.deleted_ids, json.dumps(sorted(int(i) for i in candidate_ids)))


def deleted_candidates(storage: TenantStorage) -> list[int]:
    """Candidates the sweep found gone (deleted, merged or anonymised) since the last publish."""
    path = storage.deleted_ids
    return json.loads(path.read_text()) if path.exists() else []


def read_watermarks(storage: TenantStorage) -> dict[str, str]:
    path = storage.watermarks
    return json.loads(path.read_text()) if path.exists() else {}


def commit_watermark(storage: TenantStorage) -> dict[str, str]:
    """Advance the watermark to the window just published (called only after the publish)."""
    manifest = Manifest.load(storage)
    marks = read_watermarks(storage)
    if manifest is None:
        return marks
    marks["until"] = manifest.until
    if manifest.mode == "full":
        marks["last_full"] = manifest.until
    private_dir(storage.state)
    write_text_atomic(storage.watermarks, json.dumps(marks))
    return marks


def require_full_read(storage: TenantStorage) -> None:
    """Make the next ``auto`` run a full read (forget when the last one was): for published rows
    dropped with no record left to say they must come back."""
    marks = read_watermarks(storage)
    if marks.pop("last_full", None) is not None:
        write_text_atomic(storage.watermarks, json.dumps(marks))


def published_ids(storage: TenantStorage) -> pl.DataFrame:
    """(candidate_id, profile_id) of every published match; empty before the first publish.

    Read from the ids file the publish wrote into the current generation, so the ids always
    belong to the tables a reader sees, even after a kill right after the switch.
    """
    path = storage.published_table("ids")
    if path is not None:
        return pl.read_parquet(path)
    return pl.DataFrame(schema={"candidate_id": pl.Int64, "profile_id": pl.String})


def has_published(storage: TenantStorage) -> bool:
    return storage.current_generation() is not None


def published_neighbours(storage: TenantStorage, candidate_ids: set[int]) -> set[int]:
    """Candidates published on the same profiles as these: their profile's row is rebuilt too."""
    if not candidate_ids:
        return set()
    ids = published_ids(storage)
    profiles = ids.filter(pl.col("candidate_id").is_in(list(candidate_ids)))["profile_id"]
    return set(ids.filter(pl.col("profile_id").is_in(profiles.implode()))["candidate_id"].to_list())


@dataclass(frozen=True)
class PublishRecord:
    """The figures of one passed publish: what the quality band learns from."""

    generation: str
    published_at: str
    mode: ExtractMode
    eligible: int
    matched: int
    match_rate_of_eligible: float
    published_matches: int | None = None
    """Matches in the published table after this publish (an incremental run keeps the others);
    None in records written before it was kept."""

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def record_publish(storage: TenantStorage, record: PublishRecord) -> None:
    """Append a passed publish to the history (rewritten whole, so a kill leaves it readable)."""
    lines = [r.to_json() for r in publish_history(storage)] + [record.to_json()]
    private_dir(storage.state)
    write_text_atomic(storage.publish_history, "\n".join(lines) + "\n")


def publish_history(storage: TenantStorage) -> list[PublishRecord]:
    """Passed publishes, oldest first."""
    path = storage.publish_history
    if not path.exists():
        return []
    return [PublishRecord(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


@dataclass(frozen=True)
class GateRecord:
    """The figures of the last run that reached the quality gate, and what the gate decided.

    Aggregates only (counts, a rate, the problems in words): no candidate or profile.
    """

    run_id: str
    checked_at: str
    mode: ExtractMode
    eligible: int
    matched: int
    match_rate_of_eligible: float
    passed: bool
    problems: list[str] = field(default_factory=list)
    outside_band: bool = False


def record_gate(storage: TenantStorage, record: GateRecord) -> None:
    private_dir(storage.state)
    write_text_atomic(storage.last_gate, json.dumps(asdict(record)))


def last_gate(storage: TenantStorage) -> GateRecord | None:
    """The last gate verdict, or None before the first run that reached the gate."""
    path = storage.last_gate
    if not path.exists():
        return None
    return GateRecord(**json.loads(path.read_text()))


def utc_stamp(when: datetime | None = None) -> str:
    """The second-resolution UTC stamp publish records and gate records carry."""
    return (when or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
