"""The top floor: the command line and the demo, the one place in the package that drives Dagster.

Everything below (`connect_pipeline.*` outside this package) is a plain library; this package may
import `assets/`, `resources/` and dagster to run the tenant graph the way the daemon does.
"""

from connect_pipeline.cli.main import main

__all__ = ["main"]
