"""One tenant's link as a sequence of steps, each owning the working tables it creates.

The steps run in one DuckDB connection and hand each other tables by the names in one
``Tables``; each step returns what the next needs as a small frozen value, and the run builds
its ``LinkResult`` once, from those values, when it ends. Why each step is shaped the way it is
is in ``link``'s module docstring and in each method's.

Working tables by step (``Tables`` field or family):

* ``prepare``: ``ats_input`` (transient), ``ats``, ``ats_ids``, the ``profiles`` view, and the
  ``population(...)`` relations (``population.attach_population``);
* ``block``: ``left_out(key)`` per trimmed key (``blocking.trim``), ``subset``, and the block
  columns added to ``ats`` and ``subset``; with the snapshot's key index instead
  ``key_hashes``, ``blocked_pairs`` (``key_index.lookup_pairs``), ``kept_pairs``
  (``first_pass.keep_best``), ``subset`` and the kept ids added to ``ats`` and ``subset``;
* ``population``: ``term_frequencies(column)``, and ``u_sample`` when the run trains;
* ``train``: ``share_sample``, the candidates the trained model scores for the prior;
* ``predict``: ``top_pairs``, ``scored_counts``, ``scored_candidates``, ``review_pairs`` and,
  on Spark, ``spark_predictions`` (``scoring.score_in_chunks``, ``engine``);
* ``explain``: ``ranked``, ``winners`` (``scoring.choose_best``), ``winners_ats``,
  ``winners_profiles`` (``scoring.explain_winners``).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from splink.internals.blocking_rule_creator import BlockingRuleCreator

from connect_pipeline.errors import LinkageError
from connect_pipeline.linkage import blocking as blk
from connect_pipeline.linkage import first_pass, key_index, memory, population, scoring, training
from connect_pipeline.linkage.config import LinkConfig
from connect_pipeline.linkage.engine import Engine
from connect_pipeline.linkage.engine import new_linker
from connect_pipeline.linkage.prepare import add_resume_company, prepare_ats, profiles_view
from connect_pipeline.linkage.result import LinkResult, borderline_share
from connect_pipeline.linkage.scoring import MATCH_SCHEMA, NOTHING_SCORED, ScoredPairs
from connect_pipeline.linkage.settings import (
    SUPPORTED_BACKENDS,
    TF_COLUMNS,
    UNTRAINED_PRIOR,
    apply_conditional_chains,
    apply_fallbacks,
    apply_namesake_city_u,
    build_settings,
    prepare_chains_for_em,
    settings_dict,
)
from connect_pipeline.linkage.tables import TABLES, Tables
from connect_pipeline.storage import write_text_atomic

logger = logging.getLogger(__name__)
"""Progress (sizes, timings, figures) as info; a chart not drawn or training that fell back to
defaults as warnings. Never a record's values."""

MATCH_WEIGHTS_CHART = "match_weights_chart.html"
M_U_CHART = "m_u_parameters_chart.html"
UNLINKABLES_CHART = "unlinkables_chart.html"


@dataclass(frozen=True)
class Prepared:
    """Both sides in model columns, and how many records each holds."""

    n_ats: int
    n_profiles: int


@dataclass(frozen=True)
class Blocked:
    """The blocking plan and the profile subset it implies; ``first_pass`` when the pairs came
    from the snapshot's key index and only the kept ones are scored."""

    plan: blk.BlockingPlan
    n_subset: int
    first_pass: first_pass.FirstPass | None = None

    @property
    def rules(self) -> list[BlockingRuleCreator]:
        if self.first_pass is not None:
            return [first_pass.splink_rule()]
        return [key.splink_rule() for key in self.plan.kept]

    @property
    def pairs_to_score(self) -> int:
        """Pairs prediction will score (sizes its chunks)."""
        if self.first_pass is not None:
            return self.first_pass.kept_pairs
        return sum(self.plan.pairs(k) for k in self.plan.kept)

    @property
    def scorable(self) -> bool:
        """Whether any pair can be scored: a kept rule, and a profile sharing a key."""
        return bool(self.plan.kept and self.n_subset)


@dataclass(frozen=True)
class PopulationInputs:
    """What this tenant's estimation reads from the population (``None`` when carried)."""

    prior: float | None
    u_sample_size: int
    namesake_city: float | None = None
    """How often namesakes in the index share a city (``population.namesake_city_share``)."""
    share: float | None = None
    """The share of candidates in the index the prior starts from (``training.identifier_prior``)."""


@dataclass(frozen=True)
class SplinkInputs:
    """The run's tables as the engine's Splink frames."""

    ats: Any
    subset: Any
    term_frequencies: dict[str, Any]


@dataclass(frozen=True)
class Model:
    """The model this run scores with, and where it was written."""

    params: dict[str, Any]
    settings_path: Path
    params_path: Path
    share_in_index: float | None
    """The share of candidates the index holds, as this run estimated it (None unless trained)."""


class _Stopwatch:
    """Seconds per phase, logged as each phase ends."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._clock = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.timings[phase] = round(now - self._clock, 3)
        logger.info(f"{phase}: {self.timings[phase]:.2f}s")
        self._clock = now


class LinkRun:
    """Match each ATS candidate to at most one profile; write the tenant's model to model_dir.

    Construct with the run's knobs and destinations, then call ``run`` with the two sides. The
    arguments mean what they mean to ``link_tenant`` (see there).
    """

    def __init__(
        self,
        model_dir: Path,
        config: LinkConfig = LinkConfig(),
        *,
        db_path: Path | None = None,
        spark: Any | None = None,
        scored_pairs_out: Path | None = None,
        population_dir: Path | None = None,
        key_index_dir: Path | None = None,
        tables: Tables = TABLES,
    ) -> None:
        if config.backend not in SUPPORTED_BACKENDS:
            raise LinkageError(
                f"backend {config.backend!r} is not supported (supported: {SUPPORTED_BACKENDS})"
            )
        if not 0 < config.threshold < 1:
            raise LinkageError(f"threshold must be within (0, 1), got {config.threshold}")
        if config.trained_params is not None and not Path(config.trained_params).is_file():
            raise LinkageError(f"trained parameters {config.trained_params} not found")
        self.model_dir = Path(model_dir)
        self.config = config
        self.tables = tables
        self.db_path = db_path
        self.spark = spark
        self.scored_pairs_out = scored_pairs_out
        self.population_dir = population_dir
        self.key_index_dir = key_index_dir
        self._use_index = False
        # set for the duration of ``run`` only
        self._con: duckdb.DuckDBPyConnection | None = None
        self._engine: Engine | None = None
        self._watch = _Stopwatch()

    # -- the run ----------------------------------------------------------------------------

    def run(self, ats_people: pl.DataFrame, profile_features: Path | str) -> LinkResult:
        """Every step in order; the one place a ``LinkResult`` is built.

        Failures other than ``LinkageError`` are wrapped in one, so a caller handles one kind of
        error; the connection (and a Spark session's views) are released whatever happens.
        """
        self.model_dir.mkdir(parents=True, exist_ok=True)
        self._watch = _Stopwatch()
        logging.getLogger("splink").setLevel(logging.ERROR)  # EM "level not observed" notes are routine
        con = self._con = duckdb.connect(str(self.db_path) if self.db_path else ":memory:")
        spill = self._spill_dir()
        try:
            limits = memory.apply_limits(
                con, spill, fraction=self.config.memory_fraction,
                limit_bytes=self.config.memory_limit_bytes,
            )
            logger.info(f"DuckDB memory limit {limits.limit_bytes / 2**30:.1f} GiB, {limits.threads} threads")
            prepared = self.prepare(ats_people, profile_features)
            if prepared.n_ats == 0 or prepared.n_profiles == 0:
                logger.info("nothing to link: one side is empty")
                model = self.untrained_model() if self.config.trained_params is None else self.kept_model()
                return self._result(model, {}, {}, NOTHING_SCORED, None, [])
            blocked = self.block(prepared)
            inputs = self.population(prepared, blocked)
            frames = self.hand_over()
            model = self.train(prepared, blocked, inputs, frames)
            charts = self.chart(model, frames)
            unlinkables = self.unlinkables(model, frames, charts)
            if not blocked.scorable:
                self._watch.lap("predict")
                return self._result(model, charts, self.blocking_counts(blocked), NOTHING_SCORED, None, unlinkables)
            scored = self.predict(prepared, blocked, model, frames)
            ties, matches = self.explain(model, frames)
            counts = self.blocking_counts(blocked, scored, ties)
            return self._result(model, charts, counts, scored, matches, unlinkables)
        except LinkageError:
            raise
        except Exception as exc:
            raise LinkageError(f"linkage failed: {type(exc).__name__}: {exc}") from exc
        finally:
            if self._engine is not None:
                self._engine.close()
                self._engine = None
            con.close()
            self._con = None
            shutil.rmtree(spill, ignore_errors=True)

    def _spill_dir(self) -> Path:
        """Where the run's DuckDB spills: the configured folder, beside its database file, or a
        private temporary folder. Removed when the run ends (it holds the tenant's data)."""
        if self.config.spill_dir is not None:
            return Path(self.config.spill_dir) / f"link-{id(self):x}"
        if self.db_path is not None:
            return Path(self.db_path).with_name(Path(self.db_path).name + ".spill")
        return Path(tempfile.mkdtemp(prefix="link-spill-"))

    def _result(
        self,
        model: Model,
        charts: dict[str, Path],
        blocking_counts: dict[str, int],
        scored: ScoredPairs,
        matches: pl.DataFrame | None,
        unlinkables: list[tuple[float, float]],
    ) -> LinkResult:
        """The run's result from the steps' outputs (``None`` matches: nothing was scored)."""
        matches = pl.DataFrame(schema=MATCH_SCHEMA) if matches is None else matches
        return LinkResult(
            matches=matches,
            candidates_scored=scored.candidates_scored,
            pairs_compared=scored.pairs_compared,
            blocking_counts=blocking_counts,
            score_histogram=scored.histogram,
            borderline_share=borderline_share(matches, self.config.threshold),
            settings_path=model.settings_path,
            params_path=model.params_path,
            chart_path=charts.get(MATCH_WEIGHTS_CHART),
            mu_chart_path=charts.get(M_U_CHART),
            unlinkables_chart_path=charts.get(UNLINKABLES_CHART),
            unlinkables=unlinkables,
            timings=dict(self._watch.timings),
            prediction_chunks=scored.chunks,
            share_in_index=model.share_in_index,
        )

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise LinkageError("a LinkRun step was called outside LinkRun.run")
        return self._con

    # -- the steps --------------------------------------------------------------------------

    def prepare(self, ats_people: pl.DataFrame, profile_features: Path | str) -> Prepared:
        """Both sides in the same model columns, and the population figures attached.

        Splink's ``link_only`` needs identical columns on both sides. The profile features stay
        in Parquet behind a view; the population figures come from the snapshot when current
        ones exist (``population_dir``), otherwise they are computed here.
        """
        t = self.tables
        n_ats = prepare_ats(self.con, ats_people, t)
        definition = profiles_view(self.con, profile_features, t)
        n_profiles = population.attach_population(
            self.con, t, definition, blk.DEFAULT_BLOCKING_KEYS, self.population_dir
        )
        add_resume_company(self.con, t)
        self._use_index = key_index.is_current(
            self.key_index_dir, profile_features, definition, blk.DEFAULT_BLOCKING_KEYS
        )
        if self.key_index_dir is not None and not self._use_index:
            logger.info(
                f"the key index at {self.key_index_dir} is stale or missing: blocking over the "
                "whole index in this run (build it once per snapshot with "
                "pipeline.ensure_profile_features)"
            )
        self._watch.lap("prepare")
        logger.info(f"{n_ats} ATS candidates, {n_profiles} profiles")
        return Prepared(n_ats, n_profiles)

    def block(self, prepared: Prepared) -> Blocked:
        """Count every rule on the full inputs, trim the exploding ones, keep the profiles that
        share a kept key with a candidate.

        Counting is a group-by (the profile side's block sizes are population figures), so an
        exploding rule is never materialised. Blocking on the subset yields exactly the pairs
        blocking on every profile would, at a fraction of the cost.
        """
        if self._use_index:
            return self.block_from_index(prepared)
        t = self.tables
        plan = blk.plan_blocking(
            self.con, blk.DEFAULT_BLOCKING_KEYS, t.ats, t.profiles,
            self.config.rule_limit(prepared.n_ats),
            right_counts=lambda key: population.key_counts(t, key), tables=t,
        )
        n_subset = blk.reduce_profiles(self.con, plan.kept, t.ats, t.profiles, t.subset)
        blk.add_block_columns(self.con, plan.kept, t.ats, "left")
        blk.add_block_columns(self.con, plan.kept, t.subset, "right")
        logger.info(f"{n_subset} profiles share a blocking key with the ATS side")
        self._watch.lap("block")
        return Blocked(plan, n_subset)

    def block_from_index(self, prepared: Prepared) -> Blocked:
        """The pairs from the snapshot's key index, narrowed by the first pass, and the profiles
        they need.

        Only the candidates' own keys are computed; the index buckets they hash into are read
        (``key_index``). A big block is reached through its refinements rather than left out.
        The first pass keeps at most ``first_pass_bound`` profiles per candidate (``first_pass``),
        and only those profiles are fetched and scored.
        """
        t, config = self.tables, self.config
        assert self.key_index_dir is not None  # ``prepare`` found it current
        keys = list(blk.DEFAULT_BLOCKING_KEYS)
        identifier_keys = tuple(position for position, key in enumerate(keys) if key.identifier)
        name_keys = tuple(position for position, key in enumerate(keys) if key.names_only)
        n_slices = max(1, -(-prepared.n_ats // first_pass.CANDIDATES_PER_SLICE))
        pairs: dict[str, int] = {}
        hits = kept = candidates = read = total = 0
        for i in range(n_slices):
            # the candidates in slices, so one slice's key hits are held at a time
            self.con.execute(
                f"CREATE OR REPLACE TEMP VIEW {t.ats_slice} AS SELECT * FROM {t.ats} "
                f"WHERE hash(unique_id) % {n_slices} = {i}"
            )
            lookup = key_index.lookup_pairs(
                self.con, self.key_index_dir, keys, t.ats_slice, t.key_hashes, t.blocked_pairs
            )
            passed = first_pass.keep_best(
                self.con, t.blocked_pairs, t.kept_pairs, prepared.n_profiles,
                config.first_pass_bound, append=i > 0,
                identifier_keys=identifier_keys, name_keys=name_keys,
            )
            self.con.execute(f"DROP TABLE IF EXISTS {t.blocked_pairs}")
            for name, n in lookup.pairs.items():
                pairs[name] = pairs.get(name, 0) + n
            hits, kept = hits + passed.key_hits, kept + passed.kept_pairs
            candidates += passed.candidates
            read, total = read + lookup.files_read, total + lookup.files_total
            if n_slices > 1:
                logger.info(f"first pass slice {i + 1}/{n_slices}: {passed.key_hits:,} key hits")
        self.con.execute(f"DROP VIEW IF EXISTS {t.ats_slice}")
        passed = first_pass.FirstPass(hits, kept, candidates)
        logger.info(f"key index: {read:,} of {total:,} index files read; pairs per key {pairs}")
        logger.info(
            f"first pass: {passed.key_hits:,} key hits, {passed.kept_pairs:,} pairs kept "
            f"(at most {config.first_pass_bound} per candidate) for {passed.candidates:,} candidates"
        )
        self._watch.lap("first_pass")
        n_subset = key_index.fetch_profiles(self.con, self.key_index_dir, t.kept_pairs, t.subset)
        first_pass.attach_kept(self.con, t.ats, t.subset, t.kept_pairs)
        logger.info(f"{n_subset} profiles kept by the first pass")
        self._watch.lap("block")
        plan = blk.BlockingPlan(kept=keys, dropped={}, pre_filter_counts=pairs)
        return Blocked(plan, n_subset, passed)

    def population(self, prepared: Prepared, blocked: Blocked) -> PopulationInputs:
        """Term frequencies, the prior and the u sample, from the whole index, not the subset.

        The subset is chosen *because* it resembles the tenant's candidates, so anything
        estimated on it would be biased toward their names. A run that carries trained
        parameters needs only the term frequencies.
        """
        t = self.tables
        population.term_frequency_tables(self.con, t, prepared.n_profiles)
        prior: float | None = None
        share: float | None = None
        sample_size = 0
        namesake_city: float | None = None
        if self.config.trained_params is None:
            namesake_city = population.namesake_city_share(self.con, t)
            share, prior = training.identifier_prior(self.con, t, prepared.n_profiles)
            logger.info(
                f"starting share of candidates in the index (identifiers, else names) {share:.3f}; "
                f"starting prior {prior:.3g} (re-estimated from the trained model's scores)"
            )
            sample_size = population.u_sample_table(self.con, t)
            if blocked.first_pass is not None:
                first_pass.add_own_id(self.con, t.u_sample)
            else:
                blk.add_block_columns(self.con, blocked.plan.kept, t.u_sample, "right")
        self._watch.lap("population")
        return PopulationInputs(prior, sample_size, namesake_city, share)

    def hand_over(self) -> SplinkInputs:
        """Start the backend and give it the run's inputs.

        Preparation, blocking and population always run in DuckDB (both backends then block
        identically); training and prediction run where the config says.
        """
        t, config = self.tables, self.config
        self._engine = Engine(
            config.backend, self.con, t, self.spark, config.spark_master, config.spark_shuffle_partitions
        )
        self._watch.lap("engine")
        engine = self._engine
        frames = SplinkInputs(
            ats=engine.register(t.ats, t.ats_source),
            subset=engine.register(t.subset, t.profile_source),
            term_frequencies={
                col: engine.register(t.term_frequencies(col), t.term_frequency_source(col))
                for col in TF_COLUMNS
            },
        )
        self._watch.lap("register")
        return frames

    def train(
        self, prepared: Prepared, blocked: Blocked, inputs: PopulationInputs, frames: SplinkInputs
    ) -> Model:
        """The tenant's model: carried from an earlier run, or u against the population's
        sample and m by EM on the subset; written to ``model_dir``.

        EM blocks on LinkedIn slug (training names, company, contact details), then on first and
        last name (training the identifiers), each only when its pairs have enough comparisons
        to learn from (``training.MIN_EM_INDICATORS``). Parameters EM cannot estimate fall back
        to the documented defaults (``settings.apply_fallbacks``).
        """
        config, rules = self.config, blocked.rules
        settings_path = self.model_dir / "settings.json"
        params_path = self.model_dir / "params.json"
        share: float | None = None  # estimated only when this run trains
        carried_share: float | None = None
        if config.trained_params is not None:
            trained = training.load_trained_params(
                Path(config.trained_params), config.backend, rules
            )
            carried_share = training.load_share(
                Path(config.trained_params), float(trained["probability_two_random_records_match"])
            )
            if carried_share is not None:  # the tenant's share, over this index's size
                trained["probability_two_random_records_match"] = training.prior_from_share(
                    carried_share, prepared.n_profiles)
            write_text_atomic(
                settings_path, json.dumps(settings_dict(build_settings(config.backend, rules), config.backend), indent=2)
            )
        else:
            assert inputs.prior is not None  # ``population`` estimates it whenever the run trains
            creator = build_settings(config.backend, rules, inputs.prior)
            write_text_atomic(settings_path, json.dumps(settings_dict(creator, config.backend), indent=2))
            sample = self._engine_or_fail().register(self.tables.u_sample, self.tables.sample_source)
            # u: ATS against a uniform sample of the whole index (population, not the subset)
            u_linker = new_linker([frames.ats, sample], creator)
            training.estimate_u(u_linker, config.u_max_pairs, config.seed)
            model = u_linker.misc.save_model_to_json()
            sampled_pairs = max(1.0, min(config.u_max_pairs, float(prepared.n_ats) * inputs.u_sample_size))
            # before EM: a namesake sharing the city must not look like a certain match to it,
            # nor a move of employer count twice through the title
            model = apply_namesake_city_u(model, inputs.namesake_city)
            model = prepare_chains_for_em(model, sampled_pairs)
            self._watch.lap("estimate_u")

            linker = new_linker([frames.ats, frames.subset], model)
            training.register_tf(linker, frames.term_frequencies)
            if blocked.n_subset:
                training.run_em_sessions(
                    linker, self.con, self.tables, blocked.plan.pre_filter_counts, config.u_max_pairs
                )
            trained = linker.misc.save_model_to_json()
            trained = apply_conditional_chains(trained)
            trained = apply_fallbacks(trained, identifier_u=min(0.5, 3.0 / sampled_pairs))
            trained = apply_namesake_city_u(trained, inputs.namesake_city)
            trained["probability_two_random_records_match"] = inputs.prior
            self._watch.lap("estimate_m")
            # nothing to score (no kept rule, no profile sharing a key): the starting prior stays
            if blocked.scorable:
                share = self.share_from_scores(trained, inputs, prepared, blocked, frames)
            if share is not None:
                trained["probability_two_random_records_match"] = training.prior_from_share(share, prepared.n_profiles)
        write_text_atomic(params_path, json.dumps(trained, indent=2))
        # the share the prior was set from: re-estimated from the scores, else the starting one
        # (the prior stays inputs.prior = inputs.share / N when nothing could be scored), or carried
        kept_share = share if share is not None else (carried_share if config.trained_params else inputs.share)
        if kept_share is not None:  # so that the next run carrying these parameters has it
            training.save_share(params_path, kept_share, float(trained["probability_two_random_records_match"]))
        else:
            training.share_path(params_path).unlink(missing_ok=True)
        if config.trained_params is not None:
            self._watch.lap("estimate_m")
        return Model(trained, settings_path, params_path, share)

    def share_from_scores(
        self, trained: dict[str, Any], inputs: PopulationInputs, prepared: Prepared, blocked: Blocked,
        frames: SplinkInputs,
    ) -> float | None:
        """The share of candidates in the index, re-estimated from what the trained model says
        about a sample of them (``training.share_in_index``); the prior is this share / N.

        The starting share counts a candidate as present only when an identifier finds it, so
        it misses everyone whose e-mail the index lacks, and a tenant without identifiers gets
        a fixed guess; every comparison's evidence does better. The sample is scored with the
        starting prior (its weights are corrected for it) and the same blocking as the run, and
        the estimate is shrunk toward the starting share by ``PRIOR_SHRINK`` pseudo-candidates,
        so a tenant of a handful of candidates keeps close to it. Like EM, it is a refinement:
        if it fails the run keeps the starting prior (None, with a warning) rather than failing.
        """
        assert inputs.prior is not None and inputs.share is not None
        t, n_profiles = self.tables, prepared.n_profiles
        try:
            # reproducible for a DuckDB version (its hash); the id breaks ties
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE {t.share_sample} AS SELECT * FROM {t.ats} "
                f"ORDER BY hash(unique_id || '{self.config.seed}'), unique_id LIMIT {training.SHARE_SAMPLE}"
            )
            n = int(self.con.execute(f"SELECT count(*) FROM {t.share_sample}").fetchall()[0][0])
            engine = self._engine_or_fail()
            linker = new_linker(
                [engine.register(t.share_sample, t.share_sample_source), frames.subset], scoring.slim(trained)
            )
            training.register_tf(linker, frames.term_frequencies)
            sample_pairs = int(blocked.pairs_to_score * n / max(prepared.n_ats, 1))
            evidence = scoring.evidence_per_candidate(
                engine, linker, scoring.chunks_for(sample_pairs, self.config.pairs_per_chunk),
                t.share_sample_source, inputs.prior,
            )
        except Exception as exc:  # a refinement of the prior is never worth the tenant's run
            logger.warning(
                "share of candidates in the index not re-estimated (%s: %s); the starting prior stays",
                type(exc).__name__, str(exc)[:200],
            )
            return None
        estimated = training.share_in_index(evidence, n, n_profiles, inputs.share)
        share = (estimated * n + inputs.share * training.PRIOR_SHRINK) / (n + training.PRIOR_SHRINK)
        logger.info(
            f"share of candidates in the index from {n} candidates' scores {estimated:.3f} "
            f"(identifiers and names said {inputs.share:.3f}); {share:.3f} used, prior {share / n_profiles:.3g}"
        )
        self._watch.lap("estimate_prior")
        return share

    def kept_model(self) -> Model:
        """The carried parameters, unchanged, for a run with an empty side: an incremental
        window in which no candidate changed must leave the model the next window carries as
        the last full run wrote it (writing untrained settings over it made every later
        window score with them). Copied into ``model_dir`` when they were carried from
        elsewhere, with their share."""
        assert self.config.trained_params is not None
        source = Path(self.config.trained_params)
        settings_path = self.model_dir / "settings.json"
        params_path = self.model_dir / "params.json"
        text = source.read_text()
        if source.resolve() != params_path.resolve():
            write_text_atomic(params_path, text)
            training.copy_share(source, params_path)
        if not settings_path.is_file():
            write_text_atomic(settings_path, self._untrained_settings())
        return Model(json.loads(text), settings_path, params_path, None)

    def _untrained_settings(self) -> str:
        """Settings with nothing estimated and no blocking rule, as JSON: they still load."""
        creator = build_settings(self.config.backend, [], UNTRAINED_PRIOR)
        return json.dumps(settings_dict(creator, self.config.backend), indent=2)

    def untrained_model(self) -> Model:
        """Settings and params with nothing estimated, for a run with an empty side: the files a
        caller expects are still there, and still load."""
        text = self._untrained_settings()
        settings_path = self.model_dir / "settings.json"
        params_path = self.model_dir / "params.json"
        write_text_atomic(settings_path, text)
        write_text_atomic(params_path, text)
        training.share_path(params_path).unlink(missing_ok=True)
        return Model(json.loads(text), settings_path, params_path, None)

    def chart(self, model: Model, frames: SplinkInputs) -> dict[str, Path]:
        """The model's match weights and m/u parameters charts beside it, self-contained HTML
        (Splink's scripts inlined, nothing fetched when opened): a convenience, never a reason to
        fail. Parameters only, no record of either side."""
        linker = new_linker([frames.ats, frames.subset], model.params)
        training.register_tf(linker, frames.term_frequencies)
        written: dict[str, Path] = {}
        for name, draw in ((MATCH_WEIGHTS_CHART, linker.visualisations.match_weights_chart),
                           (M_U_CHART, linker.visualisations.m_u_parameters_chart)):
            path = self.model_dir / name
            try:
                draw().save(str(path), inline=True)
            except Exception as exc:
                logger.warning("%s not written: %s", name, exc)
                continue
            written[name] = path
        return written

    def unlinkables(self, model: Model, frames: SplinkInputs, charts: dict[str, Path]) -> list[tuple[float, float]]:
        """Splink's "unlinkables": each candidate scored against itself, so the weight it reaches
        when a profile agrees on everything it has. Returned as (match weight, share of candidates
        at or below it), an aggregate curve; a candidate whose self-weight is below the threshold
        can never be matched, however good the index is, which tells a thin ATS export apart from
        a weak model. Its Splink chart (self-contained HTML) goes beside the model and into
        ``charts``. A convenience, never a reason to fail."""
        try:
            linker = new_linker(frames.ats, {**model.params, "link_type": "dedupe_only"})
            training.register_tf(linker, frames.term_frequencies)
            chart = linker.evaluation.unlinkables_chart(name_of_data_in_title="ATS candidates")
        except Exception as exc:  # noqa: BLE001 (a chart never fails a run)
            logger.warning("unlinkables not computed: %s: %s", type(exc).__name__, exc)
            return []
        try:
            chart.save(str(self.model_dir / UNLINKABLES_CHART), inline=True)
            charts[UNLINKABLES_CHART] = self.model_dir / UNLINKABLES_CHART
        except Exception as exc:  # noqa: BLE001
            logger.warning("%s not written: %s", UNLINKABLES_CHART, exc)
        return [(float(r["match_weight"]), float(r["cum_prop"])) for r in chart.raw_records]

    def predict(self, prepared: Prepared, blocked: Blocked, model: Model, frames: SplinkInputs) -> ScoredPairs:
        """Score every blocked pair in slices of the candidate side, keeping only the figures
        and the pairs at or above the threshold, so memory follows ``pairs_per_chunk``.

        A slim model (ids and weights only) scores unless a review file wants every pair's
        levels.
        """
        config = self.config
        keep_all = self.scored_pairs_out is not None
        scorer = new_linker(
            [frames.ats, frames.subset],
            model.params if keep_all else scoring.slim(model.params),
            validate=True,  # once a run (``engine.new_linker``)
        )
        training.register_tf(scorer, frames.term_frequencies)
        n_chunks = scoring.chunks_for(blocked.pairs_to_score, config.pairs_per_chunk)
        prior = float(model.params["probability_two_random_records_match"])
        # the share the prior was set from (prior = s / N): a carried model's prior is set from
        # the share saved with it (``training.load_share``), so this is that share on any index.
        # Parameters carried without their share keep the prior they were trained with: read
        # against this index's size, that overstates the share if the index has grown (held
        # at 0.99) until the next full run saves one
        share = prior * prepared.n_profiles
        scored = scoring.score_in_chunks(
            self._engine_or_fail(), scorer, n_chunks, config.threshold, self.tables,
            prior, keep_all, share=share,
        )
        self._watch.lap("predict")
        return scored

    def explain(self, model: Model, frames: SplinkInputs) -> tuple[int, pl.DataFrame]:
        """Keep the best profile per candidate and explain it; returns the ties dropped and the
        matches.

        Exact ties for the best profile are dropped as ambiguous. The chosen pairs are scored
        once more with every column, which costs one pair per match.
        """
        ties = scoring.choose_best(self.con, self.tables)
        matches = scoring.explain_winners(
            self._engine_or_fail(), model.params,
            lambda lk: training.register_tf(lk, frames.term_frequencies), self.tables,
        )
        if self.scored_pairs_out is not None:
            scoring.write_review_file(self.con, self.tables, Path(self.scored_pairs_out))
        self._watch.lap("select")
        return ties, matches

    @staticmethod
    def blocking_counts(
        blocked: Blocked, scored: ScoredPairs | None = None, ties: int | None = None
    ) -> dict[str, int]:
        """Pairs per rule before trimming, left out by trimming, scored; and ties dropped."""
        plan = blocked.plan
        counts = dict(plan.pre_filter_counts)
        for name, n in plan.left_out.items():
            counts[f"{name} (largest blocks left out)"] = n
        if scored is not None:
            for rule_index, n in scored.pairs_by_rule.items():
                name = "first pass" if blocked.first_pass is not None else plan.kept[rule_index].name
                counts[f"{name} (scored)"] = n
        if blocked.first_pass is not None:
            counts["first pass key hits"] = blocked.first_pass.key_hits
            counts["first pass kept"] = blocked.first_pass.kept_pairs
        if ties is not None:
            counts["ambiguous ties dropped"] = ties
        return counts

    def _engine_or_fail(self) -> Engine:
        if self._engine is None:
            raise LinkageError("a LinkRun step needing the engine ran before hand_over")
        return self._engine
