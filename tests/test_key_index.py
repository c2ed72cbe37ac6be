"""Candidate generation from the snapshot's key index, the first pass and the memory limits, on
real DuckDB files and the linkage tests' synthetic world."""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from connect_pipeline.linkage import (
    LinkConfig,
    build_key_index,
    build_population,
    key_index_is_current,
    link_tenant,
)
from connect_pipeline.linkage import blocking as blk
from connect_pipeline.linkage import first_pass, key_index, memory
from connect_pipeline.linkage.prepare import prepare_ats, profiles_view
from connect_pipeline.linkage.tables import TABLES
from tests.conftest import log_lines
from tests.test_linkage import _ats, _frame, _profiles, _row


@pytest.fixture(scope="module")
def small_world(tmp_path_factory) -> dict:
    rng = random.Random(7)
    profiles = _profiles(rng)
    ats_rows, truth = _ats(rng, profiles)
    base = tmp_path_factory.mktemp("key_index")
    path = base / "profile_features.parquet"
    _frame(profiles, ats=False).write_parquet(path)
    # as many buckets as a large index has (64), so lookups are tested across buckets
    build_key_index(path, base / "key_index", profiles_per_bucket=50)
    return {"path": path, "ats": _frame(ats_rows, ats=True), "truth": truth, "base": base}


@pytest.fixture(scope="module")
def population(small_world) -> Path:
    """The world's population figures, for the tests that link (the lookups need none)."""
    folder = small_world["base"] / "population"
    build_population(small_world["path"], folder)
    return folder


def _connection(ats: pl.DataFrame, features: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    prepare_ats(con, ats, TABLES)
    profiles_view(con, features, TABLES)
    return con


def _lookup(con: duckdb.DuckDBPyConnection, index: Path, keys: list[blk.BlockingKey]) -> key_index.Lookup:
    return key_index.lookup_pairs(con, index, keys, TABLES.ats, TABLES.key_hashes, TABLES.blocked_pairs)


def _index_pairs(con: duckdb.DuckDBPyConnection, index: Path, key_position: int) -> set[tuple[str, str]]:
    """(candidate, profile id) pairs the lookup returned for one key."""
    path = str(index / key_index.PROFILES)
    return set(con.execute(
        f"SELECT b.ats_uid, p.unique_id FROM {TABLES.blocked_pairs} b "
        f"JOIN read_parquet('{path}') p USING (pid) WHERE b.key = {key_position}"
    ).fetchall())


def test_the_index_returns_exactly_the_pairs_blocking_produces(small_world):
    """No block is over the bound in this world, so every key's pairs are the blocking join's."""
    con = _connection(small_world["ats"], small_world["path"])
    index = small_world["base"] / "key_index"
    keys = list(blk.DEFAULT_BLOCKING_KEYS)
    lookup = _lookup(con, index, keys)
    for position, key in enumerate(keys):
        rows = con.execute(
            f"SELECT l.unique_id, r.unique_id FROM ({key.keys_sql(TABLES.ats)}) l "
            f"JOIN ({key.keys_sql(TABLES.profiles, 'right')}) r USING ({key.key_columns})"
        ).fetchall()
        assert _index_pairs(con, index, position) == set(rows), key.name
        # one row per shared value: two shared e-mails are two hits of one pair
        assert lookup.pairs[key.name] == len(rows)
    con.close()


def test_a_small_tenant_reads_only_the_buckets_its_keys_hit(small_world):
    one = small_world["ats"].head(1)
    con = _connection(one, small_world["path"])
    lookup = _lookup(con, small_world["base"] / "key_index", list(blk.DEFAULT_BLOCKING_KEYS))
    # one candidate has at most a few values per key, so at most a few buckets of each
    assert lookup.files_read <= 4 * len(blk.DEFAULT_BLOCKING_KEYS)
    assert lookup.files_total > 10 * lookup.files_read
    con.close()


def test_a_small_index_is_one_bucket_per_key_and_finds_the_same_pairs(small_world, tmp_path):
    """The bucket count grows with the index: a few thousand profiles make one file per key
    (writing and opening 64 files of a few rows each cost a test world's run 3 s), and the
    lookup, reading the count from the manifest, returns what the 64-bucket index returns."""
    assert [key_index.bucket_count(n) for n in (1, 6_000, 25_001, 60_000, 2_000_000)] == [1, 1, 2, 3, 64]
    small = tmp_path / "key_index"
    build_key_index(small_world["path"], small)
    manifest = json.loads((small / "manifest.json").read_text())
    assert manifest["buckets"] == 1
    assert max(manifest["files"].values()) == 1  # a key with no block under the bound has none
    keys = list(blk.DEFAULT_BLOCKING_KEYS)
    con = _connection(small_world["ats"], small_world["path"])
    one_bucket = _lookup(con, small, keys)
    pairs_one = {p: _index_pairs(con, small, p) for p in range(len(keys))}
    many = _lookup(con, small_world["base"] / "key_index", keys)
    assert one_bucket.pairs == many.pairs
    assert pairs_one == {p: _index_pairs(con, small_world["base"] / "key_index", p) for p in range(len(keys))}
    assert one_bucket.files_read == one_bucket.files_total < many.files_total
    con.close()


def test_the_share_of_the_index_read_comes_from_the_manifest(small_world, tmp_path):
    """A lookup reports how many files the index has without listing the bucket folders it does
    not read (on a 10M-profile index that listing cost every slice of every key a walk)."""
    index = tmp_path / "key_index"
    shutil.copytree(small_world["base"] / "key_index", index)
    one = small_world["ats"].head(1)
    con = _connection(one, small_world["path"])
    keys = list(blk.DEFAULT_BLOCKING_KEYS)
    before = _lookup(con, index, keys)
    manifest = json.loads((index / "manifest.json").read_text())
    assert before.files_total == sum(
        manifest["files"][k.slug] for k in keys if k.slug in manifest["files"]
    ) > 0
    # the folders this candidate's keys do not hash into are never listed: gone, same report
    hit = set()
    for key in keys:  # no block is over the bound here, so no refined key is probed
        hit |= {index / "keys" / key.slug / f"b={b}" for (b,) in con.execute(
            f"SELECT DISTINCT ({key_index._hash(len(key.exprs))} % {manifest['buckets']})::INTEGER "
            f"FROM ({key.keys_sql(TABLES.ats)})"
        ).fetchall()}
    removed = 0
    for part in (index / "keys").glob("*/b=*"):
        if part not in hit:
            shutil.rmtree(part)
            removed += 1
    assert removed > 10
    after = _lookup(con, index, keys)
    assert after.files_total == before.files_total
    assert after.files_read == before.files_read
    assert after.pairs == before.pairs
    con.close()


def test_a_big_block_is_reached_through_a_more_specific_key(tmp_path, monkeypatch):
    """Twelve "james smith" profiles, over a bound of five: the candidate in Leeds still meets
    the one in Leeds (name + city) and the one at its employer (name + company), not the rest;
    the London block (eleven) is too big even refined and is left out, and counted."""
    monkeypatch.setattr(key_index, "MAX_BLOCK", 5)
    profiles = [
        _row(f"p{i}", "james", "smith", "acme" if i == 3 else f"firm{i}", ["acme" if i == 3 else f"firm{i}"],
             "analyst", None, [], [], "leeds" if i == 0 else "london", "gb")
        for i in range(12)
    ]
    path = tmp_path / "features.parquet"
    _frame(profiles, ats=False).write_parquet(path)
    figures = build_key_index(path, tmp_path / "index")
    assert figures.big_blocks["first_name+last_name"] == 1
    assert figures.left_out["first_name+last_name+city"] == 1  # london, 11 profiles
    candidate = _row("1", "james", "smith", "acme", ["acme"], "analyst", None, [], [], "leeds", "gb")
    ats = _frame([candidate | {"candidate_id": 1}], ats=True)
    con = _connection(ats, path)
    keys = [k for k in blk.DEFAULT_BLOCKING_KEYS if k.name == "first_name+last_name"]
    lookup = _lookup(con, tmp_path / "index", keys)
    assert _index_pairs(con, tmp_path / "index", 0) == {("1", "p0"), ("1", "p3")}
    assert lookup.pairs == {"first_name+last_name": 0, "first_name+last_name+city": 1,
                            "first_name+last_name+companies": 1}
    con.close()


def test_the_first_pass_keeps_the_true_match_within_the_bound():
    """Thirty namesakes share only the name; the true profile shares the name and an e-mail.
    With three kept per candidate the true profile is first, whatever the ids' order."""
    con = duckdb.connect()
    con.execute("CREATE TABLE hits (ats_uid VARCHAR, pid BIGINT, key INTEGER, n INTEGER)")
    con.execute("INSERT INTO hits SELECT '1', i, 3, 31 FROM range(31) t(i)")  # first+last
    con.execute("INSERT INTO hits VALUES ('1', 30, 1, 1)")  # the e-mail, on the last id
    con.execute("INSERT INTO hits SELECT '2', i, 8, 5000 FROM range(40) t(i)")  # first+city only
    passed = first_pass.keep_best(con, "hits", "kept", n_profiles=1_000_000, bound=3)
    kept = con.execute("SELECT ats_uid, pid FROM kept ORDER BY ats_uid, score DESC, pid").fetchall()
    assert kept[0] == ("1", 30)
    # candidate 1: the true profile, then 30 namesakes tied behind it, kept up to the tie cap
    cap = 3 * first_pass.TIE_FACTOR
    assert [p for a, p in kept if a == "1"] == [30, *range(cap - 1)]
    assert passed == first_pass.FirstPass(key_hits=72, kept_pairs=2 * cap, candidates=2)
    # past the cap, ties are broken by id, so a rerun keeps the same pairs
    assert [p for a, p in kept if a == "2"] == list(range(cap))


def test_a_shared_identifier_outranks_any_amount_of_shared_name():
    """A surname changed by marriage: the true profile shares the LinkedIn URL and the given
    name + employer; thirty namesakes share the old name through three name keys (first+last,
    its prefix, its sound), which together sum to more bits. The shared identifier goes first."""
    con = duckdb.connect()
    con.execute("CREATE TABLE hits (ats_uid VARCHAR, pid BIGINT, key INTEGER, n INTEGER)")
    for name_key in (3, 4, 5):
        con.execute(f"INSERT INTO hits SELECT '1', i, {name_key}, 28 FROM range(100, 130) t(i)")
    con.execute("INSERT INTO hits VALUES ('1', 7, 0, 1), ('1', 7, 7, 4)")  # LinkedIn, first+company
    first_pass.keep_best(con, "hits", "kept", n_profiles=40_000, bound=2, identifier_keys=(0, 1, 2))
    best = con.execute("SELECT pid FROM kept ORDER BY pid LIMIT 1").fetchall()
    assert best == [(7,)]
    # without the identifier order the name keys' sum wins and the true profile is cut
    first_pass.keep_best(con, "hits", "plain", n_profiles=40_000, bound=2)
    assert 7 not in {p for (p,) in con.execute("SELECT pid FROM plain").fetchall()}


def test_keys_made_of_the_names_alone_count_once():
    """A surname changed by marriage and no identifier: the true profile shares the given name
    with the employer and with the city; thirty namesakes share the old name through four keys
    made of the names alone (first+last, its prefix, its sound, surname + initial), which say
    one thing. Counted once, the name weighs less than given name + employer + city, and the
    true profile is kept; summed, the namesakes fill the bound and it is cut."""
    keys = blk.DEFAULT_BLOCKING_KEYS
    position = {key.name: i for i, key in enumerate(keys)}
    name_keys = tuple(i for i, key in enumerate(keys) if key.names_only)
    assert {keys[i].name for i in name_keys} == {
        "first_name+last_name", "first_name+last_name_prefix", "phonetic_names", "last_name+first_initial",
        "swapped_names", "swapped_names_mirror",
    }
    con = duckdb.connect()
    con.execute("CREATE TABLE hits (ats_uid VARCHAR, pid BIGINT, key INTEGER, n INTEGER)")
    for name in ("first_name+last_name", "first_name+last_name_prefix", "phonetic_names", "last_name+first_initial"):
        con.execute(f"INSERT INTO hits SELECT '1', i, {position[name]}, 28 FROM range(100, 130) t(i)")
    con.execute(f"INSERT INTO hits VALUES ('1', 7, {position['first_name+company']}, 40), "
                f"('1', 7, {position['first_name+city']}, 60)")
    first_pass.keep_best(con, "hits", "kept", n_profiles=40_000, bound=2, name_keys=name_keys)
    kept = [p for (p,) in con.execute("SELECT pid FROM kept ORDER BY score DESC, pid").fetchall()]
    assert kept[0] == 7
    assert len(kept) == 2 * first_pass.TIE_FACTOR  # the namesakes tied behind it still reach the model
    first_pass.keep_best(con, "hits", "summed", n_profiles=40_000, bound=2)
    assert 7 not in {p for (p,) in con.execute("SELECT pid FROM summed").fetchall()}


def test_a_swapped_name_is_kept_by_the_place_and_employer_it_shares(tmp_path):
    """A candidate recorded family name first ("chen jun") among sixty namesakes of the swapped
    name living elsewhere: the swapped names alone tie all sixty-one profiles, and the first pass
    would keep a handful by id. The true profile also shares the city and the employer, and
    the swapped names beside them rank it first."""
    profiles = [
        _row(f"p{i:03d}", "jun", "chen", f"firm{i}", [f"firm{i}"], "analyst", None, [], [], f"town{i}", "cn")
        for i in range(60)
    ]
    profiles.append(_row("p999", "jun", "chen", "north labs", ["north labs"], "analyst", None, [], [], "beijing", "cn"))
    path = tmp_path / "features.parquet"
    _frame(profiles, ats=False).write_parquet(path)
    build_key_index(path, tmp_path / "index")
    candidate = _row("1", "chen", "jun", "north labs", ["north labs"], "analyst", None, [], [], "beijing", "cn")
    con = _connection(_frame([candidate | {"candidate_id": 1}], ats=True), path)
    keys = list(blk.DEFAULT_BLOCKING_KEYS)
    _lookup(con, tmp_path / "index", keys)
    first_pass.keep_best(con, TABLES.blocked_pairs, "kept", n_profiles=len(profiles), bound=2,
                         name_keys=tuple(i for i, key in enumerate(keys) if key.names_only))
    kept = con.execute(
        f"SELECT p.unique_id FROM kept JOIN read_parquet('{tmp_path / 'index' / key_index.PROFILES}') p USING (pid) "
        "ORDER BY score DESC, p.unique_id"
    ).fetchall()
    assert kept[0] == ("p999",)
    assert len(kept) == 2 * first_pass.TIE_FACTOR  # the namesakes tied behind it still reach the model
    con.close()


def test_the_first_pass_does_not_cut_through_a_tie_it_cannot_tell_apart():
    """Five namesakes share exactly the same keys with the candidate; the model would tell them
    apart by title or employer, the first pass cannot. With two kept per candidate, all five
    reach the model, whatever their ids; a profile with less evidence does not."""
    con = duckdb.connect()
    con.execute("CREATE TABLE hits (ats_uid VARCHAR, pid BIGINT, key INTEGER, n INTEGER)")
    con.execute("INSERT INTO hits SELECT '1', i, 3, 5 FROM range(100, 105) t(i)")  # first+last
    con.execute("INSERT INTO hits VALUES ('1', 1, 8, 900)")  # first+city only: less evidence
    first_pass.keep_best(con, "hits", "kept", n_profiles=1_000_000, bound=2)
    kept = [p for (p,) in con.execute("SELECT pid FROM kept ORDER BY pid").fetchall()]
    assert kept == [100, 101, 102, 103, 104]


@pytest.mark.slow  # links a whole world again: `make test-fast` leaves it out
def test_linking_through_the_key_index_finds_the_same_matches(small_world, population, tmp_path):
    """The same candidates, linked over the whole index and through the key index with the
    first pass: the same recall (within one candidate) and no loss of precision, on fewer pairs."""
    base, ats, truth = small_world["base"], small_world["ats"], small_world["truth"]
    config = LinkConfig(u_max_pairs=3e5)
    whole = link_tenant(ats, small_world["path"], tmp_path / "whole", config,
                        population_dir=population)
    with log_lines() as said:
        indexed = link_tenant(ats, small_world["path"], tmp_path / "indexed", config,
                              population_dir=population, key_index_dir=base / "key_index")
    assert any(m.startswith("first pass:") for m in said)

    def score(result) -> tuple[int, int]:
        got = dict(zip(result.matches["candidate_id"].to_list(), result.matches["profile_id"].to_list()))
        return sum(truth.get(c) == p for c, p in got.items()), len(got)

    (right_w, n_w), (right_i, n_i) = score(whole), score(indexed)
    assert right_i >= right_w - 1
    assert (n_i - right_i) <= (n_w - right_w)
    # the bound, with the profiles tied at it, up to the tie cap
    assert indexed.pairs_compared <= len(ats) * LinkConfig().first_pass_bound * first_pass.TIE_FACTOR
    assert indexed.pairs_compared < whole.pairs_compared


def test_a_rebuilt_snapshot_or_a_changed_key_makes_the_index_stale(tmp_path, small_world):
    path = tmp_path / "features.parquet"
    path.write_bytes(small_world["path"].read_bytes())
    build_key_index(path, tmp_path / "index")
    assert key_index_is_current(path, tmp_path / "index")
    # the snapshot's features written again (same rows, a new file)
    time.sleep(0.01)
    path.write_bytes(small_world["path"].read_bytes())
    os.utime(path, ns=(time.time_ns(), time.time_ns()))
    assert not key_index_is_current(path, tmp_path / "index")
    build_key_index(path, tmp_path / "index")
    assert key_index_is_current(path, tmp_path / "index")
    # a key the index was not built with
    con = duckdb.connect()
    definition = profiles_view(con, path, TABLES)
    extra = (*blk.DEFAULT_BLOCKING_KEYS, blk.BlockingKey("title", ("title",)))
    assert not key_index.is_current(tmp_path / "index", path, definition, extra)
    con.close()


@pytest.mark.slow  # links a whole world again: `make test-fast` leaves it out
def test_a_stale_index_falls_back_to_blocking_over_the_whole_index(small_world, population, tmp_path):
    with log_lines() as said:
        link_tenant(small_world["ats"].head(50), small_world["path"], tmp_path / "m", LinkConfig(u_max_pairs=5e4),
                    population_dir=population, key_index_dir=tmp_path / "absent")
    assert any("key index" in m and "stale or missing" in m for m in said)
    assert not any(m.startswith("first pass:") for m in said)


def test_memory_settings_are_applied(tmp_path):
    con = duckdb.connect()
    settings = memory.apply_limits(con, tmp_path / "spill", limit_bytes=512 << 20, threads=1)
    assert settings.limit_bytes == 512 << 20
    limit, temp, threads = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory'), "
        "current_setting('threads')"
    ).fetchall()[0]
    assert limit.replace(" ", "") in {"512.0MiB", "512MiB", "536.8MB", "536.8MB"}
    assert Path(temp) == tmp_path / "spill" and (tmp_path / "spill").is_dir()
    assert int(threads) == 1
    con.close()
    assert memory.memory_limit(0.25) == int(memory.available_memory() * 0.25)
    with pytest.raises(ValueError):
        memory.memory_limit(1.5)


@pytest.mark.slow  # links a whole world again: `make test-fast` leaves it out
def test_a_run_applies_its_memory_limit_and_removes_its_spill_folder(small_world, population, tmp_path):
    spill = tmp_path / "spill"
    with log_lines() as said:
        link_tenant(small_world["ats"].head(50), small_world["path"], tmp_path / "m",
                    LinkConfig(u_max_pairs=5e4, memory_limit_bytes=768 << 20, spill_dir=spill),
                    population_dir=population)
    assert "DuckDB memory limit 0.8 GiB" in " ".join(said) or "DuckDB memory limit 0.7 GiB" in " ".join(said)
    assert list(spill.iterdir()) == []
