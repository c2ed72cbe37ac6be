"""A recognisable secret goes through a whole run and is found nowhere: not in a log line, the
Dagster event log or metadata, nor in any file written for the run."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from dagster import DagsterInstance

from connect_pipeline.cli.runner import run_tenant
from connect_pipeline.harvest.collections import ALL_KNOWN_SCOPES
from connect_pipeline.tenants import TenantConnection, TenantRegistry
from tests.conftest import account

pytestmark = pytest.mark.slow  # whole Dagster runs: `make test-fast` leaves them out

CANARY = "canary-SECRET-7f3a9c1e5b2d4f60a8"


def _files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_secret_never_leaves_the_environment(world, world_profiles, greenhouse, tmp_path, monkeypatch, caplog, capfd):
    greenhouse.add_credential("acme", "canary-client", CANARY, ALL_KNOWN_SCOPES)
    monkeypatch.setenv("ACME_CANARY_SECRET", CANARY)
    data = tmp_path / "data"
    home = tmp_path / "dagster_home"
    home.mkdir()
    # the shipped instance settings: the domain's loggers go into the run log too
    shutil.copyfile(Path(__file__).resolve().parent.parent / "deploy" / "dagster.yaml", home / "dagster.yaml")
    TenantRegistry(data).add(
        TenantConnection(
            tenant_id="acme", greenhouse_url=greenhouse.base_url + "/", client_id="canary-client",
            secret_ref="env:ACME_CANARY_SECRET", sub=account(world, "acme")["site_admin_user_id"],
            cadence="daily", api_base_url=greenhouse.api_base_url, token_url=greenhouse.token_url,
        )
    )
    caplog.set_level(logging.DEBUG)
    with DagsterInstance.from_config(str(home)) as instance:
        outcome = run_tenant("acme", data_dir=str(data), profiles_glob=world_profiles, instance=instance)
        assert outcome.success, outcome.error
        events = instance.all_logs(outcome.run_id)
        assert len(events) > 20
        for event in events:
            assert CANARY not in repr(event)
            if event.dagster_event and event.dagster_event.is_step_materialization:
                meta = event.dagster_event.step_materialization_data.materialization.metadata
                assert CANARY not in repr(meta)
    out, err = capfd.readouterr()
    assert CANARY not in out + err
    assert all(CANARY not in r.getMessage() for r in caplog.records)
    assert _files_containing(data, CANARY.encode()) == []
    assert _files_containing(home, CANARY.encode()) == []
    # the registry keeps a reference, not the value
    assert "env:ACME_CANARY_SECRET" in (data / "tenants.json").read_text()
