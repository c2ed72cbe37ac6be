"""The Harvest v3 client against the local Greenhouse over real HTTP on 127.0.0.1.

Each test builds its own tiny world by hand (account.json + <collection>.jsonl), starts a fresh
server and registers a credential with a unique client id, so no token or rate budget cached by
an earlier test can leak into the next one.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from connect_pipeline.errors import (
    AttachmentTooLarge,
    AuthError,
    DownloadFailed,
    InvalidQuery,
    PermissionDenied,
    RateLimitExhausted,
    TransientError,
)
from connect_pipeline.extract import _download_resumes
from connect_pipeline.harvest import Credential, HarvestClient, verify_connection, window_filter
from connect_pipeline.harvest.collections import BY_NAME, REQUIRED_SCOPES
from connect_pipeline.harvest.ratelimit import RateBudget, retry_after_seconds
from connect_pipeline.harvest.session import DEFAULT_SESSION, HarvestSession
from connect_pipeline.storage import TenantStorage
from connect_pipeline.harvest.verify import introspect_url_for
from connect_pipeline.testkit.local_greenhouse import FaultPlan, LocalGreenhouse
from connect_pipeline.testkit.world.layout import account_dir
from tests.conftest import FakeTime, FastTime

TENANT = "acme"
N_CANDIDATES = 1200
ADMIN_ID, NON_ADMIN_ID = 9001, 9002
PDF = b"%PDF-1.4\n" + b"resume text " * 200 + b"\n%%EOF\n"


def _write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def build_world(root: Path) -> Path:
    """A hand-made world: 1200 candidates, 240 applications, 3 resumes, 2 users."""
    acc = account_dir(root, TENANT)
    (acc / "files").mkdir(parents=True)
    stamp = "2026-11-01T00:00:00Z"
    (acc / "account.json").write_text(
        json.dumps({"tenant_id": TENANT, "credentials": [], "site_admin_user_id": ADMIN_ID, "non_admin_user_id": NON_ADMIN_ID})
    )
    _write_jsonl(
        acc / "users.jsonl",
        [
            {"id": ADMIN_ID, "first_name": "Ada", "last_name": "Admin", "name": "Ada Admin", "site_admin": True, "deactivated": False},
            {"id": NON_ADMIN_ID, "first_name": "Nat", "last_name": "Normal", "name": "Nat Normal", "site_admin": False, "deactivated": False},
        ],
    )
    _write_jsonl(
        acc / "candidates.jsonl",
        [
            {
                "id": 1000 + i,
                "first_name": f"First{i}",
                "last_name": f"Last{i}",
                "created_at": stamp,
                "updated_at": (datetime(2026, 11, 1, tzinfo=timezone.utc) + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "private": False,
                "email_addresses": [{"value": f"p{i}@example.com", "type": "personal"}],
            }
            for i in range(N_CANDIDATES)
        ],
    )
    _write_jsonl(
        acc / "applications.jsonl",
        [
            {"id": 50000 + i, "candidate_id": 1000 + (i // 2), "prospect": False, "job_id": None, "status": "in_process", "created_at": stamp, "updated_at": stamp}
            for i in range(240)
        ],
    )
    attachments = []
    for i in range(3):
        (acc / "files" / f"{700 + i}.pdf").write_bytes(PDF + str(i).encode())
        attachments.append(
            {"id": 700 + i, "candidate_id": 1000 + i, "application_id": None, "type": "resume", "filename": f"cv{i}.pdf", "created_at": stamp, "_file": f"files/{700 + i}.pdf"}
        )
    _write_jsonl(acc / "attachments.jsonl", attachments)
    return root


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_world(tmp_path_factory.mktemp("tiny_world"))


def start(world: Path, **kwargs) -> LocalGreenhouse:
    return LocalGreenhouse(world, **kwargs).start()


def credential_for(
    server: LocalGreenhouse, *, scopes=REQUIRED_SCOPES, sub: int | None = ADMIN_ID, secret: str | None = None
) -> Credential:
    client_id = f"cid-{uuid.uuid4().hex[:12]}"
    real_secret = f"s3cret-{uuid.uuid4().hex}"
    server.add_credential(TENANT, client_id, real_secret, scopes)
    return Credential(client_id=client_id, client_secret=secret or real_secret, token_url=server.token_url, sub=sub)


def client_for(server: LocalGreenhouse, credential: Credential, **kwargs) -> HarvestClient:
    kwargs.setdefault("backoff_base_s", 0.01)
    kwargs.setdefault("backoff_cap_s", 0.2)
    return HarvestClient(server.api_base_url, credential, tenant_id=TENANT, **kwargs)


def client_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the client logged as warnings: its retries, throttles and token refreshes."""
    return [r.getMessage() for r in caplog.records
            if r.name == "connect_pipeline.harvest.client" and r.levelno == logging.WARNING]


def all_ids(client: HarvestClient, collection: str, **kwargs) -> list[int]:
    return [record["id"] for page in client.iter_pages(collection, **kwargs) for record in page]


@pytest.fixture()
def server(tiny_world: Path):
    gh = start(tiny_world)
    yield gh
    gh.stop()


# -- tokens ----------------------------------------------------------------------------------


def test_one_token_for_many_threads(server: LocalGreenhouse) -> None:
    credential = credential_for(server)
    results: list[int] = []
    errors: list[BaseException] = []
    with client_for(server, credential) as client:

        def read() -> None:
            try:
                results.append(len(all_ids(client, "candidates", per_page=200)))
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=read) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    assert results == [N_CANDIDATES] * 8
    stats = server.stats[TENANT]
    assert stats["tokens_minted"] == 1
    assert 401 not in stats["status_counts"]


@pytest.mark.parametrize("expires_field", ["expires_in", "expires_at", "expires_at_epoch"])
def test_token_refreshed_before_expiry(tiny_world: Path, expires_field: str) -> None:
    gh = start(tiny_world, token_ttl_seconds=2, expires_field=expires_field)
    skew = [0.0]  # the client's clock runs ahead instead of the test sleeping past the lifetime
    session = HarvestSession(clock=lambda: time.time() + skew[0])
    try:
        credential = credential_for(gh)
        with client_for(gh, credential, session=session) as client:
            assert len(all_ids(client, "users")) == 2
            skew[0] = 2.2
            assert len(all_ids(client, "users")) == 2
        stats = gh.stats[TENANT]
        assert stats["tokens_minted"] == 2
        assert 401 not in stats["status_counts"]
    finally:
        gh.stop()


def test_401_after_revocation_refreshes_once(server: LocalGreenhouse, caplog: pytest.LogCaptureFixture) -> None:
    credential = credential_for(server)
    with client_for(server, credential) as client:
        assert len(all_ids(client, "users")) == 2
        # Revoking drops the live token; re-adding makes the credential valid again.
        server.revoke_credential(credential.client_id)
        server.add_credential(TENANT, credential.client_id, credential.client_secret, REQUIRED_SCOPES)
        assert len(all_ids(client, "users")) == 2
    assert server.stats[TENANT]["tokens_minted"] == 2
    assert sum("HTTP 401" in line for line in client_warnings(caplog)) == 1


def test_revoked_credential_is_an_auth_error(server: LocalGreenhouse) -> None:
    credential = credential_for(server)
    with client_for(server, credential) as client:
        all_ids(client, "users")
        token = client.tokens.token()
        server.revoke_credential(credential.client_id)
        with pytest.raises(AuthError) as caught:
            all_ids(client, "users")
    message = str(caught.value)
    assert TENANT in message and "tenants add" in message
    assert credential.client_secret not in message and token not in message


def test_wrong_secret_names_tenant_not_secret(server: LocalGreenhouse) -> None:
    wrong = "definitely-wrong-" + uuid.uuid4().hex
    credential = credential_for(server, secret=wrong)
    with client_for(server, credential) as client:
        with pytest.raises(AuthError) as caught:
            all_ids(client, "users")
    message = str(caught.value)
    assert f"tenant {TENANT}" in message
    assert "refused the client id/secret" in message
    assert wrong not in message
    assert wrong not in repr(credential) and wrong not in repr(client.tokens)


def test_unknown_sub_is_named(server: LocalGreenhouse) -> None:
    credential = credential_for(server, sub=424242)
    with client_for(server, credential) as client:
        with pytest.raises(AuthError) as caught:
            all_ids(client, "users")
    assert "sub 424242" in str(caught.value) and "Site Admin" in str(caught.value)
    assert credential.client_secret not in str(caught.value)


# -- pagination --------------------------------------------------------------------------------


def test_pagination_is_complete_and_cursor_only(server: LocalGreenhouse) -> None:
    credential = credential_for(server)
    with client_for(server, credential) as client:
        pages = list(client.iter_pages("candidates"))
        stats = client.stats["candidates"]
    assert [len(p) for p in pages] == [500, 500, 200]
    ids = [r["id"] for p in pages for r in p]
    assert len(ids) == len(set(ids)) == N_CANDIDATES
    assert set(ids) == {1000 + i for i in range(N_CANDIDATES)}
    # Every follow-up request carried only the cursor: the server answers 422 otherwise.
    assert server.stats[TENANT]["status_counts"] == {200: 3}
    assert stats["rows"] == N_CANDIDATES and stats["requests"] == 3


@pytest.mark.parametrize("rel", ["Next", "next last"])
def test_a_next_relation_spelt_otherwise_still_pages(tiny_world: Path, rel: str) -> None:
    """Relation types compare without case and a rel may list several (RFC 8288): a server
    writing either must still be read to its end, or a sweep cut short reads as deletions."""
    with start(tiny_world, link_rel=rel) as gh, client_for(gh, credential_for(gh)) as client:
        assert len(all_ids(client, "candidates")) == N_CANDIDATES


def test_pages_linked_under_another_spelling_of_the_host_are_read_from_the_api_base(tiny_world: Path) -> None:
    """The server names itself 127.0.0.1 in its links, the tenant was connected as localhost
    (or with an explicit default port): the same server, so every page is read, and the cursor is
    asked of the API base's own origin, never of the host the link names."""
    with start(tiny_world) as gh:
        credential = credential_for(gh)
        base = gh.api_base_url.replace("127.0.0.1", "localhost")
        with HarvestClient(base, credential, tenant_id=TENANT, backoff_base_s=0.01) as client:
            assert len(all_ids(client, "candidates")) == N_CANDIDATES
        assert gh.stats[TENANT]["status_counts"] == {200: 3}


def test_a_next_link_naming_another_host_is_asked_of_the_api_base_only(tiny_world: Path) -> None:
    """A server behind a proxy may write its next links under a host the client was never
    given. The cursor is asked of the API base (so the bearer token goes nowhere else): the
    named host does not even resolve, and every page is still read."""
    with start(tiny_world, link_base_url="http://harvest.invalid:9") as gh:
        with client_for(gh, credential_for(gh)) as client:
            assert len(all_ids(client, "candidates")) == N_CANDIDATES
        assert gh.stats[TENANT]["status_counts"] == {200: 3}


def test_filters_on_first_request_survive_the_cursor(server: LocalGreenhouse) -> None:
    credential = credential_for(server)
    since = datetime(2026, 11, 1, tzinfo=timezone.utc) + timedelta(hours=100)
    until = since + timedelta(hours=299)
    with client_for(server, credential) as client:
        ids = all_ids(client, "candidates", params={"updated_at": window_filter(since, until)}, per_page=40)
    assert sorted(ids) == [1000 + i for i in range(100, 400)]


def test_parent_id_batches(server: LocalGreenhouse) -> None:
    credential = credential_for(server)
    candidate_ids = [1000 + i for i in range(120)]
    with client_for(server, credential) as client:
        pages = list(client.iter_by_parent_ids("applications", "candidate_ids", candidate_ids + candidate_ids[:5]))
        requests = client.stats["applications"]["requests"]
    apps = [r for p in pages for r in p]
    assert len(apps) == 240 and {a["candidate_id"] for a in apps} == set(candidate_ids)
    assert requests == 3  # 120 distinct ids in batches of 50


def test_invalid_query_is_not_retried(server: LocalGreenhouse) -> None:
    credential = credential_for(server)
    with client_for(server, credential) as client:
        with pytest.raises(InvalidQuery) as caught:
            all_ids(client, "candidates", params={"updated_after": "2026-11-01T00:00:00Z"})
    assert caught.value.status == 422 and TENANT in str(caught.value)
    assert "updated_after" in str(caught.value)
    assert server.stats[TENANT]["status_counts"] == {422: 1}


def test_window_filter() -> None:
    until = datetime(2026, 11, 28, tzinfo=timezone.utc)
    assert window_filter(datetime(2026, 11, 1, tzinfo=timezone.utc), until) == (
        "gte|2026-11-01T00:00:00Z|lte|2026-11-28T00:00:00Z"
    )
    assert window_filter(None, until) == "lte|2026-11-28T00:00:00Z"
    with pytest.raises(ValueError):
        window_filter(None, datetime(2026, 11, 28))
    with pytest.raises(ValueError):
        window_filter(until + timedelta(days=1), until)


# -- rate limits and faults ----------------------------------------------------------------------


def test_pacing_under_a_tiny_rate_limit(tiny_world: Path) -> None:
    """Six threads share one budget of 8 requests a second: paced, not throttled. Their 18
    requests (three pages of 500 each) need three windows, so the budget has to wait out two
    resets. Pacing against the server's own clock is the point, so the waits are real sleeps on
    a clock the server and the client share; it runs three times faster than real time."""
    fast = FastTime(speed=3.0)
    gh = start(tiny_world, rate_limit=8, window_seconds=1.0, clock=fast.clock)
    try:
        credential = credential_for(gh)
        results: dict[int, list[int]] = {}
        session = HarvestSession(clock=fast.clock, sleep=fast.sleep)
        with client_for(gh, credential, session=session) as client:

            def read(n: int) -> None:
                results[n] = all_ids(client, "candidates", per_page=500)

            threads = [threading.Thread(target=read, args=(n,)) for n in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert len(results) == 6
        assert all(sorted(ids) == [1000 + i for i in range(N_CANDIDATES)] for ids in results.values())
        counts = gh.stats[TENANT]["status_counts"]
        assert counts[200] == 18
        assert counts.get(429, 0) <= 1
        assert client.budget.waited_s >= 1.0  # the threads waited for a window to close
    finally:
        gh.stop()


def test_faults_do_not_change_the_rows(tiny_world: Path, caplog: pytest.LogCaptureFixture) -> None:
    with start(tiny_world) as clean:
        with client_for(clean, credential_for(clean)) as client:
            expected = [r for p in client.iter_pages("candidates", per_page=50) for r in p]
    plan = FaultPlan(error_5xx=0.05, reset=0.02, timeout=0.02, burst_429=0.03, seed=7, timeout_seconds=1.0)
    gh = start(tiny_world, faults=plan)
    # Retry-After (1 s) and the backoff are slept on an injected clock that starts at the server's
    # time; the timeouts are real (the server really holds the request past timeout_s).
    fake = FakeTime(time.time())
    session = HarvestSession(clock=fake.clock, sleep=fake.sleep)
    try:
        credential = credential_for(gh)
        with client_for(gh, credential, timeout_s=0.5, session=session) as client:
            got = [r for p in client.iter_pages("candidates", per_page=50) for r in p]
            token = client.tokens.token()
            stats = client.stats["candidates"]
        faults = gh.stats[TENANT]["faults"]
    finally:
        gh.stop()
    assert sorted(got, key=lambda r: r["id"]) == sorted(expected, key=lambda r: r["id"])
    assert len({r["id"] for r in got}) == N_CANDIDATES
    assert sum(faults.values()) > 0
    assert stats["retries"] + stats["throttled_429"] == sum(faults.values())
    pauses = [seconds for seconds in fake.slept if seconds >= 1.0]  # backoffs stay under 0.2 s
    assert pauses == pytest.approx([1.0] * faults.get("burst_429", 0), abs=0.1) and pauses  # each Retry-After: 1
    logged = client_warnings(caplog)  # every retry a warning, without the token or the secret
    assert len(logged) == sum(faults.values())
    assert not any(token in line or credential.client_secret in line for line in logged)


def test_endless_429_gives_up_with_advice(tiny_world: Path) -> None:
    """Every request is a 429 with Retry-After: 1; the client waits it out (on the session's
    injected sleep) twice, then gives up on the third."""
    gh = start(tiny_world, faults=FaultPlan(burst_429=1.0))
    fake = FakeTime(time.time())
    try:
        session = HarvestSession(clock=fake.clock, sleep=fake.sleep)
        with client_for(gh, credential_for(gh), max_retries=2, session=session) as client:
            with pytest.raises(RateLimitExhausted) as caught:
                all_ids(client, "users")
            assert client.stats["users"]["throttled_429"] == 3
        assert gh.stats[TENANT]["status_counts"] == {429: 3}
    finally:
        gh.stop()
    assert fake.slept == pytest.approx([1.0, 1.0], abs=0.1)  # Retry-After: 1, and a hair
    message = str(caught.value)
    assert TENANT in message
    assert "lower the concurrency" in message and "higher Harvest rate limit" in message


def test_endless_5xx_gives_up(tiny_world: Path) -> None:
    """The backoffs between the retries are slept on the session's injected clock."""
    gh = start(tiny_world, faults=FaultPlan(error_5xx=1.0))
    fake = FakeTime(time.time())
    try:
        session = HarvestSession(clock=fake.clock, sleep=fake.sleep)
        with client_for(gh, credential_for(gh), max_retries=3, session=session) as client:
            with pytest.raises(TransientError) as caught:
                all_ids(client, "users")
            assert client.stats["users"]["retries"] == 4
    finally:
        gh.stop()
    assert TENANT in str(caught.value)
    assert len(fake.slept) == 3  # a backoff between each two of the four attempts


# -- permissions -------------------------------------------------------------------------------


def test_missing_scope_names_scope_and_permission(server: LocalGreenhouse) -> None:
    scopes = [s for s in REQUIRED_SCOPES if s != "harvest:attachments:list"]
    credential = credential_for(server, scopes=scopes)
    with client_for(server, credential) as client:
        assert len(all_ids(client, "users")) == 2
        with pytest.raises(PermissionDenied) as caught:
            all_ids(client, "attachments")
    message = str(caught.value)
    assert "scope harvest:attachments:list is missing" in message
    assert BY_NAME["attachments"].permission in message
    assert TENANT in message
    # What to fix, as data: callers (verify.py) decide by these, not by the wording.
    error = caught.value
    assert (error.reason, error.collection) == ("scope", "attachments")
    assert (error.scope, error.permission) == ("harvest:attachments:list", BY_NAME["attachments"].permission)


def test_non_admin_sub_names_the_site_admin_fix(server: LocalGreenhouse) -> None:
    credential = credential_for(server, sub=NON_ADMIN_ID)
    with client_for(server, credential) as client:
        with pytest.raises(PermissionDenied) as caught:
            all_ids(client, "candidates")
    assert "Site Admin" in str(caught.value) and str(NON_ADMIN_ID) in str(caught.value)
    assert (caught.value.reason, caught.value.collection) == ("site_admin", "candidates")


def test_verify_lists_exactly_the_missing_scope(server: LocalGreenhouse) -> None:
    scopes = [s for s in REQUIRED_SCOPES if s != "harvest:attachments:list"]
    with client_for(server, credential_for(server, scopes=scopes)) as client:
        report = verify_connection(client)
    assert not report.ok
    assert report.missing_scopes == [("harvest:attachments:list", BY_NAME["attachments"].permission)]
    assert report.site_admin_problem is None
    assert report.introspection and report.introspection["active"] is True
    text = "\n".join(report.lines())
    assert BY_NAME["attachments"].permission in text and "NOT ready" in text


def test_verify_passes_and_flags_site_admin(server: LocalGreenhouse) -> None:
    with client_for(server, credential_for(server)) as client:
        good = verify_connection(client)
    assert good.ok, good.lines()
    with client_for(server, credential_for(server, sub=NON_ADMIN_ID)) as client:
        bad = verify_connection(client)
    assert not bad.ok and bad.missing_scopes == []
    assert bad.site_admin_problem and str(NON_ADMIN_ID) in bad.site_admin_problem


def test_verify_reports_bad_secret_without_raising(server: LocalGreenhouse) -> None:
    with client_for(server, credential_for(server, secret="nope-" + uuid.uuid4().hex)) as client:
        report = verify_connection(client)
    assert not report.ok and "refused the client id/secret" in report.lines()[1]


@pytest.mark.parametrize("reset", ["epoch milliseconds", "far future"])
def test_a_reset_header_in_another_unit_never_parks_the_budget_for_long(reset: str) -> None:
    """X-RateLimit-Reset as epoch milliseconds (as some servers, and Greenhouse's token expiry,
    write it) is read as milliseconds; any reset further off than a wait may last is capped,
    so a spent budget waits out its window, not the year 58,000."""
    now = [2_000_000_000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    header = str((now[0] + 10) * 1000) if reset == "epoch milliseconds" else str(now[0] + 86_400)
    budget = RateBudget(clock=lambda: now[0], sleep=sleep)
    budget.acquire()
    budget.update({"x-ratelimit-limit": "1", "x-ratelimit-remaining": "0", "x-ratelimit-reset": header})
    budget.release()
    budget.acquire()  # the window is spent: waits for its reset
    assert sum(slept) == pytest.approx(10.05 if reset == "epoch milliseconds" else 120.05)


def test_budget_waits_for_reset_and_honours_retry_after() -> None:
    now = [2_000_000_000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    budget = RateBudget(clock=lambda: now[0], sleep=sleep)
    budget.acquire()
    budget.update({"x-ratelimit-limit": "2", "x-ratelimit-remaining": "1", "x-ratelimit-reset": str(now[0] + 10)})
    budget.release()
    budget.acquire()  # the last one of the window
    budget.release()
    budget.acquire()  # must wait for the reset
    assert sum(slept) == pytest.approx(10.05)
    budget.release()
    http_date = "Thu, 01 Jan 1970 00:00:00 GMT"
    assert retry_after_seconds({"retry-after": "7"}, now[0]) == 7.0
    assert retry_after_seconds({"retry-after": http_date}, now[0]) == 0.0
    assert budget.throttled({"retry-after": "3"}, default_wait_s=1.0) == pytest.approx(3.05)
    slept.clear()
    budget.acquire()
    assert sum(slept) == pytest.approx(3.05)


def test_introspect_url() -> None:
    assert introspect_url_for("https://auth.greenhouse.io/token") == "https://auth.greenhouse.io/introspect"
    assert introspect_url_for("http://127.0.0.1:1/token/") == "http://127.0.0.1:1/introspect"
    assert introspect_url_for("https://example.com/oauth") is None


# -- sessions: the token and budget a credential's clients share ----------------------------------


def test_clients_of_a_session_share_one_token_and_one_budget(server: LocalGreenhouse) -> None:
    credential = credential_for(server)
    session = HarvestSession()
    with client_for(server, credential, session=session) as a, client_for(server, credential, session=session) as b:
        assert a.budget is b.budget and a.session is session
        assert len(all_ids(a, "users")) == 2 and len(all_ids(b, "users")) == 2
    assert server.stats[TENANT]["tokens_minted"] == 1
    # Another session is another world: its own budget, its own token.
    with client_for(server, credential, session=HarvestSession()) as c:
        assert c.budget is not a.budget
        assert len(all_ids(c, "users")) == 2
    assert server.stats[TENANT]["tokens_minted"] == 2
    # Without a session, clients of one credential share the process-wide default.
    other = credential_for(server)
    with client_for(server, other) as d, client_for(server, other) as e:
        assert d.session is e.session is DEFAULT_SESSION and d.budget is e.budget


def test_token_expiry_follows_the_session_clock(server: LocalGreenhouse) -> None:
    """The local server's tokens live an hour; the injected clock gets there without waiting."""
    fake = FakeTime()
    session = HarvestSession(clock=fake.clock, sleep=fake.sleep)
    with client_for(server, credential_for(server), session=session) as client:
        all_ids(client, "users")
        fake.now += 3000  # well inside the hour minus the refresh margin
        all_ids(client, "users")
        assert server.stats[TENANT]["tokens_minted"] == 1
        fake.now += 600  # past it
        all_ids(client, "users")
    assert server.stats[TENANT]["tokens_minted"] == 2
    assert 401 not in server.stats[TENANT]["status_counts"]


def test_importing_the_client_changes_no_logging() -> None:
    """Redaction is installed by a client when it is built, not as a side effect of an import."""
    code = (
        "import logging, connect_pipeline.harvest.client\n"
        "names = ['httpx', 'httpcore', 'httpcore.http11', 'httpcore.http2', 'httpcore.connection']\n"
        "assert not any(logging.getLogger(n).filters for n in names), names\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- downloads -------------------------------------------------------------------------------------


def resume_links(client: HarvestClient) -> list[dict]:
    return sorted((r for p in client.iter_pages("attachments") for r in p), key=lambda a: a["id"])


def test_download_failures_are_typed(server: LocalGreenhouse) -> None:
    with client_for(server, credential_for(server)) as client:
        first = resume_links(client)[0]
        ids = {"attachment_id": first["id"], "candidate_id": first["candidate_id"]}
        assert client.download(first["url"], max_bytes=1_000_000, **ids) == PDF + b"0"
        with pytest.raises(AttachmentTooLarge) as too_big:
            client.download(first["url"], max_bytes=100, **ids)
        with pytest.raises(DownloadFailed) as expired:
            client.download(server.file_url(TENANT, first["id"], expires=1), max_bytes=1_000_000, **ids)
        with pytest.raises(DownloadFailed) as not_http:
            client.download("ftp://example.com/cv.pdf", max_bytes=1_000_000, **ids)
        assert client.stats["download"]["rows"] == 1
    assert (too_big.value.reason, too_big.value.limit) == ("too_large", 100)
    assert (expired.value.reason, expired.value.status) == ("expired", 403)
    assert not_http.value.reason == "not_http"
    for error in (too_big.value, expired.value, not_http.value):
        assert (error.attachment_id, error.candidate_id, error.tenant_id) == (first["id"], first["candidate_id"], TENANT)
        assert f"attachment {first['id']} of candidate {first['candidate_id']}" in str(error)


def test_a_closed_client_starts_no_download(server: LocalGreenhouse) -> None:
    """A download thread that outlives its run (the read failed after it started) must not
    write a resume into staging after the run's purge: once closed, the client fetches nothing."""
    client = client_for(server, credential_for(server))
    first = resume_links(client)[0]
    client.close()
    before = server.stats[TENANT]["requests"]
    with pytest.raises(DownloadFailed) as closed:
        client.download(first["url"], max_bytes=1_000_000, attachment_id=first["id"], candidate_id=first["candidate_id"])
    assert closed.value.reason == "closed" and server.stats[TENANT]["requests"] == before


def test_endless_download_5xx_gives_up_as_unavailable(tiny_world: Path) -> None:
    fake = FakeTime()
    plan = FaultPlan(error_5xx=1.0, downloads=True)
    with start(tiny_world, faults=plan) as gh:
        session = HarvestSession(clock=fake.clock, sleep=fake.sleep)
        # No hedging: every attempt is one request, however slow this machine is.
        with client_for(gh, credential_for(gh), max_retries=2, session=session, download_hedge_after_s=60) as client:
            link = gh.file_url(TENANT, 700)
            with pytest.raises(DownloadFailed) as caught:
                client.download(link, attachment_id=700, candidate_id=1000, max_bytes=1_000_000)
            stats = client.stats["download"]
    assert caught.value.reason == "unavailable" and "HTTP 5" in str(caught.value)
    assert (stats["requests"], stats["retries"]) == (3, 3)
    assert len(fake.slept) == 2  # the backoff between attempts, on the injected sleep


def test_download_429_waits_out_retry_after_on_the_session_sleep(tiny_world: Path) -> None:
    """Seed 4 throttles the first download (Retry-After: 1) and not the second."""
    fake = FakeTime()
    plan = FaultPlan(burst_429=0.5, downloads=True, seed=4)
    with start(tiny_world, faults=plan) as gh:
        session = HarvestSession(clock=fake.clock, sleep=fake.sleep)
        with client_for(gh, credential_for(gh), session=session, download_hedge_after_s=60) as client:
            body = client.download(gh.file_url(TENANT, 700), attachment_id=700, candidate_id=1000, max_bytes=1_000_000)
            stats = client.stats["download"]
        assert gh.stats[TENANT]["faults"] == {"download_burst_429": 1}
    assert body == PDF + b"0"
    assert fake.slept == [1.0]
    assert (stats["throttled_429"], stats["requests"], stats["rows"]) == (1, 2, 1)


def test_a_hung_download_is_hedged(tiny_world: Path) -> None:
    """Seed 4 hangs the first download for 30 s and not the second: a second attempt, started
    while the first still hangs (its read timeout is longer than the hang), brings the file."""
    plan = FaultPlan(hang=0.5, hang_seconds=30, downloads=True, seed=4)
    with start(tiny_world, faults=plan) as gh:
        with client_for(gh, credential_for(gh), download_read_timeout_s=60, timeout_s=60, download_hedge_after_s=0.2) as client:
            body = client.download(gh.file_url(TENANT, 700), attachment_id=700, candidate_id=1000, max_bytes=1_000_000)
            stats = client.stats["download"]
        assert gh.stats[TENANT]["faults"] == {"download_hang": 1}
    assert body == PDF + b"0"
    assert (stats["hedged"], stats["requests"], stats["retries"], stats["rows"]) == (1, 2, 0, 1)


def test_a_hung_page_costs_a_retry_not_the_hang(tiny_world: Path) -> None:
    """Seed 64 hangs the fourth /v3 request for 20 s. The API timeout (30 s) would wait it out;
    the page read timeout, derived from how fast the first pages came (here its floor, 1 s: well
    above a local page, well below the hang), gives up and retries. Stopping the server ends the
    hang, so the test costs the read timeout, not the hang."""
    plan = FaultPlan(hang=0.25, hang_seconds=20, seed=64)
    with start(tiny_world, faults=plan) as gh:
        with client_for(gh, credential_for(gh), timeout_s=30, page_read_timeout_floor_s=1) as client:
            started = time.monotonic()
            ids = all_ids(client, "candidates", per_page=200)
            elapsed = time.monotonic() - started
            stats = client.stats["candidates"]
        assert gh.stats[TENANT]["faults"] == {"hang": 1}
    assert sorted(ids) == [1000 + i for i in range(N_CANDIDATES)]
    assert (stats["retries"], stats["requests"]) == (1, 7)
    assert elapsed < plan.hang_seconds / 2  # the retry answered, not the hung request


def test_no_part_of_a_link_reaches_logs_or_errors(tiny_world: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Signed links are credentials in their path as much as in their query string, and cursors
    are signed too: neither may reach a log record (httpx's and httpcore's included), a line of
    the client's log or an exception message."""
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    plan = FaultPlan(error_5xx=0.5, reset=0.2, downloads=True, seed=3)
    fake = FakeTime(time.time())  # the many backoffs are slept on the injected clock
    with start(tiny_world, faults=plan) as gh:
        session = HarvestSession(clock=fake.clock, sleep=fake.sleep)
        with client_for(gh, credential_for(gh), max_retries=30, session=session) as client:
            all_ids(client, "candidates", per_page=200)  # next links carry cursors
            links = resume_links(client)
            for attachment in links:
                ids = {"attachment_id": attachment["id"], "candidate_id": attachment["candidate_id"]}
                client.download(attachment["url"], max_bytes=1_000_000, **ids)
                for bad_url, limit in ((attachment["url"], 10), (gh.file_url(TENANT, attachment["id"], expires=1), 10**6)):
                    try:
                        client.download(bad_url, max_bytes=limit, **ids)
                    except DownloadFailed as exc:
                        errors.append(str(exc))
        faults = gh.stats[TENANT]["faults"]
    assert any(k.startswith("download_") for k in faults) and len(errors) == 2 * len(links)
    assert fake.slept  # the faults did cost retries
    logged = client_warnings(caplog)
    assert any("attachment" in line and "candidate" in line for line in logged)  # problems were logged, by id
    records = [
        r.getMessage() for r in caplog.records if not r.name.startswith("connect_pipeline.testkit.local_greenhouse")
    ]
    assert records  # httpx and httpcore did log
    texts = records + logged + errors
    for text in texts:
        assert "/files/" not in text and "signature" not in text and "expires=" not in text, text
        assert "cursor=" not in text, text


def test_resume_skips_are_counted_by_typed_reason(
    server: LocalGreenhouse, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = TenantStorage(tmp_path / "data", TENANT)
    storage.ensure()
    with client_for(server, credential_for(server)) as client:
        links = resume_links(client)
        expired = [{**a, "url": server.file_url(TENANT, a["id"], expires=1)} for a in links[:1]]
        server.file_url_ttl_seconds = -60  # the fresh link asked for is expired too
        assert _download_resumes(client, storage, expired + links[1:2], 1_000_000) == (1, {"expired": 1})
        server.file_url_ttl_seconds = 3600
        assert _download_resumes(client, storage, links[2:], 100) == (0, {"too_large": 1})
    # skips are warnings, by reason, and never carry the link they could not fetch
    warned = [r.getMessage() for r in caplog.records
              if r.name == "connect_pipeline.extract" and r.levelno == logging.WARNING]
    assert warned == ["resumes skipped (by reason): {'expired': 1}", "resumes skipped (by reason): {'too_large': 1}"]
    # a credential that may not list attachments again: the expired link is skipped, the rest stands
    no_listing = credential_for(server, scopes=[s for s in REQUIRED_SCOPES if "attachments" not in s])
    with client_for(server, no_listing) as client:
        stale = [{**links[0], "url": server.file_url(TENANT, links[0]["id"], expires=1)}]
        assert _download_resumes(client, TenantStorage(tmp_path / "other", TENANT).ensure(), stale + links[1:2],
                                 1_000_000) == (1, {"expired": 1})
    assert not any("/files/" in w or "expires=" in w or "signature" in w for w in warned)
