"""The Harvest v3 reader: pagination, rate limits, retries and auth, written once.

Every collection in ``collections.py`` is read through ``iter_pages``; nothing else in the
pipeline speaks HTTP to Greenhouse. The rules it enforces come from the v3 reference:

- ``per_page`` and filters go on the first request only; after that the ``Link: rel="next"`` URL
  is followed verbatim (a cursor request with any other parameter is a 422).
- All threads of a credential share one token (``auth.py``) and one request budget
  (``ratelimit.py``); a 429 pauses them all for ``Retry-After``.
- Every retry loop is bounded, every response has a size bound, and no message carries a token,
  a secret or the query string of a signed download URL.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from connect_pipeline.errors import (
    AuthError,
    HarvestError,
    InvalidQuery,
    PermissionDenied,
    RateLimitExhausted,
    TransientError,
)
from connect_pipeline.harvest.auth import Credential, TokenProvider
from connect_pipeline.harvest.collections import BY_NAME, MAX_IDS_PER_REQUEST, PAGE_SIZE
from connect_pipeline.harvest.ratelimit import RateBudget, retry_after_seconds, shared_budget

MAX_PAGE_BYTES = 50 * 1024 * 1024
_ERROR_BODY_BYTES = 64 * 1024
_COLLECTION_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_PERMISSIONS_PAGE = "Greenhouse > Configure > Dev Center > API Credential Management"
DOWNLOAD_STATS_KEY = "download"


def window_filter(since: datetime | None, until: datetime) -> str:
    """A Harvest v3 date filter for an incremental window, closed on both sides.

    Results come newest id first, not in ``updated_at`` order, so an open-ended window could
    shift under a paginating reader; bounding it with ``lte`` keeps each window a fixed set.
    Both bounds are inclusive: a record on the boundary is read twice (harmless, upserted by
    id) rather than never.
    """

    def fmt(moment: datetime) -> str:
        if moment.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware (UTC) datetimes")
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    if since is not None and since > until:
        raise ValueError(f"window starts after it ends: {fmt(since)} > {fmt(until)}")
    upper = f"lte|{fmt(until)}"
    return upper if since is None else f"gte|{fmt(since)}|{upper}"


def safe_url(url: str) -> str:
    """A URL fit for messages: no query string (signed URLs carry credentials there), no userinfo."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else parts.path


class _RedactQueryStrings(logging.Filter):
    """httpx logs every request URL at INFO; a signed download URL carries its signature in the
    query string, so whatever handler the host application attaches sees only scheme, host and path."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(safe_url(str(a)) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


_httpx_logger = logging.getLogger("httpx")
if not any(isinstance(f, _RedactQueryStrings) for f in _httpx_logger.filters):
    _httpx_logger.addFilter(_RedactQueryStrings())


class _Stats:
    FIELDS = ("rows", "requests", "retries", "throttled_429", "seconds")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, float]] = {}

    def add(self, collection: str, **deltas: float) -> None:
        with self._lock:
            entry = self._data.setdefault(collection, {f: 0 for f in self.FIELDS})
            for key, value in deltas.items():
                entry[key] = entry.get(key, 0) + value

    def snapshot(self) -> dict[str, dict[str, float]]:
        with self._lock:
            return {name: dict(values) for name, values in self._data.items()}


class _Retry(Exception):
    """Internal: this attempt failed in a way worth retrying."""

    def __init__(self, reason: str, *, throttled_wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.throttled_wait = throttled_wait


class HarvestClient:
    """Reads Harvest v3 collections for one tenant. Safe to share between threads."""

    def __init__(
        self,
        api_base_url: str,
        credential: Credential,
        *,
        tenant_id: str,
        timeout_s: float = 30.0,
        max_retries: int = 8,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        http: httpx.Client | None = None,
        log: Callable[[str], None] | None = None,
        max_page_bytes: int = MAX_PAGE_BYTES,
    ) -> None:
        if not api_base_url.endswith("/"):
            api_base_url += "/"
        self.api_base_url = api_base_url
        self.credential = credential
        self.tenant_id = tenant_id
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.max_page_bytes = max_page_bytes
        self._owns_http = http is None
        self.http = http or httpx.Client(timeout=timeout_s, follow_redirects=False)
        self._log = log or (lambda message: None)
        self.tokens = TokenProvider(credential, self.http, tenant_id=tenant_id, timeout_s=timeout_s)
        self.budget: RateBudget = shared_budget(api_base_url, credential.client_id)
        self._stats = _Stats()
        base = urlsplit(api_base_url)
        self._origin = (base.scheme, base.hostname, base.port)

    def __repr__(self) -> str:
        return f"HarvestClient(tenant_id={self.tenant_id!r}, api_base_url={self.api_base_url!r})"

    def __enter__(self) -> "HarvestClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    @property
    def stats(self) -> dict[str, dict[str, float]]:
        """Per collection: rows, requests, retries, throttled_429, seconds (a copy)."""
        return self._stats.snapshot()

    # -- reading -------------------------------------------------------------------------------

    def iter_pages(
        self,
        collection: str,
        params: Mapping[str, str] | None = None,
        *,
        per_page: int = PAGE_SIZE,
    ) -> Iterator[list[dict]]:
        """Every page of a collection, following the cursor until Greenhouse stops giving one.

        The collection's ``fixed_params`` (collections.py) are sent unless ``params`` overrides
        them. Pages are yielded as they arrive so a caller can stage them without holding the
        whole collection in memory.
        """
        if not _COLLECTION_RE.match(collection):
            raise ValueError(f"not a Harvest collection name: {collection!r}")
        if not 1 <= per_page <= PAGE_SIZE:
            raise ValueError(f"per_page must be between 1 and {PAGE_SIZE}, got {per_page}")
        query: dict[str, str] = {"per_page": str(per_page)}
        declared = BY_NAME.get(collection)
        if declared is not None:
            query.update(declared.fixed_params)
        for key, value in (params or {}).items():
            if key in ("cursor", "per_page"):
                raise ValueError(f"{key!r} is managed by the client; do not pass it in params")
            query[key] = str(value)

        url: str | None = self.api_base_url + collection
        request_params: dict[str, str] | None = query
        while url is not None:
            started = time.monotonic()
            page, next_url = self._get_page(collection, url, request_params)
            self._stats.add(collection, rows=len(page), seconds=time.monotonic() - started)
            yield page
            url, request_params = next_url, None  # the cursor URL carries everything

    def iter_by_parent_ids(
        self,
        collection: str,
        parent_filter: str,
        ids: Sequence[int],
        params: Mapping[str, str] | None = None,
    ) -> Iterator[list[dict]]:
        """Children of many parents (e.g. applications by candidate_ids), ≤ 50 ids a request."""
        unique = list(dict.fromkeys(int(i) for i in ids))
        for start in range(0, len(unique), MAX_IDS_PER_REQUEST):
            batch = unique[start : start + MAX_IDS_PER_REQUEST]
            batch_params = dict(params or {})
            batch_params[parent_filter] = ",".join(str(i) for i in batch)
            yield from self.iter_pages(collection, batch_params)

    def download(self, url: str, *, max_bytes: int) -> bytes:
        """Fetch a signed attachment URL (no Authorization header: the signature is the auth)."""
        shown = safe_url(url)
        if urlsplit(url).scheme not in ("http", "https"):
            raise HarvestError(
                f"tenant {self.tenant_id}: attachment URL {shown} is not http(s); skipped",
                tenant_id=self.tenant_id,
            )
        retries = throttles = 0
        started = time.monotonic()
        try:
            while True:
                self._stats.add(DOWNLOAD_STATS_KEY, requests=1)
                try:
                    body = self._download_once(url, shown, max_bytes)
                except _Retry as problem:
                    if problem.throttled_wait is not None:
                        throttles += 1
                        self._stats.add(DOWNLOAD_STATS_KEY, throttled_429=1)
                        if throttles > self.max_retries:
                            raise RateLimitExhausted(
                                f"tenant {self.tenant_id}: downloading {shown} was throttled (HTTP 429) "
                                f"{throttles} times: lower the concurrency of the run",
                                status=429,
                                tenant_id=self.tenant_id,
                            ) from None
                        time.sleep(problem.throttled_wait)
                        continue
                    retries += 1
                    self._stats.add(DOWNLOAD_STATS_KEY, retries=1)
                    if retries > self.max_retries:
                        raise TransientError(
                            f"tenant {self.tenant_id}: downloading {shown} failed {retries} times "
                            f"(last: {problem.reason}); the next run retries",
                            tenant_id=self.tenant_id,
                        ) from None
                    self._log(f"harvest {self.tenant_id}: download {shown}: {problem.reason}, retry {retries}")
                    time.sleep(self._backoff(retries))
                    continue
                self._stats.add(DOWNLOAD_STATS_KEY, rows=1)
                return body
        finally:
            self._stats.add(DOWNLOAD_STATS_KEY, seconds=time.monotonic() - started)

    # -- one request ---------------------------------------------------------------------------

    def _get_page(
        self, collection: str, url: str, params: Mapping[str, str] | None
    ) -> tuple[list[dict], str | None]:
        retries = throttles = 0
        refreshed_after_401 = False
        while True:
            token = self.tokens.token()
            self.budget.acquire()
            self._stats.add(collection, requests=1)
            try:
                try:
                    return self._attempt(collection, url, params, token)
                finally:
                    self.budget.release()
            except _Unauthorized:
                if refreshed_after_401:
                    raise AuthError(
                        f"tenant {self.tenant_id}: Greenhouse rejected a freshly minted token while "
                        f"reading {collection} (HTTP 401 twice): the credential was probably revoked "
                        "or another process keeps minting tokens for the same client id; create a new "
                        "Harvest V3 (OAuth) credential and run `connect-pipeline tenants add ...` again",
                        status=401,
                        tenant_id=self.tenant_id,
                    ) from None
                refreshed_after_401 = True
                self.tokens.invalidate(token)
                self._log(f"harvest {self.tenant_id}: {collection} HTTP 401, refreshing the token once")
            except _Retry as problem:
                if problem.throttled_wait is not None:
                    throttles += 1
                    self._stats.add(collection, throttled_429=1)
                    if throttles > self.max_retries:
                        raise RateLimitExhausted(
                            f"tenant {self.tenant_id}: Greenhouse kept answering 429 (rate limit) for "
                            f"{collection}, {throttles} times in a row: lower the concurrency (tenants or "
                            "threads running at once on this credential) or ask Greenhouse for a "
                            "higher Harvest rate limit",
                            status=429,
                            tenant_id=self.tenant_id,
                        ) from None
                    self._log(
                        f"harvest {self.tenant_id}: {collection} HTTP 429, every thread waits "
                        f"{problem.throttled_wait:.1f}s"
                    )
                    continue  # budget.acquire() sleeps out the shared pause
                retries += 1
                self._stats.add(collection, retries=1)
                if retries > self.max_retries:
                    raise TransientError(
                        f"tenant {self.tenant_id}: reading {collection} failed {retries} times in a row "
                        f"(last: {problem.reason}): Greenhouse or the network is unwell; the next run "
                        "retries from the last completed window",
                        tenant_id=self.tenant_id,
                    ) from None
                delay = self._backoff(retries)
                self._log(
                    f"harvest {self.tenant_id}: {collection} {problem.reason}, retry "
                    f"{retries}/{self.max_retries} in {delay:.2f}s"
                )
                time.sleep(delay)

    def _attempt(
        self, collection: str, url: str, params: Mapping[str, str] | None, token: str
    ) -> tuple[list[dict], str | None]:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        sent_at = self.budget.now()
        try:
            with self.http.stream("GET", url, params=params, headers=headers, timeout=self.timeout_s) as response:
                # Send and answer times let the budget learn the server's window (ratelimit.py).
                self.budget.update(response.headers, sent_at=sent_at, received_at=self.budget.now())
                status = response.status_code
                if status == 200:
                    body = self._read_capped(response, self.max_page_bytes, what=f"a page of {collection}")
                    next_url = self._next_url(response, collection)
                else:
                    body = self._read_capped(response, _ERROR_BODY_BYTES, what="an error body", truncate=True)
        except httpx.UnsupportedProtocol:
            raise HarvestError(
                f"tenant {self.tenant_id}: the API base URL {safe_url(self.api_base_url)} is not http(s): "
                "fix --api-base-url with `connect-pipeline tenants add ...`",
                tenant_id=self.tenant_id,
            ) from None
        except httpx.TransportError as exc:
            raise _Retry(type(exc).__name__) from None

        if status == 200:
            try:
                data = json.loads(body)
            except ValueError:
                raise _Retry("HTTP 200 with a body that is not JSON (truncated?)") from None
            if not isinstance(data, list):
                raise HarvestError(
                    f"tenant {self.tenant_id}: Harvest answered {collection} with a JSON "
                    f"{type(data).__name__} where a list of records was expected: check that "
                    f"--api-base-url points at Harvest v3 (…/v3/)",
                    status=200,
                    tenant_id=self.tenant_id,
                )
            if not all(isinstance(record, dict) for record in data):
                raise HarvestError(
                    f"tenant {self.tenant_id}: a page of {collection} holds entries that are not "
                    "JSON objects; the page was not used",
                    status=200,
                    tenant_id=self.tenant_id,
                )
            return data, next_url
        if status == 401:
            raise _Unauthorized()
        if status == 429:
            wait = self.budget.throttled(response.headers, default_wait_s=self._backoff(1))
            raise _Retry("HTTP 429", throttled_wait=wait)
        if status >= 500 or status == 408:
            raise _Retry(f"HTTP {status}")
        message = _server_message(body)
        if status == 403:
            raise self._permission_denied(collection, message)
        if status == 422:
            raise InvalidQuery(
                f"tenant {self.tenant_id}: Harvest rejected the query for {collection} (HTTP 422): "
                f"{message or 'no message'}",
                status=422,
                tenant_id=self.tenant_id,
            )
        if status == 404:
            raise HarvestError(
                f"tenant {self.tenant_id}: {safe_url(url)} does not exist (HTTP 404): check "
                "--api-base-url (Harvest v3 is https://harvest.greenhouse.io/v3/)",
                status=404,
                tenant_id=self.tenant_id,
            )
        raise HarvestError(
            f"tenant {self.tenant_id}: Harvest answered HTTP {status} for {collection}"
            + (f": {message}" if message else ""),
            status=status,
            tenant_id=self.tenant_id,
        )

    def _permission_denied(self, collection: str, message: str) -> PermissionDenied:
        declared = BY_NAME.get(collection)
        lowered = message.lower()
        if "site admin" in lowered or "site_admin" in lowered:
            sub = self.credential.sub
            who = f"user {sub} (the tenant's sub)" if sub is not None else "the credential's own service user (no sub)"
            error = PermissionDenied(
                f"tenant {self.tenant_id}: Greenhouse refused to list {collection} because {who} is not "
                "a Site Admin: make that user a Site Admin in Greenhouse, or run `connect-pipeline "
                f"tenants add {self.tenant_id} ... --sub <id of a Site Admin user>`",
                status=403,
                tenant_id=self.tenant_id,
            )
            error.reason = "site_admin"  # type: ignore[attr-defined]
        elif declared is not None:
            error = PermissionDenied(
                f"tenant {self.tenant_id}: Greenhouse refused to list {collection} (HTTP 403): scope "
                f"{declared.scope} is missing: tick '{declared.permission}' in the credential's "
                f"permissions ({_PERMISSIONS_PAGE}), then run `connect-pipeline tenants verify "
                f"{self.tenant_id}`",
                status=403,
                tenant_id=self.tenant_id,
            )
            error.reason = "scope"  # type: ignore[attr-defined]
        else:
            error = PermissionDenied(
                f"tenant {self.tenant_id}: Greenhouse refused to list {collection} (HTTP 403)"
                + (f": {message}" if message else "")
                + f": grant the credential read access to {collection} ({_PERMISSIONS_PAGE})",
                status=403,
                tenant_id=self.tenant_id,
            )
            error.reason = "other"  # type: ignore[attr-defined]
        error.collection = collection  # type: ignore[attr-defined]
        error.scope = declared.scope if declared else None  # type: ignore[attr-defined]
        return error

    def _next_url(self, response: httpx.Response, collection: str) -> str | None:
        link = response.links.get("next")
        if not link or not link.get("url"):
            return None
        next_url = urljoin(str(response.request.url), link["url"])
        parts = urlsplit(next_url)
        if (parts.scheme, parts.hostname, parts.port) != self._origin:
            # Following it would hand our bearer token to another host.
            raise HarvestError(
                f"tenant {self.tenant_id}: the next-page link of {collection} points to another "
                f"host ({safe_url(next_url)}); refusing to send the token there",
                tenant_id=self.tenant_id,
            )
        return next_url

    def _read_capped(self, response: httpx.Response, limit: int, *, what: str, truncate: bool = False) -> bytes:
        declared = response.headers.get("content-length")
        if not truncate and declared and declared.isdigit() and int(declared) > limit:
            raise self._too_large(what, limit)
        deadline = time.monotonic() + max(self.timeout_s * 4, 60.0)
        buffer = bytearray()
        for chunk in response.iter_bytes():
            buffer += chunk
            if len(buffer) > limit:
                if truncate:
                    return bytes(buffer[:limit])
                raise self._too_large(what, limit)
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout("response body took too long")
        return bytes(buffer)

    def _too_large(self, what: str, limit: int) -> HarvestError:
        return HarvestError(
            f"tenant {self.tenant_id}: {what} is larger than {limit // (1024 * 1024) or limit} "
            f"{'MB' if limit >= 1024 * 1024 else 'bytes'}; refusing to read it (lower per_page)",
            tenant_id=self.tenant_id,
        )

    def _download_once(self, url: str, shown: str, max_bytes: int) -> bytes:
        try:
            with self.http.stream("GET", url, timeout=self.timeout_s, follow_redirects=True) as response:
                status = response.status_code
                if status == 200:
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise self._file_too_large(shown, max_bytes)
                    buffer = bytearray()
                    deadline = time.monotonic() + max(self.timeout_s * 4, 60.0)
                    for chunk in response.iter_bytes():
                        buffer += chunk
                        if len(buffer) > max_bytes:
                            raise self._file_too_large(shown, max_bytes)
                        if time.monotonic() > deadline:
                            raise httpx.ReadTimeout("download took too long")
                    return bytes(buffer)
                headers = response.headers
        except httpx.UnsupportedProtocol:
            raise HarvestError(f"tenant {self.tenant_id}: {shown} is not http(s); skipped", tenant_id=self.tenant_id) from None
        except httpx.TransportError as exc:
            raise _Retry(type(exc).__name__) from None
        if status == 429:
            wait = retry_after_seconds(headers, time.time())
            raise _Retry("HTTP 429", throttled_wait=min(wait if wait is not None else self._backoff(1), 120.0))
        if status >= 500 or status == 408:
            raise _Retry(f"HTTP {status}")
        raise HarvestError(
            f"tenant {self.tenant_id}: downloading attachment {shown} answered HTTP {status}: signed "
            "attachment URLs expire, so list the attachments again in this run and download right away",
            status=status,
            tenant_id=self.tenant_id,
        )

    def _file_too_large(self, shown: str, max_bytes: int) -> HarvestError:
        return HarvestError(
            f"tenant {self.tenant_id}: attachment {shown} is larger than {max_bytes} bytes; skipped "
            "(raise the download size limit if such files are expected)",
            tenant_id=self.tenant_id,
        )

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter so retrying threads do not stampede together."""
        ceiling = min(self.backoff_cap_s, self.backoff_base_s * 2 ** max(0, attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


class _Unauthorized(Exception):
    """Internal: HTTP 401 on an API request."""


def _server_message(body: bytes) -> str:
    """The server's ``message`` (and ``errors``) from an error body, trimmed for a message."""
    text = body.decode("utf-8", errors="replace")
    try:
        data: Any = json.loads(text)
    except ValueError:
        return text.strip()[:300]
    if isinstance(data, dict):
        parts = []
        if data.get("message"):
            parts.append(str(data["message"]))
        errors = data.get("errors")
        if errors:
            parts.append(json.dumps(errors, ensure_ascii=False) if not isinstance(errors, str) else errors)
        if not parts and data.get("error"):
            parts.append(str(data["error"]))
        return " ".join(parts)[:500]
    return text.strip()[:300]
