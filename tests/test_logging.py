"""The domain's module loggers reach Dagster's run log through the instance template's
``python_logs`` settings, warnings as warnings."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance, instance_for_test, job, op

ROOT = Path(__file__).resolve().parent.parent


@op
def warn_like_the_client() -> None:
    logging.getLogger("connect_pipeline.harvest.client").warning(
        "harvest %s: %s HTTP 429, waiting %.1fs", "acme", "candidates", 1.0
    )
    logging.getLogger("somebody.else").warning("not ours")


@job
def logging_job():
    warn_like_the_client()


@pytest.fixture(scope="module")
def instance() -> Iterator[DagsterInstance]:
    """A test instance configured by the deployed template's ``python_logs``, shared by the
    module's runs (each reads only its own run's records)."""
    template = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    with instance_for_test(overrides={"python_logs": template["python_logs"]}) as instance:
        yield instance


def test_domain_warnings_land_in_the_run_log_as_warnings(instance):
    result = logging_job.execute_in_process(instance=instance)
    records = [r for r in instance.all_logs(result.run_id) if r.dagster_event is None]
    ours = [r for r in records if "HTTP 429" in r.user_message]
    assert [r.level for r in ours] == [logging.WARNING]
    assert ours[0].user_message.endswith("harvest acme: candidates HTTP 429, waiting 1.0s")
    assert not any("not ours" in r.user_message for r in records)  # only the managed loggers


def test_stage_progress_lands_in_the_run_log_as_info(instance, tmp_path):
    from connect_pipeline.pipeline import purge_tenant
    from connect_pipeline.storage import TenantStorage

    storage = TenantStorage(tmp_path, "t1").ensure()
    (storage.staging / "candidates.jsonl").write_text("{}\n")

    @op
    def purge() -> None:
        purge_tenant(storage)

    @job
    def purge_job():
        purge()

    result = purge_job.execute_in_process(instance=instance)
    records = [r for r in instance.all_logs(result.run_id) if r.dagster_event is None]
    [line] = [r for r in records if "staged files" in r.user_message]
    assert line.level == logging.INFO and line.user_message.endswith("purged 1 staged files")


def test_training_that_falls_back_to_defaults_is_a_warning(caplog):
    from connect_pipeline.linkage.training import safe_em

    safe_em(None, ("first_name", "last_name"), 3, 1e6)  # too few pairs: returns before the linker
    [record] = [r for r in caplog.records if r.name == "connect_pipeline.linkage.training"]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "EM on first_name+last_name skipped: only 3 blocked pairs"
