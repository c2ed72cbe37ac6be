"""The real thing: dagster-webserver and dagster-daemon on loopback, a tenant run launched through
the GraphQL API, queued, run by the daemon, and its checks read back over GraphQL."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from dagster import DagsterInstance

from connect_pipeline.storage import TenantStorage
from tests.conftest import connect_tenant

pytestmark = pytest.mark.slow  # whole Dagster runs: `make test-fast` leaves them out

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

CHECKS_QUERY = """
query Checks($name: String!) {
  assetCheckExecutions(assetKey: {path: ["ats_matches"]}, checkName: $name, limit: 5) {
    runId status partition evaluation { success }
  }
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process group by PID: dagster's processes spawn children of their own."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.mark.timeout(600)
def test_tenant_run_through_webserver_and_daemon(world, world_profiles, greenhouse, data_dir, tmp_path, monkeypatch):
    connect_tenant(data_dir, world, greenhouse, "acme", monkeypatch=monkeypatch)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    env = dict(os.environ, DAGSTER_HOME=str(home), CONNECT_PIPELINE_HOME=str(data_dir),
               CONNECT_PIPELINE_PROFILES=world_profiles)
    with DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions("tenants", ["acme"])

    port = _free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    web = subprocess.Popen(
        [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, env=env, stdout=open(logs / "web.log", "w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=ROOT, env=env, stdout=open(logs / "daemon.log", "w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert web.poll() is None, (logs / "web.log").read_text()[-3000:]
            time.sleep(1)
        # imported here: collecting this file (in every worker, even when the test is left out)
        # would otherwise import the GraphQL client
        from dagster_graphql import DagsterGraphQLClient

        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        # two runs for the same tenant, submitted together: the queue must run them one at a time
        run_ids = [
            client.submit_job_execution("tenant_job", tags={"dagster/partition": "acme", "tenant": "acme"})
            for _ in range(2)
        ]
        run_id = run_ids[0]
        statuses: dict[str, str] = {}
        deadline = time.monotonic() + 480
        while time.monotonic() < deadline:
            statuses = {r: client.get_run_status(r).value for r in run_ids}
            if all(s in ("SUCCESS", "FAILURE", "CANCELED") for s in statuses.values()):
                break
            assert list(statuses.values()).count("STARTED") <= 1, statuses
            time.sleep(1)
        assert set(statuses.values()) == {"SUCCESS"}, (logs / "daemon.log").read_text()[-4000:]
        with DagsterInstance.from_config(str(home)) as instance:
            spans = sorted(
                (rec.start_time, rec.end_time)
                for rec in instance.get_run_records()
                if rec.dagster_run.run_id in run_ids
            )
        assert len(spans) == 2 and spans[0][1] <= spans[1][0]  # never both running at once

        answer = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": CHECKS_QUERY, "variables": {"name": "match_quality"}}, timeout=30,
        ).json()
        executions = answer["data"]["assetCheckExecutions"]
        mine = [e for e in executions if e["runId"] == run_id]
        assert mine and mine[0]["partition"] == "acme"
        assert mine[0]["evaluation"]["success"] is True
    finally:
        _stop(web)
        _stop(daemon)
    assert TenantStorage(data_dir, "acme").published_table("enrichment") is not None
