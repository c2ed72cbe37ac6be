"""One run per tenant, whoever starts it; a dead run never holds the tenant; removal is final.

Real processes: the competing run or the killed run is a separate process (the console script),
so the lease is tested as the kernel enforces it, not as one process sees itself.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from connect_pipeline.cli.runner import run_tenant
from connect_pipeline.errors import TenantNotFound
from connect_pipeline.lease import LeaseHolder, RunInProgress, TenantLease, current_holder
from connect_pipeline.lookup import lookup_profiles
from connect_pipeline.storage import TenantStorage, lease_path
from connect_pipeline.tenants import TenantRegistry
from tests.conftest import connect_tenant

pytestmark = pytest.mark.slow  # whole Dagster runs: `make test-fast` leaves them out

CLI = str(Path(sys.executable).parent / "connect-pipeline")

HOLD = """
import sys, time
from pathlib import Path
from connect_pipeline.lease import LeaseHolder, TenantLease

lease = TenantLease(Path(sys.argv[1]), sys.argv[2], LeaseHolder.this_process(sys.argv[3], "a test"))
lease.acquire()
print("held", flush=True)
time.sleep(600)
"""


def _hold_in_child(root: Path, tenant: str, run_id: str) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(root), tenant, run_id], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    return child


def _wait_for(predicate, what: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_lease_dies_with_its_process_and_names_the_dead_holder(tmp_path):
    child = _hold_in_child(tmp_path, "acme", "run-dead")
    with pytest.raises(RunInProgress, match="run-dead"):
        TenantLease(tmp_path, "acme", LeaseHolder.this_process("run-2", "test")).acquire()
    assert current_holder(tmp_path, "acme").run_id == "run-dead"
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert current_holder(tmp_path, "acme") is None
    with TenantLease(tmp_path, "acme", LeaseHolder.this_process("run-2", "test")) as lease:
        assert lease.stale is not None and lease.stale.run_id == "run-dead"
    # a clean release leaves no holder behind to be mistaken for a dead one
    with TenantLease(tmp_path, "acme", LeaseHolder.this_process("run-3", "test")) as lease:
        assert lease.stale is None
    assert stat.S_IMODE(lease_path(tmp_path, "acme").stat().st_mode) == 0o600


def test_a_second_run_is_refused_naming_the_run_in_progress(world, world_profiles, greenhouse, data_dir, monkeypatch):
    connect_tenant(data_dir, world, greenhouse, "acme", monkeypatch=monkeypatch)
    child = _hold_in_child(data_dir, "acme", "run-in-progress")
    try:
        with pytest.raises(RunInProgress, match="run-in-progress"):
            run_tenant("acme", data_dir=str(data_dir), profiles_glob=world_profiles)
        # started by anything else than the CLI (schedule, UI, backfill): refused by the job itself
        from assets.definitions import build_definitions

        instance = DagsterInstance.from_config(os.environ["DAGSTER_HOME"])
        instance.add_dynamic_partitions("tenants", ["acme"])
        result = build_definitions(str(data_dir), world_profiles).resolve_job_def("tenant_job").execute_in_process(
            partition_key="acme", instance=instance, raise_on_error=False,
        )
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        assert "run-in-progress" in str(failure.event_specific_data.error)
        assert greenhouse.stats["acme"]["requests"] == 0  # nothing was read for the refused run
        assert not TenantStorage(data_dir, "acme").staging.exists()
    finally:
        child.kill()
        child.wait()


def test_killed_run_is_marked_failed_and_its_files_are_private(world, world_profiles, greenhouse, data_dir, monkeypatch):
    connect_tenant(data_dir, world, greenhouse, "acme", monkeypatch=monkeypatch)
    env = dict(os.environ, CONNECT_PIPELINE_PROFILES=world_profiles)
    lock = lease_path(data_dir, "acme")
    # the usual umask: the tenant's files must still be private
    child = subprocess.Popen(
        ["sh", "-c", f"umask 022 && exec {CLI} run acme --full"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    _wait_for(lambda: lock.exists() and lock.stat().st_size > 0 and (TenantStorage(data_dir, "acme").raw).exists(),
              "the run to hold the lease and stage records")
    killed = current_holder(data_dir, "acme").run_id
    child.send_signal(signal.SIGKILL)
    child.wait()
    instance = DagsterInstance.from_config(os.environ["DAGSTER_HOME"])
    assert instance.get_run_by_id(killed).status == DagsterRunStatus.STARTED  # left behind

    old = os.umask(0o022)
    try:
        again = run_tenant("acme", data_dir=str(data_dir), profiles_glob=world_profiles, mode="auto")
    finally:
        os.umask(old)
    assert again.success, again.error
    assert instance.get_run_by_id(killed).status == DagsterRunStatus.FAILURE
    assert not instance.get_run_records(filters=RunsFilter(statuses=[DagsterRunStatus.STARTED]))
    base = TenantStorage(data_dir, "acme").base
    for path in [base, *base.rglob("*")]:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


def _cli_run(tenant: str, env: dict[str, str], logs: Path) -> tuple[subprocess.Popen, Path]:
    """``connect-pipeline run TENANT --full`` in its own process, its output in a file: a pipe
    nobody reads while the test waits fills up (a run logs far more than a pipe holds) and
    blocks the run on its next log line."""
    logs.mkdir(parents=True, exist_ok=True)
    out = logs / f"{len(list(logs.iterdir()))}.log"
    with out.open("w") as sink:
        child = subprocess.Popen([CLI, "run", tenant, "--full"], env=env, stdout=sink, stderr=subprocess.STDOUT, text=True)
    return child, out


def test_removal_during_a_run_is_final(world, world_profiles, greenhouse, data_dir, monkeypatch, tmp_path):
    connect_tenant(data_dir, world, greenhouse, "acme", monkeypatch=monkeypatch)
    registry = TenantRegistry(data_dir)
    assert run_tenant("acme", data_dir=str(data_dir), profiles_glob=world_profiles).success
    env = dict(os.environ, CONNECT_PIPELINE_PROFILES=world_profiles)
    child, log = _cli_run("acme", env, tmp_path / "logs")
    storage = TenantStorage(data_dir, "acme")
    _wait_for(lambda: storage.people.exists(), "the run to reach normalisation")

    registry.remove("acme", wait_seconds=300)  # returns once the run has let go of the tenant
    assert not storage.base.exists()
    child.wait(timeout=300)
    assert child.returncode != 0  # the run stopped: it did not publish for a removed tenant
    assert "was removed" in log.read_text()
    assert not storage.base.exists()  # and nothing came back after it ended
    with pytest.raises(TenantNotFound):
        lookup_profiles("acme", ["p"], data_dir=str(data_dir))


def test_a_run_that_outlasts_a_removal_deletes_the_tenants_files_as_it_ends(
    world, world_profiles, greenhouse, data_dir, monkeypatch, tmp_path
):
    """The removal gave up waiting for the run's lease: the run, which stops at its next stage,
    deletes the tenant's files itself before it lets go, so nothing of the removed tenant stays
    on disk for want of a second `tenants remove`."""
    from connect_pipeline.tenants import RemovalPending

    connect_tenant(data_dir, world, greenhouse, "acme", monkeypatch=monkeypatch)
    assert run_tenant("acme", data_dir=str(data_dir), profiles_glob=world_profiles).success
    storage = TenantStorage(data_dir, "acme")
    child, log = _cli_run("acme", dict(os.environ, CONNECT_PIPELINE_PROFILES=world_profiles), tmp_path / "logs")
    _wait_for(lambda: storage.raw.exists(), "the run to stage records")
    with pytest.raises(RemovalPending, match="disconnected"):  # at once: the run is extracting
        TenantRegistry(data_dir).remove("acme", wait_seconds=0)
    assert storage.base.exists()  # the run still holds them
    child.wait(timeout=300)
    assert child.returncode != 0 and "was removed" in log.read_text()
    assert not storage.base.exists()


def test_a_run_that_finds_the_registry_gone_deletes_nothing(world, world_profiles, greenhouse, data_dir, monkeypatch):
    """Only a tenant `tenants remove` marked is deleted at a run's end: a run that meets a
    missing registry (moved aside after damage, a volume not mounted) stops and keeps every
    file, to be reconnected by adding the tenant again."""
    connect_tenant(data_dir, world, greenhouse, "acme", monkeypatch=monkeypatch)
    assert run_tenant("acme", data_dir=str(data_dir), profiles_glob=world_profiles).success
    storage = TenantStorage(data_dir, "acme")
    published = storage.published_table("matches").read_bytes()
    TenantRegistry(data_dir).path.rename(data_dir / "tenants.json.aside")
    assert not run_tenant("acme", data_dir=str(data_dir), profiles_glob=world_profiles).success
    assert storage.published_table("matches").read_bytes() == published
    assert storage.trained_params.exists() and storage.staged_files() == []


def test_a_stage_that_finds_its_tenant_gone_says_it_was_removed_during_the_run(
    world, greenhouse, data_dir, monkeypatch
):
    """A stage or check looks its tenant up in the registry when it starts. Removed in between
    (the stage after the one that saw it), the run must say the tenant was removed while it ran,
    not the command line's "not registered: add it", which reads as the run's own mistake."""
    from assets.tenant_assets import connected_tenant
    from resources.connect import ConnectResource

    connect_tenant(data_dir, world, greenhouse, "acme", monkeypatch=monkeypatch)
    connect = ConnectResource(data_dir=str(data_dir), profiles_glob="unused")
    assert connected_tenant(connect, "acme")[0].tenant_id == "acme"
    TenantRegistry(data_dir).remove("acme", wait_seconds=5)
    with pytest.raises(TenantNotFound, match="was removed .* while this run was in progress"):
        connected_tenant(connect, "acme")


def test_two_cli_runs_started_together_one_runs_the_other_is_told_why(world, world_profiles, greenhouse, data_dir, monkeypatch, tmp_path):
    connect_tenant(data_dir, world, greenhouse, "acme", monkeypatch=monkeypatch)
    env = dict(os.environ, CONNECT_PIPELINE_PROFILES=world_profiles)
    first = _cli_run("acme", env, tmp_path / "logs")
    time.sleep(0.3)
    second = _cli_run("acme", env, tmp_path / "logs")
    outcomes = [(p.wait(timeout=600), log.read_text()) for p, log in (first, second)]
    codes = sorted(code for code, _ in outcomes)
    assert codes[0] == 0 and codes[1] != 0, [(c, e[-2000:]) for c, e in outcomes]
    refused = next(err for code, err in outcomes if code != 0)
    assert "is in progress" in refused and "FileNotFoundError" not in refused
    # the run that went ahead published whole and left nothing staged
    storage = TenantStorage(data_dir, "acme")
    assert storage.published_table("enrichment") is not None and storage.staged_files() == []
