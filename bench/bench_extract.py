"""Request economy, pacing and fault tolerance of the extract against the local Greenhouse.

    python bench/bench_extract.py                      # 100k candidates / 150k applications / 100k resumes, 50 per 30 s
    python bench/bench_extract.py --window 3 --limit 50   # the same data in minutes
    python bench/bench_extract.py --small              # 5k / 7.5k / 5k, a quick look

One synthetic tenant served by two local Greenhouses holding the same data, one of them with
faults (by default what an acceptance run injects: 1 % of requests hang for 45 s, 2 % answer
5xx, 1 % have their connection reset; on API requests and file downloads alike). Four reads:

1. a **full** read from the clean server: requests per collection against the minimum the data
   needs (per collection ``max(1, ceil(rows / 500))``, plus one download per resume), and wall
   time against the rate-limit floor (API requests ÷ limit × window);
2. the same **full** read from the faulty server, whose staged records and resume files must
   equal the clean read's (same ids, same content, nothing duplicated, nothing missing);
3. an **incremental** read from each after the same ~1 % of candidates and applications changed
   on both: the minimum is what that window needs (window reads + by-id batches of ≤ 50 ids),
   computed from the data; again the faulty read must stage exactly what the clean one did.

Both reads of a pair use the same window (``now`` is passed in), and the clients use their
default timeouts, so the wall-time ratio faulty ÷ clean is what faults cost a real run.

The local server does not rate-limit file downloads (they model S3-signed URLs, which are not
Harvest requests), so the floor counts API requests only; downloads are reported separately.
Why a benchmark and not a test: the targets are ratios of wall time, which a test must not assert.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402

from connect_pipeline.extract import SMALL_COLLECTIONS, extract_tenant, staged_collection  # noqa: E402
from connect_pipeline.publish import publish  # noqa: E402
from connect_pipeline.run_state import commit_watermark, deleted_candidates  # noqa: E402
from connect_pipeline.harvest import Credential, HarvestClient  # noqa: E402
from connect_pipeline.harvest.collections import (  # noqa: E402
    COLLECTIONS,
    MAX_IDS_PER_REQUEST,
    PAGE_SIZE,
    REQUIRED_SCOPES,
)
from connect_pipeline.testkit.local_greenhouse import FaultPlan, LocalGreenhouse  # noqa: E402
from connect_pipeline.storage import TenantStorage  # noqa: E402
from connect_pipeline.testkit.world.layout import account_dir  # noqa: E402

TENANT = "benchco"
ADMIN_ID = 1
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)
STAGED = [c.name for c in COLLECTIONS]


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def synthesise_tenant(
    world: Path, n_candidates: int, n_applications: int, n_resumes: int, *, seed: int = 7
) -> Path:
    """Write <world>/greenhouse/<tenant>/ with plain loops: ~10 s for the default sizes.

    Every resume points at the same tiny PDF: the benchmark is about requests, not bytes.
    Timestamps lie in 2025, well before any window this benchmark opens.
    """
    rng = random.Random(seed)
    acc = account_dir(world, TENANT)
    (acc / "files").mkdir(parents=True, exist_ok=True)
    (acc / "files" / "resume.pdf").write_bytes(PDF)
    (acc / "account.json").write_text(json.dumps({"tenant_id": TENANT, "credentials": [], "site_admin_user_id": ADMIN_ID}))

    def write(name: str, rows) -> None:
        with (acc / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, separators=(",", ":")))
                fh.write("\n")

    write("users", [{"id": ADMIN_ID, "first_name": "Ada", "last_name": "Admin", "name": "Ada Admin", "site_admin": True, "deactivated": False}]
          + [{"id": 100 + i, "first_name": f"R{i}", "last_name": "Recruiter", "name": f"R{i} Recruiter", "site_admin": False, "deactivated": False} for i in range(20)])
    write("jobs", [{"id": 500 + j, "name": f"Job {j}", "status": "open"} for j in range(40)])
    write("job_interview_stages", [{"id": 1000 + j * 5 + s, "job_id": 500 + j, "name": f"Stage {s}", "sort_order": s, "active": True} for j in range(40) for s in range(5)])
    write("prospect_pools", [{"id": 2000 + p, "name": f"Pool {p}"} for p in range(5)])
    write("prospect_pool_stages", [{"id": 2100 + s, "prospect_pool_id": 2000 + s % 5, "name": f"Pool stage {s}"} for s in range(10)])
    write("close_reasons", [{"id": 2200 + r, "name": f"Reason {r}"} for r in range(6)])

    def candidates():
        for i in range(n_candidates):
            moment = EPOCH + timedelta(minutes=i)
            yield {
                "id": 10_000_000 + i, "first_name": f"First{i}", "last_name": f"Last{i % 977}",
                "company": f"Company {i % 313}", "title": "Engineer", "created_at": _stamp(moment),
                "updated_at": _stamp(moment), "private": i % 50 == 0, "tags": [],
                "email_addresses": [{"value": f"person{i}@example.com", "type": "personal"}],
                "phone_numbers": [], "addresses": [], "website_addresses": [], "social_media_addresses": [],
                "custom_fields": {},
            }

    prospects: list[int] = []

    def applications():
        for k in range(n_applications):
            cand = 10_000_000 + (k if k < n_candidates else rng.randrange(n_candidates))
            moment = EPOCH + timedelta(minutes=k, seconds=30)
            prospect = k % 10 == 0
            if prospect:
                prospects.append(30_000_000 + k)
            yield {
                "id": 30_000_000 + k, "candidate_id": cand, "prospect": prospect,
                "job_id": None if prospect else 500 + k % 40, "status": "in_process",
                "stage_id": None, "stage_name": "Application Review", "recruiter_id": 100 + k % 20,
                "coordinator_id": None, "created_at": _stamp(moment), "updated_at": _stamp(moment),
                "last_activity_at": _stamp(moment), "rejected_at": None, "answers": [], "custom_fields": {},
            }

    write("candidates", candidates())
    write("applications", applications())
    write("prospect_details", ({"id": a, "application_id": a, "pool_id": 2000 + a % 5, "pool_stage_id": 2100 + a % 10, "prospect_owner_id": 100 + a % 20} for a in prospects))
    write("attachments", (
        {"id": 50_000_000 + r, "candidate_id": 10_000_000 + r % n_candidates, "application_id": None,
         "type": "resume", "filename": f"cv{r}.pdf", "created_at": _stamp(EPOCH + timedelta(minutes=r)),
         "_file": "files/resume.pdf"}
        for r in range(n_resumes)
    ))
    return acc


def client_for(server: LocalGreenhouse) -> HarvestClient:
    """A client with a credential of its own (so no token or budget is shared across reads) and
    the client's default timeouts, retries and download concurrency: what a real run uses."""
    client_id, secret = f"bench-{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    server.add_credential(TENANT, client_id, secret, REQUIRED_SCOPES)
    credential = Credential(client_id=client_id, client_secret=secret, token_url=server.token_url, sub=ADMIN_ID)
    return HarvestClient(server.api_base_url, credential, tenant_id=TENANT)


def full_minimum(server: LocalGreenhouse) -> tuple[dict[str, int], int]:
    """Per collection ``max(1, ceil(rows / 500))`` (an empty listing still costs one request),
    and the resume downloads: one per resume of a candidate that is neither private nor anonymised."""
    per = {}
    for name in STAGED:
        rows = server.records(TENANT, name)
        per[name] = max(1, math.ceil(len(rows) / PAGE_SIZE))
    wanted = {c["id"] for c in server.records(TENANT, "candidates") if not c.get("private")}
    downloads = sum(1 for a in server.records(TENANT, "attachments") if a.get("type") == "resume" and a["candidate_id"] in wanted)
    return per, downloads


def incremental_minimum(server: LocalGreenhouse, since: str, until: str, neighbours: dict[int, set[int]]) -> tuple[dict[str, int], int]:
    """What an incremental window needs, from the data: each small collection once, the three
    window listings (``ceil(rows/500)``, at least one) for applications and attachments, the
    sweep of every candidate (``ceil(candidates/500)``: deletions leave no other trace, and its
    pages carry the changed candidates), then by-id batches of ≤ 50 ids for the affected
    candidates' applications, resumes and prospect details."""
    lo, hi = since, until

    def inside(value: str | None) -> bool:
        if not value:
            return False
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return datetime.fromisoformat(lo.replace("Z", "+00:00")) <= stamp <= datetime.fromisoformat(hi.replace("Z", "+00:00"))

    cands = {c["id"]: c for c in server.records(TENANT, "candidates")}
    apps = server.records(TENANT, "applications")
    atts = server.records(TENANT, "attachments")  # every type is read; only resumes are downloaded
    changed_c = {i for i, c in cands.items() if inside(c.get("updated_at"))}
    changed_a = [a for a in apps if inside(a.get("updated_at"))]
    new_att = [a for a in atts if inside(a.get("created_at"))]
    touched = changed_c | {a["candidate_id"] for a in changed_a} | {a["candidate_id"] for a in new_att}
    affected = set(touched)
    for cid in touched:
        affected |= neighbours.get(cid, set())
    present = sorted(i for i in affected if i in cands)
    by_cand: dict[int, list[dict]] = {}
    for a in apps:
        by_cand.setdefault(a["candidate_id"], []).append(a)
    att_by_cand = Counter(a["candidate_id"] for a in atts)

    def batched(ids: list[int], children) -> int:
        total = 0
        for start in range(0, len(ids), MAX_IDS_PER_REQUEST):
            batch = ids[start:start + MAX_IDS_PER_REQUEST]
            total += max(1, math.ceil(sum(children(i) for i in batch) / PAGE_SIZE))
        return total

    prospect_apps = sorted(a["id"] for cid in present for a in by_cand.get(cid, []) if a.get("prospect"))
    per = {name: 1 for name in SMALL_COLLECTIONS}
    per["candidates"] = max(1, math.ceil(len(cands) / PAGE_SIZE))
    per["applications"] = max(1, math.ceil(len(changed_a) / PAGE_SIZE)) + batched(present, lambda i: len(by_cand.get(i, [])))
    per["attachments"] = max(1, math.ceil(len(new_att) / PAGE_SIZE)) + batched(present, lambda i: att_by_cand.get(i, 0))
    per["prospect_details"] = batched(prospect_apps, lambda _i: 1)
    resumes = Counter(a["candidate_id"] for a in atts if a.get("type") == "resume")
    downloads = sum(resumes.get(i, 0) for i in present if not cands[i].get("private"))
    return per, downloads


def report(title: str, server: LocalGreenhouse, minimum: dict[str, int], min_downloads: int,
           seconds: float, limit: int, window: float, summary, client_stats: dict, *, faulted: bool = False) -> dict:
    stats = server.stats[TENANT]
    used = stats["by_collection"]
    requests = stats["requests"]
    need = sum(minimum.values())
    floor = requests / limit * window
    throttled = stats["status_counts"].get(429, 0)
    print(f"\n== {title} ==")
    print(f"{'collection':24} {'requests':>9} {'minimum':>8}")
    for name in sorted(set(used) | set(minimum)):
        print(f"{name:24} {used.get(name, 0):9d} {minimum.get(name, 0):8d}")
    print(f"API requests {requests} (429 answers: {throttled}, injected faults: {stats['faults'] or 'none'})")
    target = "(each injected fault costs a request; the 1.05 target is for clean reads)" if faulted else "(target ≤ 1.05)"
    print(f"minimum the data needs {need}; ratio {requests / need:.3f} {target}")
    dl = client_stats.get("download", {})
    print(f"resume downloads served {stats['downloads']} (minimum {min_downloads}); client download attempts "
          f"{int(dl.get('requests', 0))}, retries {int(dl.get('retries', 0))}, hedged {int(dl.get('hedged', 0))}; "
          f"skipped {summary.resumes_skipped or 'none'}")
    binds = requests > limit
    print(f"wall time {seconds:.1f} s; rate-limit floor {floor:.1f} s ({requests} ÷ {limit} × {window:g} s); "
          + (f"ratio {seconds / floor:.3f} (target ≤ 1.15)" if binds else "the limit does not bind (fewer requests than one window allows)"))
    print(f"rows: {summary.rows}")
    return {"requests": requests, "downloads": stats["downloads"], "minimum": need, "seconds": seconds,
            "floor": floor, "429": throttled, "faults": sum(stats["faults"].values())}


def staged_snapshot(storage: TenantStorage) -> dict[str, dict[int, str]]:
    """Per collection: id -> canonical JSON; raises if an id appears twice."""
    out: dict[str, dict[int, str]] = {}
    for name in STAGED:
        records = staged_collection(storage, name)
        by_id = {r["id"]: json.dumps(r, sort_keys=True) for r in records}
        if len(by_id) != len(records):
            raise AssertionError(f"{name}: {len(records) - len(by_id)} duplicated records staged")
        out[name] = by_id
    return out


def same_staging(clean: TenantStorage, other: TenantStorage) -> str:
    """'yes', or what differs: per collection (ids in one only, ids with other content), files."""
    a, b = staged_snapshot(clean), staged_snapshot(other)
    diffs = {
        name: (len(set(a[name]) ^ set(b[name])), sum(1 for i in a[name] if b[name].get(i, a[name][i]) != a[name][i]))
        for name in STAGED
    }
    bad = {n: d for n, d in diffs.items() if d != (0, 0)}
    files_a = {p.name: p.read_bytes() for p in clean.resumes.glob("*.pdf")}
    files_b = {p.name: p.read_bytes() for p in other.resumes.glob("*.pdf")}
    deleted_equal = deleted_candidates(clean) == deleted_candidates(other)
    if not bad and files_a == files_b and deleted_equal:
        return "yes"
    return (f"NO: records {bad or 'equal'}; resume files {'equal' if files_a == files_b else f'{len(files_a)} vs {len(files_b)}'}; "
            f"deleted candidates {'equal' if deleted_equal else 'differ'}")


def timed_extract(server: LocalGreenhouse, storage: TenantStorage, mode: str, now: datetime):
    server.reset_stats()
    with client_for(server) as client:
        started = time.perf_counter()
        summary = extract_tenant(client, storage, mode=mode, now=now)
        seconds = time.perf_counter() - started
        stats = client.stats
    return summary, seconds, stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidates", type=int, default=100_000)
    ap.add_argument("--applications", type=int, default=150_000)
    ap.add_argument("--resumes", type=int, default=100_000)
    ap.add_argument("--small", action="store_true", help="5k / 7.5k / 5k")
    ap.add_argument("--limit", type=int, default=50, help="requests per window (default 50)")
    ap.add_argument("--window", type=float, default=30.0, help="window seconds (default 30)")
    ap.add_argument("--change", type=float, default=0.01, help="share of candidates and applications changed")
    ap.add_argument("--hang", type=float, default=0.01, help="share of requests that hang (default 0.01)")
    ap.add_argument("--hang-seconds", type=float, default=45.0, help="how long a hung request hangs (default 45)")
    ap.add_argument("--error-5xx", type=float, default=0.02, help="share of requests answered 5xx (default 0.02)")
    ap.add_argument("--reset", type=float, default=0.01, help="share of connections reset (default 0.01)")
    ap.add_argument("--burst-429", type=float, default=0.0, help="share of requests answered 429 (default 0)")
    ap.add_argument("--skip-faults", action="store_true")
    ap.add_argument("--skip-incremental", action="store_true")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = ap.parse_args()
    if args.small:
        args.candidates, args.applications, args.resumes = 5_000, 7_500, 5_000

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_extract_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        run(args, work)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> None:
    world = work / "world"
    t0 = time.perf_counter()
    synthesise_tenant(world, args.candidates, args.applications, args.resumes, seed=args.seed)
    print(f"tenant: {args.candidates} candidates, {args.applications} applications, {args.resumes} resumes "
          f"(written in {time.perf_counter() - t0:.1f} s); rate limit {args.limit} per {args.window:g} s")
    plan = FaultPlan(hang=args.hang, hang_seconds=args.hang_seconds, error_5xx=args.error_5xx, reset=args.reset,
                     burst_429=args.burst_429, downloads=True, seed=args.seed)
    fault_text = (f"{args.hang:.0%} hangs of {args.hang_seconds:g} s, {args.error_5xx:.0%} 5xx, {args.reset:.0%} resets"
                  + (f", {args.burst_429:.0%} burst 429s" if args.burst_429 else "") + ", on API requests and downloads")

    servers = [LocalGreenhouse(world, rate_limit=args.limit, window_seconds=args.window).start()]
    if not args.skip_faults:
        servers.append(LocalGreenhouse(world, rate_limit=args.limit, window_seconds=args.window, faults=plan).start())
    names = ["clean", "faulty"][: len(servers)]
    stores = [TenantStorage(work / name, TENANT) for name in names]
    results: dict[tuple[str, str], dict] = {}
    try:
        # The same window for both reads of a pair, whatever the wall clock does between them.
        full_now = datetime.now(timezone.utc).replace(microsecond=0)
        minimum, min_dl = full_minimum(servers[0])
        for name, server, storage in zip(names, servers, stores):
            summary, seconds, stats = timed_extract(server, storage, "full", full_now)
            title = "full read" if name == "clean" else f"faulty full read ({fault_text})"
            results[("full", name)] = report(title, server, minimum, min_dl, seconds, args.limit, args.window,
                                             summary, stats, faulted=name == "faulty")
        clean_snapshot = staged_snapshot(stores[0])
        served = {name: {r["id"] for r in servers[0].records(TENANT, name)} for name in STAGED}
        missing = {n: len(served[n] - set(clean_snapshot[n])) for n in STAGED if served[n] != set(clean_snapshot[n])}
        print(f"\nclean full read: staged ids equal the server's: {'yes' if not missing else missing}")
        if len(stores) > 1:
            print(f"faulty full read stages the same records and resume files as the clean one: {same_staging(*stores)}")

        if not args.skip_incremental:
            # A published table so the incremental mode has neighbours: pairs of candidates on one profile.
            ids = sorted(clean_snapshot["candidates"])
            pairs = [(cid, f"p{k // 2}") for k, cid in enumerate(ids[: min(len(ids), 20_000)])]
            neighbours: dict[int, set[int]] = {}
            by_profile: dict[str, set[int]] = {}
            for cid, pid in pairs:
                by_profile.setdefault(pid, set()).add(cid)
            for cid, pid in pairs:
                neighbours[cid] = by_profile[pid]
            for storage in stores:
                commit_watermark(storage)
                storage.purge_staging()
                published = pl.DataFrame({"candidate_id": [c for c, _ in pairs], "profile_id": [p for _, p in pairs]},
                                         schema={"candidate_id": pl.Int64, "profile_id": pl.Utf8})
                publish(storage, published, published.select("profile_id"))

            # The same changes on both servers, stamped after the full read's window.
            changed_at = _stamp(full_now + timedelta(seconds=1))
            rng = random.Random(args.seed)
            cands = servers[0].records(TENANT, "candidates")
            changed_cands = rng.sample(cands, max(1, int(len(cands) * args.change)))
            apps = servers[0].records(TENANT, "applications")
            changed_apps = rng.sample(apps, max(1, int(len(apps) * args.change)))
            for server in servers:
                for c in changed_cands:
                    server.upsert(TENANT, "candidates", {**c, "title": "Staff Engineer", "updated_at": changed_at})
                for a in changed_apps:
                    server.upsert(TENANT, "applications", {**a, "stage_name": "Offer", "updated_at": changed_at})
            incremental_now = full_now + timedelta(seconds=2)
            for name, server, storage in zip(names, servers, stores):
                summary, seconds, stats = timed_extract(server, storage, "incremental", incremental_now)
                minimum, min_dl = incremental_minimum(server, summary.since, summary.until, neighbours)
                title = (f"incremental read ({args.change:.0%} of candidates and applications changed; "
                         f"{summary.affected_candidates} candidates affected)")
                if name == "faulty":
                    title = f"faulty {title} ({fault_text})"
                results[("incremental", name)] = report(title, server, minimum, min_dl, seconds, args.limit,
                                                        args.window, summary, stats, faulted=name == "faulty")
            if len(stores) > 1:
                print(f"\nfaulty incremental read stages the same records and resume files as the clean one: "
                      f"{same_staging(*stores)}")
    finally:
        for server in servers:
            server.stop()

    print(f"\n== wall time with and without faults ({fault_text}) ==")
    print(f"{'read':12} {'clean s':>9} {'faulty s':>9} {'ratio':>7} {'requests':>17} {'downloads':>17} {'faults':>7}")
    for mode in ("full", "incremental"):
        clean, faulty = results.get((mode, "clean")), results.get((mode, "faulty"))
        if clean is None or faulty is None:
            continue
        print(f"{mode:12} {clean['seconds']:9.1f} {faulty['seconds']:9.1f} {faulty['seconds'] / clean['seconds']:7.2f} "
              f"{clean['requests']:>8d} / {faulty['requests']:<8d}{clean['downloads']:>8d} / {faulty['downloads']:<8d}"
              f"{faulty['faults']:>7d}")
    print("(target: faulty ≤ 3 × clean, with identical staged data)")

if __name__ == "__main__":
    main()
