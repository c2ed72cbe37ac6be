"""The Harvest v3 reader: pagination, rate limits, retries, auth and downloads, written once.

Every collection in ``collections.py`` is read through ``iter_pages``; nothing else in the
pipeline speaks HTTP to Greenhouse. The rules it enforces come from the v3 reference:

- ``per_page`` and filters go on the first request only; after that the ``Link: rel="next"`` URL
  is followed verbatim (a cursor request with any other parameter is a 422).
- All threads of a credential share one token (``auth.py``) and one request budget
  (``ratelimit.py``), both held by a ``HarvestSession``; a 429 pauses them all for ``Retry-After``.
- Page reads and attachment downloads go through one send path (``_send``): bounded jittered
  retries on 5xx, timeouts and resets, 429 with Retry-After, one token refresh after a 401, one
  size-capped body reader. Downloads differ only in what the path is told: no token and no rate
  budget (a signed link is not a Harvest request), short timeouts (a resume is small), redirects
  followed, and a hedged second attempt when the first is slow.
- Requests go to the transport directly, not through ``httpx.Client.send``, because the client
  logs every URL at INFO and a signed download link is a credential in its path as much as in its
  query string; httpcore's DEBUG records of response headers (redirect targets, cursors) are
  dropped by a filter each client installs once. Messages name the tenant, the collection or the
  attachment and candidate ids, never a URL, a token or a secret.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

import httpx

from connect_pipeline.errors import (
    AttachmentTooLarge,
    AuthError,
    DownloadFailed,
    HarvestError,
    InvalidQuery,
    PermissionDenied,
    RateLimitExhausted,
    ResponseTooLarge,
    TransientError,
)
from connect_pipeline.harvest.auth import Credential, TokenProvider
from connect_pipeline.harvest.collections import BY_NAME, MAX_IDS_PER_REQUEST, PAGE_SIZE
from connect_pipeline.harvest.ratelimit import RateBudget, retry_after_seconds
from connect_pipeline.harvest.session import DEFAULT_SESSION, HarvestSession

MAX_PAGE_BYTES = 50 * 1024 * 1024
_ERROR_BODY_BYTES = 64 * 1024
_COLLECTION_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_PERMISSIONS_PAGE = "Greenhouse > Configure > Dev Center > API Credential Management"
_MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)
_MAX_DOWNLOAD_WAIT_S = 120.0  # no Retry-After from a file host parks a download longer
_BODY_DEADLINE_MIN_S = 60.0  # a body may trickle this long before the attempt is abandoned
DOWNLOAD_STATS_KEY = "download"
DEFAULT_DOWNLOAD_THREADS = 12


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
    """A configured endpoint (token, introspection) fit for a report: no query string, no
    userinfo. Not for download links: their path can be the signature."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else parts.path


log = logging.getLogger(__name__)
"""Retries, throttling and token refreshes, as warnings: each names the tenant and what was read
("candidates", "attachment 7 of candidate 3"), never a URL, a token or a secret."""


class _NoResponseHeaders(logging.Filter):
    """httpcore's DEBUG trace prints every response's headers: a redirect's ``Location`` is a
    signed download link and a ``Link`` header carries a cursor. Those records are dropped; the
    rest of the trace names only hosts, ports and methods."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("receive_response_headers.complete")


_HEADER_LOGGERS = ("httpcore.http11", "httpcore.http2")
_HEADER_FILTER_LOCK = threading.Lock()


def _keep_response_headers_out_of_logs() -> None:
    """Idempotent; called by every client, so importing this module changes no logging."""
    with _HEADER_FILTER_LOCK:
        for name in _HEADER_LOGGERS:
            logger = logging.getLogger(name)
            if not any(isinstance(f, _NoResponseHeaders) for f in logger.filters):
                logger.addFilter(_NoResponseHeaders())


class _Stats:
    FIELDS = ("rows", "requests", "retries", "throttled_429", "hedged", "seconds")

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


class _Latencies:
    """Recent answer times of one kind of request, for timeouts that fit what the server does.

    A fixed read timeout must cover the slowest page Greenhouse may legitimately take, so every
    hung request costs that much; one derived from what this run has seen costs a small multiple
    of a normal answer instead, and a slow server simply raises it.
    """

    def __init__(self, size: int = 64) -> None:
        self._lock = threading.Lock()
        self._seconds: deque[float] = deque(maxlen=size)

    def add(self, seconds: float) -> None:
        with self._lock:
            self._seconds.append(seconds)

    def quantile(self, q: float) -> float | None:
        with self._lock:
            if not self._seconds:
                return None
            ordered = sorted(self._seconds)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(frozen=True)
class _Call:
    """One logical request for ``_send``: what to fetch and how to talk about it."""

    what: str  # "candidates", "attachment 7 of candidate 3": for logs and messages
    stats_key: str
    url: str
    params: Mapping[str, str] | None
    max_bytes: int
    api: bool  # a Harvest request: bearer token, shared budget, 401 refresh; else a signed link


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: httpx.Headers
    body: bytes
    url: str  # after redirects: relative next links resolve against it
    data: Any = None  # an API 200's JSON


class _Retry(Exception):
    """Internal: this attempt failed in a way worth retrying."""

    def __init__(self, reason: str, *, throttled_wait: float | None = None, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.throttled_wait = throttled_wait
        self.timed_out = timed_out


class _Unauthorized(Exception):
    """Internal: HTTP 401 on an API request made with ``token``."""

    def __init__(self, token: str) -> None:
        super().__init__("HTTP 401")
        self.token = token


class _Exhausted(Exception):
    """Internal: the retry budget of one call is spent; the caller raises its typed error."""

    def __init__(self, throttled: bool, attempts: int, last: str) -> None:
        super().__init__(last)
        self.throttled = throttled
        self.attempts = attempts
        self.last = last


class _TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


class _NotHttp(Exception):
    """Internal: the URL's scheme is not one the transport speaks."""


class HarvestClient:
    """Reads Harvest v3 collections and downloads attachments for one tenant. Thread-safe.

    ``session`` holds the credential's token and rate budget; by default the process-wide one,
    so every client of a credential shares them. ``timeout_s`` bounds any single wait on the
    API; a page read's read timeout adapts below it (four times the slowest recent answer, at
    least ``page_read_timeout_floor_s``) so a hung request costs seconds, and doubles on each
    timeout of the same request so a slow server still gets its pages. Downloads have their own,
    shorter timeouts, run up to ``download_threads`` at a time (``download_threads`` is what
    callers should size their pools by) and start a second attempt when the first has not
    finished after ``download_hedge_after_s`` (or three times the recent 90th percentile, if
    longer), taking whichever answers first.
    """

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
        session: HarvestSession | None = None,
        transport: httpx.BaseTransport | None = None,
        max_page_bytes: int = MAX_PAGE_BYTES,
        page_read_timeout_floor_s: float = 3.0,
        download_connect_timeout_s: float = 3.0,
        download_read_timeout_s: float = 5.0,
        download_hedge_after_s: float = 1.0,
        download_threads: int = DEFAULT_DOWNLOAD_THREADS,
    ) -> None:
        if not api_base_url.endswith("/"):
            api_base_url += "/"
        if download_threads < 1:
            raise ValueError(f"download_threads must be at least 1, got {download_threads}")
        self.api_base_url = api_base_url
        self.credential = credential
        self.tenant_id = tenant_id
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.max_page_bytes = max_page_bytes
        self.page_read_timeout_floor_s = page_read_timeout_floor_s
        self.download_connect_timeout_s = download_connect_timeout_s
        self.download_read_timeout_s = download_read_timeout_s
        self.download_hedge_after_s = download_hedge_after_s
        self.download_threads = download_threads
        self.session = session or DEFAULT_SESSION
        _keep_response_headers_out_of_logs()
        self._owns_transport = transport is None
        # Room for every download thread's two attempts next to the API's requests.
        self._transport = transport or httpx.HTTPTransport(
            limits=httpx.Limits(max_connections=4 * download_threads + 16, max_keepalive_connections=2 * download_threads + 8)
        )
        # Only for the token and introspection endpoints, whose URLs carry nothing secret.
        self.http = httpx.Client(transport=self._transport, timeout=timeout_s, follow_redirects=False)
        self.tokens = TokenProvider(credential, self.http, tenant_id=tenant_id, timeout_s=timeout_s, session=self.session)
        self.budget: RateBudget = self.session.budget(api_base_url, credential.client_id)
        self._stats = _Stats()
        self._page_latency = _Latencies()
        self._download_latency = _Latencies()
        self._hedge_lock = threading.Lock()
        self._hedge_executor: ThreadPoolExecutor | None = None
        self._closed = False  # a download started after close() would write after the run's purge
        self._base = urlsplit(api_base_url)
        self._origin = _origin_of(self._base)

    def __repr__(self) -> str:
        return f"HarvestClient(tenant_id={self.tenant_id!r}, api_base_url={self.api_base_url!r})"

    def __enter__(self) -> "HarvestClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._hedge_lock:
            self._closed = True
            executor, self._hedge_executor = self._hedge_executor, None
        if executor is not None:
            # A losing hedge may still wait on its read timeout; nobody needs its answer.
            executor.shutdown(wait=False, cancel_futures=True)
        if self._owns_transport:
            self.http.close()  # closes the transport too

    @property
    def stats(self) -> dict[str, dict[str, float]]:
        """Per collection (and ``download``): rows, requests, retries, throttled_429, hedged,
        seconds (a copy)."""
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

    def download(
        self, url: str, *, attachment_id: int, candidate_id: int | None = None, max_bytes: int
    ) -> bytes:
        """Fetch an attachment from its signed link (no Authorization header: the link is the auth).

        Raises ``DownloadFailed`` (``AttachmentTooLarge`` for the size cap) with a ``reason``
        slug; the ids name the file in messages and logs, since the link itself must not appear.
        """
        owner = f" of candidate {candidate_id}" if candidate_id is not None else ""
        call = _Call(f"attachment {attachment_id}{owner}", DOWNLOAD_STATS_KEY, url, None, max_bytes, api=False)

        def failed(reason: str, cause_and_fix: str, status: int | None = None) -> DownloadFailed:
            return DownloadFailed(
                f"tenant {self.tenant_id}: {call.what}: {cause_and_fix}",
                reason=reason,
                attachment_id=attachment_id,
                candidate_id=candidate_id,
                status=status,
                tenant_id=self.tenant_id,
            )

        if self._closed:
            raise failed("closed", "the client was closed (its run ended or failed), so it was not fetched")
        if urlsplit(url).scheme not in ("http", "https"):
            raise failed("not_http", "the download link is not http(s), so it was skipped; Greenhouse hands out https links")
        started = time.monotonic()
        try:
            answer = self._send(call)
        except _TooLarge as exc:
            raise AttachmentTooLarge(
                f"tenant {self.tenant_id}: {call.what} is larger than {exc.limit} bytes, so it was skipped: "
                "raise the download size limit if such files are expected",
                limit=exc.limit,
                attachment_id=attachment_id,
                candidate_id=candidate_id,
                tenant_id=self.tenant_id,
            ) from None
        except _NotHttp:
            raise failed("not_http", "the download link is not http(s), so it was skipped") from None
        except _Exhausted as exc:
            if exc.throttled:
                raise failed(
                    "throttled",
                    f"the file host answered 429 (slow down) {exc.attempts} times, so it was skipped: "
                    "lower the number of download threads",
                    status=429,
                ) from None
            raise failed(
                "unavailable",
                f"the download failed {exc.attempts} times (last: {exc.last}), so it was skipped: the file "
                "host or the network is unwell; the next full extract downloads it again",
            ) from None
        finally:
            self._stats.add(DOWNLOAD_STATS_KEY, seconds=time.monotonic() - started)
        if answer.status == 200:
            self._stats.add(DOWNLOAD_STATS_KEY, rows=1)
            return answer.body
        expired = "signed attachment links expire: list the attachments again in this run and download right away"
        if answer.status in (401, 403):
            raise failed("expired", f"the download link was refused (HTTP {answer.status}); {expired}", answer.status)
        if answer.status in (404, 410):
            raise failed("not_found", f"the file is gone (HTTP {answer.status}); it was deleted since it was listed", answer.status)
        raise failed("refused", f"the file host answered HTTP {answer.status}; {expired}", answer.status)

    # -- the send path -------------------------------------------------------------------------

    def _send(self, call: _Call) -> _Answer:
        """The first answer that is not worth retrying (a 2xx, 3xx or 4xx other than 401/408/429).

        Bounded: at most ``max_retries`` retries for 5xx, 408, timeouts and resets, as many
        429s, and one token refresh after a 401. Raises ``_Exhausted`` when a budget is spent,
        ``_TooLarge`` and ``_NotHttp`` at once, ``AuthError`` on a second 401.
        """
        retries = throttles = timeouts = 0
        refreshed_after_401 = False
        while True:
            try:
                if call.api:
                    return self._api_attempt(call, timeouts)
                return self._hedged_download(call, timeouts)
            except _Unauthorized as problem:
                if refreshed_after_401:
                    raise AuthError(
                        f"tenant {self.tenant_id}: Greenhouse rejected a freshly minted token while "
                        f"reading {call.what} (HTTP 401 twice): the credential was probably revoked "
                        "or another process keeps minting tokens for the same client id; create a new "
                        "Harvest V3 (OAuth) credential and run `connect-pipeline tenants add ...` again",
                        status=401,
                        tenant_id=self.tenant_id,
                    ) from None
                refreshed_after_401 = True
                self.tokens.invalidate(problem.token)
                log.warning("harvest %s: %s HTTP 401, refreshing the token once", self.tenant_id, call.what)
            except _Retry as problem:
                if problem.throttled_wait is not None:
                    throttles += 1
                    self._stats.add(call.stats_key, throttled_429=1)
                    if throttles > self.max_retries:
                        raise _Exhausted(True, throttles, problem.reason) from None
                    log.warning(
                        "harvest %s: %s HTTP 429, %s %.1fs", self.tenant_id, call.what,
                        "every thread waits" if call.api else "waiting", problem.throttled_wait,
                    )
                    if not call.api:
                        self.session.sleep(problem.throttled_wait)
                    continue  # an API request: budget.acquire() sleeps out the shared pause
                retries += 1
                timeouts += problem.timed_out
                self._stats.add(call.stats_key, retries=1)
                if retries > self.max_retries:
                    raise _Exhausted(False, retries, problem.reason) from None
                delay = self._backoff(retries)
                log.warning(
                    "harvest %s: %s %s, retry %d/%d in %.2fs",
                    self.tenant_id, call.what, problem.reason, retries, self.max_retries, delay,
                )
                self.session.sleep(delay)

    def _api_attempt(self, call: _Call, timeouts: int) -> _Answer:
        token = self.tokens.token()
        self.budget.acquire()
        self._stats.add(call.stats_key, requests=1)
        sent_at = self.budget.now()

        def learn(headers: httpx.Headers) -> None:
            # Send and answer times let the budget learn the server's window (ratelimit.py).
            self.budget.update(headers, sent_at=sent_at, received_at=self.budget.now())

        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        read = self._read_timeout(self._page_latency, 4.0, self.page_read_timeout_floor_s, timeouts)
        timeout = httpx.Timeout(self.timeout_s, connect=min(self.timeout_s, 5.0), read=read)
        started = time.monotonic()
        try:
            answer = self._exchange(call, headers, timeout, on_headers=learn)
        finally:
            self.budget.release()
        self._page_latency.add(time.monotonic() - started)
        if answer.status == 401:
            raise _Unauthorized(token)
        if answer.status == 429:
            wait_s = self.budget.throttled(answer.headers, default_wait_s=self._backoff(1))
            raise _Retry("HTTP 429", throttled_wait=wait_s)
        _raise_if_retryable(answer)
        if answer.status == 200:
            data = _json_or_none(answer.body)
            if data is None:
                raise _Retry("HTTP 200 with a body that is not JSON (truncated?)")
            return replace(answer, data=data)
        return answer

    def _download_attempt(self, call: _Call, timeouts: int) -> _Answer:
        self._stats.add(call.stats_key, requests=1)
        read = min(self.timeout_s, self.download_read_timeout_s * 2**timeouts)
        timeout = httpx.Timeout(self.timeout_s, connect=min(self.timeout_s, self.download_connect_timeout_s), read=read)
        started = time.monotonic()
        answer = self._exchange(call, {"Accept": "*/*"}, timeout, follow_redirects=True)
        if answer.status == 429:
            wait_s = retry_after_seconds(answer.headers, self.session.clock())
            raise _Retry("HTTP 429", throttled_wait=min(wait_s if wait_s is not None else self._backoff(1), _MAX_DOWNLOAD_WAIT_S))
        _raise_if_retryable(answer)
        if answer.status == 200:
            self._download_latency.add(time.monotonic() - started)
        return answer

    def _hedged_download(self, call: _Call, timeouts: int) -> _Answer:
        """One download attempt, plus a second one if the first is slow; the first answer wins.

        A hung transfer otherwise holds a download thread for the whole read timeout; the hedge
        costs one extra request for the few that are slow. The loser runs on until its own
        timeout in the background and its answer is dropped.
        """
        executor = self._hedges()
        first = executor.submit(self._download_attempt, call, timeouts)
        done, _ = wait([first], timeout=self._hedge_delay())
        if done:
            return first.result()
        self._stats.add(call.stats_key, hedged=1)
        pending: set[Future[_Answer]] = {first, executor.submit(self._download_attempt, call, timeouts)}
        last: _Retry | None = None
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                try:
                    return future.result()
                except _Retry as problem:  # the other attempt may still succeed
                    last = problem
        assert last is not None
        raise last

    def _exchange(
        self,
        call: _Call,
        headers: Mapping[str, str],
        timeout: httpx.Timeout,
        *,
        on_headers: Callable[[httpx.Headers], None] | None = None,
        follow_redirects: bool = False,
    ) -> _Answer:
        """One request (and its redirects), straight to the transport so no URL reaches a log."""
        extensions = {"timeout": timeout.as_dict()}
        request = httpx.Request("GET", call.url, params=call.params, headers=headers, extensions=extensions)
        for _hop in range(_MAX_REDIRECTS + 1):
            try:
                response = self._transport.handle_request(request)
            except httpx.UnsupportedProtocol:
                raise _NotHttp() from None
            except httpx.TransportError as exc:
                raise _Retry(type(exc).__name__, timed_out=isinstance(exc, httpx.TimeoutException)) from None
            try:
                if on_headers is not None:
                    on_headers(response.headers)
                status = response.status_code
                location = response.headers.get("location")
                if follow_redirects and status in _REDIRECTS and location:
                    request = httpx.Request("GET", urljoin(str(request.url), location), headers=headers, extensions=extensions)
                    continue
                ok = 200 <= status < 300
                body = self._read_capped(
                    response, call.max_bytes if ok else _ERROR_BODY_BYTES, timeout, truncate=not ok
                )
                return _Answer(status, response.headers, body, str(request.url))
            except httpx.TransportError as exc:
                raise _Retry(type(exc).__name__, timed_out=isinstance(exc, httpx.TimeoutException)) from None
            finally:
                response.close()
        return _Answer(status, response.headers, b"", str(request.url))  # too many redirects

    def _read_capped(self, response: httpx.Response, limit: int, timeout: httpx.Timeout, *, truncate: bool) -> bytes:
        """The body, at most ``limit`` bytes (error bodies are cut there, others refused), within
        a deadline: a server that trickles a byte a second never trips the read timeout."""
        declared = response.headers.get("content-length")
        if not truncate and declared and declared.isdigit() and int(declared) > limit:
            raise _TooLarge(limit)
        deadline = time.monotonic() + max((timeout.read or self.timeout_s) * 4, _BODY_DEADLINE_MIN_S)
        buffer = bytearray()
        for chunk in response.iter_bytes():
            buffer += chunk
            if len(buffer) > limit:
                if truncate:
                    return bytes(buffer[:limit])
                raise _TooLarge(limit)
            if time.monotonic() > deadline:
                raise _Retry("the body took too long", timed_out=True)
        return bytes(buffer)

    def _read_timeout(self, latencies: _Latencies, multiple: float, floor: float, timeouts: int) -> float:
        """``multiple`` × the slowest recent answer, within [floor, timeout_s], doubled per timeout."""
        slowest = latencies.quantile(1.0)
        base = self.timeout_s if slowest is None else max(floor, multiple * slowest)
        return min(self.timeout_s, base * 2**timeouts)

    def _hedge_delay(self) -> float:
        p90 = self._download_latency.quantile(0.9)
        delay = self.download_hedge_after_s if p90 is None else max(self.download_hedge_after_s, 3 * p90)
        return min(delay, self.download_read_timeout_s)

    def _hedges(self) -> ThreadPoolExecutor:
        with self._hedge_lock:
            if self._closed:
                raise RuntimeError("the Harvest client is closed: no download starts after its run ended")
            if self._hedge_executor is None:
                # Each download thread runs up to two attempts; a few more absorb losers still
                # waiting out their read timeout.
                self._hedge_executor = ThreadPoolExecutor(
                    max_workers=3 * self.download_threads + 2, thread_name_prefix="harvest-download"
                )
            return self._hedge_executor

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter so retrying threads do not stampede together."""
        ceiling = min(self.backoff_cap_s, self.backoff_base_s * 2 ** max(0, attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    # -- one page ------------------------------------------------------------------------------

    def _get_page(
        self, collection: str, url: str, params: Mapping[str, str] | None
    ) -> tuple[list[dict], str | None]:
        call = _Call(collection, collection, url, params, self.max_page_bytes, api=True)
        try:
            answer = self._send(call)
        except _TooLarge as exc:
            raise ResponseTooLarge(
                f"tenant {self.tenant_id}: a page of {collection} is larger than "
                f"{exc.limit // (1024 * 1024) or exc.limit} {'MB' if exc.limit >= 1024 * 1024 else 'bytes'}; "
                "refusing to read it: lower per_page",
                limit=exc.limit,
                tenant_id=self.tenant_id,
            ) from None
        except _NotHttp:
            raise HarvestError(
                f"tenant {self.tenant_id}: the API base URL is not http(s): fix --api-base-url with "
                "`connect-pipeline tenants add ...` (Harvest v3 is https://harvest.greenhouse.io/v3/)",
                tenant_id=self.tenant_id,
            ) from None
        except _Exhausted as exc:
            if exc.throttled:
                raise RateLimitExhausted(
                    f"tenant {self.tenant_id}: Greenhouse kept answering 429 (rate limit) for "
                    f"{collection}, {exc.attempts} times in a row: lower the concurrency (tenants or "
                    "threads running at once on this credential) or ask Greenhouse for a "
                    "higher Harvest rate limit",
                    status=429,
                    tenant_id=self.tenant_id,
                ) from None
            raise TransientError(
                f"tenant {self.tenant_id}: reading {collection} failed {exc.attempts} times in a row "
                f"(last: {exc.last}): Greenhouse or the network is unwell; the next run "
                "retries from the last completed window",
                tenant_id=self.tenant_id,
            ) from None
        if answer.status != 200:
            raise self._refusal(collection, answer)
        return self._records(collection, answer.data), self._next_url(answer)

    def _records(self, collection: str, data: Any) -> list[dict]:
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
        return data

    def _refusal(self, collection: str, answer: _Answer) -> HarvestError:
        status = answer.status
        message = _server_message(answer.body)
        if status == 403:
            return self._permission_denied(collection, message)
        if status == 422:
            return InvalidQuery(
                f"tenant {self.tenant_id}: Harvest rejected the query for {collection} (HTTP 422): "
                f"{message or 'no message'}",
                status=422,
                tenant_id=self.tenant_id,
            )
        if status == 404:
            return HarvestError(
                f"tenant {self.tenant_id}: Harvest has no {collection} listing at the configured API "
                "base URL (HTTP 404): check --api-base-url (Harvest v3 is https://harvest.greenhouse.io/v3/)",
                status=404,
                tenant_id=self.tenant_id,
            )
        return HarvestError(
            f"tenant {self.tenant_id}: Harvest answered HTTP {status} for {collection}"
            + (f": {message}" if message else "")
            + ": check --api-base-url, or retry later if Greenhouse reports an incident",
            status=status,
            tenant_id=self.tenant_id,
        )

    def _permission_denied(self, collection: str, message: str) -> PermissionDenied:
        declared = BY_NAME.get(collection)
        scope = declared.scope if declared else None
        permission = declared.permission if declared else None
        lowered = message.lower()
        if "site admin" in lowered or "site_admin" in lowered:
            sub = self.credential.sub
            who = f"user {sub} (the tenant's sub)" if sub is not None else "the credential's own service user (no sub)"
            return PermissionDenied(
                f"tenant {self.tenant_id}: Greenhouse refused to list {collection} because {who} is not "
                "a Site Admin: make that user a Site Admin in Greenhouse, or run `connect-pipeline "
                f"tenants add {self.tenant_id} ... --sub <id of a Site Admin user>`",
                reason="site_admin",
                collection=collection,
                scope=scope,
                permission=permission,
                tenant_id=self.tenant_id,
            )
        if declared is not None:
            return PermissionDenied(
                f"tenant {self.tenant_id}: Greenhouse refused to list {collection} (HTTP 403): scope "
                f"{declared.scope} is missing: tick '{declared.permission}' in the credential's "
                f"permissions ({_PERMISSIONS_PAGE}), then run `connect-pipeline tenants verify "
                f"{self.tenant_id}`",
                reason="scope",
                collection=collection,
                scope=scope,
                permission=permission,
                tenant_id=self.tenant_id,
            )
        return PermissionDenied(
            f"tenant {self.tenant_id}: Greenhouse refused to list {collection} (HTTP 403)"
            + (f": {message}" if message else "")
            + f": grant the credential read access to {collection} ({_PERMISSIONS_PAGE})",
            reason="other",
            collection=collection,
            tenant_id=self.tenant_id,
        )

    def _next_url(self, answer: _Answer) -> str | None:
        link = _next_link(answer.headers)
        if link is None:
            return None
        parts = urlsplit(urljoin(answer.url, link))
        if _origin_of(parts) != self._origin:
            # Another spelling of the API's host (a server naming itself "127.0.0.1" where we were
            # given "localhost", or an explicit default port) or another host altogether: the
            # cursor is asked of the API base's own origin, so the bearer token goes nowhere else.
            parts = parts._replace(scheme=self._base.scheme, netloc=self._base.netloc)
        return urlunsplit(parts)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_of(parts: SplitResult) -> tuple[str, str | None, int | None]:
    """Scheme, host and port, the default port spelt out (":443" on https is no other origin)."""
    scheme = parts.scheme.lower()
    return scheme, parts.hostname, parts.port or _DEFAULT_PORTS.get(scheme)


def _next_link(headers: Mapping[str, str]) -> str | None:
    """The target of the Link header's "next" relation. Relation types compare without case and
    a ``rel`` may list several (RFC 8288): ``rel="Next"`` and ``rel="next last"`` are both next.
    Missing it would end the read after one page, and an id sweep cut short reads as deletions."""
    for link in httpx.Response(200, headers=headers).links.values():
        if "next" in link.get("rel", "").lower().split() and link.get("url"):
            return link["url"]
    return None


def _raise_if_retryable(answer: _Answer) -> None:
    if answer.status >= 500 or answer.status == 408:
        raise _Retry(f"HTTP {answer.status}")


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


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
