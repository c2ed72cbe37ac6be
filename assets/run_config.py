"""Run config shared by the CLI runner, schedules and sensors."""


def extract_run_config(mode: str) -> dict:
    """``auto`` | ``full`` | ``incremental`` for the ats_extract step."""
    return {"ops": {"ats_extract": {"config": {"mode": mode}}}}
