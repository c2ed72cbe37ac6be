"""The fleet's match-quality asset; the figures and the per-tenant assets are in
``resources/quality_report.py``, which the run's lease resource also calls at the end of a run."""

from dagster import AssetExecutionContext, MaterializeResult, asset

from resources.connect import ConnectResource
from resources.quality_report import FLEET_DESCRIPTION, FLEET_REPORT, GROUP, fleet_metadata


@asset(key=FLEET_REPORT, group_name=GROUP, description=FLEET_DESCRIPTION)
def match_quality_report(context: AssetExecutionContext, connect: ConnectResource) -> MaterializeResult:
    return MaterializeResult(metadata=fleet_metadata(connect.root))
