"""The code location `workspace.yaml` loads."""

from __future__ import annotations

import os
from pathlib import Path
from typing import get_args

from dagster import Definitions, EnvVar, in_process_executor

from assets.checks import TENANT_CHECKS
from assets.jobs import profile_features_job, tenant_job
from assets.quality_report import match_quality_report
from resources.quality_report import tenant_quality_specs
from assets.schedules import tenant_cadence_schedule
from assets.sensors import profile_automation_sensor, tenant_registry_sensor
from assets.tenant_assets import TENANT_ASSETS, profile_features, profile_index
from connect_pipeline.storage import DATA_ROOT_ENV, data_root
from connect_pipeline.errors import ConfigError
from connect_pipeline.linkage import DEFAULT_U_MAX_PAIRS
from connect_pipeline.profile_index import PROFILES_ENV, default_profiles_glob
from resources.connect import ConnectResource, LinkBackend, TenantRunResource


LINK_BACKEND_ENV = "CONNECT_PIPELINE_LINK_BACKEND"
U_MAX_PAIRS_ENV = "CONNECT_PIPELINE_U_MAX_PAIRS"


def _env_or(var: str, fallback: str) -> str | EnvVar:
    """``EnvVar(var)`` when the variable is set, so Dagster resolves it where each run executes
    and the UI's resource page names the variable; else the built-in default."""
    return EnvVar(var) if os.environ.get(var) else fallback


def _u_max_pairs() -> float:
    """Pairs sampled to estimate each comparison's u, from ``$CONNECT_PIPELINE_U_MAX_PAIRS``.

    Splink's largest fixed cost per trained run; a small index needs far fewer pairs than the
    default, which is sized for millions of profiles."""
    raw = os.environ.get(U_MAX_PAIRS_ENV)
    if raw is None:
        return DEFAULT_U_MAX_PAIRS
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value >= 1_000:
        raise ConfigError(
            f"{U_MAX_PAIRS_ENV}={raw!r} is not a pair count: set it to a number of at least 1000 "
            f"(default {DEFAULT_U_MAX_PAIRS:g}), or unset it"
        )
    return value


def build_definitions(data_dir: str | None = None, profiles_glob: str | None = None) -> Definitions:
    """The code location; explicit arguments (the CLI's, the tests') win over the environment."""
    root = str(data_root(data_dir or os.environ.get(DATA_ROOT_ENV)))
    data = data_dir or _env_or(DATA_ROOT_ENV, root)
    backend = os.environ.get(LINK_BACKEND_ENV, "duckdb")
    if backend not in get_args(LinkBackend):
        raise ConfigError(f"{LINK_BACKEND_ENV}={backend!r} is not a link backend: set it to duckdb or spark")
    connect = ConnectResource(
        data_dir=data,
        profiles_glob=profiles_glob or _env_or(PROFILES_ENV, default_profiles_glob()),
        link_backend=backend,
        u_max_pairs=_u_max_pairs(),
    )
    return Definitions(
        assets=[profile_index, profile_features, *TENANT_ASSETS, match_quality_report, *tenant_quality_specs(Path(root))],
        asset_checks=TENANT_CHECKS,
        jobs=[tenant_job, profile_features_job],
        schedules=[tenant_cadence_schedule],
        sensors=[tenant_registry_sensor, profile_automation_sensor],
        # runs the automation sensor launches (profile_features) in one process, like tenant_job
        executor=in_process_executor,
        resources={"connect": connect, "tenant_run": TenantRunResource(data_dir=data)},
    )


defs = build_definitions()
