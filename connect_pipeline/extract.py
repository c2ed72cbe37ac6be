"""Read one tenant's Greenhouse into its staging folder.

Pages are appended to ``staging/raw/<collection>.jsonl`` as they arrive, so memory stays flat
whatever the account's size and a crash leaves a readable partial file rather than nothing. A
collection is written to ``<name>.jsonl.part`` and renamed when complete: the next stage only
ever sees whole collections. Resume files are downloaded in the same run because Greenhouse's
attachment URLs are signed and expire; the URL itself is never written anywhere.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from connect_pipeline.errors import HarvestError
from connect_pipeline.harvest.client import HarvestClient
from connect_pipeline.harvest.collections import COLLECTIONS
from connect_pipeline.storage import TenantStorage

Log = Callable[[str], None]

DEFAULT_MAX_RESUME_BYTES = 10 * 1024 * 1024
RESUME_DOWNLOAD_THREADS = 4


@dataclass
class ExtractSummary:
    rows: dict[str, int] = field(default_factory=dict)
    resumes_downloaded: int = 0
    resumes_skipped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def read_jsonl(path: Path) -> list[dict]:
    """Every record of a staged collection (empty when it was never staged)."""
    if not path.exists():
        return []
    with path.open("r", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def staged_collection(storage: TenantStorage, name: str) -> list[dict]:
    return read_jsonl(storage.raw / f"{name}.jsonl")


def _write_pages(path: Path, pages: Iterator[list[dict]], log: Log, name: str) -> int:
    part = path.with_name(path.name + ".part")
    rows = 0
    with part.open("w", encoding="utf-8") as fh:
        for page in pages:
            for record in page:
                fh.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False))
                fh.write("\n")
            rows += len(page)
            fh.flush()
            if rows and rows % 5000 < len(page):
                log(f"{name}: {rows} rows so far")
    os.replace(part, path)
    return rows


def _resume_targets(attachments: Iterable[dict], wanted_candidates: set[int]) -> list[dict]:
    return [
        a
        for a in attachments
        if a.get("type") == "resume" and a.get("url") and a.get("candidate_id") in wanted_candidates
    ]


def extract_tenant(
    client: HarvestClient,
    storage: TenantStorage,
    *,
    include_private: bool = False,
    max_resume_bytes: int = DEFAULT_MAX_RESUME_BYTES,
    log: Log = lambda _msg: None,
) -> ExtractSummary:
    """Full read of every collection the pipeline needs, then the resumes it will match on."""
    started = time.monotonic()
    storage.ensure()
    summary = ExtractSummary()
    for collection in COLLECTIONS:
        params = dict(collection.fixed_params)
        pages = client.iter_pages(collection.name, params)
        summary.rows[collection.name] = _write_pages(
            storage.raw / f"{collection.name}.jsonl", pages, log, collection.name
        )
        log(f"{collection.name}: {summary.rows[collection.name]} rows")

    candidates = staged_collection(storage, "candidates")
    wanted = {
        c["id"]
        for c in candidates
        if not is_anonymised(c) and (include_private or not c.get("private"))
    }
    targets = _resume_targets(staged_collection(storage, "attachments"), wanted)
    summary.resumes_downloaded, summary.resumes_skipped = _download_resumes(
        client, storage, targets, max_resume_bytes, log
    )
    _strip_urls(storage.raw / "attachments.jsonl")
    summary.seconds = time.monotonic() - started
    return summary


def is_anonymised(candidate: dict) -> bool:
    """Greenhouse anonymises in place: first name "Anonymized", last name = the candidate's id."""
    first = str(candidate.get("first_name") or "").strip().lower()
    last = str(candidate.get("last_name") or "").strip()
    return first in {"anonymized", "anonymised"} and last == str(candidate.get("id"))


def _download_resumes(
    client: HarvestClient,
    storage: TenantStorage,
    targets: list[dict],
    max_bytes: int,
    log: Log,
) -> tuple[int, dict[str, int]]:
    skipped: dict[str, int] = {}
    done = 0

    def fetch(attachment: dict) -> str | None:
        try:
            body = client.download(attachment["url"], max_bytes=max_bytes)
        except HarvestError as exc:
            return "too_large" if "larger than" in str(exc) else "download_failed"
        target = storage.resumes / f"{int(attachment['id'])}.pdf"
        tmp = target.with_suffix(".part")
        tmp.write_bytes(body)
        os.replace(tmp, target)
        return None

    with ThreadPoolExecutor(max_workers=RESUME_DOWNLOAD_THREADS) as pool:
        for i, reason in enumerate(pool.map(fetch, targets), start=1):
            if reason is None:
                done += 1
            else:
                skipped[reason] = skipped.get(reason, 0) + 1
            if i % 1000 == 0:
                log(f"resumes: {i}/{len(targets)} downloaded")
    if skipped:
        log(f"resumes skipped: {skipped}")
    return done, skipped


def _strip_urls(path: Path) -> None:
    """Signed attachment URLs are credentials in disguise: drop them once the files are fetched."""
    if not path.exists():
        return
    records = read_jsonl(path)
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8") as fh:
        for record in records:
            record.pop("url", None)
            fh.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def staged_resume_files(storage: TenantStorage) -> list[tuple[int, int, Path]]:
    """(attachment_id, candidate_id, path) for every resume downloaded in this run."""
    by_id = {int(a["id"]): int(a["candidate_id"]) for a in staged_collection(storage, "attachments")}
    out = []
    for path in sorted(storage.resumes.glob("*.pdf")):
        attachment_id = int(path.stem)
        if attachment_id in by_id:
            out.append((attachment_id, by_id[attachment_id], path))
    return out


__all__ = [
    "ExtractSummary",
    "extract_tenant",
    "is_anonymised",
    "read_jsonl",
    "staged_collection",
    "staged_resume_files",
]
