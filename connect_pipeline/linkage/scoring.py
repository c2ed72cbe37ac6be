"""Scoring the blocked pairs in bounded memory, choosing one profile per candidate, explaining it.

Why it is shaped this way:

* A large tenant against a large index blocks tens of millions of pairs, nearly all of them
  namesakes far below the threshold. Materialising every pair with every intermediate column
  (gammas, Bayes factors, term frequencies, matching columns) is what made prediction cost
  gigabytes. So prediction runs with a *slim* model (weights and ids only), in chunks of the
  candidate side (Splink's ``predict_chunk``) sized by the blocking plan's pair count. From each
  chunk only three things are kept: its score histogram, its pair counts, and the pairs at or
  above the threshold. Keeping only those loses nothing for the choice: a candidate whose best
  pair is below the threshold is not matched, and an exact tie can only matter between pairs
  at the best weight.
* The winners are then scored once more with the full model (every intermediate column), by
  blocking on a key that pairs each candidate with its chosen profile only. That is what the
  explanation reads, and it costs one pair per match.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import duckdb
import polars as pl
from splink import Linker, block_on

from connect_pipeline.linkage.engine import Engine
from connect_pipeline.linkage.explain import explain_frame
from connect_pipeline.linkage.settings import MODEL, build_settings, carry_parameters, settings_dict

PAIRS_PER_CHUNK = 8_000_000  # blocked pairs scored at once (bounds prediction memory)
HISTOGRAM_BUCKET = 2.0  # match weight bucket width (bits)
ATS_SOURCE = "ats"
PROFILE_SOURCE = "profiles"
CHOSEN_ATS, CHOSEN_PROFILES = "ats_chosen", "profiles_chosen"  # the explanation pass's inputs

MATCH_SCHEMA: dict[str, pl.DataType] = {
    "candidate_id": pl.Int64(),
    "profile_id": pl.String(),
    "match_probability": pl.Float64(),
    "match_weight": pl.Float64(),
    "explanation": pl.String(),
    "top_signals": pl.String(),
}


@dataclass
class ScoredPairs:
    """What prediction leaves behind: figures over every pair, and the pairs above the threshold."""

    pairs_compared: int = 0
    candidates_scored: int = 0
    histogram: list[tuple[float, int]] = field(default_factory=list)
    pairs_by_rule: dict[int, int] = field(default_factory=dict)
    chunks: int = 0


def slim(model: dict[str, Any]) -> dict[str, Any]:
    """The same trained model, producing only ids, weights and probabilities per pair."""
    out = dict(model)
    out["retain_intermediate_calculation_columns"] = False
    out["retain_matching_columns"] = False
    return out


def chunks_for(blocked_pairs: int, per_chunk: int = PAIRS_PER_CHUNK) -> int:
    """How many slices of the candidate side keep each prediction near ``per_chunk`` pairs."""
    return max(1, math.ceil(blocked_pairs / max(per_chunk, 1)))


def _oriented(table: str, ats_source: str = ATS_SOURCE) -> str:
    """The prediction with the candidate and the profile named, whichever side Splink put them."""
    side = f"(source_dataset_l = '{ats_source}')"
    return (
        f"SELECT CASE WHEN {side} THEN unique_id_l ELSE unique_id_r END AS ats_uid, "
        f"CASE WHEN {side} THEN unique_id_r ELSE unique_id_l END AS profile_id, * FROM {table}"
    )


def score_in_chunks(
    engine: Engine,
    linker: Linker,
    n_chunks: int,
    threshold: float,
    log: Callable[[str], None],
    all_pairs_table: str | None = None,
) -> ScoredPairs:
    """Predict chunk by chunk; keep figures, and the pairs at or above ``threshold`` in ``top_pairs``.

    ``all_pairs_table``, when given, also keeps every pair's comparison levels (the review
    file; needs a linker that retains intermediate columns, and is meant for small runs).
    """
    con = engine.con
    con.execute(
        "CREATE OR REPLACE TEMP TABLE top_pairs (ats_uid VARCHAR, profile_id VARCHAR, "
        "match_weight DOUBLE, match_probability DOUBLE)"
    )
    con.execute("CREATE OR REPLACE TEMP TABLE scored_counts (bucket DOUBLE, match_key VARCHAR, n BIGINT)")
    con.execute("CREATE OR REPLACE TEMP TABLE scored_candidates (ats_uid VARCHAR)")
    gammas = ", ".join(f"gamma_{c.name}" for c in MODEL)
    out = ScoredPairs(chunks=n_chunks)
    for i in range(1, n_chunks + 1):
        predictions = linker.inference.predict_chunk(
            left_chunk=(i, n_chunks), right_chunk=(1, 1), warning_mode="never"
        )
        table = engine.prediction_table(predictions)
        view = _oriented(table)
        con.execute(
            f"INSERT INTO scored_counts SELECT floor(match_weight / {HISTOGRAM_BUCKET}) * {HISTOGRAM_BUCKET}, "
            f"CAST(match_key AS VARCHAR), count(*) FROM ({view}) GROUP BY ALL"
        )
        con.execute(f"INSERT INTO scored_candidates SELECT DISTINCT ats_uid FROM ({view})")
        con.execute(
            f"INSERT INTO top_pairs SELECT ats_uid, profile_id, match_weight, match_probability "
            f"FROM ({view}) WHERE match_probability >= {float(threshold)!r}"
        )
        if all_pairs_table is not None:
            create = "INSERT INTO" if i > 1 else "CREATE OR REPLACE TEMP TABLE"
            con.execute(
                f"{create} {all_pairs_table} {'AS ' if i == 1 else ''}"
                f"SELECT CAST(ats_uid AS VARCHAR) AS ats_uid, CAST(profile_id AS VARCHAR) AS profile_id, "
                f"CAST(match_weight AS DOUBLE) AS match_weight, "
                f"CAST(match_probability AS DOUBLE) AS match_probability, {gammas} FROM ({view})"
            )
        engine.discard(predictions, table)
        if n_chunks > 1:
            log(f"scored chunk {i}/{n_chunks}")
    out.pairs_compared = int(con.execute("SELECT coalesce(sum(n), 0) FROM scored_counts").fetchall()[0][0])
    out.candidates_scored = int(
        con.execute("SELECT count(DISTINCT ats_uid) FROM scored_candidates").fetchall()[0][0]
    )
    out.histogram = [
        (float(b), int(n))
        for b, n in con.execute(
            "SELECT bucket, sum(n) FROM scored_counts GROUP BY bucket ORDER BY bucket"
        ).fetchall()
    ]
    out.pairs_by_rule = {
        int(k): int(n)
        for k, n in con.execute(
            "SELECT match_key, sum(n) FROM scored_counts GROUP BY match_key ORDER BY match_key"
        ).fetchall()
    }
    return out


def choose_best(con: duckdb.DuckDBPyConnection) -> int:
    """Best profile per candidate from ``top_pairs`` into ``winners``; returns the ties dropped.

    Exact ties for the best profile are dropped as ambiguous: guessing would be a coin flip on
    whose ATS data a recruiter sees.
    """
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE ranked AS
        SELECT ats_uid, profile_id, match_weight, match_probability,
               lead(match_weight) OVER w AS runner_up
        FROM top_pairs
        WINDOW w AS (PARTITION BY ats_uid ORDER BY match_weight DESC, profile_id)
        QUALIFY row_number() OVER w = 1
        """
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE winners AS SELECT ats_uid, profile_id, match_weight FROM ranked "
        "WHERE runner_up IS NULL OR runner_up < match_weight - 1e-9"
    )
    return int(
        con.execute("SELECT count(*) FROM ranked WHERE runner_up >= match_weight - 1e-9").fetchall()[0][0]
    )


def explain_winners(
    engine: Engine,
    trained: dict[str, Any],
    tf_lookups: Callable[[Linker], None],
    ats_table: str,
    profiles_table: str,
) -> pl.DataFrame:
    """The chosen pairs scored again with every intermediate column, explained in words.

    Each candidate is given its chosen profile's id as ``pair_key``, and each chosen profile its
    own id, so blocking on ``pair_key`` pairs exactly the winners.
    """
    con = engine.con
    if not con.execute("SELECT count(*) FROM winners").fetchall()[0][0]:
        return pl.DataFrame(schema=MATCH_SCHEMA)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE winners_ats AS SELECT a.*, w.profile_id AS pair_key "
        f"FROM {ats_table} a JOIN winners w ON a.unique_id = w.ats_uid"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE winners_profiles AS SELECT p.*, p.unique_id AS pair_key "
        f"FROM {profiles_table} p WHERE p.unique_id IN (SELECT profile_id FROM winners)"
    )
    backend = engine.backend
    settings = carry_parameters(
        trained, settings_dict(build_settings(backend, [block_on("pair_key")]), backend)
    )
    linker = Linker(
        [engine.register("winners_ats", CHOSEN_ATS), engine.register("winners_profiles", CHOSEN_PROFILES)],
        settings,
        log_level=None,
    )
    tf_lookups(linker)
    predictions = linker.inference.predict(warning_mode="never")
    table = engine.prediction_table(predictions)
    rows = con.sql(
        f"SELECT i.candidate_id, s.* FROM ({_oriented(table, CHOSEN_ATS)}) s JOIN ats_ids i ON i.unique_id = s.ats_uid"
    ).pl()
    engine.discard(predictions, table)
    explained = explain_frame(rows)
    return explained.select(
        pl.col("candidate_id").cast(pl.Int64),
        pl.col("profile_id").cast(pl.String),
        pl.col("match_probability").cast(pl.Float64),
        pl.col("match_weight").cast(pl.Float64),
        pl.col("explanation"),
        pl.col("top_signals"),
    ).sort("candidate_id")


def write_review_file(con: duckdb.DuckDBPyConnection, table: str, out: Path) -> None:
    """Every scored pair with its weights and comparison levels (the review/diagnostic file)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    escaped = str(out).replace("'", "''")
    con.execute(f"COPY (SELECT * FROM {table} ORDER BY ats_uid, profile_id) TO '{escaped}' (FORMAT parquet)")
