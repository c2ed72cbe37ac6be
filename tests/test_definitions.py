"""The code location loads, and the asset graph is the one the README draws."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from dagster import AssetKey

from assets.definitions import build_definitions
from assets.schedules import tenants_due
from assets.sensors import registry_sync

ROOT = Path(__file__).resolve().parent.parent


def test_asset_graph_is_extract_normalise_link_publish_purge(tmp_path):
    defs = build_definitions(str(tmp_path), str(tmp_path / "profiles" / "*.parquet"))
    graph = defs.resolve_asset_graph()
    def parents(key: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(AssetKey(key)).parent_keys}
    assert parents("ats_extract") == set()
    assert parents("ats_people") == {"ats_extract"}
    assert parents("ats_matches") == {"ats_people", "profile_features"}
    assert parents("profile_features") == {"profile_index"}
    # the features are a step of every tenant run, so their lineage is what happens
    job = defs.resolve_job_def("tenant_job")
    assert {"profile_features", "ats_extract", "ats_matches"} <= {n.name for n in job.graph.node_defs}
    assert parents("enrichment") == {"ats_matches"}
    assert parents("staging_purge") == {"enrichment"}
    checks = {k.name for k in graph.asset_check_keys}
    assert checks == {"match_quality", "borderline_matches", "staging_is_empty"}
    job = defs.resolve_job_def("tenant_job")
    assert job.partitions_def is not None and job.partitions_def.name == "tenants"


@pytest.mark.slow  # a separate `dagster` process loads the workspace: seconds of imports
def test_dagster_validates_the_workspace(tmp_path):
    env = dict(os.environ, CONNECT_PIPELINE_HOME=str(tmp_path), DAGSTER_HOME=str(tmp_path))
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cadences_decide_who_runs_when():
    cadences = {"a": "daily", "b": "weekly", "c": "daily"}
    monday = datetime(2026, 11, 30, 2, tzinfo=timezone.utc)
    tuesday = datetime(2026, 12, 1, 2, tzinfo=timezone.utc)
    assert tenants_due(cadences, monday) == ["a", "b", "c"]
    assert tenants_due(cadences, tuesday) == ["a", "c"]


def test_registry_sync_adds_and_removes_partitions():
    assert registry_sync({"a", "b"}, {"b", "z"}) == (["a"], ["z"])


@pytest.mark.slow  # a whole Dagster run (in process): `make test-fast` leaves it out
def test_settings_from_the_environment_are_resolved_where_the_run_executes(tmp_path, monkeypatch):
    """The data root comes in as ``EnvVar``: a run reads the variable as its process sees it."""
    from dagster import instance_for_test

    from connect_pipeline.tenants import TenantConnection, TenantRegistry

    loaded, running = tmp_path / "at_load", tmp_path / "at_run"
    for root in (loaded, running):
        root.mkdir()
    TenantRegistry(running).add(TenantConnection(
        tenant_id="acme", greenhouse_url="https://app.greenhouse.io/", client_id="c",
        secret_ref="env:UNUSED", sub=1, cadence="daily",
    ))
    monkeypatch.setenv("CONNECT_PIPELINE_HOME", str(loaded))
    defs = build_definitions(profiles_glob=str(tmp_path / "*.parquet"))
    monkeypatch.setenv("CONNECT_PIPELINE_HOME", str(running))
    with instance_for_test() as instance:
        result = defs.resolve_implicit_global_asset_job_def().get_subset(
            asset_selection={AssetKey("match_quality_report")}
        ).execute_in_process(instance=instance)
    [mat] = result.asset_materializations_for_node("match_quality_report")
    assert mat.metadata["tenants"].value == 1  # the registry of the root the run saw


def test_an_unknown_link_backend_is_refused_naming_the_choices(tmp_path, monkeypatch):
    import pytest

    from connect_pipeline.errors import ConfigError

    monkeypatch.setenv("CONNECT_PIPELINE_LINK_BACKEND", "sparkk")
    with pytest.raises(ConfigError, match="duckdb or spark"):
        build_definitions(str(tmp_path), str(tmp_path / "*.parquet"))


def test_the_u_sample_size_comes_from_the_environment_and_nonsense_is_refused(tmp_path, monkeypatch):
    from connect_pipeline.errors import ConfigError
    from connect_pipeline.linkage import DEFAULT_U_MAX_PAIRS

    def configured() -> float:
        defs = build_definitions(str(tmp_path), str(tmp_path / "*.parquet"))
        return defs.resources["connect"].link_config().u_max_pairs

    monkeypatch.delenv("CONNECT_PIPELINE_U_MAX_PAIRS", raising=False)
    assert configured() == DEFAULT_U_MAX_PAIRS
    monkeypatch.setenv("CONNECT_PIPELINE_U_MAX_PAIRS", "3e5")
    assert configured() == 300_000
    for nonsense in ("lots", "0", "-5", "nan"):
        monkeypatch.setenv("CONNECT_PIPELINE_U_MAX_PAIRS", nonsense)
        with pytest.raises(ConfigError, match="at least 1000"):
            configured()
