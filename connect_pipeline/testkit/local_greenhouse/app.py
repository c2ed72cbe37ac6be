"""What the local Greenhouse answers, independent of the HTTP transport that carries it.

Order of checks on /v3 (mirrors what a client sees from Harvest): bearer token (401), the
credential's rate budget (429), injected faults, collection (404), scope and Site Admin (403),
query (422), then data.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import Message
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote

from connect_pipeline.harvest.collections import BY_NAME
from .auth import Token, TokenAuthority
from .faults import FaultDice
from .query import SERVED_COLLECTIONS, QueryError, parse_list_query
from .ratelimit import Budget, FixedWindowLimiter
from .signing import Signer, decode_cursor, encode_cursor
from .stats import Stats
from .store import TenantData

SCOPES: dict[str, str] = {name: BY_NAME[name].scope for name in SERVED_COLLECTIONS if name in BY_NAME}
SCOPES.update({"openings": "harvest:openings:list", "job_posts": "harvest:job_posts:list"})
EXPIRES_FIELDS = ("expires_in", "expires_at", "expires_at_epoch")


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: Message
    body: bytes = b""


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    file: Path | None = None  # streamed after the headers, instead of body
    action: str | None = None  # "reset" or "timeout": no HTTP response at all
    hold_seconds: float = 0.0  # wait this long first (then close for "timeout", answer otherwise)


def json_response(status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(status, body, {"Content-Type": "application/json", **(headers or {})})


class HarvestApp:
    def __init__(
        self,
        *,
        authority: TokenAuthority,
        limiter: FixedWindowLimiter,
        dice: FaultDice,
        stats: Stats,
        download_dice: FaultDice | None = None,
        base_url: Callable[[], str],
        expires_field: str,
        max_download_bytes: int | None,
        link_rel: str = "next",
        link_base_url: Callable[[], str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if expires_field not in EXPIRES_FIELDS:
            raise ValueError(f"expires_field must be one of {', '.join(EXPIRES_FIELDS)}")
        self.authority = authority
        self.limiter = limiter
        self.dice = dice
        self.download_dice = download_dice if download_dice is not None else FaultDice(None)
        self.stats = stats
        self.base_url = base_url
        self.expires_field = expires_field
        self.max_download_bytes = max_download_bytes
        # the Link header's relation as another server may spell it ("Next", "next last")
        self.link_rel = link_rel
        self.link_base_url = link_base_url or base_url
        self.file_url_ttl_seconds = 3600.0
        self.signer = Signer()
        self.tenants: dict[str, TenantData] = {}
        self.tenants_lock = threading.Lock()
        self._clock = clock

    def tenant(self, tenant_id: str) -> TenantData | None:
        with self.tenants_lock:
            return self.tenants.get(tenant_id)

    # -- routing ---------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        path = request.path
        if path == "/token":
            return self._only("POST", request) or self.token(request)
        if path == "/introspect":
            return self._only("POST", request) or self.introspect(request)
        if path.startswith("/v3/"):
            return self._only("GET", request) or self.list(request, path[len("/v3/"):])
        if path.startswith("/files/"):
            return self._only("GET", request) or self.download(request, path[len("/files/"):])
        return json_response(404, {"message": f"no such endpoint {path}"})

    @staticmethod
    def _only(method: str, request: Request) -> Response | None:
        if request.method == method:
            return None
        return json_response(405, {"message": f"use {method}"}, {"Allow": method})

    # -- auth endpoints ----------------------------------------------------------------------

    def token(self, request: Request) -> Response:
        credential = self._basic_credential(request)
        if credential is None:
            return json_response(401, {"error": "invalid_client"}, {"WWW-Authenticate": "Basic"})
        form = _form(request.body)
        if form is None:
            return json_response(400, {"error": "invalid_request"})
        if form.get("grant_type") != "client_credentials":
            return json_response(400, {"error": "unsupported_grant_type"})
        sub: int | None = None
        raw_sub = form.get("sub", "")
        if raw_sub:
            tenant = self.tenant(credential.tenant_id)
            if not raw_sub.isdigit() or tenant is None or tenant.get("users", int(raw_sub)) is None:
                return json_response(
                    400,
                    {"error": "invalid_request", "error_description": "sub is not a user of this account"},
                )
            sub = int(raw_sub)
        token = self.authority.mint(credential, sub)
        self.stats.token_minted(credential.tenant_id)
        payload: dict[str, object] = {
            "access_token": token.value,
            "token_type": "Bearer",
            "scope": " ".join(sorted(token.scopes)),
        }
        if self.expires_field == "expires_in":
            payload["expires_in"] = self.authority.ttl_seconds
        elif self.expires_field == "expires_at":
            moment = datetime.fromtimestamp(token.expires_at, timezone.utc)
            payload["expires_at"] = moment.isoformat(timespec="seconds").replace("+00:00", "Z")
        else:
            payload["expires_at"] = int(token.expires_at)
        return json_response(200, payload, {"Cache-Control": "no-store"})

    def introspect(self, request: Request) -> Response:
        credential = self._basic_credential(request)
        if credential is None:
            return json_response(401, {"error": "invalid_client"}, {"WWW-Authenticate": "Basic"})
        form = _form(request.body)
        if form is None or not form.get("token"):
            return json_response(400, {"error": "invalid_request"})
        token = self.authority.lookup(form["token"])
        if token is None or token.tenant_id != credential.tenant_id:
            return json_response(200, {"active": False})
        return json_response(
            200,
            {
                "active": True,
                "scope": " ".join(sorted(token.scopes)),
                "sub": None if token.sub is None else str(token.sub),
                "client_id": token.client_id,
                "exp": int(token.expires_at),
                "token_type": "Bearer",
            },
        )

    def _basic_credential(self, request: Request):
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            return None
        return self.authority.authenticate(client_id, secret)

    # -- collections ---------------------------------------------------------------------------

    def list(self, request: Request, collection: str) -> Response:
        token = self._bearer(request)
        if token is None:
            return json_response(
                401,
                {"message": "missing, invalid, expired or revoked access token"},
                {"WWW-Authenticate": "Bearer", **self.limiter.fresh().headers()},
            )
        budget = self.limiter.take(token.client_id)
        response = self._list_charged(request, collection, token, budget)
        response.headers.update(budget.headers())
        known = collection if collection in SCOPES else "(unknown)"
        self.stats.request(token.tenant_id, known, response.status if response.action is None else 0)
        return response

    def _list_charged(self, request: Request, collection: str, token: Token, budget: Budget) -> Response:
        if not budget.allowed:
            return json_response(
                429, {"message": "rate limit exceeded"}, {"Retry-After": str(budget.retry_after)}
            )
        fault, status = self.dice.draw()
        if fault is not None:
            self.stats.fault(token.tenant_id, fault)
            injected = _injected(self.dice, fault, status)
            if injected is not None:
                return injected
            response = self._list_served(request, collection, token)
            response.hold_seconds = self.dice.hold_seconds(fault)  # a hang: the answer, late
            return response
        return self._list_served(request, collection, token)

    def _list_served(self, request: Request, collection: str, token: Token) -> Response:
        if collection not in SCOPES:
            return json_response(404, {"message": f"no collection /v3/{collection}"})
        if SCOPES[collection] not in token.scopes:
            return json_response(
                403, {"message": f"Forbidden: the credential is missing scope {SCOPES[collection]}"}
            )
        tenant = self.tenant(token.tenant_id)
        if tenant is None:
            return json_response(404, {"message": "account not found"})
        if token.sub is not None:
            user = tenant.get("users", token.sub)
            if user is None or not user.get("site_admin") or user.get("deactivated"):
                return json_response(
                    403, {"message": f"Forbidden: user {token.sub} is not an active Site Admin"}
                )
        try:
            query, below = self._query(request, collection, token.tenant_id)
        except QueryError as exc:
            return json_response(422, {"message": "invalid query", "errors": exc.errors})
        records, more = tenant.page(query, below)
        headers: dict[str, str] = {}
        if more:
            cursor = encode_cursor(
                self.signer,
                {"t": token.tenant_id, "c": collection, "p": query.params, "a": records[-1]["id"]},
            )
            headers["Link"] = f'<{self.link_base_url()}/v3/{collection}?cursor={cursor}>; rel="{self.link_rel}"'
        body = [self._public(token.tenant_id, collection, record) for record in records]
        return json_response(200, body, headers)

    def _query(self, request: Request, collection: str, tenant_id: str):
        try:
            pairs = parse_qsl(request.query, keep_blank_values=True, strict_parsing=False)
        except ValueError:
            raise QueryError([{"field": "", "message": "unreadable query string"}]) from None
        if not any(name == "cursor" for name, _ in pairs):
            return parse_list_query(collection, pairs), None
        if len(pairs) != 1:
            raise QueryError(
                [{"field": "cursor", "message": "a request with cursor must carry no other parameter"}]
            )
        try:
            state = decode_cursor(self.signer, pairs[0][1])
            if state.get("t") != tenant_id or state.get("c") != collection:
                raise ValueError("cursor belongs to another listing")
            params, below = state["p"], state["a"]
            if not isinstance(params, dict) or not isinstance(below, int):
                raise ValueError("cursor is not valid")
        except (ValueError, KeyError):
            raise QueryError([{"field": "cursor", "message": "cursor is not valid"}]) from None
        return parse_list_query(collection, list(params.items())), below

    def _bearer(self, request: Request) -> Token | None:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None
        return self.authority.lookup(value.strip())

    def _public(self, tenant_id: str, collection: str, record: dict) -> dict:
        out = {k: v for k, v in record.items() if not k.startswith("_")}
        if collection == "attachments":
            out["url"] = self.file_url(tenant_id, record["id"])
        return out

    # -- files ---------------------------------------------------------------------------

    def file_url(self, tenant_id: str, attachment_id: int, expires: int | None = None) -> str:
        if expires is None:
            expires = int(self._clock() + self.file_url_ttl_seconds)
        signature = self.signer.sign("file", f"{tenant_id}/{attachment_id}/{expires}")
        return (
            f"{self.base_url()}/files/{quote(tenant_id, safe='')}/{attachment_id}"
            f"?expires={expires}&signature={signature}"
        )

    def download(self, request: Request, rest: str) -> Response:
        denied = json_response(403, {"message": "signature invalid or expired"})
        tenant_id, _, raw_id = rest.partition("/")
        params = dict(parse_qsl(request.query, keep_blank_values=True))
        expires, signature = params.get("expires", ""), params.get("signature", "")
        if not raw_id.isdigit() or not expires.isdigit() or not signature:
            return denied
        tenant_id = unquote(tenant_id)
        if not self.signer.verify("file", f"{tenant_id}/{int(raw_id)}/{expires}", signature):
            return denied
        if int(expires) < self._clock():
            return denied
        hold = 0.0
        if self.download_dice.plan.downloads:
            fault, status = self.download_dice.draw()
            if fault is not None:
                self.stats.fault(tenant_id, f"download_{fault}")
                injected = _injected(self.download_dice, fault, status)
                if injected is not None:
                    return injected
                hold = self.download_dice.hold_seconds(fault)
        tenant = self.tenant(tenant_id)
        record = tenant.get("attachments", int(raw_id)) if tenant is not None else None
        path = tenant.file_path(record) if tenant is not None and record is not None else None
        if path is None or not path.is_file():
            return json_response(404, {"message": "file not found"})
        size = path.stat().st_size
        if self.max_download_bytes is not None and size > self.max_download_bytes:
            return json_response(413, {"message": "file exceeds the server's download limit"})
        self.stats.download(tenant_id)
        filename = str(record.get("filename") or path.name)
        filename = "".join(
            c for c in filename.encode("ascii", "replace").decode() if c.isprintable() and c not in '"\\'
        )
        return Response(
            200,
            headers={
                "Content-Type": "application/pdf",
                "Content-Length": str(size),
                "Content-Disposition": f'attachment; filename="{filename}"',
            },
            file=path,
            hold_seconds=hold,
        )


def _injected(dice: FaultDice, fault: str, status: int) -> Response | None:
    """The response a fault replaces the real one with; None for a hang (the real one, late)."""
    if fault == "error_5xx":
        return json_response(status, {"message": "injected server error"})
    if fault == "burst_429":
        return json_response(429, {"message": "rate limit exceeded"}, {"Retry-After": "1"})
    if fault == "hang":
        return None
    return Response(0, action=fault, hold_seconds=dice.hold_seconds(fault))


def _form(body: bytes) -> dict[str, str] | None:
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        return None
