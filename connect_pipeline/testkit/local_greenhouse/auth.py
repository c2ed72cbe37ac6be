"""Client credentials and the bearer tokens minted from them.

Greenhouse is reported to revoke a client's previous token when a new one is minted; the
authority keeps exactly one live token per client id so clients that mint per request break
here the same way they would against the real service.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Credential:
    tenant_id: str
    client_id: str
    client_secret: str
    scopes: frozenset[str]

    def secret_matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.client_secret.encode(), secret.encode())


@dataclass(frozen=True)
class Token:
    value: str
    client_id: str
    tenant_id: str
    scopes: frozenset[str]
    sub: int | None
    expires_at: float


class TokenAuthority:
    def __init__(self, ttl_seconds: int, clock: Callable[[], float] = time.time) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._credentials: dict[str, Credential] = {}
        self._tokens: dict[str, Token] = {}
        self._current: dict[str, str] = {}  # client id -> its one live token

    def add_credential(
        self, tenant_id: str, client_id: str, client_secret: str, scopes: Iterable[str]
    ) -> None:
        with self._lock:
            existing = self._credentials.get(client_id)
            if existing is not None and existing.tenant_id != tenant_id:
                raise ValueError(f"client id {client_id!r} already belongs to another tenant")
            self._credentials[client_id] = Credential(
                tenant_id, client_id, client_secret, frozenset(scopes)
            )
            self._drop_token(client_id)  # scopes may have changed: old tokens must not keep them

    def revoke_credential(self, client_id: str) -> None:
        with self._lock:
            self._credentials.pop(client_id, None)
            self._drop_token(client_id)

    def authenticate(self, client_id: str, client_secret: str) -> Credential | None:
        with self._lock:
            credential = self._credentials.get(client_id)
        if credential is None or not credential.secret_matches(client_secret):
            return None
        return credential

    def mint(self, credential: Credential, sub: int | None) -> Token:
        token = Token(
            value=secrets.token_urlsafe(32),
            client_id=credential.client_id,
            tenant_id=credential.tenant_id,
            scopes=credential.scopes,
            sub=sub,
            expires_at=self._clock() + self.ttl_seconds,
        )
        with self._lock:
            self._drop_token(credential.client_id)
            self._tokens[token.value] = token
            self._current[credential.client_id] = token.value
        return token

    def lookup(self, value: str) -> Token | None:
        """The live token behind ``value``, or None if unknown, revoked or expired."""
        with self._lock:
            token = self._tokens.get(value)
        if token is None or token.expires_at <= self._clock():
            return None
        return token

    def _drop_token(self, client_id: str) -> None:
        previous = self._current.pop(client_id, None)
        if previous is not None:
            self._tokens.pop(previous, None)
