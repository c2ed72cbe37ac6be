"""Read one tenant's Greenhouse into its staging folder: a full sweep or an incremental window.

**Full** (first run, weekly reconciliation, on demand): every collection is read whole, so the
published tables are rebuilt from what Greenhouse holds now and deleted, merged or anonymised
candidates disappear from them.

**Incremental** (the daily cadence): applications *updated* in the window
``[watermark - overlap, now]`` and resumes created in it are read, then a sweep pages through
every candidate Greenhouse still lists: its ids reveal deletions and merges at every run (they
leave the published tables at the next run of any kind, not at the weekly sweep), and its pages
carry the records of the candidates changed in the window. Every record the affected candidates
need is then fetched by id (≤ 50 ids a request): their applications, prospect details and resumes,
and the other candidates already published on the same profile (so the profile's enrichment row
can be rebuilt whole). Applications are re-read when they *change*, not only when created:
filtering on ``updated_at`` of applications is what other extractors missed.

Durability: each step writes ``<name>.jsonl.part`` page by page and renames it when whole; a
manifest records the window and the finished steps, so a run killed mid-extract resumes the same
window where it stopped, with no duplicate and no gap. The watermark moves only after a publish
(``run_state.commit_watermark``), so a failed run never skips a window.

Resume files are downloaded in the same run because Greenhouse's attachment URLs are signed and
expire; the URL itself is dropped from the staged records once the files are fetched.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path


from connect_pipeline.errors import ConfigError, DownloadFailed, HarvestError, MassDeletionRefused
from connect_pipeline.greenhouse_records import is_anonymised, record_time
from connect_pipeline.harvest.client import HarvestClient, window_filter
from connect_pipeline.harvest.collections import COLLECTIONS
from connect_pipeline.run_state import (
    FINAL_EXTRACT_STEP,
    Manifest,
    deleted_candidates,
    has_published,
    published_ids,
    published_neighbours,
    read_watermarks,
    save_deleted,
)
from connect_pipeline.storage import TenantStorage, atomic_write, write_bytes_atomic


DEFAULT_MAX_RESUME_BYTES = 10 * 1024 * 1024
WINDOW_OVERLAP = timedelta(minutes=10)  # clock skew between us and Greenhouse; re-reads are upserts
FULL_EVERY = timedelta(days=7)
# a weekly run scheduled at the same time lands a few seconds early or late: still due
FULL_EVERY_TOLERANCE = timedelta(hours=1)
SMALL_COLLECTIONS = ("users", "jobs", "job_interview_stages", "prospect_pools",
                     "prospect_pool_stages", "close_reasons")
MODES = ("auto", "full", "incremental")

logger = logging.getLogger(__name__)
"""Warnings the run should show as warnings: resumes skipped, a prefetch that stopped."""


@dataclass
class ExtractSummary:
    mode: str = "full"
    since: str | None = None
    until: str | None = None
    rows: dict[str, int] = field(default_factory=dict)
    affected_candidates: int = 0
    deleted_candidates: int = 0
    resumes_downloaded: int = 0
    resumes_skipped: dict[str, int] = field(default_factory=dict)
    resumed_steps: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def plan_extract(storage: TenantStorage, *, mode: str = "auto", now: datetime | None = None) -> Manifest:
    """The window to read: resume an unfinished one, else full or incremental as due."""
    if mode not in MODES:
        raise ConfigError(f"extract mode {mode!r} is not one of {', '.join(MODES)}")
    unfinished = Manifest.load(storage)
    if unfinished is not None and (mode == "auto" or mode == unfinished.mode):
        return unfinished
    now = now or datetime.now(timezone.utc)
    if now.microsecond:
        # the filter speaks whole seconds: round the window's end up, never down, so a record
        # updated earlier in this same second is inside it (re-reading one is an upsert)
        now = now.replace(microsecond=0) + timedelta(seconds=1)
    marks = read_watermarks(storage)
    published = has_published(storage)
    if mode == "full" or (mode == "auto" and (full_sweep_due(marks, now) or not published or "until" not in marks)):
        return Manifest("full", None, _iso(now))
    if "until" not in marks or not published:
        raise ConfigError(
            f"tenant {storage.tenant_id}: no completed full run yet, so there is nothing to read "
            "incrementally from; run with mode 'full' (or 'auto') first"
        )
    return Manifest("incremental", _iso(_parse(marks["until"]) - WINDOW_OVERLAP), _iso(now))


def full_sweep_due(marks: dict[str, str], now: datetime) -> bool:
    """The one rule for when ``auto`` re-reads everything: a week after the last full sweep.

    Deletions no longer wait for it (every run sweeps candidate ids); the weekly full read
    re-reads records whose changes Greenhouse does not reflect in ``updated_at``.
    """
    last_full = marks.get("last_full")
    return last_full is None or now - _parse(last_full) >= FULL_EVERY - FULL_EVERY_TOLERANCE


def read_jsonl(path: Path) -> list[dict]:
    """Every record of a staged collection (empty when it was never staged)."""
    if not path.exists():
        return []
    with path.open("r", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def staged_collection(storage: TenantStorage, name: str) -> list[dict]:
    return read_jsonl(storage.raw_collection(name))


def _write_pages(path: Path, pages: Iterable[list[dict]], name: str) -> int:
    """Stage pages as they arrive; the file appears under its real name only when whole."""
    rows = 0
    seen: set = set()
    with atomic_write(path, durable=False) as part, part.open("w", encoding="utf-8") as fh:
        for page in pages:
            for record in page:
                key = record.get("id", record.get("application_id"))
                if key is not None and key in seen:
                    continue  # a record moved between pages while we read; keep one copy
                seen.add(key)
                fh.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False))
                fh.write("\n")
                rows += 1
            fh.flush()
            if rows and rows % 10_000 < len(page):
                logger.info("%s: %d rows so far", name, rows)
    return rows


class _Steps:
    """Runs each named step once per manifest; a resumed run skips the finished ones."""

    def __init__(self, storage: TenantStorage, manifest: Manifest, summary: ExtractSummary):
        self.storage, self.manifest, self.summary = storage, manifest, summary

    def stage(self, name: str, pages: Callable[[], Iterator[list[dict]]]) -> None:
        path = self.storage.raw_collection(name)
        if name in self.manifest.completed and path.exists():
            self.summary.resumed_steps.append(name)
            self.summary.rows[name] = sum(1 for _ in path.open())
            return
        self.summary.rows[name] = _write_pages(path, pages(), name)
        logger.info("%s: %d rows", name, self.summary.rows[name])
        self.done(name)

    def done(self, name: str) -> None:
        self.manifest.completed.append(name)
        self.manifest.save(self.storage)


def extract_tenant(
    client: HarvestClient,
    storage: TenantStorage,
    *,
    mode: str = "auto",
    now: datetime | None = None,
    include_private: bool = False,
    max_resume_bytes: int = DEFAULT_MAX_RESUME_BYTES,
    allow_mass_deletion: bool = False,
) -> ExtractSummary:
    started = time.monotonic()
    storage.ensure()
    for stale in storage.staging.rglob(".*.part"):
        stale.unlink()  # half-written by a run that was killed: only one run writes here (the lease)
    staged = Manifest.load(storage)
    if staged is not None and read_watermarks(storage).get("until") == staged.until:
        # published and its watermark committed, then killed before the purge: that window is
        # done, and resuming it would publish it again instead of reading what changed since
        storage.purge_staging()
        storage.ensure()
    manifest = plan_extract(storage, mode=mode, now=now)
    manifest.save(storage)
    summary = ExtractSummary(mode=manifest.mode, since=manifest.since, until=manifest.until)
    steps = _Steps(storage, manifest, summary)
    logger.info("%s extract, window %s → %s", manifest.mode, manifest.since or "beginning", manifest.until)

    prefetch = _ResumePrefetch(client, storage, manifest, include_private, max_resume_bytes)
    try:
        for name in SMALL_COLLECTIONS:
            steps.stage(name, lambda name=name: client.iter_pages(name))
        if manifest.mode == "full":
            _full_read(client, steps, prefetch.start)
        else:
            _incremental_read(client, storage, steps, prefetch.start)

        resumed = bool({"candidates", "candidate_sweep"} & set(summary.resumed_steps))
        if resumed:
            # staged before the run was killed: Greenhouse may have deleted, merged or anonymised
            # some of these candidates since; they must be neither published again nor matched
            listed = _listed_now(client)
            _save_gone(storage, listed)
            _keep_listed(storage, listed)
        candidates = staged_collection(storage, "candidates")
        if manifest.mode == "full" and not resumed:
            _save_gone(storage, {c["id"] for c in candidates if not is_anonymised(c)})
        if manifest.mode != "full":
            summary.affected_candidates = len(candidates)
        _refuse_mass_deletion(storage, allow_mass_deletion)
        summary.deleted_candidates = len(deleted_candidates(storage))
        if FINAL_EXTRACT_STEP not in manifest.completed:
            result = prefetch.result()
            if result is None:  # no prefetch ran, or it stopped early: fetch what is missing now
                result = _download_resumes(
                    client, storage, _resume_targets(storage, include_private), max_resume_bytes
                )
            summary.resumes_downloaded, summary.resumes_skipped = result
            for name in ("attachments", "new_attachments"):  # no signed download link stays staged
                _strip_urls(storage.raw_collection(name))
            steps.done(FINAL_EXTRACT_STEP)
        else:
            summary.resumes_downloaded = len(list(storage.resumes.glob("*.pdf")))
    except BaseException:
        # a failure anywhere before the downloads were collected: stop the prefetch before the
        # caller closes the client and the run's end purges staging, or it writes files after
        prefetch.cancel()
        raise
    summary.seconds = time.monotonic() - started
    return summary


def _resume_targets(storage: TenantStorage, include_private: bool) -> list[dict]:
    """Staged resume attachments still carrying a URL, of candidates we may match."""
    wanted = {
        c["id"] for c in staged_collection(storage, "candidates")
        if not is_anonymised(c) and (include_private or not c.get("private"))
    }
    return [
        a for a in staged_collection(storage, "attachments")
        if a.get("type") == "resume" and a.get("url") and a.get("candidate_id") in wanted
    ]


class _ResumePrefetch:
    """Downloads resumes in the background while the remaining collections are read.

    Why: once the attachments are staged, the reads left (applications, prospect details) spend
    most of their time waiting on the rate limit, and file downloads are not Harvest requests.
    Fetching then instead of after the last page hides the downloads inside that wait; a
    100k-resume tenant otherwise adds minutes after the API work is done. Files land whole
    (``.part`` then rename), so a crash mid-prefetch leaves only whole files, which the next
    run skips; if the prefetch stops early the resumes step fetches what is missing.
    """

    def __init__(
        self,
        client: HarvestClient,
        storage: TenantStorage,
        manifest: Manifest,
        include_private: bool,
        max_bytes: int,
    ) -> None:
        self._client, self._storage, self._manifest = client, storage, manifest
        self._include_private, self._max_bytes = include_private, max_bytes
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._result: tuple[int, dict[str, int]] | None = None

    def start(self) -> None:
        """Call once candidates and attachments are staged."""
        if self._thread is not None or FINAL_EXTRACT_STEP in self._manifest.completed:
            return
        targets = _resume_targets(self._storage, self._include_private)
        self._thread = threading.Thread(target=self._run, args=(targets,), name="resume-prefetch", daemon=True)
        self._thread.start()

    def _run(self, targets: list[dict]) -> None:
        try:
            result = _download_resumes(
                self._client, self._storage, targets, self._max_bytes, cancel=self._cancel
            )
        except Exception as exc:  # the resumes step fetches whatever is missing
            logger.warning("resume prefetch stopped (%s); the resumes step finishes it", type(exc).__name__)
            return
        if not self._cancel.is_set():
            self._result = result

    def result(self) -> tuple[int, dict[str, int]] | None:
        """Wait for the prefetch; its counts, or None when it did not run to the end."""
        if self._thread is not None:
            self._thread.join()
        return self._result

    def cancel(self) -> None:
        """Stop before the caller closes the client (the read failed); files already whole stay."""
        self._cancel.set()
        if self._thread is not None:
            self._thread.join()


def _full_read(client: HarvestClient, steps: _Steps, attachments_staged: Callable[[], None]) -> None:
    """Candidates and attachments first, so resume downloads overlap the remaining reads."""
    first = ("candidates", "attachments")
    order = [*first, *(c.name for c in COLLECTIONS if c.name not in first)]
    for name in order:
        if name not in SMALL_COLLECTIONS:
            steps.stage(name, lambda c=name: client.iter_pages(c))
        if name == "attachments":
            attachments_staged()


def _incremental_read(
    client: HarvestClient, storage: TenantStorage, steps: _Steps, attachments_staged: Callable[[], None]
) -> None:
    """The window's changes, plus a sweep of every candidate id Greenhouse still holds.

    Greenhouse keeps no tombstones: a deleted or merged candidate simply stops being listed. So
    every run pages through the candidates (the sweep) and compares their ids with the ids it
    published; the sweep's pages also carry the records of the candidates changed in the window,
    so no separate window query is needed for them. Applications and attachments changed in the
    window are read first, so the sweep can keep the records their candidates need too.
    """
    since, until = _parse(steps.manifest.since), _parse(steps.manifest.until)
    window = window_filter(since, until)
    steps.stage("changed_applications", lambda: client.iter_pages("applications", {"updated_at": window}))
    steps.stage("new_attachments", lambda: client.iter_pages("attachments", {"created_at": window}))
    from_children = {
        r["candidate_id"] for name in ("changed_applications", "new_attachments")
        for r in staged_collection(storage, name) if r.get("candidate_id") is not None
    }
    wanted_early = from_children | published_neighbours(storage, from_children)

    def sweep() -> Iterator[list[dict]]:
        for page in client.iter_pages("candidates"):
            yield [_swept(c, since, until, wanted_early) for c in page]

    steps.stage("candidate_sweep", sweep)
    swept = staged_collection(storage, "candidate_sweep")
    listed = {s["id"] for s in swept}
    changed = {s["id"] for s in swept if s["changed"]}
    touched = changed | from_children
    affected = (touched | published_neighbours(storage, touched)) & listed
    kept = {s["id"]: s["record"] for s in swept if "record" in s}

    def candidates() -> Iterator[list[dict]]:
        yield [kept[i] for i in sorted(affected & kept.keys())]
        # a neighbour listed before its namesake changed: rare, fetched by id
        yield from client.iter_by_parent_ids("candidates", "ids", sorted(affected - kept.keys()))

    steps.stage("candidates", candidates)
    current = {s["id"] for s in swept if not s["anonymised"]}
    _save_gone(storage, current)
    ids = sorted({c["id"] for c in staged_collection(storage, "candidates")})
    steps.stage("attachments", lambda: client.iter_by_parent_ids("attachments", "candidate_ids", ids))
    attachments_staged()
    steps.stage("applications", lambda: client.iter_by_parent_ids("applications", "candidate_ids", ids))
    prospect_apps = [a["id"] for a in staged_collection(storage, "applications") if a.get("prospect")]
    steps.stage(
        "prospect_details",
        lambda: client.iter_by_parent_ids("prospect_details", "application_ids", prospect_apps),
    )


def _swept(candidate: dict, since: datetime, until: datetime, wanted: set[int]) -> dict:
    """What the sweep keeps of a listed candidate: its id, and its record only when needed.

    "Changed" is the window the server filter would have applied, bounds included.
    """
    written = candidate.get("updated_at")
    updated = record_time(written)
    # a time nothing reads counts as changed: re-reading a record costs little
    changed = since <= updated <= until if updated is not None else bool(written)
    entry = {"id": candidate["id"], "changed": changed, "anonymised": is_anonymised(candidate)}
    if changed or candidate["id"] in wanted:
        entry["record"] = candidate
    return entry


MASS_DELETION_SHARE = 0.5
MASS_DELETION_MIN = 100
"""A run that would drop more than this share of the published candidates, and at least this
many, stops unless told the deletions are real (``allow_mass_deletion``)."""


def _refuse_mass_deletion(storage: TenantStorage, allow: bool) -> None:
    """Most of the published candidates missing from one listing is more likely a listing cut
    short than a purge, and publishing it would unpublish them all (even a run whose gate blocks
    publishes what its sweep found deleted). The list is emptied before the error, so nothing at
    all is dropped on its strength."""
    gone = len(deleted_candidates(storage))
    published = published_ids(storage).height
    if allow or gone < MASS_DELETION_MIN or gone <= MASS_DELETION_SHARE * published:
        return
    save_deleted(storage, [])
    raise MassDeletionRefused(storage.tenant_id, gone, published)


def _listed_now(client: HarvestClient) -> set[int]:
    """The ids of the candidates Greenhouse lists now, anonymised ones left out."""
    return {c["id"] for page in client.iter_pages("candidates") for c in page if not is_anonymised(c)}


def _keep_listed(storage: TenantStorage, listed: set[int]) -> None:
    """Drop the staged candidates Greenhouse no longer lists (or lists anonymised)."""
    staged = staged_collection(storage, "candidates")
    kept = [c for c in staged if c["id"] in listed]
    if len(kept) < len(staged):
        _write_pages(storage.raw_collection("candidates"), [kept], "candidates")


def _save_gone(storage: TenantStorage, current: set[int]) -> None:
    """Published candidates Greenhouse no longer lists (or lists anonymised): publish drops them."""
    published = set(published_ids(storage)["candidate_id"].to_list())
    save_deleted(storage, sorted(published - current))


def _download_resumes(
    client: HarvestClient,
    storage: TenantStorage,
    targets: list[dict],
    max_bytes: int,
    *,
    cancel: threading.Event | None = None,
) -> tuple[int, dict[str, int]]:
    skipped: dict[str, int] = {}
    done = 0

    def fetch(attachment: dict) -> str | None:
        if cancel is not None and cancel.is_set():
            return "cancelled"
        target = storage.resumes / f"{int(attachment['id'])}.pdf"
        if target.exists():
            return None  # fetched before a crash; the file was renamed in only when whole
        try:
            body = client.download(
                attachment["url"],
                attachment_id=int(attachment["id"]),
                candidate_id=attachment.get("candidate_id"),
                max_bytes=max_bytes,
            )
        except DownloadFailed as exc:
            return exc.reason
        write_bytes_atomic(target, body, durable=False)
        return None

    def tally(reason: str | None, count: int = 1) -> None:
        nonlocal done
        if reason is None:
            done += count
        else:
            skipped[reason] = skipped.get(reason, 0) + count

    expired: list[dict] = []
    # The client sizes its connections and hedged attempts for this many downloads at once.
    with ThreadPoolExecutor(max_workers=client.download_threads) as pool:
        for i, (attachment, reason) in enumerate(zip(targets, pool.map(fetch, targets)), start=1):
            if reason == "expired":
                expired.append(attachment)
            else:
                tally(reason)
            if i % 1000 == 0:
                logger.info("resumes: %d/%d downloaded", i, len(targets))
        if expired and not (cancel is not None and cancel.is_set()):
            # Signed links may last minutes, and a resumed run holds links staged before it was
            # killed: ask Greenhouse once for fresh ones (by attachment id) and fetch again.
            try:
                fresh = _fresh_links(client, expired)
            except HarvestError as exc:  # a refresh is a second chance, never a reason to fail
                logger.warning("resume links not refreshed (%s); the expired ones are skipped", type(exc).__name__)
                fresh = []
            logger.info("resumes: %d signed links had expired; %d fetched again with fresh ones",
                        len(expired), len(fresh))
            for reason in pool.map(fetch, fresh):
                tally(reason)
            if len(expired) > len(fresh):  # no longer listed, or listed without a link
                tally("expired", len(expired) - len(fresh))
    if skipped:
        logger.warning("resumes skipped (by reason): %s", skipped)
    return done, skipped


def _fresh_links(client: HarvestClient, attachments: list[dict]) -> list[dict]:
    """The same attachments read again, each with the link Greenhouse hands out now."""
    ids = [int(a["id"]) for a in attachments]
    listed = {
        int(a["id"]): a for page in client.iter_by_parent_ids("attachments", "ids", ids) for a in page
        if a.get("url")
    }
    return [{**a, "url": listed[int(a["id"])]["url"]} for a in attachments if int(a["id"]) in listed]


def _strip_urls(path: Path) -> None:
    """Signed attachment URLs are credentials in disguise: drop them once the files are fetched."""
    if not path.exists():
        return
    records = read_jsonl(path)
    with atomic_write(path, durable=False) as tmp, tmp.open("w", encoding="utf-8") as fh:
        for record in records:
            record.pop("url", None)
            fh.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n")


def staged_resume_files(storage: TenantStorage) -> list[tuple[int, int, Path]]:
    """(attachment_id, candidate_id, path) for every resume downloaded in this run."""
    by_id = {int(a["id"]): int(a["candidate_id"]) for a in staged_collection(storage, "attachments")
             if a.get("candidate_id") is not None}  # an attachment of no candidate matches nobody
    out = []
    for path in sorted(storage.resumes.glob("*.pdf")):
        attachment_id = int(path.stem)
        if attachment_id in by_id:
            out.append((attachment_id, by_id[attachment_id], path))
    return out
