"""The local Greenhouse over real HTTP on loopback, against a hand-written two-tenant world."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import threading
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pypdf
import pytest

from connect_pipeline.harvest.collections import ALL_KNOWN_SCOPES
from connect_pipeline.testkit.local_greenhouse import FaultPlan, LocalGreenhouse

REPO = Path(__file__).resolve().parents[1]
BASE_TIME = datetime(2026, 11, 1, tzinfo=timezone.utc)
ADMIN, NON_ADMIN, SERVICE = 11, 12, 13
ACME_IDS = list(range(1001, 1031))  # 30 candidates
GLOBEX_IDS = list(range(2001, 2011))  # 10 candidates
# One pooled client for the module: building a client per call costs more than the request.
HTTP = httpx.Client(timeout=10)
NARROW_SCOPES = [s for s in ALL_KNOWN_SCOPES if s != "harvest:attachments:list"]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def candidate_updated(candidate_id: int) -> datetime:
    return BASE_TIME + timedelta(days=candidate_id % 1000)


def pdf_bytes(text: str) -> bytes:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_metadata({"/Title": text})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def write_tenant(world: Path, tenant: str, candidate_ids: list[int], id_base: int) -> None:
    root = world / "greenhouse" / tenant
    (root / "files").mkdir(parents=True)
    account = {
        "tenant_id": tenant,
        "credentials": [
            {"client_id": f"{tenant}-full", "client_secret": f"{tenant}-secret", "scopes": list(ALL_KNOWN_SCOPES)},
            {"client_id": f"{tenant}-narrow", "client_secret": f"{tenant}-secret2", "scopes": NARROW_SCOPES},
        ],
        "site_admin_user_id": ADMIN,
        "non_admin_user_id": NON_ADMIN,
    }
    (root / "account.json").write_text(json.dumps(account))
    # Shuffled on disk: the server must order by id itself.
    shuffled = sorted(candidate_ids, key=lambda i: (i * 7919) % 101)
    write_jsonl(
        root / "candidates.jsonl",
        [
            {
                "id": cid,
                "first_name": f"First{cid}",
                "last_name": f"Last{cid}",
                "preferred_name": None,
                "created_at": iso(BASE_TIME),
                "updated_at": iso(candidate_updated(cid)),
                "last_activity_at": iso(candidate_updated(cid)),
                "private": False,
                "email_addresses": [{"value": f"p{cid}@example.com", "type": "personal"}],
                "phone_numbers": [{"value": "+14155550100", "type": "mobile"}],
                "addresses": [],
                "website_addresses": [],
                "social_media_addresses": [{"value": f"https://linkedin.com/in/p{cid}"}],
                "custom_fields": {},
                "tags": [],
            }
            for cid in shuffled
        ],
    )
    statuses = ["in_process", "rejected", "hired", "converted"]
    applications = [
        {
            "id": id_base + n,
            "candidate_id": cid,
            "prospect": n % 4 == 3,
            "job_id": None if n % 4 == 3 else 501,
            "status": statuses[n % 4],
            "created_at": iso(BASE_TIME),
            "updated_at": iso(candidate_updated(cid)),
        }
        for n, cid in enumerate(candidate_ids[:8])
    ]
    write_jsonl(root / "applications.jsonl", applications)
    write_jsonl(
        root / "prospect_details.jsonl",
        [
            {"id": a["id"], "application_id": a["id"], "pool_id": 7, "pool_stage_id": 8, "prospect_owner_id": ADMIN}
            for a in applications
            if a["prospect"]
        ],
    )
    write_jsonl(
        root / "users.jsonl",
        [
            {"id": ADMIN, "name": "Ada Admin", "site_admin": True, "deactivated": False},
            {"id": NON_ADMIN, "name": "Nora Normal", "site_admin": False, "deactivated": False},
            {"id": SERVICE, "name": "Harvest Bot", "site_admin": True, "deactivated": False, "_service_account": True},
        ],
    )
    write_jsonl(root / "jobs.jsonl", [{"id": 501, "name": "Engineer", "status": "open"}])
    write_jsonl(
        root / "job_interview_stages.jsonl",
        [{"id": 601 + i, "job_id": 501, "name": f"Stage {i}", "sort_order": i, "active": True} for i in range(3)],
    )
    attachments = []
    for n, cid in enumerate(candidate_ids[:3]):
        attachment_id = id_base + 100 + n
        (root / "files" / f"{attachment_id}.pdf").write_bytes(pdf_bytes(f"resume of {cid}"))
        attachments.append(
            {
                "id": attachment_id,
                "candidate_id": cid,
                "application_id": None,
                "type": "resume",
                "filename": f"resume-{cid}.pdf",
                "created_at": iso(BASE_TIME),
                "_file": f"files/{attachment_id}.pdf",
            }
        )
    attachments.append(
        {"id": id_base + 199, "candidate_id": candidate_ids[0], "type": "cover_letter",
         "filename": "cover.pdf", "created_at": iso(BASE_TIME), "_file": f"files/{id_base + 100}.pdf"}
    )
    write_jsonl(root / "attachments.jsonl", attachments)
    # openings.jsonl, job_posts.jsonl, pools and close reasons deliberately absent: served empty.


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("world")
    write_tenant(root, "acme", ACME_IDS, 10_000)
    write_tenant(root, "globex", GLOBEX_IDS, 20_000)
    return root


@pytest.fixture
def gh(world: Path):
    with LocalGreenhouse(world) as server:
        yield server


def mint(server: LocalGreenhouse, client_id: str, secret: str, sub: int | None = None) -> httpx.Response:
    data = {"grant_type": "client_credentials"}
    if sub is not None:
        data["sub"] = str(sub)
    return HTTP.post(server.token_url, auth=(client_id, secret), data=data)


def bearer(server: LocalGreenhouse, tenant: str = "acme", sub: int | None = None, narrow: bool = False) -> dict:
    client_id, secret = (f"{tenant}-narrow", f"{tenant}-secret2") if narrow else (f"{tenant}-full", f"{tenant}-secret")
    response = mint(server, client_id, secret, sub)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def get(server: LocalGreenhouse, collection: str, headers: dict, **params) -> httpx.Response:
    return HTTP.get(server.api_base_url + collection, headers=headers, params=params)


def read_all(server: LocalGreenhouse, collection: str, headers: dict, **params) -> tuple[list[dict], list[int]]:
    records, sizes = [], []
    response = get(server, collection, headers, **params)
    while True:
        assert response.status_code == 200, response.text
        records.extend(response.json())
        sizes.append(len(response.json()))
        if "next" not in response.links:
            return records, sizes
        response = HTTP.get(response.links["next"]["url"], headers=headers)


# -- tokens -------------------------------------------------------------------------------------


def test_token_is_minted_for_the_right_secret_only(gh: LocalGreenhouse) -> None:
    ok = mint(gh, "acme-full", "acme-secret")
    assert ok.status_code == 200
    body = ok.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert len(body["access_token"]) >= 32
    for client_id, secret in [("acme-full", "wrong"), ("nobody", "acme-secret"), ("acme-full", "globex-secret")]:
        refused = mint(gh, client_id, secret)
        assert refused.status_code == 401
        assert refused.json() == {"error": "invalid_client"}
    no_auth = HTTP.post(gh.token_url, data={"grant_type": "client_credentials"})
    assert no_auth.status_code == 401
    bad_grant = HTTP.post(gh.token_url, auth=("acme-full", "acme-secret"), data={"grant_type": "password"})
    assert bad_grant.status_code == 400
    assert gh.stats["acme"]["tokens_minted"] == 1


def test_minting_again_revokes_the_previous_token(gh: LocalGreenhouse) -> None:
    first = bearer(gh)
    assert get(gh, "jobs", first).status_code == 200
    second = bearer(gh)
    assert first != second
    assert get(gh, "jobs", first).status_code == 401
    assert get(gh, "jobs", second).status_code == 200
    # Another credential's token is unaffected.
    narrow = bearer(gh, narrow=True)
    assert get(gh, "jobs", second).status_code == 200
    assert get(gh, "jobs", narrow).status_code == 200


class SteppedClock:
    """The server's clock, moved by the test instead of the test waiting for it."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_token_expires_after_its_ttl(world: Path) -> None:
    clock = SteppedClock()
    with LocalGreenhouse(world, token_ttl_seconds=1, clock=clock) as server:
        headers = bearer(server)
        assert get(server, "jobs", headers).status_code == 200
        clock.now += 0.9
        assert get(server, "jobs", headers).status_code == 200
        clock.now += 0.3
        expired = get(server, "jobs", headers)
        assert expired.status_code == 401
        assert "WWW-Authenticate" in expired.headers


@pytest.mark.parametrize("field", ["expires_at", "expires_at_epoch"])
def test_expiry_can_be_announced_as_expires_at(world: Path, field: str) -> None:
    with LocalGreenhouse(world, expires_field=field) as server:
        body = mint(server, "acme-full", "acme-secret").json()
        assert "expires_in" not in body
        value = body["expires_at"]
        epoch = value if field == "expires_at_epoch" else datetime.fromisoformat(value).timestamp()
        assert 3500 < epoch - time.time() <= 3601


def test_bearer_token_is_required(gh: LocalGreenhouse) -> None:
    assert get(gh, "candidates", {}).status_code == 401
    assert get(gh, "candidates", {"Authorization": "Bearer not-a-token"}).status_code == 401
    assert get(gh, "candidates", {"Authorization": "Basic YWNtZS1mdWxsOmFjbWUtc2VjcmV0"}).status_code == 401
    headers = bearer(gh)
    assert get(gh, "candidates", headers).status_code == 200
    gh.revoke_credential("acme-full")
    assert get(gh, "candidates", headers).status_code == 401
    assert mint(gh, "acme-full", "acme-secret").status_code == 401


def test_introspect_reports_scope_sub_and_activity(gh: LocalGreenhouse) -> None:
    token = mint(gh, "acme-narrow", "acme-secret2", sub=ADMIN).json()["access_token"]
    info = HTTP.post(gh.introspect_url, auth=("acme-narrow", "acme-secret2"), data={"token": token}).json()
    assert info["active"] is True
    assert set(info["scope"].split(" ")) == set(NARROW_SCOPES)
    assert info["sub"] == str(ADMIN)
    assert info["client_id"] == "acme-narrow"
    assert info["exp"] > time.time()
    mint(gh, "acme-narrow", "acme-secret2")
    stale = HTTP.post(gh.introspect_url, auth=("acme-narrow", "acme-secret2"), data={"token": token})
    assert stale.json() == {"active": False}
    assert HTTP.post(gh.introspect_url, auth=("acme-narrow", "bad"), data={"token": token}).status_code == 401
    # Another tenant's credential learns nothing about this tenant's token.
    fresh = mint(gh, "acme-narrow", "acme-secret2").json()["access_token"]
    other = HTTP.post(gh.introspect_url, auth=("globex-full", "globex-secret"), data={"token": fresh})
    assert other.json() == {"active": False}


# -- permissions -------------------------------------------------------------------------------


def test_missing_scope_is_a_403_naming_the_scope(gh: LocalGreenhouse) -> None:
    narrow = bearer(gh, narrow=True)
    refused = get(gh, "attachments", narrow)
    assert refused.status_code == 403
    assert "harvest:attachments:list" in refused.json()["message"]
    assert get(gh, "candidates", narrow).status_code == 200


def test_sub_must_be_a_site_admin_of_the_tenant(gh: LocalGreenhouse) -> None:
    assert get(gh, "candidates", bearer(gh, sub=ADMIN)).status_code == 200
    refused = get(gh, "candidates", bearer(gh, sub=NON_ADMIN))
    assert refused.status_code == 403
    assert "Site Admin" in refused.json()["message"]
    unknown = mint(gh, "acme-full", "acme-secret", sub=999)
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "invalid_request"
    headers = bearer(gh, sub=NON_ADMIN)
    gh.set_user_site_admin("acme", NON_ADMIN, True)
    assert get(gh, "candidates", headers).status_code == 200
    gh.set_user_site_admin("acme", NON_ADMIN, False)
    assert get(gh, "candidates", headers).status_code == 403


def test_tenants_are_isolated(gh: LocalGreenhouse) -> None:
    globex = bearer(gh, "globex")
    records, _ = read_all(gh, "candidates", globex, per_page=3)
    assert [r["id"] for r in records] == sorted(GLOBEX_IDS, reverse=True)
    assert get(gh, "candidates", globex, ids="1001,1002").json() == []
    acme_page = get(gh, "candidates", bearer(gh), per_page=2)
    leaked = HTTP.get(acme_page.links["next"]["url"], headers=globex)
    assert leaked.status_code == 422
    assert {r["id"] for r in get(gh, "attachments", globex).json()} == {20_100, 20_101, 20_102, 20_199}


# -- listing ----------------------------------------------------------------------------------


def test_pagination_is_complete_and_newest_first(gh: LocalGreenhouse) -> None:
    records, sizes = read_all(gh, "candidates", bearer(gh), per_page=7)
    assert [r["id"] for r in records] == sorted(ACME_IDS, reverse=True)
    assert sizes == [7, 7, 7, 7, 2]
    assert all(not any(k.startswith("_") for k in r) for r in records)
    assert records[0]["email_addresses"] == [{"value": "p1030@example.com", "type": "personal"}]


def test_default_page_is_100_and_exact_multiple_has_no_extra_link(gh: LocalGreenhouse) -> None:
    headers = bearer(gh)
    everything = get(gh, "candidates", headers)
    assert len(everything.json()) == 30 and "next" not in everything.links
    records, sizes = read_all(gh, "candidates", headers, per_page=10)
    assert sizes == [10, 10, 10]
    assert len({r["id"] for r in records}) == 30


def test_cursor_keeps_filters_and_survives_changes_between_pages(gh: LocalGreenhouse) -> None:
    headers = bearer(gh)
    first = get(gh, "candidates", headers, per_page=5, updated_at=f"gte|{iso(candidate_updated(1011))}")
    assert [r["id"] for r in first.json()] == [1030, 1029, 1028, 1027, 1026]
    gh.upsert("acme", "candidates", {"id": 5000, "first_name": "New"})  # newer than the cursor
    gh.delete("acme", "candidates", 1024)
    response = HTTP.get(first.links["next"]["url"], headers=headers)
    seen = [r["id"] for r in response.json()]
    while "next" in response.links:
        response = HTTP.get(response.links["next"]["url"], headers=headers)
        seen += [r["id"] for r in response.json()]
    assert seen == [i for i in range(1025, 1010, -1) if i != 1024]


def test_cursor_with_any_other_parameter_is_422(gh: LocalGreenhouse) -> None:
    headers = bearer(gh)
    first = get(gh, "candidates", headers, per_page=7)
    next_url = first.links["next"]["url"]
    cursor = parse_qs(urlsplit(next_url).query)["cursor"][0]
    assert next_url.startswith(gh.api_base_url + "candidates?cursor=")
    for extra in ({"per_page": "7"}, {"ids": "1001"}, {"updated_at": "gte|2026-11-01T00:00:00Z"}):
        refused = get(gh, "candidates", headers, cursor=cursor, **extra)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "cursor"
    forged = cursor[:-2] + ("00" if not cursor.endswith("00") else "11")
    assert get(gh, "candidates", headers, cursor=forged).status_code == 422
    assert get(gh, "candidates", headers, cursor="garbage").status_code == 422
    assert get(gh, "applications", headers, cursor=cursor).status_code == 422  # another collection's cursor
    assert get(gh, "candidates", headers, cursor=cursor).status_code == 200


@pytest.mark.parametrize("value", ["0", "501", "abc", "", "-1"])
def test_per_page_out_of_range_is_422(gh: LocalGreenhouse, value: str) -> None:
    refused = get(gh, "candidates", bearer(gh), per_page=value)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "per_page"


def test_per_page_500_is_allowed(gh: LocalGreenhouse) -> None:
    assert len(get(gh, "candidates", bearer(gh), per_page="500").json()) == 30


def test_date_filter_windows(gh: LocalGreenhouse) -> None:
    headers = bearer(gh)
    low, high = iso(candidate_updated(1005)), iso(candidate_updated(1009))
    closed = get(gh, "candidates", headers, updated_at=f"gte|{low}|lt|{high}")
    assert [r["id"] for r in closed.json()] == [1008, 1007, 1006, 1005]
    open_ended = get(gh, "candidates", headers, updated_at=f"gt|{low}|lte|{high}")
    assert [r["id"] for r in open_ended.json()] == [1009, 1008, 1007, 1006]
    offset = get(gh, "candidates", headers, last_activity_at="lte|2026-11-03T01:00:00+01:00")
    assert [r["id"] for r in offset.json()] == [1002, 1001]
    assert get(gh, "candidates", headers, created_at=f"gt|{iso(BASE_TIME)}").json() == []
    apps = get(gh, "applications", headers, updated_at=f"lte|{iso(candidate_updated(1002))}")
    assert [a["candidate_id"] for a in apps.json()] == [1002, 1001]


@pytest.mark.parametrize(
    "params",
    [
        {"updated_at": "2026-11-01T00:00:00Z"},
        {"updated_at": "gte|yesterday"},
        {"updated_at": "after|2026-11-01T00:00:00Z"},
        {"updated_at": "gte|2026-11-01T00:00:00Z|lte"},
        {"updated_after": "2026-11-01T00:00:00Z"},
        {"created_after": "2026-11-01T00:00:00Z"},
        {"page": "2"},
        {"skip_count": "true"},
    ],
)
def test_malformed_or_old_style_filters_are_422(gh: LocalGreenhouse, params: dict) -> None:
    refused = get(gh, "candidates", bearer(gh), **params)
    assert refused.status_code == 422
    body = refused.json()
    assert body["message"] and body["errors"]
    assert body["errors"][0]["field"] == next(iter(params))


def test_ids_filter_and_its_limit(gh: LocalGreenhouse) -> None:
    headers = bearer(gh)
    assert [r["id"] for r in get(gh, "candidates", headers, ids="1003,1010,999999").json()] == [1010, 1003]
    fifty = ",".join(str(i) for i in range(1001, 1051))
    assert get(gh, "candidates", headers, ids=fifty).status_code == 200
    refused = get(gh, "candidates", headers, ids=fifty + ",1051")
    assert refused.status_code == 422
    assert "50" in refused.json()["errors"][0]["message"]
    assert get(gh, "candidates", headers, ids="1,x").status_code == 422
    assert HTTP.get(gh.api_base_url + "candidates?ids=1001&ids=1002", headers=headers).status_code == 422


def test_child_and_type_filters(gh: LocalGreenhouse) -> None:
    headers = bearer(gh)
    by_candidate = get(gh, "applications", headers, candidate_ids="1002,1004,1030")
    assert [(a["id"], a["candidate_id"]) for a in by_candidate.json()] == [(10_003, 1004), (10_001, 1002)]
    active = get(gh, "applications", headers, status="active")
    assert {a["status"] for a in active.json()} == {"in_process"}
    assert [a["id"] for a in active.json()] == [10_004, 10_000]
    assert get(gh, "applications", headers, status="in_process").status_code == 422
    details = get(gh, "prospect_details", headers, application_ids="10003,10007,10000")
    assert [d["application_id"] for d in details.json()] == [10_007, 10_003]
    resumes = get(gh, "attachments", headers, candidate_ids="1001", type="resume").json()
    assert [a["id"] for a in resumes] == [10_100]
    assert len(get(gh, "attachments", headers, candidate_ids="1001").json()) == 2
    stages = get(gh, "job_interview_stages", headers, job_ids="501").json()
    assert [s["id"] for s in stages] == [603, 602, 601]
    assert get(gh, "job_interview_stages", headers, job_ids="999").json() == []
    assert get(gh, "openings", headers, job_ids="501").json() == []
    assert get(gh, "job_posts", headers).json() == []
    assert get(gh, "close_reasons", headers).json() == []
    assert get(gh, "candidates", headers, candidate_ids="1001").status_code == 422
    users = get(gh, "users", headers).json()
    assert [u["id"] for u in users] == [NON_ADMIN, ADMIN]
    with_service = get(gh, "users", headers, show_service_accounts="true").json()
    assert [u["id"] for u in with_service] == [SERVICE, NON_ADMIN, ADMIN]


def test_unknown_paths_and_methods(gh: LocalGreenhouse) -> None:
    headers = bearer(gh)
    assert get(gh, "offers", headers).status_code == 404
    assert get(gh, "candidates/1001", headers).status_code == 404
    assert HTTP.post(gh.api_base_url + "candidates", headers=headers, json={}).status_code == 405
    assert HTTP.get(gh.base_url + "/nowhere").status_code == 404
    assert HTTP.post(gh.token_url, content=b"\xff\xfe", auth=("acme-full", "acme-secret")).status_code == 400
    assert HTTP.post(gh.token_url, headers={"Authorization": "Basic !!!"}).status_code == 401
    assert get(gh, "candidates", headers).status_code == 200  # still serving


@pytest.mark.parametrize(
    "raw, status",
    [
        (b"NONSENSE / HTTP/1.1\r\n\r\n", b"501"),
        (b"GET /v3/candidates HTTP/1.1\r\nContent-Length: -5\r\n\r\n", b"400"),
        (b"POST /token HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", b"413"),
        (b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n", b"431"),
    ],
)
def test_malformed_http_gets_a_json_error(gh: LocalGreenhouse, raw: bytes, status: bytes) -> None:
    with socket.create_connection(("127.0.0.1", gh.port), timeout=5) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == status
    assert b"application/json" in head
    assert "message" in json.loads(body)
    assert get(gh, "jobs", bearer(gh)).status_code == 200


def test_serves_consistently_while_data_changes(gh: LocalGreenhouse) -> None:
    headers = bearer(gh)
    stop = threading.Event()

    def churn() -> None:
        n = 0
        while not stop.is_set():
            gh.upsert("acme", "candidates", {"id": 100_000 + n, "first_name": "Churn", "updated_at": "2030-01-01T00:00:00Z"})
            gh.delete("acme", "candidates", 100_000 + n - 1)
            n += 1

    writer = threading.Thread(target=churn)
    writer.start()
    try:
        for _ in range(10):
            records, _ = read_all(gh, "candidates", headers, per_page=4, updated_at="lt|2026-12-31T00:00:00Z")
            assert [r["id"] for r in records] == sorted(ACME_IDS, reverse=True)
    finally:
        stop.set()
        writer.join()


# -- rate limit -------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_headers(world: Path) -> None:
    clock = SteppedClock()
    with LocalGreenhouse(world, rate_limit=3, window_seconds=2, clock=clock) as server:
        headers = bearer(server)
        remaining = []
        for _ in range(3):
            ok = get(server, "jobs", headers)
            assert ok.status_code == 200
            assert ok.headers["X-RateLimit-Limit"] == "3"
            remaining.append(int(ok.headers["X-RateLimit-Remaining"]))
            assert int(ok.headers["X-RateLimit-Reset"]) >= int(clock.now)
        assert remaining == [2, 1, 0]
        limited = get(server, "jobs", headers)
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["Retry-After"]) <= 2
        assert limited.headers["X-RateLimit-Remaining"] == "0"
        assert limited.headers["X-RateLimit-Limit"] == "3"
        # The budget is the credential's, across re-mints; another credential has its own.
        assert get(server, "jobs", bearer(server)).status_code == 429
        assert get(server, "jobs", bearer(server, narrow=True)).status_code == 200
        # Token minting and file downloads are not limited.
        attachment = get(server, "attachments", bearer(server, narrow=False))
        assert attachment.status_code == 429
        url = server.file_url("acme", 10_100)
        assert all(HTTP.get(url).status_code == 200 for _ in range(5))
        assert server.stats["acme"]["status_counts"][429] == 3
        assert server.stats["acme"]["downloads"] == 5
        clock.now += int(limited.headers["Retry-After"]) + 0.05
        assert get(server, "jobs", headers).status_code == 401  # re-minted since: old token is gone
        assert get(server, "jobs", bearer(server)).status_code == 200


# -- files ------------------------------------------------------------------------------------


def test_signed_attachment_urls(gh: LocalGreenhouse, world: Path) -> None:
    headers = bearer(gh)
    attachments = {a["id"]: a for a in get(gh, "attachments", headers).json()}
    url = attachments[10_101]["url"]
    assert url.startswith(f"{gh.base_url}/files/acme/10101?expires=")
    assert "_file" not in attachments[10_101]
    ok = HTTP.get(url)
    assert ok.status_code == 200
    assert ok.headers["content-type"] == "application/pdf"
    assert ok.content == (world / "greenhouse/acme/files/10101.pdf").read_bytes()
    assert pypdf.PdfReader(io.BytesIO(ok.content)).metadata.title == "resume of 1002"
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    expires, signature = query["expires"][0], query["signature"][0]
    tampered = [
        f"{gh.base_url}/files/acme/10100?expires={expires}&signature={signature}",
        f"{gh.base_url}/files/acme/10101?expires={int(expires) + 60}&signature={signature}",
        f"{gh.base_url}/files/acme/10101?expires={expires}&signature={'0' * len(signature)}",
        f"{gh.base_url}/files/globex/10101?expires={expires}&signature={signature}",
        f"{gh.base_url}/files/acme/10101",
    ]
    for bad in tampered:
        assert HTTP.get(bad).status_code == 403, bad
    expired = gh.file_url("acme", 10_101, expires=int(time.time()) - 5)
    assert HTTP.get(expired).status_code == 403
    gh.file_url_ttl_seconds = -10
    listed_expired = get(gh, "attachments", headers, ids="10101").json()[0]["url"]
    assert HTTP.get(listed_expired).status_code == 403
    assert gh.stats["acme"]["downloads"] == 1
    assert gh.stats["acme"]["by_collection"] == {"attachments": 2}


def test_download_size_cap(world: Path) -> None:
    with LocalGreenhouse(world, max_download_bytes=10) as server:
        assert HTTP.get(server.file_url("acme", 10_100)).status_code == 413


# -- mutations --------------------------------------------------------------------------------


def test_upsert_delete_anonymise_are_served(gh: LocalGreenhouse) -> None:
    headers = bearer(gh)
    before = time.time()
    gh.upsert("acme", "candidates", {"id": 1031, "first_name": "Newest", "last_name": "Person"})
    gh.upsert("acme", "candidates", {**get(gh, "candidates", headers, ids="1002").json()[0], "title": "CTO",
                                    "updated_at": iso(datetime.now(timezone.utc) + timedelta(minutes=30))})
    listed = get(gh, "candidates", headers).json()
    assert listed[0]["id"] == 1031
    stamped = datetime.fromisoformat(listed[0]["updated_at"]).timestamp()
    assert before - 1 <= stamped <= time.time() + 1
    since, until = (datetime.fromtimestamp(before + delta, timezone.utc) for delta in (-60, 3600))
    recent = get(gh, "candidates", headers, updated_at=f"gte|{iso(since)}|lt|{iso(until)}").json()
    # the world's own candidates are dated from BASE_TIME on: one may fall in the window when
    # the test runs near its date (1030's is 2026-12-01T00:00Z)
    dated_in_window = [c for c in ACME_IDS if c != 1002 and since <= candidate_updated(c) < until]
    assert [r["id"] for r in recent] == sorted([1031, 1002, *dated_in_window], reverse=True)
    assert next(r for r in recent if r["id"] == 1002)["title"] == "CTO"

    gh.delete("acme", "candidates", 1005)
    ids = [r["id"] for r in read_all(gh, "candidates", headers, per_page=7)[0]]
    assert 1005 not in ids and len(ids) == 30
    assert get(gh, "applications", headers, candidate_ids="1005").json() == []

    gh.anonymise("acme", 1001)
    anonymised = get(gh, "candidates", headers, ids="1001").json()[0]
    assert anonymised["first_name"] == "Anonymized"
    assert anonymised["last_name"] == "1001"
    for key in ("email_addresses", "phone_numbers", "addresses", "website_addresses", "social_media_addresses"):
        assert anonymised[key] == []
    assert get(gh, "attachments", headers, candidate_ids="1001").json() == []
    assert HTTP.get(gh.file_url("acme", 10_100)).status_code == 404

    gh.delete("acme", "applications", 10_001)
    assert [a["id"] for a in get(gh, "applications", headers, candidate_ids="1002").json()] == []
    # The other tenant saw none of it.
    assert get(gh, "candidates", bearer(gh, "globex"), ids="1031").json() == []
    with pytest.raises(KeyError):
        gh.upsert("initech", "candidates", {"id": 1})


# -- faults -----------------------------------------------------------------------------------


def test_injected_faults(world: Path) -> None:
    with LocalGreenhouse(world, faults=FaultPlan(error_5xx=1.0)) as server:
        response = get(server, "jobs", bearer(server))
        assert response.status_code in (500, 502, 503)
        assert "X-RateLimit-Remaining" in response.headers
    with LocalGreenhouse(world, faults=FaultPlan(burst_429=1.0)) as server:
        response = get(server, "jobs", bearer(server))
        assert response.status_code == 429 and response.headers["Retry-After"] == "1"
        assert int(response.headers["X-RateLimit-Remaining"]) > 0
    with LocalGreenhouse(world, faults=FaultPlan(reset=1.0)) as server:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            get(server, "jobs", bearer(server))
        assert server.stats["acme"]["faults"] == {"reset": 1}
    with LocalGreenhouse(world, faults=FaultPlan(timeout=1.0, timeout_seconds=2)) as server:
        with pytest.raises(httpx.ReadTimeout):
            HTTP.get(server.api_base_url + "jobs", headers=bearer(server), timeout=0.3)
        assert HTTP.get(server.file_url("acme", 10_100)).status_code == 200  # files are never faulted


def test_faults_are_deterministic_from_the_seed(world: Path) -> None:
    def statuses(seed: int) -> list[int]:
        plan = FaultPlan(error_5xx=0.3, burst_429=0.3, seed=seed)
        with LocalGreenhouse(world, faults=plan) as server:
            headers = bearer(server)
            return [get(server, "jobs", headers).status_code for _ in range(20)]

    first = statuses(7)
    assert first == statuses(7)
    assert {200, 429} <= set(first) and set(first) & {500, 502, 503}
    assert first != statuses(8)


# -- loading and process mode -----------------------------------------------------------------


def test_loads_thousands_of_candidates_and_pages_them(tmp_path: Path) -> None:
    account = tmp_path / "greenhouse" / "big"
    account.mkdir(parents=True)
    (account / "account.json").write_text(json.dumps({"credentials": [
        {"client_id": "big", "client_secret": "s", "scopes": ["harvest:candidates:list"]}]}))
    ids = list(range(1, 5001))
    write_jsonl(account / "candidates.jsonl", [{"id": i, "updated_at": iso(BASE_TIME)} for i in reversed(ids)])
    with LocalGreenhouse(tmp_path) as server:
        token = mint(server, "big", "s").json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        records, sizes = read_all(server, "candidates", headers, per_page=500)
        assert [r["id"] for r in records] == ids[::-1]
        assert sizes == [500] * 10
        assert get(server, "users", headers).status_code == 403


@pytest.mark.slow  # a whole server process: `make test-fast` leaves it out
def test_runs_as_a_process_and_exits_on_sigterm(world: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "connect_pipeline.testkit.local_greenhouse", "--world", str(world), "--port", "0",
         "--rate-limit", "5", "--window", "30"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:")
        base = line.removeprefix("listening on ")
        token = HTTP.post(f"{base}/token", auth=("globex-full", "globex-secret"),
                           data={"grant_type": "client_credentials"}).json()["access_token"]
        response = HTTP.get(f"{base}/v3/candidates", headers={"Authorization": f"Bearer {token}"})
        assert [r["id"] for r in response.json()] == sorted(GLOBEX_IDS, reverse=True)
        assert response.headers["X-RateLimit-Limit"] == "5"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        with pytest.raises(httpx.ConnectError):
            HTTP.get(f"{base}/v3/candidates")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
