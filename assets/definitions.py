"""The code location `workspace.yaml` loads."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import Definitions, in_process_executor

from assets.checks import TENANT_CHECKS
from assets.jobs import profile_features_job, tenant_job
from assets.quality_report import match_quality_report
from resources.quality_report import tenant_quality_specs
from assets.schedules import tenant_cadence_schedule
from assets.sensors import profile_automation_sensor, tenant_registry_sensor
from assets.tenant_assets import TENANT_ASSETS, profile_features, profile_index
from connect_pipeline.storage import DATA_ROOT_ENV, data_root
from connect_pipeline.profile_index import default_profiles_glob
from resources.connect import ConnectResource, TenantRunResource


def build_definitions(data_dir: str | None = None, profiles_glob: str | None = None) -> Definitions:
    root = str(data_root(data_dir or os.environ.get(DATA_ROOT_ENV)))
    connect = ConnectResource(
        data_dir=root,
        profiles_glob=profiles_glob or default_profiles_glob(),
        link_backend=os.environ.get("CONNECT_PIPELINE_LINK_BACKEND", "duckdb"),
    )
    return Definitions(
        assets=[profile_index, profile_features, *TENANT_ASSETS, match_quality_report, *tenant_quality_specs(Path(root))],
        asset_checks=TENANT_CHECKS,
        jobs=[tenant_job, profile_features_job],
        schedules=[tenant_cadence_schedule],
        sensors=[tenant_registry_sensor, profile_automation_sensor],
        # runs the automation sensor launches (profile_features) in one process, like tenant_job
        executor=in_process_executor,
        resources={"connect": connect, "tenant_run": TenantRunResource(data_dir=root)},
    )


defs = build_definitions()
