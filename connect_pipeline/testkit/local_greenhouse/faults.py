"""Injected failures for resilience tests, reproducible from a seed."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass


@dataclass
class FaultPlan:
    """Probabilities (0..1, summed at most 1) that a /v3 request fails in one of these ways.

    ``timeout``: the server holds the request for ``timeout_seconds`` (past the client's timeout)
    and then closes without answering. ``reset``: the socket is closed at once, no response.
    ``burst_429``: a 429 with Retry-After whatever the remaining budget says.
    """

    error_5xx: float = 0.0
    timeout: float = 0.0
    reset: float = 0.0
    burst_429: float = 0.0
    seed: int = 0
    timeout_seconds: float = 5.0


class FaultDice:
    """One seeded draw per request: the same seed and request order give the same faults."""

    KINDS = ("error_5xx", "timeout", "reset", "burst_429")

    def __init__(self, plan: FaultPlan | None) -> None:
        self.plan = plan or FaultPlan()
        self._rng = random.Random(self.plan.seed)
        self._lock = threading.Lock()

    def draw(self) -> tuple[str | None, int]:
        """Return (fault kind or None, a status to use for error_5xx)."""
        weights = [getattr(self.plan, kind) for kind in self.KINDS]
        if not any(weights):
            return None, 0
        with self._lock:
            roll = self._rng.random()
            status = self._rng.choice((500, 502, 503))
        edge = 0.0
        for kind, weight in zip(self.KINDS, weights):
            edge += weight
            if roll < edge:
                return kind, status
        return None, 0
