"""A blocking quality check stops a bad publish: the last good table stays, staging is purged."""

from __future__ import annotations

import polars as pl
from dagster import AssetMaterialization, instance_for_test

from assets.checks import usual_band
from connect_pipeline.cli.runner import run_tenant
from connect_pipeline.storage import TenantStorage
from connect_pipeline.testkit.world.generate import TenantSpec, generate_world
from connect_pipeline.testkit.world.layout import profiles_glob
from tests.conftest import connect_tenant


def test_usual_band_ignores_one_outlier():
    low, high = usual_band([0.70, 0.72, 0.69, 0.71, 0.10])
    assert low <= 0.69 and high >= 0.72
    assert low > 0.10  # the outlier did not widen the band down to itself
    assert usual_band([0.7]) is None


def test_collapsed_match_rate_blocks_the_publish(world, world_profiles, greenhouse, data_dir, monkeypatch, tmp_path):
    connect_tenant(data_dir, world, greenhouse, "acme", monkeypatch=monkeypatch)
    storage = TenantStorage(data_dir, "acme")
    # another population entirely: same shape, none of acme's people
    strangers = generate_world(tmp_path / "strangers", seed=999, n_profiles=3000,
                               tenants=[TenantSpec("other", 50)], resumes=False)
    with instance_for_test() as instance:
        good = run_tenant("acme", data_dir=str(data_dir), profiles_glob=world_profiles, instance=instance, mode="full")
        assert good.success and good.checks["match_quality"]
        rate = good.metadata["ats_matches"]["match_rate"]
        for _ in range(3):  # earlier runs at the same rate: the tenant's usual band
            instance.report_runless_asset_event(AssetMaterialization(
                "ats_matches", partition="acme", metadata={"match_rate": rate, "extract_mode": "full"}))
        before = pl.read_parquet(storage.published / "enrichment.parquet")

        bad = run_tenant("acme", data_dir=str(data_dir), profiles_glob=profiles_glob(strangers),
                         instance=instance, mode="full")
    assert not bad.success
    assert bad.checks["match_quality"] is False
    assert "enrichment" not in bad.metadata  # the publish never ran
    assert pl.read_parquet(storage.published / "enrichment.parquet").equals(before)
    assert storage.staged_files() == []
