"""A blocking quality check stops a bad publish: the last good table stays, staging is purged."""

from __future__ import annotations

import polars as pl
import pytest
from dagster import instance_for_test

from connect_pipeline.cli.runner import run_tenant
from connect_pipeline.quality import band_history, judge, percent, usual_band
from connect_pipeline.run_state import PublishRecord, publish_history, record_publish
from connect_pipeline.storage import TenantStorage
from connect_pipeline.testkit.world.generate import TenantSpec, generate_world
from connect_pipeline.testkit.world.layout import profiles_glob
from tests.conftest import connect_tenant

pytestmark = pytest.mark.slow  # whole Dagster runs: `make test-fast` leaves them out


def test_usual_band_ignores_one_outlier():
    band = usual_band([0.70, 0.72, 0.69, 0.71, 0.10])
    assert band.low <= 0.69 and band.high >= 0.72
    assert band.low > 0.10  # the outlier did not widen the band down to itself
    assert usual_band([0.7]) is None


def _record(rate: float, mode: str = "full") -> PublishRecord:
    return PublishRecord("g", "2026-11-30T00:00:00Z", mode, 1000, int(rate * 1000), rate)


def test_band_learns_from_passed_full_publishes_only():
    history = [_record(0.70), _record(0.0, mode="incremental"), _record(0.72)]
    assert band_history(history) == [0.70, 0.72]
    eligible = pl.DataFrame({"candidate_id": list(range(1000))})
    matches = pl.DataFrame({"candidate_id": list(range(710))})
    verdict = judge(matches, eligible, mode="full", history=history)
    assert verdict.passed and verdict.figures["match_rate_of_eligible"] == 0.71
    # with one passed run, the band is not there yet, and the figures say why
    assert judge(matches, eligible, mode="full", history=history[:1]).figures["usual_band"] == (
        "needs 1 more passed full run"
    )


def test_collapsed_match_rate_blocks_the_publish(world, world_profiles, greenhouse, data_dir, monkeypatch, tmp_path):
    connect_tenant(data_dir, world, greenhouse, "acme", monkeypatch=monkeypatch)
    storage = TenantStorage(data_dir, "acme")
    # another population entirely: same shape, none of acme's people
    strangers = generate_world(tmp_path / "strangers", seed=999, n_profiles=3000,
                               tenants=[TenantSpec("other", 50)], resumes=False)
    with instance_for_test() as instance:
        good = run_tenant("acme", data_dir=str(data_dir), profiles_glob=world_profiles, instance=instance, mode="full")
        assert good.success and good.checks["match_quality"]
        rate = good.metadata["ats_matches"]["this run: match rate (% of eligible)"]
        [passed] = publish_history(storage)
        assert percent(passed.match_rate_of_eligible) == rate  # the asset and the band speak of one rate
        record_publish(storage, passed)  # a second passed full run at the same rate: a band
        before = pl.read_parquet(storage.published_table("enrichment"))

        for _ in range(2):  # blocked runs never enter the band
            bad = run_tenant("acme", data_dir=str(data_dir), profiles_glob=profiles_glob(strangers),
                             instance=instance, mode="full")
            assert not bad.success
            assert bad.checks["match_quality"] is False
            assert "enrichment" not in bad.metadata  # the publish never ran
            assert pl.read_parquet(storage.published_table("enrichment")).equals(before)
            assert storage.staged_files() == []  # purged when the run ended
        assert len(publish_history(storage)) == 2

        again = run_tenant("acme", data_dir=str(data_dir), profiles_glob=world_profiles, instance=instance, mode="full")
    assert again.success and again.checks["match_quality"]
