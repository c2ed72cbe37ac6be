"""Candidate generation from an inverted index built once per profile-index snapshot.

Why: blocking used to find a tenant's pairs by computing every blocking key over every profile
(unnesting companies, e-mails and phones of ten million rows) and semi-joining them with the
tenant's keys, in every tenant's run. On a 10M-profile index that scan alone took minutes, and
the rules that exploded had their largest blocks left out, so recall fell as the index grew.

Here the profile side of every blocking key is computed once per snapshot and written as an
inverted index, key value -> profile ids, so a tenant's run computes only its own keys and reads
only the index files its key values fall into:

* ``profiles.parquet``: every profile in model columns (the same select list the run's view
  applies) with ``pid``, a dense integer id per snapshot; the run fetches the profiles it will
  score from here by ``pid``, without recomputing the model columns.
* ``keys/<key>/b=<bucket>/*.parquet``: rows ``h`` (a 64-bit hash of the key's values), ``pid``,
  ``n`` (profiles in that block), partitioned by ``h % buckets`` and sorted by ``h``. A tenant
  hashes its own key values the same way and reads the buckets they fall into (a small tenant
  reads a few files; a large one reads each bucket once, never a block it does not share). The
  bucket count grows with the index (``bucket_count``) and is read from the manifest.
* ``big/<key>.parquet``: ``h, n`` of the blocks larger than ``MAX_BLOCK`` profiles (the
  commonest names, the largest employers and cities). Their rows are not in ``keys/``: pairing
  a candidate with thousands of namesakes is what made prediction cost most of a large run.
* ``keys/<key>+<refinement>/...``: the *deep end* of those big blocks, entered through a second,
  more specific key: the same values plus the city or one of the employers
  (``REFINEMENTS``). A "james smith" candidate in Leeds at Acme is still paired with the
  james smiths who live in Leeds or worked at Acme, rather than with none of them (which is what
  leaving the block out did). A refined block that is itself larger than ``MAX_BLOCK`` is left
  out (counted in the manifest).
* ``manifest.json``: what the index was built from (the features file's size and modification
  time, the model columns' definition, every key's SQL, the block bound and the DuckDB version
  whose ``hash`` wrote it), its bucket count, and how many files each key's folder holds, so a
  lookup reports what share of the index it read without listing folders it does not read.
  A rebuilt snapshot or a changed key makes it stale: a tenant run is sent back to the
  ``profile_features`` step, which rebuilds it; ``link_tenant`` called on its own falls back to
  blocking over the whole index, and says so.

What it holds: profile ids, hashes of profile key values, block sizes and the profiles' model
columns, all from the public index. No tenant data is read to build it and nothing of a tenant
is ever written to it, so one index serves every tenant without carrying anything between them.

Exactness: for keys and blocks under the bound the index returns exactly the pairs blocking
with the same keys returns, plus, with probability about pairs / 2^64, a pair whose values
differ but hash alike (a superset; the first pass and the model then judge it like any other).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

import duckdb

from connect_pipeline.errors import LinkageError
from connect_pipeline.linkage import snapshot_folder
from connect_pipeline.linkage.blocking import BlockingKey

logger = logging.getLogger(__name__)

INDEX_VERSION = 3
"""2: the manifest counts each key folder's files. 3: the bucket count grows with the index."""
MAX_BUCKETS = 64
"""Files per key at most: a tenant reads the buckets its key values hash into."""
PROFILES_PER_BUCKET = 25_000
"""Profiles per bucket below ``MAX_BUCKETS``: a bucket of a few hundred rows costs a file to
write and to open and saves no reading, so a 6,000-profile index (a test world, a trial) is one
bucket per key (768 files took 2.8 s to write and 0.6 s to open per run; 12 take 1.5 s and
0.2 s), and a 2M-profile index is 64."""
MAX_BLOCK = 1_000
"""Profiles a block may hold and still be read whole; a larger block is reached only through
its refinements. Blocks above it are the commonest names and the largest employers and cities,
where a value alone cannot carry a match anyway; with the first pass keeping 10 profiles per
candidate, a block of a thousand already holds a hundred times what is scored. Not tuned: on
realistic names at 100k x 1M the recall lost to candidate generation was nil (README, Scale)."""
REFINEMENTS: tuple[str, ...] = ("city", "companies")
"""Model columns that narrow a big block (a list column is unnested, one value per row)."""
_LIST_REFINEMENTS = frozenset({"companies"})
PROFILES = "profiles.parquet"


@dataclass(frozen=True)
class IndexFigures:
    """What a build wrote: profiles, index rows per key, big blocks per key, refined blocks
    left out because they were still too big."""

    n_profiles: int
    rows: dict[str, int]
    big_blocks: dict[str, int]
    left_out: dict[str, int]


def bucket_count(n_profiles: int, profiles_per_bucket: int = PROFILES_PER_BUCKET) -> int:
    """Buckets per key for an index of ``n_profiles``: one per ``profiles_per_bucket``, at most
    ``MAX_BUCKETS``."""
    return max(1, min(MAX_BUCKETS, -(-n_profiles // max(1, profiles_per_bucket))))


def _hash(n: int, upto: int | None = None) -> str:
    """``hash(k0, ..., k<n-1>)``: the one spelling of a key value's hash on both sides."""
    return "hash(" + ", ".join(f"k{i}" for i in range(upto if upto is not None else n)) + ")"


def refinements(key: BlockingKey) -> list[tuple[str, BlockingKey]]:
    """The more specific keys that reach into ``key``'s big blocks: ``key`` plus one column.

    A column the key already compares adds nothing and is skipped.
    """
    used = " ".join((*key.exprs, *(key.right_exprs or ())))
    out = []
    for col in REFINEMENTS:
        if col in used:
            continue
        explode = key.explode + ((col,) if col in _LIST_REFINEMENTS else ())
        right = None if key.right_exprs is None else (*key.right_exprs, col)
        refined = replace(
            key, name=f"{key.name}+{col}", exprs=(*key.exprs, col), explode=explode,
            right_exprs=right, left_out=None,
        )
        out.append((col, refined))
    return out


def _quote(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def features_identity(features: Path | str) -> dict[str, int]:
    """Size and modification time of the snapshot's features: a rebuilt file changes them."""
    path = Path(features)
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    stats = [f.stat() for f in files]
    return {"bytes": sum(s.st_size for s in stats), "mtime_ns": max((s.st_mtime_ns for s in stats), default=0)}


def _definition(view_definition: str, keys: Iterable[BlockingKey]) -> dict:
    """Everything the index's content depends on besides the data."""
    return {
        "version": INDEX_VERSION,
        "max_block": MAX_BLOCK,
        "refinements": list(REFINEMENTS),
        "duckdb": duckdb.__version__,
        "view": view_definition,
        "keys": {k.slug: k.keys_sql("profiles", "right") for k in keys},
    }


def is_current(
    out_dir: Path | None, features: Path | str, view_definition: str, keys: Iterable[BlockingKey]
) -> bool:
    """Whether ``out_dir`` holds an index of these features built with today's definitions."""
    manifest = snapshot_folder.read_manifest(out_dir)
    return manifest is not None and (
        manifest.get("definition") == _definition(view_definition, keys)
        and manifest.get("features") == features_identity(features)
    )


def build_key_index(
    con: duckdb.DuckDBPyConnection,
    view: str,
    view_definition: str,
    keys: Iterable[BlockingKey],
    features: Path | str,
    out_dir: Path,
    profiles_per_bucket: int = PROFILES_PER_BUCKET,
) -> IndexFigures:
    """Write the index of the profiles behind ``view`` into ``out_dir`` (replaced whole).

    A crash leaves the previous folder (or none), never a mix. The bucket count, whatever
    ``profiles_per_bucket`` made it, is the manifest's: lookups read it from there.
    """
    keys = list(keys)
    out_dir = Path(out_dir)
    tmp = snapshot_folder.start(out_dir)
    profiles = tmp / PROFILES
    con.execute(
        f"COPY (SELECT row_number() OVER () - 1 AS pid, * FROM {view}) TO {_quote(profiles)} "
        "(FORMAT parquet, ROW_GROUP_SIZE 122880)"
    )
    # keys are computed from the materialised model columns, with pid standing in for the id
    con.execute(
        "CREATE OR REPLACE TEMP VIEW key_index_source AS "
        f"SELECT * EXCLUDE (unique_id, pid), pid AS unique_id FROM read_parquet({_quote(profiles)})"
    )
    n_profiles = int(con.execute(f"SELECT count(*) FROM read_parquet({_quote(profiles)})").fetchall()[0][0])
    buckets = bucket_count(n_profiles, profiles_per_bucket)
    rows: dict[str, int] = {}
    big: dict[str, int] = {}
    left_out: dict[str, int] = {}
    files: dict[str, int] = {}
    (tmp / "keys").mkdir()
    (tmp / "big").mkdir()
    for key in keys:
        n = len(key.exprs)
        rows[key.name], files[key.slug] = _write_blocks(
            con,
            f"SELECT {_hash(n)} AS h, unique_id AS pid FROM ({key.keys_sql('key_index_source', 'right')})",
            tmp / "keys" / key.slug,
            buckets,
        )
        big_path = tmp / "big" / f"{key.slug}.parquet"
        con.execute(
            f"COPY (SELECT h, n FROM key_index_sizes WHERE n > {MAX_BLOCK} ORDER BY h) TO {_quote(big_path)} (FORMAT parquet)"
        )
        big[key.name] = int(con.execute(f"SELECT count(*) FROM read_parquet({_quote(big_path)})").fetchall()[0][0])
        if not big[key.name]:
            continue
        for _, refined in refinements(key):
            rows[refined.name], files[refined.slug] = _write_blocks(
                con,
                f"SELECT {_hash(n + 1)} AS h, unique_id AS pid FROM "
                f"({refined.keys_sql('key_index_source', 'right')}) "
                f"WHERE {_hash(n)} IN (SELECT h FROM read_parquet({_quote(big_path)}))",
                tmp / "keys" / refined.slug,
                buckets,
            )
            left_out[refined.name] = int(con.execute(
                f"SELECT count(*) FROM key_index_sizes WHERE n > {MAX_BLOCK}"
            ).fetchall()[0][0])
        logger.info(f"key index: {key.name}: {rows[key.name]:,} rows, {big[key.name]:,} blocks over {MAX_BLOCK:,} profiles")
    for table in ("key_index_rows", "key_index_sizes"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute("DROP VIEW IF EXISTS key_index_source")
    manifest = {
        "definition": _definition(view_definition, keys),
        "features": features_identity(features),
        "n_profiles": n_profiles,
        "buckets": buckets,
        "rows": rows,
        "big_blocks": big,
        "refined_blocks_left_out": left_out,
        "files": files,
    }
    snapshot_folder.finish(tmp, out_dir, manifest)
    return IndexFigures(n_profiles, rows, big, left_out)


def _write_blocks(
    con: duckdb.DuckDBPyConnection, rows_sql: str, folder: Path, buckets: int
) -> tuple[int, int]:
    """Write the blocks of ``rows_sql`` (``h``, ``pid``) that hold at most ``MAX_BLOCK`` profiles
    to ``folder`` as rows ``h, pid, n``, partitioned by ``h % buckets`` and sorted by ``h``
    within a bucket; returns the rows and the files written.

    Leaves ``key_index_sizes`` (every block's size, the big ones too) for the caller to read
    the blocks over the bound from. The row count comes from the block sizes, so the rows are
    computed once, by the write.
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE key_index_rows AS {rows_sql}")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE key_index_sizes AS "
        "SELECT h, count(*)::INTEGER AS n FROM key_index_rows GROUP BY h"
    )
    n = int(con.execute(
        f"SELECT coalesce(sum(n), 0) FROM key_index_sizes WHERE n <= {MAX_BLOCK}"
    ).fetchall()[0][0])
    if n:
        con.execute(
            f"COPY (SELECT r.h, r.pid, s.n, (r.h % {buckets})::INTEGER AS b "
            f"FROM key_index_rows r JOIN key_index_sizes s USING (h) WHERE s.n <= {MAX_BLOCK} ORDER BY b, h) "
            f"TO {_quote(folder)} (FORMAT parquet, PARTITION_BY (b), OVERWRITE_OR_IGNORE)"
        )
    else:
        folder.mkdir(parents=True, exist_ok=True)
    return n, sum(1 for _ in folder.glob("b=*/*.parquet"))


def _bucket_files(folder: Path, buckets: Iterable[int]) -> list[str]:
    """The index files of ``buckets`` that exist (a bucket no profile hashed into has none)."""
    out: list[str] = []
    for b in sorted(set(buckets)):
        part = folder / f"b={b}"
        if part.is_dir():
            out.extend(str(p) for p in sorted(part.glob("*.parquet")))
    return out


@dataclass(frozen=True)
class Lookup:
    """A tenant's lookup: pairs per key (``name+refinement`` for a big block's deep end) and
    how many index files it read out of how many there are."""

    pairs: dict[str, int]
    files_read: int
    files_total: int


def lookup_pairs(
    con: duckdb.DuckDBPyConnection,
    index_dir: Path,
    keys: Iterable[BlockingKey],
    ats: str,
    key_hashes: str,
    out_table: str,
) -> Lookup:
    """Create ``out_table`` (``ats_uid``, ``pid``, ``key`` (position in ``keys``), ``n`` (the
    block's profiles)) with every pair the keys produce between ``ats`` and the index.

    Reads only the buckets the tenant's key values hash into. A value whose block is big is
    looked up through the key's refinements instead (``refinements``).
    """
    index_dir = Path(index_dir)
    con.execute(
        f"CREATE OR REPLACE TABLE {out_table} (ats_uid VARCHAR, pid BIGINT, key INTEGER, n INTEGER)"
    )
    counts: dict[str, int] = {}
    read = total = 0
    manifest = snapshot_folder.read_manifest(index_dir) or {}
    files_per_key: dict[str, int] = manifest.get("files", {})
    if "buckets" not in manifest:
        raise LinkageError(
            f"the key index at {index_dir} has no bucket count in its manifest (built before index "
            f"version {INDEX_VERSION}, or the manifest is missing); rebuild it: a tenant run's "
            "profile_features step does, or build_key_index"
        )
    n_buckets = int(manifest["buckets"])

    def probe(name: str, position: int, folder: Path) -> None:
        nonlocal read, total
        buckets = [int(b) for (b,) in con.execute(
            f"SELECT DISTINCT (h % {n_buckets})::INTEGER FROM {key_hashes}"
        ).fetchall()]
        files = _bucket_files(folder, buckets)
        read += len(files)
        total += files_per_key.get(folder.name, 0)
        if not files:
            counts[name] = 0
            return
        listed = "[" + ", ".join(_quote(f) for f in files) + "]"
        before = int(con.execute(f"SELECT count(*) FROM {out_table}").fetchall()[0][0])
        con.execute(
            f"INSERT INTO {out_table} SELECT a.ats_uid, x.pid, {position}, x.n "
            f"FROM {key_hashes} a JOIN read_parquet({listed}) x USING (h)"
        )
        counts[name] = int(con.execute(f"SELECT count(*) FROM {out_table}").fetchall()[0][0]) - before

    for position, key in enumerate(keys):
        n = len(key.exprs)
        big = _quote(index_dir / "big" / f"{key.slug}.parquet")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {key_hashes} AS "
            f"SELECT DISTINCT unique_id AS ats_uid, {_hash(n)} AS h FROM ({key.keys_sql(ats)})"
        )
        probe(key.name, position, index_dir / "keys" / key.slug)
        for _, refined in refinements(key):
            folder = index_dir / "keys" / refined.slug
            if not folder.is_dir():
                continue
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {key_hashes} AS "
                f"SELECT DISTINCT unique_id AS ats_uid, {_hash(n + 1)} AS h FROM ({refined.keys_sql(ats)}) "
                f"WHERE {_hash(n)} IN (SELECT h FROM read_parquet({big}))"
            )
            probe(refined.name, position, folder)
    con.execute(f"DROP TABLE IF EXISTS {key_hashes}")
    return Lookup(counts, read, total)


def fetch_profiles(
    con: duckdb.DuckDBPyConnection, index_dir: Path, pids: str, out_table: str
) -> int:
    """Create ``out_table`` with the model columns of the profiles whose ``pid`` is in the
    relation ``pids`` (column ``pid``), plus ``pid``; returns how many."""
    path = _quote(Path(index_dir) / PROFILES)
    con.execute(
        f"CREATE OR REPLACE TABLE {out_table} AS SELECT * FROM read_parquet({path}) "
        f"WHERE pid IN (SELECT pid FROM {pids})"
    )
    return int(con.execute(f"SELECT count(*) FROM {out_table}").fetchall()[0][0])
