"""Tenant data held in memory: loaded from a world folder, mutated by tests while serving.

Records are never changed in place once stored (every write stores a fresh dict), so a page can
be serialised outside the lock while another thread upserts.
"""

from __future__ import annotations

import bisect
import copy
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from .query import SERVED_COLLECTIONS, ListQuery

# Child collections are read by parent-id batches; an index keeps that from scanning every child.
PARENT_FIELDS: dict[str, tuple[str, ...]] = {
    "applications": ("candidate_id",),
    "attachments": ("candidate_id",),
    "prospect_details": ("application_id",),
    "job_interview_stages": ("job_id",),
    "openings": ("job_id",),
    "job_posts": ("job_id",),
}
CONTACT_ARRAYS = (
    "email_addresses",
    "phone_numbers",
    "addresses",
    "website_addresses",
    "social_media_addresses",
)


class Table:
    """One collection of one tenant: records by id, ids kept sorted for newest-first paging."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.records: dict[int, dict] = {}
        self._ids_asc: list[int] | None = []
        self._parents: dict[str, dict[int, set[int]]] = {f: {} for f in PARENT_FIELDS.get(name, ())}

    def put(self, record: dict) -> None:
        record_id = record["id"]
        old = self.records.get(record_id)
        if old is not None:
            self._unindex(old)
        elif self._ids_asc is not None:
            if self._ids_asc and record_id < self._ids_asc[-1]:
                bisect.insort(self._ids_asc, record_id)
            else:
                self._ids_asc.append(record_id)
        self.records[record_id] = record
        self._index(record)

    def put_many_unsorted(self, records: list[dict]) -> None:
        """Bulk load: index now, sort once on first read."""
        self._ids_asc = None
        for record in records:
            old = self.records.get(record["id"])
            if old is not None:
                self._unindex(old)
            self.records[record["id"]] = record
            self._index(record)

    def remove(self, record_id: int) -> dict | None:
        record = self.records.pop(record_id, None)
        if record is not None:
            self._unindex(record)
            if self._ids_asc is not None:
                pos = bisect.bisect_left(self._ids_asc, record_id)
                del self._ids_asc[pos]
        return record

    def children_of(self, parent_field: str, parent_ids: frozenset[int]) -> set[int]:
        index = self._parents[parent_field]
        found: set[int] = set()
        for parent_id in parent_ids:
            found |= index.get(parent_id, set())
        return found

    def candidate_ids(self, query: ListQuery, below: int | None) -> Iterator[int]:
        """Ids that may match, newest first, strictly below the cursor's last id."""
        if query.ids is not None or (query.parent is not None and query.parent[0] in self._parents):
            pool = set(query.ids) & self.records.keys() if query.ids is not None else None
            if query.parent is not None and query.parent[0] in self._parents:
                children = self.children_of(*query.parent)
                pool = children if pool is None else pool & children
            ordered = sorted((i for i in pool if below is None or i < below), reverse=True)
            yield from ordered
            return
        ids = self._sorted_ids()
        top = len(ids) if below is None else bisect.bisect_left(ids, below)
        for pos in range(top - 1, -1, -1):
            yield ids[pos]

    def _sorted_ids(self) -> list[int]:
        if self._ids_asc is None:
            self._ids_asc = sorted(self.records)
        return self._ids_asc

    def _index(self, record: dict) -> None:
        for parent_field, index in self._parents.items():
            parent_id = record.get(parent_field)
            if isinstance(parent_id, int):
                index.setdefault(parent_id, set()).add(record["id"])

    def _unindex(self, record: dict) -> None:
        for parent_field, index in self._parents.items():
            children = index.get(record.get(parent_field))  # type: ignore[arg-type]
            if children is not None:
                children.discard(record["id"])
                if not children:
                    del index[record[parent_field]]


class TenantData:
    def __init__(self, tenant_id: str, account_dir: Path | None) -> None:
        self.tenant_id = tenant_id
        self.account_dir = account_dir
        self.lock = threading.RLock()
        self.tables = {name: Table(name) for name in SERVED_COLLECTIONS}
        self.account: dict = {}

    def page(self, query: ListQuery, below: int | None) -> tuple[list[dict], bool]:
        """Up to per_page matching records below ``below``, and whether more remain."""
        table = self.tables[query.collection]
        found: list[dict] = []
        with self.lock:
            for record_id in table.candidate_ids(query, below):
                record = table.records[record_id]
                if query.matches(record):
                    if len(found) == query.per_page:
                        return found, True
                    found.append(record)
        return found, False

    def get(self, collection: str, record_id: int) -> dict | None:
        with self.lock:
            return self.tables[collection].records.get(record_id)

    def upsert(self, collection: str, record: dict) -> None:
        record = copy.deepcopy(record)
        if "id" not in record and collection == "prospect_details" and "application_id" in record:
            record["id"] = record["application_id"]
        if not isinstance(record.get("id"), int):
            raise ValueError(f"a {collection} record needs an integer id")
        now = utc_now_iso()
        with self.lock:
            table = self.tables[collection]
            if record["id"] not in table.records:
                record.setdefault("created_at", now)
            record.setdefault("updated_at", now)
            table.put(record)

    def delete(self, collection: str, record_id: int) -> None:
        """A deleted candidate takes its applications, their prospect details and its attachments."""
        with self.lock:
            self.tables[collection].remove(record_id)
            if collection == "candidates":
                only_this = frozenset({record_id})
                for application_id in self.tables["applications"].children_of("candidate_id", only_this):
                    self.tables["applications"].remove(application_id)
                    for detail_id in self.tables["prospect_details"].children_of(
                        "application_id", frozenset({application_id})
                    ):
                        self.tables["prospect_details"].remove(detail_id)
                for attachment_id in self.tables["attachments"].children_of("candidate_id", only_this):
                    self.tables["attachments"].remove(attachment_id)

    def anonymise(self, candidate_id: int) -> None:
        with self.lock:
            current = self.tables["candidates"].records.get(candidate_id)
            if current is None:
                raise KeyError(f"tenant {self.tenant_id} has no candidate {candidate_id}")
            record = copy.deepcopy(current)
            record.update(first_name="Anonymized", last_name=str(candidate_id), preferred_name=None)
            for key in CONTACT_ARRAYS:
                record[key] = []
            record["updated_at"] = utc_now_iso()
            self.tables["candidates"].put(record)
            attachments = self.tables["attachments"]
            for attachment_id in attachments.children_of("candidate_id", frozenset({candidate_id})):
                attachments.remove(attachment_id)

    def set_user_site_admin(self, user_id: int, value: bool) -> None:
        with self.lock:
            current = self.tables["users"].records.get(user_id)
            if current is None:
                raise KeyError(f"tenant {self.tenant_id} has no user {user_id}")
            record = {**current, "site_admin": value, "updated_at": utc_now_iso()}
            self.tables["users"].put(record)

    def file_path(self, record: dict) -> Path | None:
        relative = record.get("_file")
        if not isinstance(relative, str) or not relative:
            return None
        path = Path(relative)
        if not path.is_absolute():
            if self.account_dir is None:
                return None
            path = self.account_dir / path
        return path


def load_account(tenant_id: str, account_dir: Path) -> TenantData:
    """Read account.json and every <collection>.jsonl; missing collections are simply empty."""
    data = TenantData(tenant_id, account_dir)
    account_file = account_dir / "account.json"
    data.account = json.loads(account_file.read_text()) if account_file.exists() else {}
    for name, table in data.tables.items():
        path = account_dir / f"{name}.jsonl"
        if not path.exists():
            continue
        records = []
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                record = json.loads(line)
                if "id" not in record and name == "prospect_details":
                    record["id"] = record.get("application_id")
                if not isinstance(record.get("id"), int):
                    raise ValueError(f"{path}:{number}: record has no integer id")
                records.append(record)
        table.put_many_unsorted(records)
    return data


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
