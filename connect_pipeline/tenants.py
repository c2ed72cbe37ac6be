"""Tenant connections: records, not code, kept in ``<root>/tenants.json``.

A connection is what a customer hands over when they connect Greenhouse (see the guide): the
web app URL, a Harvest v3 client id and a *reference* to its secret (``secrets.py``), the ``sub``
user the calls act as, and how often to run. The registry file never holds a plain secret, is
written atomically (a crash mid-write leaves the previous file) and is readable by its owner only.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from connect_pipeline.errors import ConfigError, ConnectError, TenantNotFound
from connect_pipeline.greenhouse_records import candidate_url
from connect_pipeline.harvest.auth import Credential
from connect_pipeline.secrets import SecretRef, resolve
from connect_pipeline.lease import LeaseHolder, RunInProgress, TenantLease
from connect_pipeline.storage import TenantStorage, removal_marker, validate_tenant_id, write_text_atomic

DEFAULT_API_BASE_URL = "https://harvest.greenhouse.io/v3/"
DEFAULT_TOKEN_URL = "https://auth.greenhouse.io/token"
CADENCES = ("daily", "weekly")
REGISTRY_FILE = "tenants.json"
REMOVE_WAIT_SECONDS = 600.0  # a run notices a removal at its next stage boundary
_REGISTRY_VERSION = 1


def removal_pending(root: Path, tenant_id: str) -> bool:
    """Whether `tenants remove` marked the tenant and its files still wait to be deleted."""
    return removal_marker(Path(root), tenant_id).exists()


def complete_removal(root: Path, tenant_id: str) -> None:
    """Delete a removed tenant's files, then its marker. The caller holds the tenant's lease."""
    TenantStorage(Path(root), tenant_id).remove()
    removal_marker(Path(root), tenant_id).unlink(missing_ok=True)


class RemovalPending(ConnectError):
    """The tenant is disconnected, but a run still holds its files."""

    def __init__(self, tenant_id: str, cause: RunInProgress) -> None:
        who = f"run {cause.holder.run_id} ({cause.holder.started_by})" if cause.holder else "another process"
        self.holder_text = who
        super().__init__(
            f"tenant {tenant_id} is disconnected: no run will start or publish for it. Its files are "
            f"still held by {who}; they are deleted when that run ends (it stops at its next stage), "
            f"and `connect-pipeline tenants remove {tenant_id}` deletes whatever is left"
        )


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(url: str, *, what: str, example: str, tenant_id: str, trailing_slash: bool) -> None:
    """https with a host (http only for a local test server), optionally ending in '/'."""
    fix = f"include the protocol (https://) and the trailing slash, e.g. {example}" if trailing_slash else f"e.g. {example}"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # raises ValueError on a malformed port
    except ValueError:
        raise ConfigError(f"tenant {tenant_id}: the {what} {url!r} is not a valid URL: {fix}") from None
    if parts.scheme not in ("https", "http") or not host:
        raise ConfigError(f"tenant {tenant_id}: the {what} {url!r} has no protocol or host: {fix}")
    if parts.scheme == "http" and not _is_loopback(host):
        raise ConfigError(
            f"tenant {tenant_id}: the {what} {url!r} uses http://; only https:// is accepted "
            f"(plain http is allowed for 127.0.0.1/localhost test servers only): {fix}"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(
            f"tenant {tenant_id}: the {what} must not carry credentials, a query string or a fragment: {fix}"
        )
    if trailing_slash and not url.endswith("/"):
        raise ConfigError(f"tenant {tenant_id}: the {what} {url!r} does not end with '/': {fix}")


@dataclass(frozen=True)
class TenantConnection:
    tenant_id: str
    greenhouse_url: str  # the web app, for links a recruiter clicks; not the API
    client_id: str
    secret_ref: str  # "env:VAR" or "enc:<token>", never the secret itself
    sub: int | None = None
    cadence: Literal["daily", "weekly"] = "daily"
    api_base_url: str = DEFAULT_API_BASE_URL
    token_url: str = DEFAULT_TOKEN_URL
    include_private: bool = False
    created_at: str = field(default_factory=_now)

    def __post_init__(self) -> None:
        tid = validate_tenant_id(self.tenant_id)
        _check_url(
            self.greenhouse_url,
            what="Greenhouse URL",
            example="https://app.greenhouse.io/",
            tenant_id=tid,
            trailing_slash=True,
        )
        _check_url(
            self.api_base_url,
            what="API base URL",
            example=DEFAULT_API_BASE_URL,
            tenant_id=tid,
            trailing_slash=True,
        )
        _check_url(self.token_url, what="token URL", example=DEFAULT_TOKEN_URL, tenant_id=tid, trailing_slash=False)
        if not self.client_id or not self.client_id.strip() or len(self.client_id) > 256:
            raise ConfigError(f"tenant {tid}: the client id is empty: copy it from the Harvest V3 (OAuth) credential")
        SecretRef(self.secret_ref)  # validates the form without revealing anything
        if self.sub is not None and (isinstance(self.sub, bool) or not isinstance(self.sub, int) or self.sub <= 0):
            raise ConfigError(f"tenant {tid}: sub must be a positive Greenhouse user id, got {self.sub!r}")
        if self.cadence not in CADENCES:
            raise ConfigError(f"tenant {tid}: cadence must be 'daily' or 'weekly', got {self.cadence!r}")

    def __repr__(self) -> str:
        return (
            f"TenantConnection(tenant_id={self.tenant_id!r}, greenhouse_url={self.greenhouse_url!r}, "
            f"client_id={self.client_id!r}, secret={self.secret.describe()}, sub={self.sub!r}, "
            f"cadence={self.cadence!r})"
        )

    @property
    def secret(self) -> SecretRef:
        return SecretRef(self.secret_ref)

    def credential(self) -> Credential:
        """The credential with its secret resolved: call at run time, never store the result."""
        return Credential(
            client_id=self.client_id,
            client_secret=resolve(self.secret, tenant_id=self.tenant_id),
            token_url=self.token_url,
            sub=self.sub,
        )

    def candidate_url(self, candidate_id: int) -> str:
        """The candidate's page in Greenhouse, for a recruiter to click."""
        return candidate_url(self.greenhouse_url, candidate_id)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TenantConnection":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class TenantRegistry:
    """All tenant connections of one data root. Safe against concurrent writers on one host."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.path = self.root / REGISTRY_FILE

    def __repr__(self) -> str:
        return f"TenantRegistry({str(self.path)!r})"

    def list(self) -> list[TenantConnection]:
        return sorted(self._read().values(), key=lambda c: c.tenant_id)

    def get(self, tenant_id: str) -> TenantConnection:
        found = self._read().get(tenant_id)
        if found is None:
            raise TenantNotFound(
                f"tenant {tenant_id!r} is not registered in {self.path}: run `connect-pipeline tenants list` "
                "to see the registered tenants, or `connect-pipeline tenants add` to connect it"
            )
        return found

    def add(self, connection: TenantConnection) -> TenantConnection:
        """Add or replace (same tenant id) a connection.

        An id whose removal did not finish (it timed out waiting for a run, or was killed) has
        its files deleted first, under the tenant's run lease, so a removed tenant's tables,
        watermarks and model never become the new connection's. Files under an id that is merely
        missing from the registry (a registry lost or restored from a backup) are kept: adding
        the tenant again reconnects them.
        """
        tenant_id = connection.tenant_id
        if removal_pending(self.root, tenant_id) and not self.has(tenant_id):
            try:
                self._finish_removal(tenant_id, wait_seconds=REMOVE_WAIT_SECONDS)
            except RemovalPending as exc:
                raise ConnectError(
                    f"tenant {tenant_id} was removed and a run still holds its files: add it again "
                    f"once that run ends ({exc.holder_text})"
                ) from None
        with self._locked():
            tenants = self._read()
            tenants[tenant_id] = connection
            self._write(tenants)
            removal_marker(self.root, tenant_id).unlink(missing_ok=True)  # connected: nothing to finish
        return connection

    def has(self, tenant_id: str) -> bool:
        return tenant_id in self._read()

    def remove(self, tenant_id: str, *, wait_seconds: float = REMOVE_WAIT_SECONDS) -> None:
        """Forget the tenant, then delete every file held for it, for good.

        A removal marker is written, then the registry entry goes: a run in progress checks the
        registry before each stage and before its publish switch, so it stops without publishing.
        The files go once the tenant's run lease is ours, so no run can write them back; a run
        that outlasts the wait deletes them itself as it ends (the marker tells it to), and
        repeating the removal, or adding the id again, finishes it too.
        """
        validate_tenant_id(tenant_id)
        with self._locked():
            tenants = self._read()
            registered = tenants.pop(tenant_id, None) is not None
            if not registered and not TenantStorage(self.root, tenant_id).base.exists():
                self.get(tenant_id)  # raises TenantNotFound with the hint
            # before the entry goes (the folder is made private by the write)
            write_text_atomic(removal_marker(self.root, tenant_id), _now())
            if registered:
                self._write(tenants)
        self._finish_removal(tenant_id, wait_seconds=wait_seconds)

    def _finish_removal(self, tenant_id: str, *, wait_seconds: float) -> None:
        """Delete a removed tenant's files once no run holds it (the marker says it was removed)."""
        holder = LeaseHolder.this_process(f"remove-{os.getpid()}", "tenants remove")
        try:
            with TenantLease(self.root, tenant_id, holder, wait_seconds=wait_seconds):
                complete_removal(self.root, tenant_id)
        except RunInProgress as exc:
            raise RemovalPending(tenant_id, exc) from None

    def _read(self) -> dict[str, TenantConnection]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(raw)
            entries = data["tenants"]
            connections = [TenantConnection.from_dict(entry) for entry in entries]
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"the tenant registry {self.path} is damaged ({type(exc).__name__}): restore it from a "
                "backup or re-add the tenants with `connect-pipeline tenants add`"
            ) from None
        return {c.tenant_id: c for c in connections}

    def _write(self, tenants: dict[str, TenantConnection]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        payload = {
            "version": _REGISTRY_VERSION,
            "tenants": [tenants[k].to_dict() for k in sorted(tenants)],
        }
        write_text_atomic(self.path, json.dumps(payload, indent=2, sort_keys=True) + "\n")

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        lock_path = self.root / ".tenants.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
