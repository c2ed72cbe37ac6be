"""One request budget per credential, fed by Harvest's rate-limit headers.

Harvest counts requests per credential in a fixed window and announces the window on every
response (``X-RateLimit-Limit``, ``-Remaining``, ``-Reset``). Every thread of every client using
the credential shares one ``RateBudget`` (held by the session, ``session.py``), so the process slows down *before* Greenhouse answers
429, instead of many threads discovering the limit at once and hammering it with retries.

``X-RateLimit-Reset`` is a whole epoch second, rounded up, while the window opens with the first
request after the previous one closed. A client that waits for the announced reset therefore
opens every next window just past a whole second, and that window's reset rounds up by almost a
full second again: about 1 s lost per window (3 % of a 30 s window, a third of a 3 s one). So the
budget learns the window's length from the request that opened a window (``remaining`` =
``limit - 1``; the window began between its send and its answer), assuming the whole seconds the
v3 docs give, and expects the reset at ``first answer + length`` when that is sooner than the
header. The estimate never precedes the true reset if the length is right; a 429 that says the
budget is spent while the estimate was in use switches it off for good (header-only pacing).
"""

from __future__ import annotations

import email.utils
import math
import threading
import time
from collections.abc import Mapping

_RESET_SLACK_S = 0.05  # clocks and integer epochs round; wait a hair past the reset
_MAX_WAIT_S = 120.0  # no header may park a thread longer than this per wait
_POLL_S = 0.02  # how often a thread re-checks while the budget waits for a response


class RateBudget:
    """Thread-safe; ``acquire()`` before each request, ``update()`` with each response."""

    def __init__(self, *, clock=time.time, sleep=time.sleep) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self.limit: int | None = None
        self.remaining: int | None = None  # what we may still send in this window
        self.reset_at: float | None = None  # epoch seconds
        self.paused_until: float = 0.0  # set by a 429's Retry-After; applies to every thread
        self.waited_s: float = 0.0
        self.in_flight = 0  # requests acquired and not yet released
        self._closed_reset: float | None = None  # the reset of the last window we saw end
        self._answered = False  # has any response been seen (with or without headers)?
        self.window_s: float | None = None  # learnt length of the server's window (whole seconds)
        self._refine = True  # expect the reset from window_s; off after a 429 proves it wrong
        self._reset_header: float | None = None  # the announced (rounded) reset of the current window

    def __repr__(self) -> str:
        return f"RateBudget(limit={self.limit}, remaining={self.remaining}, reset_at={self.reset_at})"

    def acquire(self) -> float:
        """Block until a request may go out; returns the seconds spent waiting."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                wait = self._wait_needed(now)
                if wait <= 0:
                    if self.remaining is not None:
                        self.remaining -= 1
                    self.in_flight += 1
                    self.waited_s += waited
                    return waited
            wait = min(wait, _MAX_WAIT_S)
            self._sleep(wait)
            waited += wait

    def _wait_needed(self, now: float) -> float:
        if now < self.paused_until:
            return self.paused_until - now
        if not self._answered and self.in_flight > 0:
            return _POLL_S  # before the first answer the budget is unknown: send one request alone
        if self.reset_at is not None and now >= self.reset_at + _RESET_SLACK_S:
            # The window rolled over: assume a full budget until a response says otherwise.
            self._closed_reset = self._reset_header if self._reset_header is not None else self.reset_at
            self.remaining = self.limit
            self.reset_at = None
            self._reset_header = None
        if self.remaining is not None and self.remaining <= 0:
            if self.reset_at is None:
                # The budget is spent but no response has said when the window ends yet: wait
                # for the requests in flight to report, or let one request find out.
                return _POLL_S if self.in_flight > 0 else 0.0
            return self.reset_at + _RESET_SLACK_S - now
        return 0.0

    def release(self) -> None:
        """The request acquired earlier is done (answered or failed)."""
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)

    def now(self) -> float:
        """The budget's clock, for callers timing a request's send and answer."""
        return self._clock()

    def update(
        self,
        headers: Mapping[str, str],
        *,
        sent_at: float | None = None,
        received_at: float | None = None,
    ) -> None:
        """Fold one response's rate-limit headers into the shared view.

        ``sent_at`` / ``received_at`` (this budget's clock) let the budget learn the window's
        true length and expect its end sooner than the rounded-up reset header (module doc).
        """
        limit = _int_header(headers, "x-ratelimit-limit")
        remaining = _int_header(headers, "x-ratelimit-remaining")
        reset = _reset_header(headers, self._clock())
        with self._lock:
            self._answered = True
            if limit is not None:
                self.limit = limit
            if remaining is None:
                return
            if reset is not None and self._closed_reset is not None and reset <= self._closed_reset + 0.5:
                return  # a late answer from a window that already ended says nothing about this one
            self._learn_window(reset, remaining, sent_at, received_at)
            announced = self._reset_header if self._reset_header is not None else self.reset_at
            if self.remaining is None:
                self.remaining = remaining  # the first answer: take the server's word
                self.reset_at = self._reset_header = reset
            elif self.reset_at is None:
                # We rolled into a new window locally and counted what we sent since: the first
                # answer from it fixes the reset; requests it has not counted yet are in ours.
                self.remaining = min(self.remaining, remaining)
                self.reset_at = self._reset_header = reset
            elif reset is not None and announced is not None and reset > announced + 0.5:
                self.reset_at = self._reset_header = reset  # the server moved on before we did
                self.remaining = max(0, remaining - max(0, self.in_flight - 1))
            else:
                # Same window: requests still in flight already took their share locally.
                self.remaining = min(self.remaining, remaining)
            self._expect_reset(reset, received_at)

    def _learn_window(
        self, reset: float | None, remaining: int, sent_at: float | None, received_at: float | None
    ) -> None:
        """From the request that opened a window: its length, if whole seconds pin it down."""
        if reset is None or sent_at is None or received_at is None or self.limit is None:
            return
        if remaining != self.limit - 1 or reset != int(reset):
            return
        if math.ceil(sent_at) != math.ceil(received_at):
            return  # the window opened on one side or the other of a whole second: ambiguous
        length = reset - math.ceil(received_at)
        if length >= 1:
            self.window_s = float(length)

    def _expect_reset(self, reset: float | None, received_at: float | None) -> None:
        """The window ends no later than ``first answer from it + length``: use that if sooner."""
        if reset is None or self.reset_at is None or self._reset_header is None:
            return
        if not self._refine or self.window_s is None or received_at is None:
            return
        if abs(reset - self._reset_header) > 0.5:
            return  # an answer from another window than the one we are pacing
        expected = received_at + self.window_s
        if reset - 1.0 < expected < self.reset_at:
            self.reset_at = expected

    def throttled(self, headers: Mapping[str, str], *, default_wait_s: float) -> float:
        """A 429: pause every thread for Retry-After; returns the pause in seconds."""
        now = self._clock()
        wait = retry_after_seconds(headers, now)
        if wait is None:
            reset = _reset_header(headers, now)
            wait = (reset - now) if reset is not None and reset > now else default_wait_s
        wait = min(max(wait, 0.0), _MAX_WAIT_S) + _RESET_SLACK_S
        with self._lock:
            # Only the pause: a burst 429 can come with headers that still show budget left,
            # and update() already folded in whatever the headers said.
            self.paused_until = max(self.paused_until, now + wait)
            if self.window_s is not None and _int_header(headers, "x-ratelimit-remaining") in (0, None):
                # Spent while we expected budget: the learnt length may be wrong (or another
                # process shares the credential). Pace by the header alone from now on.
                self._refine = False
        return wait


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), or None."""
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None


def _reset_header(headers: Mapping[str, str], now: float) -> float | None:
    value = headers.get("x-ratelimit-reset")
    if value is None:
        return None
    try:
        reset = float(value.strip())
    except ValueError:
        return None
    if reset > 1e11:  # epoch milliseconds, as some servers send (and Greenhouse's tokens do)
        reset /= 1000.0
    elif reset < 1e9:  # some servers send seconds-until-reset rather than an epoch
        reset = now + reset
    # no reading of a header parks the credential for longer than a wait may last
    return min(reset, now + _MAX_WAIT_S)

