"""Shared fixtures: a small generated world, the local Greenhouse serving it over real HTTP,
and tenant connections registered exactly as the CLI does."""

from __future__ import annotations

import fcntl
import gc
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# The project's modules are imported where they are used: xdist's controller process loads this
# file too, before it starts the workers, and runs no test (the world generator and the local
# Greenhouse bring Polars, NumPy and httpx: most of a second on that path).
if TYPE_CHECKING:
    from connect_pipeline.testkit.local_greenhouse import LocalGreenhouse
    from connect_pipeline.tenants import TenantConnection


def pytest_unconfigure(config: pytest.Config) -> None:
    """The process ends next: its garbage collector's last passes are skipped.

    A test process holds Dagster, Splink, DuckDB, Polars and every test module; shutting the
    interpreter down walked that heap for cycles again and again, seconds per xdist worker, all
    after its last test (the run waits for its workers to exit). Frozen objects are still freed
    by reference counting; only the cycle search at exit is skipped, as the process is ending.
    """
    gc.freeze()


class FakeTime:
    """An injected clock and sleep (for ``HarvestSession(clock=..., sleep=...)``): sleeping
    moves the clock, nothing waits. Start it at ``time.time()`` when the client's clock must
    agree with a local Greenhouse's (rate windows, token lifetimes). Thread-safe: download
    threads sleep on it together."""

    def __init__(self, start: float = 2_000_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds


class FastTime:
    """A clock running ``speed`` times faster than real time, shared by a local Greenhouse
    (``LocalGreenhouse(clock=...)``) and a client (``HarvestSession(clock=..., sleep=...)``):
    sleeping really waits, for ``1/speed`` of the time asked. For tests where the waiting itself
    is the point (threads pacing against the server's rate window), so time must pass for every
    thread and the server alike, only faster. Request latency grows by ``speed`` on this clock:
    keep windows long against a local request."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._epoch = time.time()
        self._real = time.monotonic()

    def clock(self) -> float:
        return self._epoch + (time.monotonic() - self._real) * self.speed

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds) / self.speed)


WORLD_TENANTS = (("acme", 400), ("globex", 300))  # (tenant, candidates)
WORLD_PROFILES = 6_000
WORLD_SEED = 11


def _generate_world(out: Path) -> Path:
    from connect_pipeline.testkit.world.generate import TenantSpec, generate_world

    tenants = [TenantSpec(tenant_id, n) for tenant_id, n in WORLD_TENANTS]
    return generate_world(out, seed=WORLD_SEED, n_profiles=WORLD_PROFILES, tenants=tenants)


@pytest.fixture(scope="session", autouse=True)
def small_u_sample() -> Iterator[None]:
    """Every Dagster run of the tests (in process, CLI, webserver, daemon) samples 300k pairs
    to estimate u instead of the default sized for millions of profiles: the test worlds have a
    few thousand, and a trained run takes a third less."""
    # Imported here, not at the top: xdist's controller process loads this file too, and has no
    # use for Dagster (importing the definitions costs seconds before any worker starts).
    from assets.definitions import U_MAX_PAIRS_ENV

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(U_MAX_PAIRS_ENV, "300000")
        yield


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated once per test run: the xdist workers of one run share it (every user only
    reads it; the local Greenhouse keeps its changes in memory). ``test_world`` checks this
    very world, so no test generates another one just to look at it."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _generate_world(tmp_path_factory.mktemp("world"))
    # The workers' temporary folders share a parent that belongs to this run alone.
    shared = tmp_path_factory.getbasetemp().parent
    out, done = shared / "shared_world", shared / "shared_world.done"
    with open(shared / "shared_world.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            _generate_world(out)
            done.touch()
    return out


@pytest.fixture(scope="session")
def world_profiles(world: Path) -> str:
    from connect_pipeline.testkit.world.layout import profiles_glob

    return profiles_glob(world)


@pytest.fixture()
def greenhouse(world: Path):
    """A fresh local Greenhouse per test: tests mutate its data and read its counters."""
    from connect_pipeline.testkit.local_greenhouse import LocalGreenhouse

    with LocalGreenhouse(world) as server:
        yield server


def account(world: Path, tenant_id: str) -> dict:
    from connect_pipeline.testkit.world.layout import account_dir

    return json.loads((account_dir(world, tenant_id) / "account.json").read_text())


def connect_tenant(
    root: Path, world: Path, server: LocalGreenhouse, tenant_id: str, *, monkeypatch: pytest.MonkeyPatch
) -> TenantConnection:
    """Register a world tenant against the local server, its secret in an environment variable."""
    from connect_pipeline.tenants import TenantConnection, TenantRegistry

    acc = account(world, tenant_id)
    var = f"TEST_SECRET_{tenant_id.upper()}"
    monkeypatch.setenv(var, acc["credentials"][0]["client_secret"])
    connection = TenantConnection(
        tenant_id=tenant_id,
        greenhouse_url=server.base_url + "/",
        client_id=acc["credentials"][0]["client_id"],
        secret_ref=f"env:{var}",
        sub=acc["site_admin_user_id"],
        cadence="daily",
        api_base_url=server.api_base_url,
        token_url=server.token_url,
    )
    TenantRegistry(root).add(connection)
    return connection


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("CONNECT_PIPELINE_HOME", str(root))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    os.makedirs(tmp_path / "dagster", exist_ok=True)
    return root


@contextmanager
def log_lines(name: str = "connect_pipeline") -> Iterator[list[str]]:
    """The messages a logger and its children emit inside the block, at INFO and above.

    For fixtures wider than one test, where pytest's ``caplog`` does not reach."""
    lines: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger, handler = logging.getLogger(name), _Collect(logging.INFO)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
