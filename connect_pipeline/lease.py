"""One run per tenant at a time, whoever starts it: a lease that dies with its process.

The lease is an OS file lock (``flock``) on ``<root>/leases/<tenant>.lock``, taken by a run for
its whole life (extract to purge) and by ``tenants remove``. The kernel drops it when the holder's
process ends, however it ends (``kill -9`` included), so a dead run can never hold a tenant.
Dagster's run queue limits runs per tenant too, but only for runs the daemon launches; the lease
also covers the CLI, tests and anything else that executes the job in its own process.

The lock file names its holder (run id, process, start time, who started it) while it is held and
is emptied on release, so:
- a second run is refused with a message naming the run in progress;
- a run that finds the name of a holder in a lock nobody holds knows that holder died without
  releasing, and reports it (the Dagster wiring marks that run failed).

While the lease is held the process umask is private (0o077): files that libraries write for the
tenant (DuckDB, Splink, Parquet) are created 0600 whatever the service's umask.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from connect_pipeline.errors import ConnectError
from connect_pipeline.storage import PRIVATE_FILE, PRIVATE_UMASK, lease_path, private_dir


class RunInProgress(ConnectError):
    """Another run (or a removal) holds the tenant."""

    def __init__(self, tenant_id: str, holder: "LeaseHolder | None") -> None:
        self.tenant_id = tenant_id
        self.holder = holder
        who = (
            f"run {holder.run_id} ({holder.started_by}, pid {holder.pid} on {holder.host}, "
            f"since {holder.started_at})" if holder else "another process"
        )
        super().__init__(
            f"tenant {tenant_id}: {who} is in progress; this one did not start. Wait for it to "
            "finish (the Dagster UI's Runs page shows it) and start again; a run whose process "
            "died releases the tenant by itself"
        )


@dataclass(frozen=True)
class LeaseHolder:
    run_id: str
    started_by: str
    pid: int
    host: str
    started_at: str

    @classmethod
    def this_process(cls, run_id: str, started_by: str) -> "LeaseHolder":
        return cls(
            run_id=run_id,
            started_by=started_by,
            pid=os.getpid(),
            host=socket.gethostname(),
            started_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )


def _read_holder(fd: int) -> LeaseHolder | None:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 64 * 1024)
    if not raw.strip():
        return None
    try:
        return LeaseHolder(**json.loads(raw))
    except (ValueError, TypeError):
        return None


class TenantLease:
    """``with TenantLease(root, tenant, holder):`` holds the tenant; see the module docstring."""

    def __init__(
        self,
        root: Path,
        tenant_id: str,
        holder: LeaseHolder,
        *,
        wait_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = lease_path(Path(root), tenant_id)
        self.tenant_id = tenant_id
        self.holder = holder
        self.wait_seconds = wait_seconds
        self._clock, self._sleep = clock, sleep
        self._fd: int | None = None
        self._umask: int | None = None
        self.stale: LeaseHolder | None = None  # a holder that died without releasing

    def acquire(self) -> "TenantLease":
        private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        deadline = self._clock() + self.wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if self._clock() >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise RunInProgress(self.tenant_id, holder) from None
                self._sleep(0.2)
        self.stale = _read_holder(fd)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(asdict(self.holder)).encode())
        os.fsync(fd)
        self._fd = fd
        self._umask = os.umask(PRIVATE_UMASK)
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        if self._umask is not None:
            os.umask(self._umask)
            self._umask = None
        try:
            os.ftruncate(self._fd, 0)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "TenantLease":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def current_holder(root: Path, tenant_id: str) -> LeaseHolder | None:
    """Who holds the tenant now, or None when nobody does (a peek; takes nothing)."""
    path = lease_path(Path(root), tenant_id)
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd) or LeaseHolder("unknown", "unknown", 0, "unknown", "unknown")
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
