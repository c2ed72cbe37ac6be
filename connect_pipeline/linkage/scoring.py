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

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import duckdb
import polars as pl
from splink import Linker, block_on

from connect_pipeline.errors import LinkageError
from connect_pipeline.linkage.engine import Engine
from connect_pipeline.linkage.engine import new_linker
from connect_pipeline.linkage.explain import explain_frame
from connect_pipeline.linkage.settings import MODEL, build_settings, carry_parameters, identifier_columns, settings_dict
from connect_pipeline.linkage.tables import Tables

logger = logging.getLogger(__name__)

PAIRS_PER_CHUNK = 8_000_000  # blocked pairs scored at once (bounds prediction memory)
HISTOGRAM_BUCKET = 2.0  # match weight bucket width (bits)

MATCH_SCHEMA: dict[str, pl.DataType] = {
    "candidate_id": pl.Int64(),
    "profile_id": pl.String(),
    "match_probability": pl.Float64(),
    "match_weight": pl.Float64(),
    "explanation": pl.String(),
    "top_signals": pl.String(),
}


@dataclass(frozen=True)
class ScoredPairs:
    """What prediction leaves behind: figures over every pair (the pairs at or above the
    threshold stay in the run's ``Tables.top_pairs``)."""

    pairs_compared: int
    candidates_scored: int
    histogram: list[tuple[float, int]]
    pairs_by_rule: dict[int, int]
    """Pairs scored per kept blocking rule, by the rule's position (Splink's ``match_key``)."""
    chunks: int


NOTHING_SCORED = ScoredPairs(0, 0, [], {}, 0)
"""The figures of a run that had no blocking rule or no profile to score against."""


def slim(model: dict[str, Any]) -> dict[str, Any]:
    """The same trained model, producing only ids, weights and probabilities per pair."""
    out = dict(model)
    out["retain_intermediate_calculation_columns"] = False
    out["retain_matching_columns"] = False
    return out


def chunks_for(blocked_pairs: int, per_chunk: int = PAIRS_PER_CHUNK) -> int:
    """How many slices of the candidate side keep each prediction near ``per_chunk`` pairs."""
    return max(1, math.ceil(blocked_pairs / max(per_chunk, 1)))


def _oriented(table: str, ats_source: str) -> str:
    """The prediction with the candidate and the profile named, whichever side Splink put them."""
    side = f"(source_dataset_l = '{ats_source}')"
    return (
        f"SELECT CASE WHEN {side} THEN unique_id_l ELSE unique_id_r END AS ats_uid, "
        f"CASE WHEN {side} THEN unique_id_r ELSE unique_id_l END AS profile_id, * FROM {table}"
    )


def _predicted_chunks(engine: Engine, linker: Linker, n_chunks: int, ats_source: str) -> Iterator[str]:
    """Each slice of the candidate side's prediction, as a relation with ``ats_uid`` and
    ``profile_id`` named; freed when the caller asks for the next (a candidate's pairs all fall
    in one slice, so memory follows the slice, not the run)."""
    for i in range(1, n_chunks + 1):
        predictions = linker.inference.predict_chunk(
            left_chunk=(i, n_chunks), right_chunk=(1, 1), warning_mode="never"
        )
        table = engine.prediction_table(predictions)
        try:
            yield _oriented(table, ats_source)
        finally:
            engine.discard(predictions, table)
        if n_chunks > 1:
            logger.info(f"scored chunk {i}/{n_chunks}")


def _likelihood_ratio_sql(prior: float) -> str:
    """SQL for a pair's likelihood ratio, 2 ** (match weight without the prior): capped so a sum
    of many near-certain pairs stays finite (2 ** 900 is already certainty), and 0 for a weight
    that is not a number (no evidence; DuckDB's least() would make it 2 ** 900)."""
    lam = _clamped(prior)
    prior_bits = math.log2(lam / (1.0 - lam))
    return f"CASE WHEN isnan(match_weight) THEN 0.0 ELSE pow(2.0, least(match_weight - {prior_bits!r}, 900.0)) END"


def _clamped(prior: float) -> float:
    return min(max(prior, 1e-300), 1.0 - 1e-12)


def evidence_per_candidate(
    engine: Engine, linker: Linker, n_chunks: int, ats_source: str, prior: float
) -> list[float]:
    """Per candidate with a scored pair: the sum over its pairs of the likelihood ratio, i.e.
    2 ** (match weight without the prior), the evidence ``training.share_in_index`` weighs.

    Scored in ``n_chunks`` slices of the candidate side, like ``score_in_chunks``."""
    sums: list[float] = []
    for view in _predicted_chunks(engine, linker, n_chunks, ats_source):
        rows = engine.con.execute(
            f"SELECT sum({_likelihood_ratio_sql(prior)}) FROM ({view}) GROUP BY ats_uid"
        ).fetchall()
        sums.extend(float(r[0]) for r in rows)
    return sums


def identifier_free_sql(ats: str) -> str:
    """The candidates of ``ats`` (model columns) holding no identifier (``ats_uid``)."""
    missing = " AND ".join(f"{col} IS NULL" for col in identifier_columns())
    return f"SELECT unique_id AS ats_uid FROM {ats} WHERE {missing}"


def candidate_probability_sql(
    view: str,
    prior: float,
    columns: tuple[str, ...] = (),
    *,
    share: float | None = None,
    identifier_free: str | None = None,
) -> str:
    """``view``'s pairs (``ats_uid``, ``profile_id``, ``match_weight`` and ``columns``) with a
    ``match_probability`` that counts the candidate's other profiles as evidence against each
    one, λ L_p / (A + λ Σ_q L_q) over the pairs q the candidate was scored against (L: a pair's
    likelihood ratio, λ: the prior), and ``solo_probability``, λ L_p / (A + λ L_p), what the
    pair would have alone.

    Splink weighs one pair at a time, so two namesakes that both look right were each published
    as near-certain although at most one can be the candidate. A is the weight of "none of
    them": 1 - λ, so that a lone pair keeps Splink's probability and no pair's rises; except for
    a candidate in ``identifier_free`` (a relation of ``ats_uid``; ``identifier_free_sql``),
    for whom A is 1 - s, ``share`` being s, the share of candidates in the index: the full
    posterior of "a candidate is at most one of its profiles, or absent", which also raises a
    lone pair, the rest of the index having been ruled out.

    Why only there: a candidate with a LinkedIn URL, an e-mail or a phone that found no profile
    is far less likely to be in the index than s says (present candidates are mostly found by
    them), so for such a candidate the full posterior over-trusted namesakes who share the
    employer or the city (read for every candidate on the development worlds with identifiers,
    its [0.9, 0.99) band was right 0.88 to 0.89 of the time and precision fell to 0.996-0.997;
    read only for their candidates without identifiers, 0.95 to 1.00 and 0.9989-0.9990). For a
    candidate with no identifier nothing is known besides the names, place and employer the
    weights read, and there Splink's one-pair
    probability was the one that was wrong, cautious beyond the threshold's meaning (a
    development world without identifiers: its best pairs scored 0.5 to 0.9 were right 85 to
    88 % of the time; with the full posterior its [0.9, 0.99) band was right 0.93 of the time).

    The sum is over the pairs blocking kept for scoring, so a profile the first pass or a
    trimmed block left out does not count. A candidate's pairs are all in one chunk
    (``_predicted_chunks``; ``score_in_chunks`` checks it), so the sum is whole.
    """
    lam = _clamped(prior)
    absent = f"{1.0 - lam!r}"
    if identifier_free is not None and share is not None:
        s = min(max(share, lam), 0.99)  # s = λ is Splink's reading; s near 1 would make any pair certain
        absent = f"(CASE WHEN ats_uid IN ({identifier_free}) THEN {1.0 - s!r} ELSE {1.0 - lam!r} END)"
    kept = ", ".join(("ats_uid", "profile_id", "CAST(match_weight AS DOUBLE) AS match_weight", *columns))
    return (
        f"SELECT * EXCLUDE (likelihood_ratio, absent), "
        f"{lam!r} * likelihood_ratio / (absent + {lam!r} * sum(likelihood_ratio) OVER (PARTITION BY ats_uid)) "
        f"AS match_probability, "
        f"{lam!r} * likelihood_ratio / (absent + {lam!r} * likelihood_ratio) AS solo_probability "
        f"FROM (SELECT {kept}, {_likelihood_ratio_sql(prior)} AS likelihood_ratio, {absent} AS absent FROM ({view}))"
    )


def tied_candidates_sql(view: str, threshold: float) -> str:
    """The candidates of ``view`` (``candidate_probability_sql``'s columns) whose best profile
    ties with another at a probability that alone would have passed ``threshold``: ambiguous
    (neither pair reaches it once each counts against the other). Judged on the probability a
    pair would have alone, not on a weight: the weight that passes depends on the candidate
    (lower for one read on the full posterior)."""
    return (
        f"SELECT ats_uid FROM ("
        f"SELECT ats_uid, match_weight, solo_probability, lead(match_weight) OVER w AS runner_up FROM ({view}) "
        f"WINDOW w AS (PARTITION BY ats_uid ORDER BY match_weight DESC, profile_id) "
        f"QUALIFY row_number() OVER w = 1) "
        f"WHERE runner_up >= match_weight - 1e-9 AND solo_probability >= {float(threshold)!r}"
    )


def score_in_chunks(
    engine: Engine,
    linker: Linker,
    n_chunks: int,
    threshold: float,
    tables: Tables,
    prior: float,
    keep_all_pairs: bool = False,
    share: float | None = None,
) -> ScoredPairs:
    """Predict chunk by chunk; keep figures, and the pairs whose probability of being the
    candidate's (``candidate_probability_sql``, ``share`` its s) is at or above ``threshold``
    in ``tables.top_pairs``.

    ``keep_all_pairs`` also keeps every pair's comparison levels in ``tables.review_pairs`` (the
    review file; needs a linker that retains intermediate columns, and is meant for small runs).
    """
    con = engine.con
    top, counts, candidates = tables.top_pairs, tables.scored_counts, tables.scored_candidates
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {top} (ats_uid VARCHAR, profile_id VARCHAR, "
        "match_weight DOUBLE, match_probability DOUBLE)"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {counts} (bucket DOUBLE, match_key VARCHAR, n BIGINT)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {candidates} (ats_uid VARCHAR)")
    gammas = ", ".join(f"gamma_{c.name}" for c in MODEL)
    # only what the figures, the kept pairs and the review read: the chunk is held twice meanwhile
    columns = ("match_key", *(f"gamma_{c.name}" for c in MODEL if keep_all_pairs))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {tables.tied_candidates} (ats_uid VARCHAR)")
    identifier_free = None
    if share is not None:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {tables.identifier_free} AS {identifier_free_sql(tables.ats)}"
        )
        identifier_free = f"SELECT ats_uid FROM {tables.identifier_free}"
    for i, pairs in enumerate(_predicted_chunks(engine, linker, n_chunks, tables.ats_source), start=1):
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {tables.scored_chunk} AS "
            + candidate_probability_sql(pairs, prior, columns, share=share, identifier_free=identifier_free)
        )
        view = f"SELECT * FROM {tables.scored_chunk}"
        con.execute(f"INSERT INTO {tables.tied_candidates} {tied_candidates_sql(view, threshold)}")
        con.execute(
            f"INSERT INTO {counts} SELECT floor(match_weight / {HISTOGRAM_BUCKET}) * {HISTOGRAM_BUCKET}, "
            f"CAST(match_key AS VARCHAR), count(*) FROM ({view}) GROUP BY ALL"
        )
        con.execute(f"INSERT INTO {candidates} SELECT DISTINCT ats_uid FROM ({view})")
        con.execute(
            f"INSERT INTO {top} SELECT ats_uid, profile_id, match_weight, match_probability "
            f"FROM ({view}) WHERE match_probability >= {float(threshold)!r}"
        )
        if keep_all_pairs:
            create = "INSERT INTO" if i > 1 else "CREATE OR REPLACE TEMP TABLE"
            con.execute(
                f"{create} {tables.review_pairs} {'AS ' if i == 1 else ''}"
                "SELECT CAST(ats_uid AS VARCHAR) AS ats_uid, CAST(profile_id AS VARCHAR) AS profile_id, "
                "CAST(match_weight AS DOUBLE) AS match_weight, "
                f"CAST(match_probability AS DOUBLE) AS match_probability, {gammas} FROM ({view})"
            )
    con.execute(f"DROP TABLE IF EXISTS {tables.scored_chunk}")
    con.execute(f"DROP TABLE IF EXISTS {tables.identifier_free}")
    pairs_compared = int(con.execute(f"SELECT coalesce(sum(n), 0) FROM {counts}").fetchall()[0][0])
    rows, candidates_scored = (
        int(x) for x in con.execute(f"SELECT count(*), count(DISTINCT ats_uid) FROM {candidates}").fetchall()[0]
    )
    if rows != candidates_scored:  # each chunk inserts its candidates once
        raise LinkageError(
            f"{rows - candidates_scored} candidates had pairs in more than one prediction chunk, so "
            "their probabilities were not summed over all their profiles; this is a bug in how "
            "the candidate side is sliced (report it with the run's log)"
        )
    histogram = [
        (float(b), int(n))
        for b, n in con.execute(
            f"SELECT bucket, sum(n) FROM {counts} GROUP BY bucket ORDER BY bucket"
        ).fetchall()
    ]
    pairs_by_rule = {
        int(k): int(n)
        for k, n in con.execute(
            f"SELECT match_key, sum(n) FROM {counts} GROUP BY match_key ORDER BY match_key"
        ).fetchall()
    }
    return ScoredPairs(pairs_compared, candidates_scored, histogram, pairs_by_rule, n_chunks)


def choose_best(con: duckdb.DuckDBPyConnection, tables: Tables) -> int:
    """Best profile per candidate from ``tables.top_pairs`` into ``tables.winners``; returns the
    ties dropped.

    Exact ties for the best profile are dropped as ambiguous: guessing would be a coin flip on
    whose ATS data a recruiter sees. ``score_in_chunks`` found them (``tables.tied_candidates``):
    every tie that reached ``top_pairs`` is among them, since a pair's probability there is at
    most the one it would have alone. At a threshold of 0.5 or more none reaches it (each tied
    profile counts against the other).
    """
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {tables.ranked} AS
        SELECT ats_uid, profile_id, match_weight, match_probability
        FROM {tables.top_pairs}
        QUALIFY row_number() OVER (PARTITION BY ats_uid ORDER BY match_weight DESC, profile_id) = 1
        """
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {tables.winners} AS SELECT * FROM {tables.ranked} "
        f"ANTI JOIN {tables.tied_candidates} USING (ats_uid)"
    )
    return int(con.execute(f"SELECT count(*) FROM {tables.tied_candidates}").fetchall()[0][0])


def explain_winners(
    engine: Engine,
    trained: dict[str, Any],
    tf_lookups: Callable[[Linker], None],
    tables: Tables,
) -> pl.DataFrame:
    """The chosen pairs (``tables.winners``) scored again with every intermediate column,
    explained in words.

    Each candidate (from ``tables.ats``) is given its chosen profile's id as ``pair_key``, and
    each chosen profile (from ``tables.subset``) its own id, so blocking on ``pair_key`` pairs
    exactly the winners.
    """
    con = engine.con
    t = tables
    if not con.execute(f"SELECT count(*) FROM {t.winners}").fetchall()[0][0]:
        return pl.DataFrame(schema=MATCH_SCHEMA)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {t.winners_ats} AS SELECT a.*, w.profile_id AS pair_key "
        f"FROM {t.ats} a JOIN {t.winners} w ON a.unique_id = w.ats_uid"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {t.winners_profiles} AS SELECT p.*, p.unique_id AS pair_key "
        f"FROM {t.subset} p WHERE p.unique_id IN (SELECT profile_id FROM {t.winners})"
    )
    backend = engine.backend
    settings = carry_parameters(
        trained, settings_dict(build_settings(backend, [block_on("pair_key")]), backend)
    )
    linker = new_linker(
        [
            engine.register(t.winners_ats, t.chosen_ats_source),
            engine.register(t.winners_profiles, t.chosen_profiles_source),
        ],
        settings,
    )
    tf_lookups(linker)
    predictions = linker.inference.predict(warning_mode="never")
    table = engine.prediction_table(predictions)
    # the probability is the one the pair was chosen with (of all the candidate's pairs), not
    # this lone pair's
    rows = con.sql(
        f"SELECT i.candidate_id, s.* EXCLUDE (match_probability), w.match_probability "
        f"FROM ({_oriented(table, t.chosen_ats_source)}) s "
        f"JOIN {t.ats_ids} i ON i.unique_id = s.ats_uid "
        f"JOIN {t.winners} w ON w.ats_uid = s.ats_uid"
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


def write_review_file(con: duckdb.DuckDBPyConnection, tables: Tables, out: Path) -> None:
    """Every scored pair with its weights and comparison levels (the review/diagnostic file),
    from ``tables.review_pairs`` (``score_in_chunks(..., keep_all_pairs=True)``)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    escaped = str(out).replace("'", "''")
    con.execute(f"COPY (SELECT * FROM {tables.review_pairs} ORDER BY ats_uid, profile_id) TO '{escaped}' (FORMAT parquet)")
