"""Estimating a tenant's model: the prior, u against the population, m by EM on the subset.

Everything estimated here comes from the tenant's own candidates and is never reused for
another tenant; what is shared (term frequencies, the u sample, block sizes) comes from the
profile index's population figures (``population``).
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
from splink import Linker, block_on
from splink.internals.blocking_rule_creator import BlockingRuleCreator

from connect_pipeline.errors import LinkageError
from connect_pipeline.linkage import blocking as blk
from connect_pipeline.linkage import population
from connect_pipeline.linkage.settings import MODEL, Comparison, build_settings, carry_parameters, settings_dict
from connect_pipeline.linkage.tables import Tables
from connect_pipeline.storage import write_text_atomic

SHARE_SAMPLE = 20_000  # candidates scored by the trained model to estimate the share in the index
SHARE_EM_ITERATIONS = 200  # the share's EM converges in tens; it costs microseconds per candidate
# pseudo-candidates pulling the identifier hit share toward 0.5 (or the names' lower share), and
# the share estimated from the scores toward that starting share
PRIOR_SHRINK = 10.0
IDENTIFIER_KEYS = ("linkedin_slug", "email")  # blocking keys whose hits say "this person is indexed"


@dataclass(frozen=True)
class EmSession:
    """One EM session: the pairs its blocking key brings together train every comparison but
    the ones it blocks on (their agreement is fixed by the blocking, so EM cannot see it)."""

    key: str  # the blocking key whose pair count sizes the session
    columns: tuple[str, ...]  # the columns the session blocks on
    fixed: tuple[str, ...]  # the comparisons those columns decide


EM_SESSIONS: tuple[EmSession, ...] = (
    EmSession("linkedin_slug", ("linkedin_slug",), ("linkedin",)),  # trains names, company, contact details
    EmSession("first_name+last_name", ("first_name_canonical", "last_name"), ("first_name", "last_name")),
)

# EM fits a two-class latent model (match, non-match) with each comparison independent within a
# class. Such a model is identified only by at least three indicators: with one, any split of
# its levels between the classes fits the data equally well, and EM returns whichever split it
# starts nearest (for a tenant whose candidates have only names and a place, the names session
# "learnt" that a true match lives in the same city 99 % of the time, so a moved or misspelt
# city vetoed two agreeing names). A session with fewer comparisons that carry data leaves the
# documented defaults in place.
MIN_EM_INDICATORS = 3
# Share of a session's candidates, and of the profiles, that must carry a comparison's fields for
# it to count as an indicator.
MIN_INDICATOR_SHARE = 0.05

logger = logging.getLogger(__name__)


def identifier_prior(con: duckdb.DuckDBPyConnection, tables: Tables, n_profiles: int) -> tuple[float, float]:
    """Probability two random records match, from how often identifiers find the candidate.

    Share = candidates whose LinkedIn slug or an e-mail is in the index / candidates having one,
    shrunk by ``PRIOR_SHRINK`` pseudo-candidates toward 0.5, or toward what the names say when
    that is lower (``name_hit_share``); prior = share / profiles. A tenant whose candidates carry
    identifiers is estimated from them as before (a few pseudo-candidates do not move
    thousands); one whose candidates carry none and whose names are mostly not in the index no
    longer gets a coin flip for a share.
    """
    keys = [k for k in blk.DEFAULT_BLOCKING_KEYS if k.name in IDENTIFIER_KEYS]
    hits = " UNION ".join(
        f"SELECT l.unique_id FROM ({k.keys_sql(tables.ats)}) l "
        f"SEMI JOIN {population.key_counts(tables, k)} r USING ({k.key_columns})"
        for k in keys
    )
    found = int(con.execute(f"SELECT count(*) FROM ({hits})").fetchall()[0][0])
    having = int(
        con.execute(
            f"SELECT count(*) FROM {tables.ats} WHERE linkedin_slug IS NOT NULL OR emails IS NOT NULL"
        ).fetchall()[0][0]
    )
    names = name_hit_share(con, tables, n_profiles)
    # names may lower the share, never raise it: a candidate absent from the index whose
    # namesake is in it counts as a hit, and namesakes cluster (families, cultures) far beyond
    # what independent first and last names predict, so a high name share is no evidence
    target = 0.5 if names is None else min(0.5, names)
    share = (found + target * PRIOR_SHRINK) / (having + PRIOR_SHRINK)
    share = clamp_share(share)
    return share, prior_from_share(share, n_profiles)


def share_in_index(
    evidence: list[float], n_candidates: int, n_profiles: int, start: float,
    iterations: int = SHARE_EM_ITERATIONS,
) -> float:
    """The share of candidates the index holds, by expectation maximisation over the scores.

    Each candidate is either absent (probability 1 - s) or one of the ``n_profiles`` profiles,
    each equally likely beforehand (s / N each); a profile's likelihood ratio is what its
    comparisons say (the match weight without the prior). Candidate c is then present with
    probability r_c = (s B_c / N) / (1 - s + s B_c / N), where B_c sums its pairs' likelihood
    ratios, and the maximum-likelihood s is the mean of the r_c. ``evidence`` holds B_c for the
    candidates with a scored pair; the other candidates of the ``n_candidates`` count as absent
    (a true match never blocked cannot be seen). Unlike ``identifier_prior``, every comparison
    contributes: a candidate whose e-mail the index lacks but whose names, employer and city
    agree counts as present, and namesakes count only as far as the model's weights believe them.
    """
    if n_candidates <= 0 or n_profiles <= 0:
        return start
    b = np.asarray(evidence, dtype=np.float64) / n_profiles
    b = b[np.isfinite(b)]  # a weight that is not a number is no evidence, not a NaN prior
    s = start
    for _ in range(iterations):
        x = s * b
        s_next = clamp_share(float((x / ((1.0 - s) + x)).sum()) / n_candidates)
        if abs(s_next - s) < 1e-7:
            return s_next
        s = s_next
    return s


def name_hit_share(con: duckdb.DuckDBPyConnection, tables: Tables, n_profiles: int) -> float | None:
    """Share of candidates the index holds, as far as their names can tell; None without names.

    A candidate whose whole name (canonical given name + family name) is in the index is either
    there or has a namesake there. The namesakes expected by chance are subtracted: a candidate
    with given-name frequency f and family-name frequency g meets one among N profiles with
    probability 1 - exp(-N f g). What is left still counts the namesakes of absent people that
    independence does not predict, so it can overstate the share (and understates it when true
    matches spell their names differently): ``identifier_prior`` only lets it lower the prior.
    """
    n = max(n_profiles, 1)
    pop = tables.population
    total, hits, chance = con.execute(
        f"""
        WITH c AS (
            SELECT name_pair, first_name_canonical AS f, last_name AS l FROM {tables.ats}
            WHERE name_pair IS NOT NULL
        )
        SELECT count(*),
               coalesce(sum(CASE WHEN c.name_pair IN (SELECT name_pair FROM {pop("name_pair")})
                                 THEN 1 ELSE 0 END), 0),
               coalesce(sum(1 - exp(-{n}::DOUBLE * (coalesce(pf.n, 0) / {n}::DOUBLE)
                                                  * (coalesce(pl.n, 0) / {n}::DOUBLE))), 0)
        FROM c
        LEFT JOIN {pop("first_name_canonical")} pf ON pf.first_name_canonical = c.f
        LEFT JOIN {pop("last_name")} pl ON pl.last_name = c.l
        """
    ).fetchall()[0]
    if not total:
        return None
    total, hits, chance = int(total), int(hits), float(chance)
    if total - chance <= 0:
        return 0.01
    return clamp_share((hits - chance) / (total - chance))


U_PAIRS_PER_PASS = 10_000_000
"""Sampled pairs one u pass compares at most: the bound on one pass's work, not on accuracy."""


def estimate_u(linker: Linker, max_pairs: float, seed: int) -> None:
    """u of every comparison from ``max_pairs`` random pairs, each pair counted.

    Splink's default splits the pairs into ten chunks after a 1 % probe, per comparison, and
    stops a comparison early once each of its levels has been seen 100 times. Our identifier
    and exact-name levels are rarer than that among random pairs, so the early stop almost never
    came, and a run paid eleven passes per comparison (each with its own SQL to build and run)
    to count the pairs one pass counts: 5.4 s of a 6,000-profile world's 10 s link, where one
    pass per comparison takes 2.5 s. Every sampled pair now counts; a pass holds at most
    ``U_PAIRS_PER_PASS`` pairs (above that, Splink also runs its 1 % probe first and discards
    it: 1 % more work, for bounded passes).
    """
    linker.training.estimate_u_using_random_sampling(
        max_pairs=max_pairs,
        seed=seed,
        min_count_per_level=None,
        num_chunks=max(1, math.ceil(max_pairs / U_PAIRS_PER_PASS)),
    )


def register_tf(linker: Linker, tf_frames: dict[str, Any]) -> None:
    """Make the linker use population term frequencies instead of counting its own inputs."""
    for col, sdf in tf_frames.items():
        linker.table_management.register_term_frequency_lookup(sdf, col)


def indicators(
    con: duckdb.DuckDBPyConnection, tables: Tables, session: EmSession,
    model: tuple[Comparison, ...] = MODEL, profiles: dict[str, float] | None = None,
) -> list[str]:
    """The comparisons a session can learn from: not fixed by its blocking, and with their
    fields present on at least ``MIN_INDICATOR_SHARE`` of the candidates the session can pair
    and of the profiles it pairs them with (the subset). ``profiles``: the subset's
    ``presence``, when the caller already has it (it is the same for every session)."""
    has_key = " AND ".join(f"{c} IS NOT NULL" for c in session.columns)
    candidates = presence(con, tables.ats, has_key, model)
    profiles = presence(con, tables.subset, "true", model) if profiles is None else profiles
    return [
        c.name for c in model
        if c.name not in session.fixed
        and candidates[c.name] >= MIN_INDICATOR_SHARE and profiles[c.name] >= MIN_INDICATOR_SHARE
    ]


def presence(
    con: duckdb.DuckDBPyConnection, relation: str, where: str, model: tuple[Comparison, ...] = MODEL
) -> dict[str, float]:
    """Per comparison, the share of ``relation``'s rows (those matching ``where``) that carry
    its fields: its null condition with both sides' columns read from that one relation."""
    shares = [f"avg(CASE WHEN {_one_side(c.null_sql)} THEN 0.0 ELSE 1.0 END)" for c in model]
    row = con.execute(f"SELECT {', '.join(shares)} FROM {relation} WHERE {where}").fetchall()[0]
    return {c.name: float(v or 0.0) for c, v in zip(model, row)}


def _one_side(null_sql: str) -> str:
    return re.sub(r"\b(\w+)_[lr]\b", r"\1", null_sql)


def run_em_sessions(
    linker: Linker, con: duckdb.DuckDBPyConnection, tables: Tables,
    pair_counts: dict[str, int], cap: float,
) -> list[str]:
    """Every EM session that has enough indicators to be identified; returns the keys of the
    sessions run. A session left out is logged with its indicators and why."""
    ran = []
    profiles = presence(con, tables.subset, "true")
    for session in EM_SESSIONS:
        found = indicators(con, tables, session, profiles=profiles)
        if len(found) < MIN_EM_INDICATORS:
            logger.info(
                "EM on %s skipped: its pairs can only learn from %s (at least %d comparisons are "
                "needed to tell matches from non-matches); the documented defaults stay",
                "+".join(session.columns), ", ".join(found) or "nothing", MIN_EM_INDICATORS,
            )
            continue
        if safe_em(linker, session.columns, pair_counts.get(session.key, 0), cap):
            ran.append(session.key)
    return ran


def safe_em(
    linker: Linker,
    rule_exprs: tuple[str, ...],
    pairs: int,
    cap: float,
) -> bool:
    """One EM session; a tenant too small or too odd to train on is logged, not fatal.
    True when the session ran."""
    name = "+".join(rule_exprs)
    if pairs < 10:
        logger.warning("EM on %s skipped: only %d blocked pairs", name, pairs)
        return False
    try:
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(*rule_exprs),
            max_pairs=cap if pairs > cap else None,
        )
    except Exception as exc:  # Splink raises plain exceptions for degenerate training data
        logger.warning("EM on %s failed (%s: %s); defaults kept", name, type(exc).__name__, str(exc)[:200])
        return False
    return True


def clamp_share(share: float) -> float:
    """A share of candidates in the index kept within [0.01, 0.99]: neither none nor all of a
    tenant's candidates can be told apart from the evidence a run has."""
    return min(max(share, 0.01), 0.99)


def prior_from_share(share: float, n_profiles: int) -> float:
    """The probability two random records match: the tenant's share of candidates in the index,
    each equally likely to be any of its profiles."""
    return share / max(n_profiles, 1)


def share_path(params: Path) -> Path:
    """Where the share of candidates in the index is kept, beside the params file it belongs to.

    Splink's settings have no field for it (an unknown key fails to load), and a carried model
    needs it: the prior is that share over the index's size, so a model trained on one index and
    carried onto a grown one must divide the tenant's share by the new size, not keep the old
    per-pair prior (which would say the index holds more of the tenant's candidates than it can).
    """
    return params.with_name(f"{params.stem}.share.json")


def save_share(params: Path, share: float, prior: float) -> None:
    """Write the share with the prior it set, so a share left beside other parameters (a run
    killed between the two writes) is recognised and not used."""
    write_text_atomic(share_path(params), json.dumps({"share_in_index": share, "prior": prior}))


def load_share(params: Path, prior: float) -> float | None:
    """The share saved beside ``params`` when it belongs to them (its prior is theirs); None
    for parameters saved without one, with a log line saying what that costs."""
    try:
        saved = json.loads(share_path(params).read_text())
        share, saved_prior = float(saved["share_in_index"]), float(saved["prior"])
    except (OSError, ValueError, KeyError, TypeError):
        share, saved_prior = None, None
    if share is not None and saved_prior is not None and not math.isclose(saved_prior, prior, rel_tol=1e-9):
        logger.warning(
            "%s belongs to other parameters than %s (its prior %.3g, theirs %.3g: one of the two "
            "was replaced without the other); the share is not used, the prior is read as trained, "
            "and the next full run saves both",
            share_path(params).name, params.name, saved_prior, prior,
        )
        return None
    if share is None or saved_prior is None:
        logger.info(
            "%s has no share of candidates in the index beside it (saved by an older version, or "
            "copied without %s): its prior is read against this index's size, which overstates the "
            "share if the index has grown since; the next full run saves it",
            params.name, share_path(params).name,
        )
        return None
    return clamp_share(share)


def copy_share(source: Path, params: Path) -> None:
    """Put the share saved beside the ``source`` params file beside ``params`` (parameters
    copied whole keep their share; without one there, none is left beside them)."""
    saved = share_path(source)
    if saved.is_file():
        write_text_atomic(share_path(params), saved.read_text())
    else:
        share_path(params).unlink(missing_ok=True)


def load_trained_params(
    path: Path, backend: str, rules: list[BlockingRuleCreator]
) -> dict[str, Any]:
    """A trained params JSON (from either backend) as a model dict for ``backend``.

    Settings are rebuilt from ``MODEL`` for the target backend with this run's blocking rules;
    only m, u and the prior come from the file (see ``settings.carry_parameters``).
    """
    try:
        trained = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise LinkageError(f"trained parameters at {path} cannot be read: {exc}") from exc
    target = settings_dict(build_settings(backend, rules), backend)
    try:
        carried = carry_parameters(trained, target)
    except ValueError as exc:
        raise LinkageError(f"trained parameters at {path} do not fit the model: {exc}") from exc
    carried["sql_dialect"] = backend  # the saved file says which dialect its SQL is in
    logger.info(
        f"parameters carried from {Path(path).name} "
        f"({trained.get('sql_dialect', '?')} -> {backend}); estimation skipped"
    )
    return carried
