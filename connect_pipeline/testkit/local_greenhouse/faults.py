"""Injected failures for resilience tests, reproducible from a seed."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass


@dataclass
class FaultPlan:
    """Probabilities (0..1, summed at most 1) that a request fails in one of these ways.

    ``timeout``: the server holds the request for ``timeout_seconds`` (past the client's timeout)
    and then closes without answering. ``hang``: the server holds the request for
    ``hang_seconds`` and then answers it normally, as an overloaded server or a stuck proxy
    does; a client that waits it out gets the right answer, late. ``reset``: the socket is closed
    at once, no response. ``burst_429``: a 429 with Retry-After whatever the remaining budget says.

    Faults hit /v3 requests; with ``downloads`` they also hit attachment downloads (/files/),
    drawn from a dice of their own so the API's faults stay the same whatever the downloads do.
    """

    error_5xx: float = 0.0
    timeout: float = 0.0
    reset: float = 0.0
    burst_429: float = 0.0
    hang: float = 0.0
    seed: int = 0
    timeout_seconds: float = 5.0
    hang_seconds: float = 45.0
    downloads: bool = False


class FaultDice:
    """One seeded draw per request: the same seed and request order give the same faults."""

    KINDS = ("error_5xx", "timeout", "reset", "burst_429", "hang")

    def __init__(self, plan: FaultPlan | None, *, stream: str = "api") -> None:
        self.plan = plan or FaultPlan()
        # The API stream keeps the plain seed, so plans written before streams existed draw alike.
        self._rng = random.Random(self.plan.seed if stream == "api" else f"{self.plan.seed}:{stream}")
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

    def hold_seconds(self, kind: str) -> float:
        return self.plan.hang_seconds if kind == "hang" else self.plan.timeout_seconds
