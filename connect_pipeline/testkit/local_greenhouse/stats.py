"""Per-tenant counters, so tests can assert what a client actually asked for."""

from __future__ import annotations

import copy
import threading


def _empty() -> dict:
    return {
        "requests": 0,
        "by_collection": {},
        "status_counts": {},
        "downloads": 0,
        "tokens_minted": 0,
        "faults": {},
    }


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tenants: dict[str, dict] = {}

    def request(self, tenant_id: str, collection: str, status: int) -> None:
        with self._lock:
            counters = self._tenants.setdefault(tenant_id, _empty())
            counters["requests"] += 1
            counters["by_collection"][collection] = counters["by_collection"].get(collection, 0) + 1
            counters["status_counts"][status] = counters["status_counts"].get(status, 0) + 1

    def fault(self, tenant_id: str, kind: str) -> None:
        with self._lock:
            faults = self._tenants.setdefault(tenant_id, _empty())["faults"]
            faults[kind] = faults.get(kind, 0) + 1

    def download(self, tenant_id: str) -> None:
        with self._lock:
            self._tenants.setdefault(tenant_id, _empty())["downloads"] += 1

    def token_minted(self, tenant_id: str) -> None:
        with self._lock:
            self._tenants.setdefault(tenant_id, _empty())["tokens_minted"] += 1

    def snapshot(self) -> dict[str, dict]:
        with self._lock:
            return copy.deepcopy(self._tenants)

    def for_tenant(self, tenant_id: str) -> dict:
        with self._lock:
            return copy.deepcopy(self._tenants.get(tenant_id, _empty()))

    def reset(self) -> None:
        with self._lock:
            self._tenants.clear()
