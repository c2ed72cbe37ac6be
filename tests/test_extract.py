"""The extract stage against the local Greenhouse over real HTTP on 127.0.0.1.

One small hand-made tenant (written once per module); each test starts its own server from it,
because tests mutate the served data and read the server's counters, and registers a credential
with a unique client id so no token or rate budget leaks between tests. One clean full extract
per module is the reference of the faulted and killed runs and, copied, the full read the
incremental tests start from. Wall-clock times are never
asserted here: bench/bench_extract.py measures pacing.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest

from connect_pipeline.extract import extract_tenant, staged_collection
from connect_pipeline.publish import publish
from connect_pipeline.run_state import commit_watermark, deleted_candidates
from connect_pipeline.harvest import Credential, HarvestClient, window_filter
from connect_pipeline.harvest.collections import COLLECTIONS, REQUIRED_SCOPES
from connect_pipeline.harvest.session import HarvestSession
from connect_pipeline.testkit.local_greenhouse import FaultPlan, LocalGreenhouse
from connect_pipeline.storage import TenantStorage
from connect_pipeline.testkit.world.layout import account_dir
from tests.conftest import FakeTime

TENANT = "extractco"
ADMIN_ID = 1
N_CANDIDATES = 1500
N_APPLICATIONS = 2100
N_RESUMES = 320
PDF = b"%PDF-1.4\n" + b"resume " * 50 + b"\n%%EOF\n"
STAMP = "2025-06-01T00:00:00Z"
STAGED = [c.name for c in COLLECTIONS]
FAST = {"rate_limit": 1000, "window_seconds": 1.0}


def _write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def cand_id(i: int) -> int:
    return 100_000 + i


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Candidates (every 40th private), applications (every 7th a prospect, with prospect
    details), resumes plus a few cover letters (staged, never downloaded)."""
    root = tmp_path_factory.mktemp("extract_world")
    acc = account_dir(root, TENANT)
    (acc / "files").mkdir(parents=True)
    (acc / "account.json").write_text(json.dumps({"tenant_id": TENANT, "credentials": [], "site_admin_user_id": ADMIN_ID}))
    _write_jsonl(acc / "users.jsonl", [{"id": ADMIN_ID, "first_name": "Ada", "last_name": "Admin", "name": "Ada Admin", "site_admin": True, "deactivated": False}])
    _write_jsonl(acc / "jobs.jsonl", [{"id": 10 + j, "name": f"Job {j}", "status": "open"} for j in range(3)])
    _write_jsonl(acc / "job_interview_stages.jsonl", [{"id": 20 + s, "job_id": 10, "name": f"Stage {s}", "sort_order": s, "active": True} for s in range(4)])
    _write_jsonl(acc / "prospect_pools.jsonl", [{"id": 30, "name": "Pool"}])
    _write_jsonl(acc / "prospect_pool_stages.jsonl", [{"id": 31, "prospect_pool_id": 30, "name": "Pool stage"}])
    _write_jsonl(acc / "close_reasons.jsonl", [{"id": 40, "name": "Hired elsewhere"}])
    _write_jsonl(
        acc / "candidates.jsonl",
        [
            {"id": cand_id(i), "first_name": f"First{i}", "last_name": f"Last{i}", "created_at": STAMP,
             "updated_at": STAMP, "private": i % 40 == 0,
             "email_addresses": [{"value": f"p{i}@example.com", "type": "personal"}]}
            for i in range(N_CANDIDATES)
        ],
    )
    apps = [
        {"id": 500_000 + k, "candidate_id": cand_id(k % N_CANDIDATES), "prospect": k % 7 == 0,
         "job_id": None if k % 7 == 0 else 10, "status": "in_process", "stage_name": "Application Review",
         "created_at": STAMP, "updated_at": STAMP}
        for k in range(N_APPLICATIONS)
    ]
    _write_jsonl(acc / "applications.jsonl", apps)
    _write_jsonl(
        acc / "prospect_details.jsonl",
        [{"id": a["id"], "application_id": a["id"], "pool_id": 30, "pool_stage_id": 31, "prospect_owner_id": ADMIN_ID} for a in apps if a["prospect"]],
    )
    attachments = []
    for r in range(N_RESUMES):
        (acc / "files" / f"{900_000 + r}.pdf").write_bytes(PDF + str(r).encode())
        attachments.append({"id": 900_000 + r, "candidate_id": cand_id(r * 3), "application_id": None, "type": "resume",
                            "filename": f"cv{r}.pdf", "created_at": STAMP, "_file": f"files/{900_000 + r}.pdf"})
    for r in range(5):
        attachments.append({"id": 950_000 + r, "candidate_id": cand_id(r), "application_id": None, "type": "cover_letter",
                            "filename": f"letter{r}.pdf", "created_at": STAMP, "_file": f"files/{900_000 + r}.pdf"})
    _write_jsonl(acc / "attachments.jsonl", attachments)
    return root


def start(world: Path, **kwargs) -> LocalGreenhouse:
    return LocalGreenhouse(world, **{**FAST, **kwargs}).start()


def new_credential(server: LocalGreenhouse) -> Credential:
    client_id, secret = f"cid-{uuid.uuid4().hex[:12]}", f"s-{uuid.uuid4().hex}"
    server.add_credential(TENANT, client_id, secret, REQUIRED_SCOPES)
    return Credential(client_id=client_id, client_secret=secret, token_url=server.token_url, sub=ADMIN_ID)


def client_for(server: LocalGreenhouse, credential: Credential | None = None, **kwargs) -> HarvestClient:
    kwargs.setdefault("backoff_base_s", 0.01)
    kwargs.setdefault("backoff_cap_s", 0.1)
    return HarvestClient(server.api_base_url, credential or new_credential(server), tenant_id=TENANT, **kwargs)


def snapshot(storage: TenantStorage) -> dict[str, dict[int, str]]:
    """Per collection: id -> canonical JSON. Fails on a duplicated id, so equality of two
    snapshots means same ids, same content, nothing twice."""
    out = {}
    for name in STAGED:
        records = staged_collection(storage, name)
        by_id = {r["id"]: json.dumps(r, sort_keys=True) for r in records}
        assert len(by_id) == len(records), f"{name}: duplicated records staged"
        out[name] = by_id
    return out


def resume_files(storage: TenantStorage) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in storage.resumes.glob("*.pdf")}


def served_ids(server: LocalGreenhouse, name: str) -> set[int]:
    return {r["id"] for r in server.records(TENANT, name)}


def full_run(server: LocalGreenhouse, root: Path, **client_options) -> tuple[TenantStorage, dict]:
    """A full extract and the client's own counts (the hedged downloads among them)."""
    storage = TenantStorage(root, TENANT)
    with client_for(server, **client_options) as client:
        extract_tenant(client, storage, mode="full")
    return storage, client.stats


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def clean_extract(world: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[TenantStorage, dict, list[logging.LogRecord]]:
    """One uninterrupted full extract against a fault-free server, that server's counters and
    what the run logged at INFO and above: the reference the faulted and the killed runs must
    equal, and the full read the incremental tests start from (each on a copy). Tests only
    read it."""
    logger, handler = logging.getLogger("connect_pipeline.extract"), _Records()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with start(world) as server:
            storage, client_stats = full_run(server, tmp_path_factory.mktemp("clean_extract") / "data")
            return storage, server.stats[TENANT] | {"hedged": client_stats["download"]["hedged"]}, handler.records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_full_extract_stages_every_collection_strips_urls_and_downloads_resumes(world: Path, clean_extract) -> None:
    storage, counters, records = clean_extract
    with start(world) as server:
        staged = snapshot(storage)
        for name in STAGED:
            assert set(staged[name]) == served_ids(server, name), name
        # progress goes to the module logger (Dagster's run log takes it from there), as INFO
        progress = {r.getMessage() for r in records if r.name == "connect_pipeline.extract" and r.levelno == logging.INFO}
        assert {f"{name}: {len(staged[name])} rows" for name in STAGED} <= progress
        assert any(m.startswith("full extract, window beginning → ") for m in progress)
        attachments = staged_collection(storage, "attachments")
        assert attachments and all("url" not in a for a in attachments)
        private = {c["id"] for c in server.records(TENANT, "candidates") if c.get("private")}
        expected = {f"{a['id']}.pdf" for a in attachments if a["type"] == "resume" and a["candidate_id"] not in private}
        files = resume_files(storage)
        assert set(files) == expected and len(expected) < len(attachments)
        assert files[f"{900_003}.pdf"] == PDF + b"3"
        assert not list(storage.staging.rglob("*.part"))
        # each resume once, a private one never; a download slower than the hedge delay (a busy
        # machine) is asked for a second time, and the client counts each it sent
        assert counters["downloads"] == len(expected) + counters["hedged"]


def test_faults_stage_the_same_records_as_a_clean_read(world: Path, tmp_path: Path, clean_extract) -> None:
    """5xx, timeouts, resets and burst 429s cost retries, never a record (or a second copy)."""
    clean, _, _ = clean_extract
    plan = FaultPlan(error_5xx=0.12, timeout=0.06, reset=0.06, burst_429=0.04, seed=5, timeout_seconds=0.8)
    # Retry-After and the backoffs are slept on an injected clock (from the server's time); the
    # timeouts are real: the server holds those requests past timeout_s.
    fake = FakeTime(time.time())
    with start(world, faults=plan) as server:
        storage = TenantStorage(tmp_path / "faulted", TENANT)
        session = HarvestSession(clock=fake.clock, sleep=fake.sleep)
        with client_for(server, timeout_s=0.4, max_retries=10, session=session) as client:
            extract_tenant(client, storage, mode="full")
        faults = server.stats[TENANT]["faults"]
    assert sum(faults.values()) >= 3, faults  # the seed really did inject faults
    assert fake.slept  # and they cost retries
    assert snapshot(storage) == snapshot(clean)
    assert resume_files(storage) == resume_files(clean)


CHILD = """
import sys
from connect_pipeline.extract import extract_tenant
from connect_pipeline.harvest import Credential, HarvestClient
from connect_pipeline.storage import TenantStorage
api, token_url, client_id, secret, sub, root, tenant = sys.argv[1:8]
credential = Credential(client_id=client_id, client_secret=secret, token_url=token_url, sub=int(sub))
with HarvestClient(api, credential, tenant_id=tenant, backoff_base_s=0.01, backoff_cap_s=0.1) as client:
    extract_tenant(client, TenantStorage(__import__("pathlib").Path(root), tenant), mode="full")
print("finished")
"""


# One kill point in the edit loop; more in the full suite.
@pytest.mark.slow  # a kill loop: `make test-fast` leaves it out
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_run_killed_at_a_random_point_then_rerun_equals_an_uninterrupted_run(
    world: Path, tmp_path: Path, seed: int, clean_extract
) -> None:
    """SIGKILL (no cleanup, no finally) after a seeded number of API requests or downloads, then
    run again on the same storage: same records, same files, nothing twice, no partial file."""
    rng = random.Random(seed)
    reference, counters, _ = clean_extract
    total_requests, total_downloads = counters["requests"], counters["downloads"]

    # A slow limit (5 a second) spreads the API reads over seconds, so the kill lands mid-read.
    with start(world, rate_limit=5, window_seconds=1.0) as server:
        credential = new_credential(server)
        root = tmp_path / "killed"
        on_downloads = seed == 3
        kill_after = rng.randint(1, total_downloads - 1) if on_downloads else rng.randint(1, total_requests - 1)
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, server.api_base_url, server.token_url, credential.client_id,
             credential.client_secret, str(ADMIN_ID), str(root), TENANT],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            deadline = time.monotonic() + 60
            while child.poll() is None and time.monotonic() < deadline:
                counters = server.stats[TENANT]
                if (counters["downloads"] if on_downloads else counters["requests"]) >= kill_after:
                    break
                time.sleep(0.002)
            killed = child.poll() is None
            if killed:
                os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
        assert killed, f"the child finished before the kill point: {child.stderr.read().decode()[-2000:]}"
        assert child.returncode == -signal.SIGKILL

        # The rerun proves the resume, not the pacing: it may read at full speed.
        server.rate_limit = FAST["rate_limit"]
        storage = TenantStorage(root, TENANT)
        with client_for(server, credential) as client:
            extract_tenant(client, storage, mode="full")

    assert snapshot(storage) == snapshot(reference)
    assert resume_files(storage) == resume_files(reference)
    assert not list(storage.staging.rglob("*.part"))


def _published_matches(storage: TenantStorage, rows: list[tuple[int, str]]) -> None:
    matches = pl.DataFrame(
        {"candidate_id": [c for c, _ in rows], "profile_id": [p for _, p in rows]},
        schema={"candidate_id": pl.Int64, "profile_id": pl.Utf8},
    )
    publish(storage, matches, matches.select("profile_id"))


def _after_full_run(clean_extract, root: Path, published: list[tuple[int, str]]) -> TenantStorage:
    """A full extract (a copy of the module's clean one, read from the same world), its
    watermark committed and staging purged, as after a publish."""
    shutil.copytree(clean_extract[0].root, root, symlinks=True)
    storage = TenantStorage(root, TENANT)
    commit_watermark(storage)
    storage.purge_staging()
    _published_matches(storage, published)
    return storage


def test_incremental_restages_a_candidate_whose_application_changed_and_reports_deleted_neighbours(world: Path, tmp_path: Path, clean_extract) -> None:
    changed_owner, neighbour_touched, neighbour_deleted = cand_id(11), cand_id(12), cand_id(13)
    with start(world) as server:
        storage = _after_full_run(
            clean_extract, tmp_path / "data",
            [(changed_owner, "p-a"), (neighbour_touched, "p-b"), (neighbour_deleted, "p-b"), (cand_id(14), "p-c")],
        )
        owner_before = next(c for c in server.records(TENANT, "candidates") if c["id"] == changed_owner)
        owner_apps = sorted(a["id"] for a in server.records(TENANT, "applications") if a["candidate_id"] == changed_owner)
        assert len(owner_apps) >= 2
        changed = next(a for a in server.records(TENANT, "applications") if a["id"] == owner_apps[0])
        now = datetime.now(timezone.utc)
        server.upsert(TENANT, "applications", {**changed, "stage_name": "Offer", "updated_at": now.isoformat().replace("+00:00", "Z")})
        touched = next(c for c in server.records(TENANT, "candidates") if c["id"] == neighbour_touched)
        server.upsert(TENANT, "candidates", {**touched, "title": "Director", "updated_at": now.isoformat().replace("+00:00", "Z")})
        server.delete(TENANT, "candidates", neighbour_deleted)
        resume = next(a for a in server.records(TENANT, "attachments") if a["type"] == "resume")
        stamp = now.isoformat().replace("+00:00", "Z")
        server.upsert(TENANT, "attachments", {**resume, "id": 990_001, "candidate_id": changed_owner,
                                              "created_at": stamp, "updated_at": stamp})

        with client_for(server) as client:
            summary = extract_tenant(client, storage, mode="incremental", now=now + timedelta(seconds=2))

    assert summary.mode == "incremental"
    candidates = {c["id"]: c for c in staged_collection(storage, "candidates")}
    assert candidates[changed_owner]["updated_at"] == owner_before["updated_at"]  # its own record did not change
    assert neighbour_touched in candidates and cand_id(14) not in candidates
    staged_apps = {a["id"]: a for a in staged_collection(storage, "applications")}
    assert sorted(i for i, a in staged_apps.items() if a["candidate_id"] == changed_owner) == owner_apps
    assert staged_apps[changed["id"]]["stage_name"] == "Offer"
    assert deleted_candidates(storage) == [neighbour_deleted]
    assert summary.deleted_candidates == 1
    # the attachment added in the window was staged, and no signed download link stays staged
    assert [a["id"] for a in staged_collection(storage, "new_attachments")] == [990_001]
    assert not [p.name for p in storage.raw.glob("*.jsonl") if '"url"' in p.read_text()]


def test_a_resumed_extract_finds_what_greenhouse_deleted_while_it_lay_staged(
    world: Path, tmp_path: Path, clean_extract
) -> None:
    """A run killed after its extract leaves it staged, and the next run resumes it rather than
    read it all again. Records staged before the kill may be deleted or anonymised in
    Greenhouse since: the resumed run lists the ids again, so they are dropped from what it
    publishes and normalises, not published again from the stale staging."""
    from connect_pipeline.pipeline import normalise_tenant

    deleted, anonymised, kept, never_published = cand_id(31), cand_id(32), cand_id(33), cand_id(34)
    root = tmp_path / "data"
    shutil.copytree(clean_extract[0].root, root, symlinks=True)  # a finished full extract, staged
    storage = TenantStorage(root, TENANT)
    _published_matches(storage, [(deleted, "p-1"), (anonymised, "p-2"), (kept, "p-3")])
    with start(world) as server:
        server.delete(TENANT, "candidates", deleted)
        server.delete(TENANT, "candidates", never_published)
        record = next(c for c in server.records(TENANT, "candidates") if c["id"] == anonymised)
        server.upsert(TENANT, "candidates", {**record, "first_name": "Anonymized", "last_name": str(anonymised)})
        with client_for(server) as client:
            summary = extract_tenant(client, storage)  # auto: resumes the staged extract
    assert summary.resumed_steps and summary.mode == "full"
    assert deleted_candidates(storage) == sorted([deleted, anonymised])
    normalise_tenant(storage)
    people = pl.read_parquet(storage.people)
    assert deleted not in people["candidate_id"] and anonymised not in people["candidate_id"]
    assert never_published not in people["candidate_id"]  # staged, deleted since: not matched either
    assert kept in people["candidate_id"]


def test_an_extract_killed_after_its_publish_is_not_resumed(world: Path, tmp_path: Path, clean_extract) -> None:
    """Killed between the watermark's commit and the purge: the staged window was published,
    so the next run reads the window after it rather than resume and publish it again."""
    root = tmp_path / "data"
    shutil.copytree(clean_extract[0].root, root, symlinks=True)  # a finished full extract, staged
    storage = TenantStorage(root, TENANT)
    _published_matches(storage, [(cand_id(41), "p-1")])
    marks = commit_watermark(storage)  # the publish's last step; the purge never came
    with start(world) as server, client_for(server) as client:
        summary = extract_tenant(client, storage)
    assert summary.mode == "incremental" and not summary.resumed_steps
    assert summary.since is not None and summary.since < marks["until"] < summary.until


def test_record_times_written_without_an_offset_are_read_as_utc(world: Path, tmp_path: Path, clean_extract) -> None:
    """Another server may write "2026-12-01T09:30:00" (no offset) or "… UTC": Greenhouse's times
    are UTC, so they are read as such, and a time nothing reads counts as changed, rather than
    failing the run on comparing it with the window."""
    naive, unreadable = cand_id(51), cand_id(52)
    with start(world) as server:
        storage = _after_full_run(clean_extract, tmp_path / "data", [(cand_id(53), "p-1")])
        now = datetime.now(timezone.utc).replace(microsecond=0)
        for cid, stamp in ((naive, now.replace(tzinfo=None).isoformat()), (unreadable, "yesterday-ish")):
            record = next(c for c in server.records(TENANT, "candidates") if c["id"] == cid)
            server.upsert(TENANT, "candidates", {**record, "title": "Director", "updated_at": stamp})
        with client_for(server) as client:
            extract_tenant(client, storage, mode="incremental", now=now + timedelta(seconds=2))
    staged = {c["id"] for c in staged_collection(storage, "candidates")}
    assert {naive, unreadable} <= staged
    from connect_pipeline.greenhouse_records import record_time

    assert record_time("2026-12-01 09:30:00 UTC") == record_time("2026-12-01T10:30:00+01:00") == record_time(
        "2026-12-01T09:30:00") == datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)


def test_a_listing_cut_short_is_not_read_as_a_mass_deletion(world: Path, tmp_path: Path, clean_extract) -> None:
    """A server whose paging the client does not follow (here a next link under a relation it
    cannot know) lists one page of candidates: every published candidate on the others would
    read as deleted and be unpublished. The run stops instead, says why and how to let real
    deletions through, and leaves no deletion list for the run's end to publish."""
    from connect_pipeline.errors import MassDeletionRefused

    published = [(cand_id(i), f"p-{i}") for i in range(0, N_CANDIDATES, 3)]  # 500, on every page
    with start(world, link_rel="successor") as server:
        storage = _after_full_run(clean_extract, tmp_path / "data", published)
        with client_for(server) as client, pytest.raises(MassDeletionRefused) as refused:
            extract_tenant(client, storage, mode="incremental")
        assert "--allow-mass-deletion" in str(refused.value) and "of the 500 candidates published" in str(refused.value)
        assert deleted_candidates(storage) == []
        with client_for(server) as client:  # told they are real: the same window goes through
            summary = extract_tenant(client, storage, mode="incremental", allow_mass_deletion=True)
    assert summary.deleted_candidates > 250


def test_every_incremental_run_finds_deleted_and_anonymised_candidates(world: Path, tmp_path: Path, clean_extract) -> None:
    """Nothing else about these candidates changed: only the sweep of ids can tell they are gone
    (before it, they stayed published until the weekly full read)."""
    deleted, merged, anonymised, kept = cand_id(21), cand_id(22), cand_id(23), cand_id(24)
    with start(world) as server:
        storage = _after_full_run(
            clean_extract, tmp_path / "data",
            [(deleted, "p-1"), (merged, "p-2"), (anonymised, "p-3"), (kept, "p-4")],
        )
        server.delete(TENANT, "candidates", deleted)
        server.delete(TENANT, "candidates", merged)
        record = next(c for c in server.records(TENANT, "candidates") if c["id"] == anonymised)
        # anonymised in place, its updated_at left as it was: only the sweep sees it
        server.upsert(TENANT, "candidates", {**record, "first_name": "Anonymized", "last_name": str(anonymised)})
        before = server.stats[TENANT]["by_collection"].get("candidates", 0)
        with client_for(server) as client:
            summary = extract_tenant(client, storage, mode="incremental")
        sweep_pages = server.stats[TENANT]["by_collection"].get("candidates", 0) - before

    assert deleted_candidates(storage) == sorted([deleted, merged, anonymised])
    assert summary.deleted_candidates == 3
    assert kept not in {c["id"] for c in staged_collection(storage, "candidates")}
    # the sweep reads candidate pages only, at the largest page size
    assert 0 < sweep_pages <= -(-N_CANDIDATES // 500) + 1


def test_the_incremental_window_is_bounded_on_both_sides(world: Path, tmp_path: Path, clean_extract) -> None:
    """A record updated after the window's end waits for the next window; one before its start
    (minus the overlap) was read by the previous one. Both bounds go to the server."""
    since = datetime(2026, 1, 1, tzinfo=timezone.utc)
    until = since + timedelta(hours=1)
    assert window_filter(since, until) == "gte|2026-01-01T00:00:00Z|lte|2026-01-01T01:00:00Z"
    with pytest.raises(ValueError):
        window_filter(until, since)

    with start(world) as server:
        storage = _after_full_run(clean_extract, tmp_path / "data", [(cand_id(1), "p")])
        marks = json.loads((storage.state / "watermarks.json").read_text())
        watermark = datetime.fromisoformat(marks["until"].replace("Z", "+00:00"))
        now = watermark + timedelta(hours=1)
        by_id = {c["id"]: c for c in server.records(TENANT, "candidates")}

        def stamp(moment: datetime) -> str:
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

        server.upsert(TENANT, "candidates", {**by_id[cand_id(21)], "updated_at": stamp(watermark + timedelta(minutes=5))})
        server.upsert(TENANT, "candidates", {**by_id[cand_id(22)], "updated_at": stamp(now + timedelta(minutes=5))})
        server.upsert(TENANT, "candidates", {**by_id[cand_id(23)], "updated_at": stamp(watermark - timedelta(hours=2))})
        server.upsert(TENANT, "candidates", {**by_id[cand_id(24)], "updated_at": stamp(watermark - timedelta(minutes=5))})
        with client_for(server) as client:
            summary = extract_tenant(client, storage, mode="incremental", now=now)

    assert summary.until == stamp(now)
    assert summary.since == stamp(watermark - timedelta(minutes=10))  # the overlap
    changed = {c["id"] for c in staged_collection(storage, "candidate_sweep") if c["changed"]}
    assert changed == {cand_id(21), cand_id(24)}


def test_an_attachment_of_no_candidate_is_left_out_of_the_resumes_read(tmp_path: Path) -> None:
    """A server may list an attachment whose candidate_id is null (a job's file, a detached
    upload): it belongs to nobody to match, and must not fail the normalising stage."""
    from connect_pipeline.extract import staged_resume_files

    storage = TenantStorage(tmp_path, TENANT).ensure()
    storage.raw.mkdir(parents=True, exist_ok=True)
    storage.raw_collection("attachments").write_text(
        json.dumps({"id": 1, "candidate_id": 7, "type": "resume"}) + "\n"
        + json.dumps({"id": 2, "candidate_id": None, "type": "resume"}) + "\n"
    )
    storage.resumes.mkdir(parents=True, exist_ok=True)
    for attachment_id in (1, 2):
        (storage.resumes / f"{attachment_id}.pdf").write_bytes(PDF)
    assert [(a, c) for a, c, _ in staged_resume_files(storage)] == [(1, 7)]


def test_resume_links_that_expired_are_asked_for_again_once(world: Path, tmp_path: Path) -> None:
    """Signed links last minutes on some servers, and a run resumed after a kill holds links
    staged before it: an expired link is read again by attachment id and the file fetched
    with the fresh one, rather than the resume skipped as "expired"."""
    from connect_pipeline.extract import _download_resumes

    storage = TenantStorage(tmp_path, TENANT).ensure()
    with start(world) as server, client_for(server) as client:
        resumes = [a for a in server.records(TENANT, "attachments") if a["type"] == "resume"][:3]
        stale = [{"id": a["id"], "candidate_id": a["candidate_id"], "type": "resume",
                  "url": server.file_url(TENANT, a["id"], expires=1)} for a in resumes]  # long expired
        done, skipped = _download_resumes(client, storage, stale, 10_000_000)
    assert (done, skipped) == (3, {})
    assert sorted(int(p.stem) for p in storage.resumes.glob("*.pdf")) == sorted(a["id"] for a in resumes)
