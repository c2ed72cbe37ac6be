"""The profile features are built by their own step, once per snapshot, and only read by the link."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import polars as pl
import pytest

from connect_pipeline.errors import ConfigError
from connect_pipeline.linkage import key_index_is_current
from connect_pipeline.pipeline import built_profile_features, ensure_profile_features, key_index_path


@pytest.fixture(scope="module")
def profiles(tmp_path_factory: pytest.TempPathFactory, world_profiles: str) -> str:
    """The first thousand profiles of the world's index: when and how often the features are
    built does not depend on how many rows they have, and each build costs less."""
    folder = tmp_path_factory.mktemp("profiles")
    pl.read_parquet(world_profiles).head(1000).write_parquet(folder / "part-00000.parquet")
    return str(folder / "*.parquet")


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory, profiles: str) -> tuple[Path, Path]:
    """One build of the profile features for the module: (data root, features file).
    A test that spoils a part of it leaves it rebuilt, as the step would."""
    root = tmp_path_factory.mktemp("profile_features")
    return root, ensure_profile_features(root, profiles)


def test_the_link_reads_built_features_and_never_builds_them(tmp_path, profiles, snapshot):
    with pytest.raises(ConfigError, match="materialise the profile_features asset"):
        built_profile_features(tmp_path, profiles)
    assert not any(tmp_path.iterdir())  # refused without building anything
    root, built = snapshot
    assert built_profile_features(root, profiles) == built
    # the snapshot build writes the key index beside the features
    assert key_index_is_current(built, key_index_path(built))


def test_a_stale_part_of_the_snapshot_is_refused_then_rebuilt(profiles, snapshot):
    """Figures or a key index written under other definitions send the link back to the
    profile_features step, which rebuilds just that part."""
    root, built = snapshot
    features_mtime = built.stat().st_mtime_ns
    for part in ("population", "key_index"):
        manifest = built.parent / part / "manifest.json"
        older = json.loads(manifest.read_text()) | {"definition": "older", "fingerprint": "older"}
        manifest.write_text(json.dumps(older))
        with pytest.raises(ConfigError, match="materialise the profile_features asset"):
            built_profile_features(root, profiles)
        assert ensure_profile_features(root, profiles) == built
        assert json.loads(manifest.read_text()) != older
        assert built_profile_features(root, profiles) == built
    assert built.stat().st_mtime_ns == features_mtime


def test_runs_meeting_a_new_snapshot_together_build_it_once(tmp_path, profiles, caplog):
    caplog.set_level(logging.INFO, logger="connect_pipeline.pipeline")
    start = threading.Barrier(3)  # the three meet the snapshot at once, however small it is

    def run() -> None:
        start.wait()
        ensure_profile_features(tmp_path, profiles)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    said = [r.getMessage() for r in caplog.records if r.name == "connect_pipeline.pipeline"]
    assert sum(line.startswith("building profile features") for line in said) == 1
