"""The local Greenhouse: a Harvest v3-compatible server on loopback, for the demo and the tests.

It serves one world (every tenant under ``<world>/greenhouse/``) with the behaviours a client
must cope with against the real service: one live token per credential, scopes, Site Admin
checks, strict query validation, newest-first cursor pagination, a per-credential rate limit,
signed expiring attachment links and, on request, seeded faults.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from .app import HarvestApp
from .auth import TokenAuthority
from .faults import FaultDice, FaultPlan
from .handler import HarvestHTTPServer
from .query import SERVED_COLLECTIONS
from .ratelimit import FixedWindowLimiter
from .stats import Stats
from .store import TenantData, load_account

__all__ = ["FaultPlan", "LocalGreenhouse"]


class LocalGreenhouse:
    """Run as a context manager (``with LocalGreenhouse(world).start() as gh``) or start/stop.

    ``expires_field`` picks how token expiry is announced: ``expires_in`` (seconds),
    ``expires_at`` (ISO 8601) or ``expires_at_epoch`` (``expires_at`` as epoch seconds), since
    clients are reported to see both. ``max_download_bytes`` refuses (413) files larger than it.
    ``link_rel`` is the next-page Link header's relation as written ("next"; another server may
    write "Next" or "next last", which RFC 8288 allows); ``link_base_url`` the base it writes
    into that link (its own by default; a server behind a proxy may name another host).
    ``clock`` drives token lifetimes, the rate window and signed links, so a test can move time
    instead of waiting for it.
    """

    def __init__(
        self,
        world_dir: Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: int = 300,
        window_seconds: float = 30.0,
        token_ttl_seconds: int = 3600,
        faults: FaultPlan | None = None,
        expires_field: str = "expires_in",
        max_download_bytes: int | None = None,
        link_rel: str = "next",
        link_base_url: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host = host
        self._port = port
        self._authority = TokenAuthority(token_ttl_seconds, clock=clock)
        self._stats = Stats()
        self._http: HarvestHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._app = HarvestApp(
            authority=self._authority,
            limiter=FixedWindowLimiter(rate_limit, window_seconds, clock=clock),
            dice=FaultDice(faults),
            download_dice=FaultDice(faults, stream="downloads"),
            stats=self._stats,
            base_url=lambda: self.base_url,
            expires_field=expires_field,
            max_download_bytes=max_download_bytes,
            link_rel=link_rel,
            link_base_url=(lambda: link_base_url) if link_base_url else None,
            clock=clock,
        )
        if world_dir is not None:
            root = Path(world_dir) / "greenhouse"
            if not root.is_dir():
                raise FileNotFoundError(f"{root} does not exist: is {world_dir} a world directory?")
            for account_dir in sorted(p for p in root.iterdir() if p.is_dir()):
                self.load_tenant(account_dir.name, account_dir)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> "LocalGreenhouse":
        if self._http is not None:
            return self
        self._http = HarvestHTTPServer((self.host, self._port), self._app)
        self._port = self._http.server_address[1]
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            # how long ``stop`` waits for the loop to notice; tests start and stop hundreds
            kwargs={"poll_interval": 0.02},
            name=f"local-greenhouse-{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        http, self._http = self._http, None
        if http is None:
            return
        http.stopping.set()
        http.shutdown()
        http.close_connections()
        http.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "LocalGreenhouse":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def rate_limit(self) -> int:
        """Requests per window per credential. Settable while serving, as Greenhouse raising a
        credential's limit would be: a test can slow one reader down and let the next read at
        full speed."""
        return self._app.limiter.limit

    @rate_limit.setter
    def rate_limit(self, value: int) -> None:
        self._app.limiter.set_limit(value)

    @property
    def port(self) -> int:
        if self._port == 0:
            raise RuntimeError("the local Greenhouse has no port until start() binds one")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base_url(self) -> str:
        return self.base_url + "/v3/"

    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    @property
    def introspect_url(self) -> str:
        return self.base_url + "/introspect"

    # -- data and credentials -----------------------------------------------------------------

    def load_tenant(self, tenant_id: str, account_dir: Path) -> None:
        """Load (or reload) one <world>/greenhouse/<tenant> folder and its credentials."""
        data = load_account(tenant_id, Path(account_dir))
        with self._app.tenants_lock:
            self._app.tenants[tenant_id] = data
        for credential in data.account.get("credentials", []):
            self.add_credential(
                tenant_id, credential["client_id"], credential["client_secret"], credential["scopes"]
            )

    def add_credential(
        self, tenant_id: str, client_id: str, client_secret: str, scopes: Iterable[str]
    ) -> None:
        """Register a credential; a tenant not loaded yet starts empty."""
        with self._app.tenants_lock:
            self._app.tenants.setdefault(tenant_id, TenantData(tenant_id, None))
        self._authority.add_credential(tenant_id, client_id, client_secret, scopes)

    def revoke_credential(self, client_id: str) -> None:
        self._authority.revoke_credential(client_id)

    def upsert(self, tenant_id: str, collection: str, record: dict) -> None:
        """Insert or replace a record; ``updated_at`` becomes now unless the record carries one."""
        self._tenant(tenant_id, collection).upsert(collection, record)

    def delete(self, tenant_id: str, collection: str, record_id: int) -> None:
        """Remove a record with no tombstone (a deleted candidate takes its children with it)."""
        self._tenant(tenant_id, collection).delete(collection, record_id)

    def anonymise(self, tenant_id: str, candidate_id: int) -> None:
        self._tenant(tenant_id, "candidates").anonymise(candidate_id)

    def set_user_site_admin(self, tenant_id: str, user_id: int, value: bool) -> None:
        self._tenant(tenant_id, "users").set_user_site_admin(user_id, value)

    def records(self, tenant_id: str, collection: str) -> list[dict]:
        """Everything stored, newest id first, internal keys included: for test assertions."""
        data = self._tenant(tenant_id, collection)
        with data.lock:
            table = data.tables[collection]
            return [table.records[i] for i in sorted(table.records, reverse=True)]

    def file_url(self, tenant_id: str, attachment_id: int, expires: int | None = None) -> str:
        """A signed download link as /v3/attachments would hand out (``expires`` in epoch s)."""
        return self._app.file_url(tenant_id, attachment_id, expires)

    @property
    def file_url_ttl_seconds(self) -> float:
        return self._app.file_url_ttl_seconds

    @file_url_ttl_seconds.setter
    def file_url_ttl_seconds(self, value: float) -> None:
        self._app.file_url_ttl_seconds = value

    # -- stats -----------------------------------------------------------------------------

    @property
    def stats(self) -> dict[str, dict]:
        """A snapshot: {tenant: {requests, by_collection, status_counts, downloads,
        tokens_minted, faults}}; every loaded tenant is present, zeros included."""
        with self._app.tenants_lock:
            tenants = list(self._app.tenants)
        seen = self._stats.snapshot()
        return {t: self._stats.for_tenant(t) for t in dict.fromkeys([*tenants, *seen])}

    def reset_stats(self) -> None:
        self._stats.reset()

    def _tenant(self, tenant_id: str, collection: str) -> TenantData:
        if collection not in SERVED_COLLECTIONS:
            raise KeyError(f"unknown collection {collection!r}")
        data = self._app.tenant(tenant_id)
        if data is None:
            raise KeyError(f"tenant {tenant_id!r} is not loaded")
        return data
