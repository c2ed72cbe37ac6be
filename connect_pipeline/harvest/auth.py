"""Harvest v3 OAuth: one cached bearer token per credential, shared by every thread.

Minting a token for a client id is reported to revoke the previous one, so two threads (or two
clients in one process) that each mint their own would keep knocking each other's token out. The
token therefore lives in the session's slot for the credential (``session.py``; clients share the
process-wide default session unless given one), and only one thread at a time may refresh it
(single flight); the others wait and reuse the result.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import httpx

from connect_pipeline.errors import AuthError, HarvestError, TransientError
from connect_pipeline.harvest.session import DEFAULT_SESSION, HarvestSession, TokenSlot

_MINT_ATTEMPTS = 4
_DEFAULT_LIFETIME_S = 600.0  # when the token endpoint announces no expiry at all


@dataclass(frozen=True)
class Credential:
    """A Harvest V3 (OAuth) credential. The secret never shows in repr."""

    client_id: str
    client_secret: str = field(repr=False)
    token_url: str
    sub: int | None = None

    def slot_key(self) -> tuple[str, str, int | None, str]:
        """Identity of the cached token; a rotated secret gets a fresh slot."""
        digest = hashlib.sha256(self.client_secret.encode("utf-8")).hexdigest()
        return (self.token_url, self.client_id, self.sub, digest)


class TokenProvider:
    """Hands out a valid bearer token, refreshing it shortly before it expires."""

    def __init__(
        self,
        credential: Credential,
        http: httpx.Client,
        *,
        refresh_margin_s: float = 60,
        tenant_id: str | None = None,
        timeout_s: float = 30.0,
        session: HarvestSession | None = None,
    ) -> None:
        self.credential = credential
        self._http = http
        self._margin = float(refresh_margin_s)
        self._tenant = tenant_id or f"(client id {credential.client_id})"
        self._timeout = timeout_s
        self._session = session or DEFAULT_SESSION
        self._slot = self._session.token_slot(credential)

    def __repr__(self) -> str:
        return f"TokenProvider(tenant={self._tenant!r}, client_id={self.credential.client_id!r})"

    @property
    def tokens_minted(self) -> int:
        """How many tokens this process minted for the credential (tests and stats)."""
        return self._slot.minted

    def token(self) -> str:
        slot = self._slot
        with slot.lock:
            if slot.token is None or self._session.clock() >= slot.expires_at:
                self._mint(slot)
            assert slot.token is not None
            return slot.token

    def invalidate(self, bad_token: str) -> None:
        """Forget the cached token after a 401, unless another thread already replaced it."""
        slot = self._slot
        with slot.lock:
            if slot.token == bad_token:
                slot.token = None
                slot.expires_at = 0.0

    def _mint(self, slot: TokenSlot) -> None:
        cred = self.credential
        form = {"grant_type": "client_credentials"}
        if cred.sub is not None:
            form["sub"] = str(cred.sub)
        last_problem = ""
        for attempt in range(_MINT_ATTEMPTS):
            if attempt:
                self._session.sleep(min(8.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.0))
            try:
                response = self._http.post(
                    cred.token_url,
                    data=form,
                    auth=(cred.client_id, cred.client_secret),
                    timeout=self._timeout,
                )
            except httpx.TransportError as exc:  # timeouts, refused/reset connections
                last_problem = type(exc).__name__
                continue
            if response.status_code >= 500 or response.status_code == 429:
                last_problem = f"HTTP {response.status_code}"
                continue
            if response.status_code == 400 and cred.sub is not None and _mentions_sub(response):
                raise AuthError(
                    f"Greenhouse refused sub {cred.sub} for tenant {self._tenant} (HTTP 400 from the "
                    "token endpoint): it is not a user of this Greenhouse account; run `connect-pipeline "
                    f"tenants add {self._tenant} ... --sub <id of an active Site Admin user>`",
                    status=400,
                    tenant_id=self._tenant,
                )
            if response.status_code in (400, 401, 403):
                raise AuthError(
                    f"Greenhouse refused the client id/secret for tenant {self._tenant} "
                    f"(HTTP {response.status_code} from the token endpoint{_oauth_error(response)}): "
                    "the secret is wrong or the credential was revoked; create a new Harvest V3 "
                    "(OAuth) credential and run `connect-pipeline tenants add ...` again",
                    status=response.status_code,
                    tenant_id=self._tenant,
                )
            if response.status_code != 200:
                raise HarvestError(
                    f"the token endpoint answered HTTP {response.status_code} for tenant {self._tenant}: "
                    "check the tenant's --token-url (default https://auth.greenhouse.io/token)",
                    status=response.status_code,
                    tenant_id=self._tenant,
                )
            token, lifetime = self._parse(response)
            slot.token = token
            slot.minted += 1
            margin = min(self._margin, lifetime / 4)
            slot.expires_at = self._session.clock() + max(0.0, lifetime - margin)
            return
        raise TransientError(
            f"could not reach the Greenhouse token endpoint for tenant {self._tenant} after "
            f"{_MINT_ATTEMPTS} attempts (last: {last_problem}): Greenhouse may be down; the next run retries",
            tenant_id=self._tenant,
        )

    def _parse(self, response: httpx.Response) -> tuple[str, float]:
        try:
            body = response.json()
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise HarvestError(
                f"the token endpoint for tenant {self._tenant} answered without an access_token: "
                "check the tenant's --token-url",
                tenant_id=self._tenant,
            )
        return token, _lifetime_seconds(body, self._session.clock())


def _lifetime_seconds(body: dict[str, Any], now: float) -> float:
    """Seconds the token stays valid; accepts ``expires_in`` or ``expires_at`` (epoch or ISO)."""
    expires_in = body.get("expires_in")
    if isinstance(expires_in, (int, float)) or (isinstance(expires_in, str) and expires_in.strip()):
        try:
            return max(0.0, float(expires_in))
        except ValueError:
            pass
    expires_at = body.get("expires_at")
    at: float | None = None
    if isinstance(expires_at, (int, float)):
        at = float(expires_at)
    elif isinstance(expires_at, str) and expires_at.strip():
        text = expires_at.strip()
        try:
            at = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                parsed = None
            if parsed is not None:
                if parsed.tzinfo is None:
                    parsed = parsed.replace(tzinfo=timezone.utc)
                at = parsed.timestamp()
    if at is not None:
        if at > 1e12:  # milliseconds since the epoch
            at /= 1000.0
        return max(0.0, at - now)
    return _DEFAULT_LIFETIME_S


def _oauth_error(response: httpx.Response) -> str:
    """The OAuth ``error`` code, if any; short and free of anything the caller sent."""
    try:
        body = response.json()
    except ValueError:
        return ""
    code = body.get("error") if isinstance(body, dict) else None
    if isinstance(code, str) and code.replace("_", "").isalnum() and len(code) <= 40:
        return f", {code}"
    return ""


def _mentions_sub(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    description = str(body.get("error_description") or body.get("message") or "")
    return "sub" in description.lower().split() or "sub " in description.lower()
