"""Run config shared by the CLI runner, schedules and sensors."""

from typing import Literal

ExtractMode = Literal["auto", "full", "incremental"]
"""``auto``: incremental when a full sweep ran in the last week, else full; ``full`` forces the
full read; ``incremental`` reads only the window (every mode sweeps candidate ids for deletions)."""


def extract_run_config(mode: ExtractMode) -> dict:
    """The ats_extract step's config for ``mode``."""
    return {"ops": {"ats_extract": {"config": {"mode": mode}}}}
