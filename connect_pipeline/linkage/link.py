"""Link one tenant's ATS people to the profile features with Splink on DuckDB (or Spark).

The run, and why each step is shaped the way it is:

1. **Prepare** both sides into the same columns (Splink's ``link_only`` needs identical
   columns). The profile features stay in Parquet; DuckDB scans them, Python never holds them.
2. **Block**: count every blocking rule on the full inputs with a group-by (the profile side's
   block sizes come from the snapshot's population figures) and trim the rules that would
   exceed the limit: their largest blocks are left out, logged, never run (``blocking``). Then
   keep only the profiles that share a key with the ATS side (semi-joins). Blocking on that
   subset yields exactly the pairs blocking on all profiles would, at a fraction of the cost.
3. **Population statistics** — the subset is chosen *because* it resembles the ATS side, so
   anything estimated on it is biased toward the tenant's names. Each pair's posterior is
   ``prior x likelihood ratio`` over the whole population, so the three population quantities
   come from the whole profile index, counted once per index snapshot (``population``) and
   read by every tenant's run:
   * term frequencies of names and employers (restricted to the values the run can meet, to
     keep the tables small);
   * u probabilities: random sampling of ATS x a uniform sample of all profiles, in a separate
     linker whose parameters are then carried over;
   * the prior (probability two random records match): share of the tenant's candidates with an
     identifier (LinkedIn slug or e-mail) found in the index, shrunk toward one half for small
     tenants, divided by the number of profiles.
   The index's figures hold no tenant data; everything estimated from a tenant's candidates
   (u, m, the prior) is estimated in that tenant's run and never reused for another.
4. **m by EM** on the subset: block on LinkedIn slug (trains names, company, contact details),
   then on first + last name (trains LinkedIn, e-mail, phone, company, title, location).
   Parameters EM cannot estimate fall back to the documented defaults in ``settings.MODEL``.
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

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import duckdb
import polars as pl
from splink import Linker, block_on

from connect_pipeline.errors import LinkageError
from connect_pipeline.linkage import blocking as blk
from connect_pipeline.linkage.engine import Engine
from connect_pipeline.linkage import population, scoring
from connect_pipeline.linkage.scoring import ATS_SOURCE, MATCH_SCHEMA, PROFILE_SOURCE
from connect_pipeline.linkage.settings import (
    LIST_COLUMNS,
    MODEL_COLUMNS,
    PHONE_TAIL_DIGITS,
    SUPPORTED_BACKENDS,
    TF_COLUMNS,
    apply_fallbacks,
    build_settings,
    carry_parameters,
    role_sql,
    settings_dict,
)
from connect_pipeline.normalise.features import FEATURE_SCHEMA

DEFAULT_THRESHOLD: float = 0.9
"""A match needs posterior odds of at least 9:1. A wrong link shows one person's ATS history on
another person's profile, which costs a recruiter (and the person) more than a missed link, so
the bar sits well above a coin flip. The posterior already carries the namesake risk: names are
discounted by how common the whole name is (not first and last name as if independent) and
employers by their size, so a common name needs an identifier or several agreeing details and
a name alone never passes. Measured in bench/bench_accuracy.py: on three generated worlds the
matches above 0.9 were right 998 times in 1,000, i.e. the model is, if anything, cautious
there; 0.95 cost 1-1.5 points of recall for about one wrong link fewer in 1,000."""

BORDERLINE_BITS = 3.0  # matches within this many bits above the threshold count as borderline
PRIOR_SHRINK = 10.0  # pseudo-candidates pulling the identifier hit share toward 0.5


@dataclass(frozen=True)
class LinkConfig:
    """Knobs of one run.

    ``u_max_pairs`` bounds random sampling for u (Splink's largest fixed cost) and, for
    large training blocks, the pairs EM looks at. A blocking rule is trimmed (its largest
    blocks left out, see ``blocking``) when it would make more than ``max_pairs_per_rule``
    pairs *and* more than ``max_pairs_per_candidate`` per candidate on average: an absolute
    bound alone would cut the name rules of every large tenant on a large index, a
    per-candidate bound alone would let a small tenant's rule on a placeholder value ("n/a")
    compare it with millions of profiles. The left-out blocks are the largest, i.e. the
    least telling per pair (see ``blocking``).
    """

    threshold: float = DEFAULT_THRESHOLD
    u_max_pairs: float = 2e6
    seed: int = 42
    max_pairs_per_rule: int = 20_000_000
    max_pairs_per_candidate: int = 200
    """Both bounds were set from bench/bench_link_growth.py: a rule trimmed at 1,000 pairs per
    candidate instead kept 93M more pairs at 100k x 2M for 0.2 points of recall, because the
    blocks trimming leaves out are the commonest names at the largest employers, where a name
    and an employer alone cannot carry a match anyway."""
    pairs_per_chunk: int = scoring.PAIRS_PER_CHUNK
    """Blocked pairs scored at once; prediction memory grows with it, not with the tenant."""
    backend: str = "duckdb"
    """"duckdb" (one machine) or "spark" (Splink's SparkAPI; needs the ``spark`` extra)."""
    trained_params: Path | None = None
    """A params.json of an earlier run *for the same tenant*, from either backend: estimation is
    skipped and its m, u and prior score this run (tenants never share parameters)."""
    spark_master: str = "local[2]"
    spark_shuffle_partitions: int = 4


@dataclass
class LinkResult:
    matches: pl.DataFrame
    candidates_scored: int
    pairs_compared: int
    blocking_counts: dict[str, int]
    score_histogram: list[tuple[float, int]]
    borderline_share: float
    settings_path: Path
    params_path: Path
    chart_path: Path | None
    timings: dict[str, float] = field(default_factory=dict)
    prediction_chunks: int = 0


def borderline_share(matches: pl.DataFrame, threshold: float) -> float:
    """Share of matches within BORDERLINE_BITS of the threshold's weight: one weak detail (a
    similar title, a shared city) away from not being a match. Measured in weight, not
    probability, because probabilities crowd near 1 above any useful threshold."""
    if not matches.height:
        return 0.0
    threshold_weight = math.log2(threshold / (1 - threshold))
    return matches.filter(pl.col("match_weight") < threshold_weight + BORDERLINE_BITS).height / matches.height


def _feature_select(columns: set[str], unique_id_sql: str, ats_side: bool) -> str:
    """SQL select list mapping a feature relation onto MODEL_COLUMNS with uniform types.

    Empty strings and empty lists become null (Splink's null levels then say "no evidence"),
    and the current company is folded into the company list so "company in history" and the
    company blocking keys see it on both sides. Three columns are derived once per record rather
    than per scored pair: ``phone_tails`` (each number's last digits), ``title_role`` (the
    title without seniority words) and ``name_pair`` (first and last name, for term
    frequencies); ``history_company`` is the candidate's company on the ATS side only.
    """
    parts = [f"{unique_id_sql} AS unique_id"]
    for col in MODEL_COLUMNS[1:]:
        if col in ("companies", "title_role", "phone_tails", "name_pair", "history_company"):
            continue
        if col in LIST_COLUMNS:
            src = f"CAST({col} AS VARCHAR[])" if col in columns else "CAST(NULL AS VARCHAR[])"
            parts.append(
                f"CASE WHEN len(list_filter({src}, lambda x: x IS NOT NULL AND x <> '')) = 0 THEN NULL "
                f"ELSE list_distinct(list_filter({src}, lambda x: x IS NOT NULL AND x <> '')) END AS {col}"
            )
        else:
            src = f"CAST({col} AS VARCHAR)" if col in columns else "CAST(NULL AS VARCHAR)"
            parts.append(f"nullif(trim({src}), '') AS {col}")
    companies = "CAST(companies AS VARCHAR[])" if "companies" in columns else "CAST([] AS VARCHAR[])"
    company = "nullif(trim(CAST(company AS VARCHAR)), '')" if "company" in columns else "NULL"
    merged = (
        f"list_distinct(list_filter(list_concat(coalesce({companies}, []), [{company}]), "
        "lambda x: x IS NOT NULL AND x <> ''))"
    )
    parts.append(f"CASE WHEN len({merged}) = 0 THEN NULL ELSE {merged} END AS companies")
    # the ATS company looked up in the profiles' career histories (term frequencies); null on
    # the profile side so the lookup always uses the candidate's company
    parts.append(f"{company if ats_side else 'CAST(NULL AS VARCHAR)'} AS history_company")
    first = "nullif(trim(CAST(first_name_canonical AS VARCHAR)), '')"
    last = "nullif(trim(CAST(last_name AS VARCHAR)), '')"
    parts.append(f"{first} || ' ' || {last} AS name_pair")
    phones = "CAST(phones AS VARCHAR[])" if "phones" in columns else "CAST(NULL AS VARCHAR[])"
    tails = (
        f"list_distinct(list_transform(list_filter({phones}, lambda x: x IS NOT NULL AND x <> ''), "
        f"lambda x: right(x, {PHONE_TAIL_DIGITS})))"
    )
    parts.append(f"CASE WHEN len({tails}) = 0 THEN NULL ELSE {tails} END AS phone_tails")
    title = "nullif(trim(CAST(title AS VARCHAR)), '')" if "title" in columns else "CAST(NULL AS VARCHAR)"
    parts.append(f"{role_sql(title)} AS title_role")
    order = {c: i for i, c in enumerate(MODEL_COLUMNS)}
    parts.sort(key=lambda p: order[p.rsplit(" AS ", 1)[1]])
    return ", ".join(parts)


def _prepare(
    con: duckdb.DuckDBPyConnection, ats_people: pl.DataFrame, profile_features: Path | str
) -> tuple[int, str]:
    required = set(FEATURE_SCHEMA) - {"unique_id"}
    missing = sorted(required - set(ats_people.columns))
    if "candidate_id" not in ats_people.columns:
        missing.append("candidate_id")
    if missing:
        raise LinkageError(f"ATS people frame lacks feature columns {missing}; normalise it first")
    if ats_people["candidate_id"].null_count():
        raise LinkageError("ATS people frame has rows without candidate_id")
    if ats_people["candidate_id"].n_unique() != ats_people.height:
        raise LinkageError("ATS people frame has duplicate candidate_id values; one row per candidate")

    keep = [c for c in ats_people.columns if c in FEATURE_SCHEMA or c == "candidate_id"]
    con.register("ats_input", ats_people.select(keep).to_arrow())
    con.execute(
        "CREATE OR REPLACE TABLE ats_features AS SELECT "
        + _feature_select(set(keep), "CAST(CAST(candidate_id AS BIGINT) AS VARCHAR)", ats_side=True)
        + " FROM ats_input"
    )
    con.execute(
        "CREATE OR REPLACE TABLE ats_ids AS SELECT CAST(candidate_id AS BIGINT) AS candidate_id, "
        "CAST(CAST(candidate_id AS BIGINT) AS VARCHAR) AS unique_id FROM ats_input"
    )
    con.unregister("ats_input")

    view_definition = _profiles_view(con, profile_features)
    n_ats = int(con.execute("SELECT count(*) FROM ats_features").fetchall()[0][0])
    return n_ats, view_definition


def _profiles_view(con: duckdb.DuckDBPyConnection, profile_features: Path | str) -> str:
    """View ``profiles_all``: the profile features in model columns, scanned from Parquet.

    Returns the select list, which is what the population figures' fingerprint must cover."""
    path = str(profile_features)
    if Path(path).is_dir():
        path = str(Path(path) / "**" / "*.parquet")
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()
    except duckdb.Error as exc:
        raise LinkageError(f"profile features at {profile_features} cannot be read: {exc}") from exc
    prof_cols = {row[0] for row in described}
    lacking = sorted((set(FEATURE_SCHEMA)) - prof_cols)
    if lacking:
        raise LinkageError(f"profile features at {profile_features} lack columns {lacking}")
    escaped = path.replace("'", "''")
    definition = _feature_select(prof_cols, "CAST(unique_id AS VARCHAR)", ats_side=False)
    con.execute(
        f"CREATE OR REPLACE VIEW profiles_all AS SELECT {definition} "
        f"FROM read_parquet('{escaped}') WHERE unique_id IS NOT NULL"
    )
    return definition


def population_is_current(profile_features: Path | str, out_dir: Path) -> bool:
    """Whether ``out_dir`` holds population figures matching today's model definitions."""
    con = duckdb.connect()
    try:
        definition = _profiles_view(con, profile_features)
        return population.is_current(out_dir, "profiles_all", definition, blk.DEFAULT_BLOCKING_KEYS)
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
        definition = _profiles_view(con, profile_features)
        return population.write_population(
            con, "profiles_all", definition, blk.DEFAULT_BLOCKING_KEYS, out_dir
        )
    finally:
        con.close()


def _population_tf_tables(con: duckdb.DuckDBPyConnection, n_profiles: int) -> None:
    """Name and company frequencies over all profiles, for the values this run can compare.

    Read from the population figures (``pop_*``, once per snapshot), restricted to the values
    of this run's two sides so the tables Splink joins stay small.

    ``history_company``: the share of profiles with the candidate's company anywhere in their
    career, which is what "company appears in their career history" agreeing is as common as.

    ``name_pair`` (first name + last name) holds the last name's frequency *given* the first
    name: (profiles with both - 1) / profiles with that first name, never below the last name's
    overall frequency. The one is the profile being compared itself, which must not count as
    its own namesake. Multiplied by the first name's own frequency this is the frequency of
    the whole name, so names common together (within one culture) get the discount they
    deserve and rare combinations keep the evidence independence would give them.
    """
    n = max(n_profiles, 1)
    for col in TF_COLUMNS:
        if col in ("name_pair", "history_company"):
            continue
        con.execute(
            f"""
            CREATE OR REPLACE TABLE tf_pop_{col} AS
            SELECT {col}, n / {n}::DOUBLE AS tf_{col} FROM pop_{col}
            WHERE {col} IN (SELECT {col} FROM ats_features UNION SELECT {col} FROM profiles_subset)
            """
        )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE tf_pop_name_pair AS
        WITH pairs AS (
            SELECT name_pair, first_name_canonical AS f, last_name AS l, n FROM pop_name_pair
            WHERE name_pair IN (SELECT name_pair FROM ats_features WHERE name_pair IS NOT NULL)
        ),
        firsts AS (SELECT first_name_canonical AS f, n AS nf FROM pop_first_name_canonical),
        lasts AS (SELECT last_name AS l, n / {n}::DOUBLE AS tl FROM pop_last_name)
        SELECT name_pair, greatest(tl, (n - 1) / nf::DOUBLE) AS tf_name_pair
        FROM pairs JOIN firsts USING (f) JOIN lasts USING (l)
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE tf_pop_history_company AS
        SELECT history_company, n / {n}::DOUBLE AS tf_history_company FROM pop_history_company
        WHERE history_company IN (SELECT history_company FROM ats_features)
        """
    )


def _identifier_prior(con: duckdb.DuckDBPyConnection, n_profiles: int) -> tuple[float, float]:
    """Probability two random records match, from how often identifiers find the candidate.

    Share = candidates whose LinkedIn slug or an e-mail is in the index / candidates having one,
    shrunk toward 0.5 by ``PRIOR_SHRINK`` pseudo-candidates; prior = share / profiles.
    """
    keys = [k for k in blk.DEFAULT_BLOCKING_KEYS if k.name in ("linkedin_slug", "email")]
    hits = " UNION ".join(
        f"SELECT l.unique_id FROM ({k.keys_sql('ats_features')}) l "
        f"SEMI JOIN {population.key_counts(k)} r USING ({k.key_columns})"
        for k in keys
    )
    found = int(con.execute(f"SELECT count(*) FROM ({hits})").fetchall()[0][0])
    having = int(
        con.execute(
            "SELECT count(*) FROM ats_features WHERE linkedin_slug IS NOT NULL OR emails IS NOT NULL"
        ).fetchall()[0][0]
    )
    share = (found + 0.5 * PRIOR_SHRINK) / (having + PRIOR_SHRINK)
    share = min(max(share, 0.01), 0.99)
    return share, share / max(n_profiles, 1)


def _register_tf(linker: Linker, tf_frames: dict) -> None:
    """Make the linker use population term frequencies instead of counting its own inputs."""
    for col, sdf in tf_frames.items():
        linker.table_management.register_term_frequency_lookup(sdf, col)


def _safe_em(
    linker: Linker,
    rule_exprs: tuple[str, ...],
    pairs: int,
    cap: float,
    log: Callable[[str], None],
) -> None:
    """One EM session; a tenant too small or too odd to train on is logged, not fatal."""
    name = "+".join(rule_exprs)
    if pairs < 10:
        log(f"EM on {name} skipped: only {pairs} blocked pairs")
        return
    try:
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(*rule_exprs),
            max_pairs=cap if pairs > cap else None,
        )
    except Exception as exc:  # Splink raises plain exceptions for degenerate training data
        log(f"EM on {name} failed ({type(exc).__name__}: {str(exc)[:200]}); defaults kept")


def load_trained_params(path: Path, backend: str, rules: list, log: Callable[[str], None]) -> dict:
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
    log(
        f"parameters carried from {Path(path).name} "
        f"({trained.get('sql_dialect', '?')} -> {backend}); estimation skipped"
    )
    return carried


def link_tenant(
    ats_people: pl.DataFrame,
    profile_features: Path | str,
    model_dir: Path,
    config: LinkConfig = LinkConfig(),
    *,
    db_path: Path | None = None,
    log: Callable[[str], None] | None = None,
    spark: Any | None = None,
    scored_pairs_out: Path | None = None,
    population_dir: Path | None = None,
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

    ``scored_pairs_out`` writes every scored pair (ids, weights, comparison levels) to Parquet
    for review; it is tenant data, so it belongs in the tenant's folder and its purge.
    """
    say = log or (lambda msg: None)
    if config.backend not in SUPPORTED_BACKENDS:
        raise LinkageError(
            f"backend {config.backend!r} is not supported (supported: {SUPPORTED_BACKENDS})"
        )
    if not 0 < config.threshold < 1:
        raise LinkageError(f"threshold must be within (0, 1), got {config.threshold}")
    if config.trained_params is not None and not Path(config.trained_params).is_file():
        raise LinkageError(f"trained parameters {config.trained_params} not found")
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(phase: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[phase] = round(now - clock, 3)
        say(f"{phase}: {timings[phase]:.2f}s")
        clock = now

    logging.getLogger("splink").setLevel(logging.ERROR)  # EM "level not observed" notes are routine
    con = duckdb.connect(str(db_path) if db_path else ":memory:")
    engine: Engine | None = None
    try:
        n_ats, view_definition = _prepare(con, ats_people, profile_features)
        n_prof = population.attach_population(
            con, "profiles_all", view_definition, blk.DEFAULT_BLOCKING_KEYS, population_dir, say
        )
        lap("prepare")
        say(f"{n_ats} ATS candidates, {n_prof} profiles")
        if n_ats == 0 or n_prof == 0:
            say("nothing to link: one side is empty")
            creator = build_settings(config.backend, [], 1e-4)
            settings_path = model_dir / "settings.json"
            settings_path.write_text(json.dumps(settings_dict(creator, config.backend), indent=2))
            params_path = model_dir / "params.json"
            params_path.write_text(json.dumps(settings_dict(creator, config.backend), indent=2))
            return LinkResult(pl.DataFrame(schema=MATCH_SCHEMA), 0, 0, {}, [], 0.0,
                              settings_path, params_path, None, timings)

        plan = blk.plan_blocking(
            con, blk.DEFAULT_BLOCKING_KEYS, "ats_features", "profiles_all",
            max(config.max_pairs_per_rule, config.max_pairs_per_candidate * n_ats), say,
            right_counts=population.key_counts,
        )
        n_subset = blk.reduce_profiles(con, plan.kept, "ats_features", "profiles_all", "profiles_subset")
        blk.add_block_columns(con, plan.kept, "ats_features", "left")
        blk.add_block_columns(con, plan.kept, "profiles_subset", "right")
        say(f"{n_subset} profiles share a blocking key with the ATS side")
        lap("block")

        _population_tf_tables(con, n_prof)
        rules = [k.splink_rule() for k in plan.kept]
        if config.trained_params is None:
            share, prior = _identifier_prior(con, n_prof)
            say(f"identifier hit share {share:.3f}; prior {prior:.3g}")
            sample_n = int(con.execute("SELECT count(*) FROM pop_u_sample").fetchall()[0][0])
            con.execute(
                "CREATE OR REPLACE TABLE profiles_u_sample AS SELECT * FROM pop_u_sample"
            )
            blk.add_block_columns(con, plan.kept, "profiles_u_sample", "right")
        lap("population")

        engine = Engine(config.backend, con, spark, config.spark_master, config.spark_shuffle_partitions)
        lap("engine")
        ats_sdf = engine.register("ats_features", ATS_SOURCE)
        subset_sdf = engine.register("profiles_subset", PROFILE_SOURCE)
        tf_frames = {col: engine.register(f"tf_pop_{col}", f"tf_pop_{col}_lookup") for col in TF_COLUMNS}
        lap("register")

        params_path = model_dir / "params.json"
        if config.trained_params is not None:
            trained = load_trained_params(Path(config.trained_params), config.backend, rules, say)
            (model_dir / "settings.json").write_text(
                json.dumps(settings_dict(build_settings(config.backend, rules), config.backend), indent=2)
            )
        else:
            creator = build_settings(config.backend, rules, prior)
            (model_dir / "settings.json").write_text(
                json.dumps(settings_dict(creator, config.backend), indent=2)
            )
            sample_sdf = engine.register("profiles_u_sample", "profiles_sample")
            # u: ATS against a uniform sample of the whole index (population, not the subset)
            u_linker = Linker([ats_sdf, sample_sdf], creator, log_level=None)
            u_linker.training.estimate_u_using_random_sampling(
                max_pairs=config.u_max_pairs, seed=config.seed
            )
            model = u_linker.misc.save_model_to_json()
            lap("estimate_u")

            linker = Linker([ats_sdf, subset_sdf], model, log_level=None)
            _register_tf(linker, tf_frames)
            counts = plan.pre_filter_counts
            if n_subset:
                _safe_em(linker, ("linkedin_slug",), counts.get("linkedin_slug", 0), config.u_max_pairs, say)
                _safe_em(
                    linker, ("first_name_canonical", "last_name"),
                    counts.get("first_name+last_name", 0), config.u_max_pairs, say,
                )
            trained = linker.misc.save_model_to_json()
            sampled_pairs = max(1.0, min(config.u_max_pairs, float(n_ats) * sample_n))
            trained = apply_fallbacks(trained, identifier_u=min(0.5, 3.0 / sampled_pairs), log=say)
            trained["probability_two_random_records_match"] = prior
        params_path.write_text(json.dumps(trained, indent=2))
        lap("estimate_m")

        final = Linker([ats_sdf, subset_sdf], trained, log_level=None)
        _register_tf(final, tf_frames)
        chart_path: Path | None = model_dir / "match_weights_chart.html"
        try:
            final.visualisations.match_weights_chart().save(str(chart_path), inline=True)
        except Exception as exc:  # a chart is a convenience, never a reason to fail a run
            say(f"match weights chart not written: {exc}")
            chart_path = None

        # the review file needs every pair's levels; otherwise score with ids and weights only
        scorer = final if scored_pairs_out is not None else Linker(
            [ats_sdf, subset_sdf], scoring.slim(trained), log_level=None
        )
        result = _score_and_choose(
            engine, scorer, trained, tf_frames, config, n_subset, plan, scored_pairs_out, say, lap
        )
        result.settings_path = model_dir / "settings.json"
        result.params_path = params_path
        result.chart_path = chart_path
        result.timings = timings
        return result
    except LinkageError:
        raise
    except Exception as exc:
        raise LinkageError(f"linkage failed: {type(exc).__name__}: {exc}") from exc
    finally:
        if engine is not None:
            engine.close()
        con.close()


def _score_and_choose(
    engine: Engine,
    linker: Linker,
    trained: dict,
    tf_frames: dict,
    config: LinkConfig,
    n_subset: int,
    plan: blk.BlockingPlan,
    scored_pairs_out: Path | None,
    say: Callable[[str], None],
    lap: Callable[[str], None],
) -> LinkResult:
    """Predict in chunks, keep the best profile per candidate, explain each match."""
    blocking_counts = dict(plan.pre_filter_counts)
    for name, n in plan.left_out.items():
        blocking_counts[f"{name} (largest blocks left out)"] = n
    if not (plan.kept and n_subset):
        lap("predict")
        return LinkResult(pl.DataFrame(schema=MATCH_SCHEMA), 0, 0, blocking_counts, [], 0.0,
                          Path(), Path(), None)
    _register_tf(linker, tf_frames)
    blocked = sum(plan.pairs(k) for k in plan.kept)
    n_chunks = scoring.chunks_for(blocked, config.pairs_per_chunk)
    review_table = "review_pairs" if scored_pairs_out is not None else None
    scored = scoring.score_in_chunks(engine, linker, n_chunks, config.threshold, say, review_table)
    lap("predict")
    for rule_index, n in scored.pairs_by_rule.items():
        blocking_counts[f"{plan.kept[rule_index].name} (scored)"] = n
    blocking_counts["ambiguous ties dropped"] = scoring.choose_best(engine.con)
    matches = scoring.explain_winners(
        engine, trained, lambda lk: _register_tf(lk, tf_frames), "ats_features", "profiles_subset"
    )
    if review_table is not None:
        scoring.write_review_file(engine.con, review_table, Path(scored_pairs_out))
    lap("select")
    return LinkResult(
        matches=matches,
        candidates_scored=scored.candidates_scored,
        pairs_compared=scored.pairs_compared,
        blocking_counts=blocking_counts,
        score_histogram=scored.histogram,
        borderline_share=borderline_share(matches, config.threshold),
        settings_path=Path(),
        params_path=Path(),
        chart_path=None,
        prediction_chunks=scored.chunks,
    )
