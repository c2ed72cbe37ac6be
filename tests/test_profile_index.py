"""The profile index contract: broken indexes are refused with the file, the column and the fix.

Every index here is real Parquet on disk, derived from the generated world's index.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connect_pipeline.errors import ConfigError, ProfileIndexError
from connect_pipeline.normalise.profiles import profile_snapshot_id
from connect_pipeline.profile_index import PROFILE_COLUMNS, validate_profile_index


@pytest.fixture()
def index(world_profiles: str, tmp_path: Path) -> Path:
    """A private copy of the world's index (tests damage it)."""
    folder = tmp_path / "index"
    folder.mkdir()
    for source in sorted(Path(world_profiles).parent.glob("*.parquet")):
        shutil.copy(source, folder / source.name)
    return folder


def _glob(folder: Path) -> str:
    return str(folder / "*.parquet")


def _frame(folder: Path) -> pl.DataFrame:
    return pl.read_parquet(_glob(folder))


def test_a_valid_index_passes_and_is_recorded_per_snapshot(index, tmp_path):
    cache = tmp_path / "cache"
    first = validate_profile_index(_glob(index), cache_dir=cache)
    assert first.rows == _frame(index).height and first.files == 1 and not first.cached
    assert first.snapshot_id == profile_snapshot_id(_glob(index))

    record = cache / first.snapshot_id / "index_check.json"
    assert json.loads(record.read_text())["rows"] == first.rows
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert stat.S_IMODE(record.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700

    again = validate_profile_index(_glob(index), cache_dir=cache)
    assert again.cached and again.rows == first.rows

    # a new file is a new snapshot: checked again, and a bad one is caught despite the record
    _frame(index).head(3).write_parquet(index / "part-00001.parquet")
    with pytest.raises(ProfileIndexError, match="profile_id"):
        validate_profile_index(_glob(index), cache_dir=cache)


def test_duplicated_ids_are_refused_naming_some_ids_and_their_files(index):
    profiles = _frame(index)
    dups = profiles.sample(40, seed=3).with_columns(pl.col("current_title").fill_null("").str.to_uppercase())
    dups.write_parquet(index / "part-00001.parquet")
    with pytest.raises(ProfileIndexError) as raised:
        validate_profile_index(_glob(index))
    message = str(raised.value)
    assert "'profile_id'" in message and "unique" in message
    assert "40 ids occur more than once" in message
    shown = [pid for pid in dups["profile_id"] if repr(pid) in message]
    assert 1 <= len(shown) <= 5
    assert str(index / "part-00000.parquet") in message and str(index / "part-00001.parquet") in message
    assert "keep one row per profile_id" in message


def test_a_duplicate_inside_one_file_is_refused(index):
    profiles = _frame(index)
    pl.concat([profiles, profiles.head(1)]).write_parquet(index / "part-00000.parquet")
    with pytest.raises(ProfileIndexError, match=r"1 ids occur more than once.*part-00000\.parquet"):
        validate_profile_index(_glob(index))


def test_a_truncated_file_is_named(index):
    _frame(index).head(500).write_parquet(index / "part-00001.parquet")
    damaged = index / "part-00001.parquet"
    with damaged.open("r+b") as handle:
        handle.truncate(damaged.stat().st_size // 2)
    with pytest.raises(ProfileIndexError) as raised:
        validate_profile_index(_glob(index))
    message = str(raised.value)
    assert str(damaged) in message and "truncated" in message
    assert str(index / "part-00000.parquet") not in message


def test_names_stored_as_lists_name_the_file_the_column_and_the_fix(index):
    target = index / "part-00000.parquet"
    _frame(index).with_columns(pl.concat_list(pl.col("first_name")).alias("first_name")).write_parquet(target)
    with pytest.raises(ProfileIndexError) as raised:
        validate_profile_index(_glob(index))
    message = str(raised.value)
    assert str(target) in message and "'first_name'" in message
    assert "list" in message and "plain strings" in message


def test_a_missing_column_is_named(index):
    target = index / "part-00000.parquet"
    _frame(index).drop("emails").write_parquet(target)
    with pytest.raises(ProfileIndexError) as raised:
        validate_profile_index(_glob(index))
    assert str(target) in str(raised.value) and "lacks the column 'emails'" in str(raised.value)


def test_optional_columns_may_be_absent_and_every_string_flavour_counts(index):
    table = _frame(index).drop("current_title", "linkedin_url").to_arrow()
    flavours = {"profile_id": pa.large_string(), "first_name": pa.string_view(), "full_name": pa.large_string()}
    schema = pa.schema([
        pa.field(f.name, flavours.get(f.name, f.type)) if f.name in flavours
        else pa.field(f.name, pa.large_list(pa.large_string())) if f.name == "emails"
        else f
        for f in table.schema
    ])
    table = table.cast(schema)
    table = table.set_column(table.schema.get_field_index("phones"), "phones",
                             pa.nulls(table.num_rows, pa.list_(pa.string())))
    pq.write_table(table, index / "part-00000.parquet")
    assert validate_profile_index(_glob(index)).rows == table.num_rows


def test_null_or_empty_profile_ids_are_refused(index):
    profiles = _frame(index)
    profiles.with_columns(
        pl.when(pl.int_range(pl.len()) == 7).then(pl.lit("")).otherwise(pl.col("profile_id")).alias("profile_id")
    ).write_parquet(index / "part-00000.parquet")
    with pytest.raises(ProfileIndexError, match=r"'profile_id' is null or empty in 1 rows.*part-00000"):
        validate_profile_index(_glob(index))


def test_rows_without_a_usable_name_are_refused(index):
    profiles = _frame(index)
    nameless = pl.int_range(pl.len()) < 3
    profiles.with_columns(
        pl.when(nameless).then(None).otherwise(pl.col("full_name")).alias("full_name"),
        pl.when(nameless).then(pl.lit("  ")).otherwise(pl.col("last_name")).alias("last_name"),
    ).write_parquet(index / "part-00000.parquet")
    with pytest.raises(ProfileIndexError) as raised:
        validate_profile_index(_glob(index))
    message = str(raised.value)
    assert "3 rows have no name" in message and "'full_name'" in message
    assert repr(profiles["profile_id"][0]) in message and "part-00000.parquet" in message


def test_a_glob_matching_nothing_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="matches no file"):
        validate_profile_index(str(tmp_path / "nowhere" / "*.parquet"))


def test_the_contract_lists_every_column_the_world_writes(world_profiles):
    written = pq.read_schema(sorted(Path(world_profiles).parent.glob("*.parquet"))[0]).names
    assert set(PROFILE_COLUMNS) == set(written)
    assert not PROFILE_COLUMNS["profile_id"].nullable and not PROFILE_COLUMNS["profile_id"].optional


def test_a_damaged_record_is_ignored(index, tmp_path):
    cache = tmp_path / "cache"
    summary = validate_profile_index(_glob(index), cache_dir=cache)
    (cache / summary.snapshot_id / "index_check.json").write_text("{not json")
    assert not validate_profile_index(_glob(index), cache_dir=cache).cached
    assert validate_profile_index(_glob(index), cache_dir=cache).cached
    assert not [p for p in os.listdir(cache / summary.snapshot_id) if p.endswith(".tmp")]
