"""Run config shared by the CLI runner, schedules and sensors."""

from typing import Literal

ExtractMode = Literal["auto", "full", "incremental"]
"""``auto``: incremental when a full sweep ran in the last week, else full; ``full`` forces the
full read; ``incremental`` reads only the window (every mode sweeps candidate ids for deletions)."""


def extract_run_config(mode: ExtractMode, *, allow_mass_deletion: bool = False) -> dict:
    """The ats_extract step's config for ``mode``; ``allow_mass_deletion`` lets one run drop
    most of the published candidates when Greenhouse really deleted them."""
    config: dict = {"mode": mode}
    if allow_mass_deletion:
        config["allow_mass_deletion"] = True
    return {"ops": {"ats_extract": {"config": config}}}
