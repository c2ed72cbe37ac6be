"""Link one tenant's ATS people to the profile features with Splink on DuckDB (or Spark).

``link_tenant`` runs a ``LinkRun`` (``run``), whose steps are the ones below; this module also
builds the profile index's population figures once per snapshot. The run, and why each step is
shaped the way it is:

1. **Prepare** both sides into the same columns (Splink's ``link_only`` needs identical
   columns). The profile features stay in Parquet; DuckDB scans them, Python never holds them.
2. **Block** through the snapshot's key index when it is current (``key_index``): hash the
   candidates' own key values, read only the index buckets they fall into, reach the deep end
   of a big block (a common name, a large employer or city) through the key plus the city or
   an employer, then keep the best ``first_pass_bound`` profiles per candidate by the evidence
   their shared blocks carry (``first_pass``, integer work in DuckDB, no string similarity).
   Only those pairs are scored. Without a current index: count every blocking rule on the full
   inputs with a group-by (the profile side's block sizes come from the snapshot's population
   figures) and trim the rules that would exceed the limit: their largest blocks are left out,
   logged, never run (``blocking``). Then keep only the profiles that share a key with the ATS
   side (semi-joins over the whole index). Blocking on that subset yields exactly the pairs
   blocking on all profiles would.
3. **Population statistics** — the subset is chosen *because* it resembles the ATS side, so
   anything estimated on it is biased toward the tenant's names. Each pair's posterior is
   ``prior x likelihood ratio`` over the whole population, so the population quantities
   come from the whole profile index, counted once per index snapshot (``population``) and
   read by every tenant's run:
   * term frequencies of names and employers (restricted to the values the run can meet, to
     keep the tables small);
   * u probabilities: random sampling of ATS x a uniform sample of all profiles, in a separate
     linker whose parameters are then carried over;
   * the starting prior (probability two random records match): share of the tenant's
     candidates with an identifier (LinkedIn slug or e-mail) found in the index, shrunk toward
     one half for small tenants, divided by the number of profiles (re-estimated after EM);
   * how often the index's namesakes share a city, the u of "same city" once the whole name
     agrees (random pairs almost never share a name, so sampling cannot estimate it).
   The index's figures hold no tenant data; everything estimated from a tenant's candidates
   (u, m, the prior) is estimated in that tenant's run and never reused for another.
4. **m by EM** on the subset: block on LinkedIn slug (trains names, company, contact details),
   then on first + last name (trains LinkedIn, e-mail, phone, company, title, location), each
   only when its pairs have three comparisons with data to learn from (``training``).
   Parameters EM cannot estimate fall back to the documented defaults in ``settings.MODEL``.
   Then **the prior from the scores**: the trained model scores a sample of the candidates and
   the share of them in the index is estimated by EM over their likelihood ratios
   (``training.share_in_index``); the prior is that share over the number of profiles.
5. **Predict** in slices of the candidate side with a slim model, keeping per slice only the
   figures and the pairs at or above the threshold (``scoring``), so memory follows
   ``pairs_per_chunk``, not the tenant. Keep the best profile per candidate; score the chosen
   pairs once more with every column to explain them. Exact ties for the best profile are
   dropped as ambiguous (guessing would be a coin flip on whose ATS data a recruiter sees).
   Several candidates may map to one profile (duplicates in the ATS are the tenant's business).

**Backends.** Steps 1-3 always run in DuckDB over the Parquet index (counting and semi-joins
are what DuckDB does best, and they make both backends block identically). Training and
prediction run on the backend the config names: DuckDB, or Spark through Splink's ``SparkAPI``
for indexes too large for one machine, in which case the ATS side, the profile subset, the u
sample and the frequency tables are handed to Spark. A model trained on one backend scores on
the other through ``LinkConfig.trained_params``: the settings are rebuilt for the target
dialect and only the parameters are carried (``settings.carry_parameters``). Expect a few
pairs to score differently: DuckDB's and Splink's Spark Jaro-Winkler differ slightly, which
moves a pair across a ``JW >= t`` level only when its similarity sits near ``t``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from connect_pipeline.linkage import blocking as blk
from connect_pipeline.linkage import key_index, memory, population
from connect_pipeline.linkage.config import DEFAULT_THRESHOLD, LinkConfig
from connect_pipeline.linkage.prepare import profiles_view
from connect_pipeline.linkage.result import BORDERLINE_BITS, LinkResult, borderline_share
from connect_pipeline.linkage.run import LinkRun
from connect_pipeline.linkage.tables import TABLES

__all__ = [
    "BORDERLINE_BITS",
    "DEFAULT_THRESHOLD",
    "LinkConfig",
    "LinkResult",
    "LinkRun",
    "borderline_share",
    "build_key_index",
    "build_population",
    "key_index_is_current",
    "link_tenant",
    "population_is_current",
]


def population_is_current(profile_features: Path | str, out_dir: Path) -> bool:
    """Whether ``out_dir`` holds population figures matching today's model definitions."""
    con = duckdb.connect()
    try:
        definition = profiles_view(con, profile_features, TABLES)
        return population.is_current(out_dir, TABLES.profiles, definition, blk.DEFAULT_BLOCKING_KEYS)
    finally:
        con.close()


def build_population(
    profile_features: Path | str, out_dir: Path, *, work_dir: Path | None = None
) -> int:
    """Compute the profile index's population figures once for its snapshot (see ``population``).

    Returns the profile count. ``work_dir`` is where DuckDB may spill (defaults beside out_dir).
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute(f"SET temp_directory = '{str(work_dir or out_dir.parent).replace(chr(39), chr(39) * 2)}'")
        definition = profiles_view(con, profile_features, TABLES)
        return population.write_population(
            con, TABLES.profiles, definition, blk.DEFAULT_BLOCKING_KEYS, out_dir
        )
    finally:
        con.close()


def key_index_is_current(profile_features: Path | str, out_dir: Path) -> bool:
    """Whether ``out_dir`` holds a key index of these features with today's keys and columns."""
    con = duckdb.connect()
    try:
        definition = profiles_view(con, profile_features, TABLES)
        return key_index.is_current(out_dir, profile_features, definition, blk.DEFAULT_BLOCKING_KEYS)
    finally:
        con.close()


def build_key_index(
    profile_features: Path | str,
    out_dir: Path,
    *,
    work_dir: Path | None = None,
    memory_fraction: float = memory.DEFAULT_MEMORY_FRACTION,
    profiles_per_bucket: int = key_index.PROFILES_PER_BUCKET,
) -> key_index.IndexFigures:
    """Build the snapshot's key index once, for every tenant's candidate generation (see
    ``key_index``). ``work_dir`` is where DuckDB may spill (defaults beside out_dir)."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    spill = Path(work_dir or out_dir.parent) / f".{out_dir.name}.spill"
    con = duckdb.connect()
    try:
        memory.apply_limits(con, spill, fraction=memory_fraction, keep_order=False)
        definition = profiles_view(con, profile_features, TABLES)
        return key_index.build_key_index(
            con, TABLES.profiles, definition, blk.DEFAULT_BLOCKING_KEYS, profile_features, out_dir,
            profiles_per_bucket,
        )
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def link_tenant(
    ats_people: pl.DataFrame,
    profile_features: Path | str,
    model_dir: Path,
    config: LinkConfig = LinkConfig(),
    *,
    db_path: Path | None = None,
    spark: Any | None = None,
    scored_pairs_out: Path | None = None,
    population_dir: Path | None = None,
    key_index_dir: Path | None = None,
) -> LinkResult:
    """Match each ATS candidate to at most one profile; write the tenant's model to model_dir.

    ``db_path`` puts DuckDB's working tables in a file (the tenant's own) instead of memory,
    which lets DuckDB spill large prediction tables.

    ``config.backend`` chooses where Splink trains and predicts ("duckdb" or "spark"); ``spark``
    hands in an existing SparkSession (a cluster's), otherwise a local one is started.
    ``config.trained_params`` skips estimation and scores with parameters trained earlier for
    the same tenant, on either backend.

    ``population_dir`` holds the profile index's population figures built once for its
    snapshot (``build_population``); without current ones the run computes its own.
    ``key_index_dir`` holds the snapshot's key index (``build_key_index``): with a current one
    the run reads only the index blocks its candidates' keys hit and scores the pairs the first
    pass keeps; without, it blocks over the whole index.

    ``scored_pairs_out`` writes every scored pair (ids, weights, comparison levels, and the
    probability as published: with the candidate's other profiles counted against it) to
    Parquet for review; it is tenant data, so it belongs in the tenant's folder and its purge.
    """
    run = LinkRun(
        model_dir, config, db_path=db_path, spark=spark,
        scored_pairs_out=scored_pairs_out, population_dir=population_dir,
        key_index_dir=key_index_dir,
    )
    return run.run(ats_people, profile_features)
