"""What every client of one credential must share: its request budget and its bearer token.

Greenhouse counts requests per credential, and minting a token is reported to revoke the
previous one, so two clients of one credential that each kept their own budget and token would
overrun the limit and knock each other's token out. A ``HarvestSession`` holds both, keyed by
credential; clients built without one share ``DEFAULT_SESSION``, the process-wide default. A
test passes its own session (with an injected clock and sleep, as ``RateBudget`` takes) to
control time and to keep its state from leaking into other tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from connect_pipeline.harvest.ratelimit import RateBudget

if TYPE_CHECKING:
    from connect_pipeline.harvest.auth import Credential


class TokenSlot:
    """The one cached token of a credential; ``lock`` makes its refresh single-flight."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token: str | None = None
        self.expires_at: float = 0.0  # on the session's clock
        self.minted = 0


class HarvestSession:
    """Per-credential shared state: one ``RateBudget`` per API and client id, one ``TokenSlot``
    per credential. Thread-safe; ``clock`` is epoch seconds, ``sleep`` blocks for seconds."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._budgets: dict[tuple[str, str], RateBudget] = {}
        self._slots: dict[tuple[str, str, int | None, str], TokenSlot] = {}

    def __repr__(self) -> str:
        with self._lock:
            return f"HarvestSession(budgets={len(self._budgets)}, tokens={len(self._slots)})"

    def budget(self, api_base_url: str, client_id: str) -> RateBudget:
        """The budget of a credential against one API (Harvest counts per client id)."""
        key = (api_base_url, client_id)
        with self._lock:
            budget = self._budgets.get(key)
            if budget is None:
                budget = self._budgets[key] = RateBudget(clock=self.clock, sleep=self.sleep)
            return budget

    def token_slot(self, credential: "Credential") -> TokenSlot:
        """The token slot of a credential; a rotated secret gets a fresh one."""
        key = credential.slot_key()
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = TokenSlot()
            return slot


DEFAULT_SESSION = HarvestSession()
"""Shared by every client built without a session of its own, so one process never holds two
budgets or two tokens for one credential."""
