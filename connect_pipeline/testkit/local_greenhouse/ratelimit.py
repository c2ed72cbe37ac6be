"""Fixed-window request budgets, one per credential, as Harvest v3 announces them."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    allowed: bool
    limit: int
    remaining: int
    reset_epoch: float
    now: float

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_epoch)),
        }

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_epoch - self.now))


class FixedWindowLimiter:
    """All concurrent requests of one credential share one budget per window.

    A window opens with the first request after the previous one closed, so a client that
    waits ``Retry-After`` seconds always finds a fresh budget.
    """

    def __init__(self, limit: int, window_seconds: float, clock: Callable[[], float] = time.time):
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window start, used)

    def take(self, key: str) -> Budget:
        with self._lock:
            now = self._clock()
            start, used = self._windows.get(key, (now, 0))
            if now >= start + self.window_seconds:
                start, used = now, 0
            allowed = used < self.limit
            if allowed:
                used += 1
            self._windows[key] = (start, used)
            return Budget(allowed, self.limit, self.limit - used, start + self.window_seconds, now)

    def set_limit(self, limit: int) -> None:
        """A new limit from the next request on; windows already open keep their count."""
        if limit < 1:
            raise ValueError(f"a rate limit must allow at least one request, got {limit}")
        with self._lock:
            self.limit = limit

    def fresh(self) -> Budget:
        """Headers for a response that cannot be charged to any credential (e.g. a bad token)."""
        now = self._clock()
        return Budget(True, self.limit, self.limit, now + self.window_seconds, now)

    def forget(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)
