"""Match-quality rules, defined once: the match rate, the tenant's usual band, the publish gate.

The Dagster checks only report what ``judge`` decides; benchmarks and tests call it directly.

- **Match rate** is always matches / *eligible* candidates (not anonymised, not private unless
  the tenant opted in): the asset, the check and the band all use ``match_rate_of_eligible``.
- **The usual band** is learnt from the tenant's passed publishes of full runs only: a run the
  gate blocked never teaches the band (two bad runs must not make a third look usual), and an
  incremental run scores a handful of changed candidates, a different population.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import polars as pl

from connect_pipeline.run_state import GateRecord, PublishRecord

MIN_PRECISION = 0.95
MIN_RECALL = 0.80
HISTORY_RUNS = 10  # how many passed full publishes set the usual band
BAND_MIN_RUNS = 2
MIN_BAND = 0.10  # never narrower than ±10 points: small tenants move more
MIN_ELIGIBLE = 50  # below this a rate says little; the rate rules do not apply
MAX_BORDERLINE_SHARE = 0.25


def match_rate_of_eligible(matched: int, eligible: int) -> float:
    """The one match rate: share of the candidates we may match that were matched."""
    return round(matched / eligible, 4) if eligible else 0.0


def percent(rate: float) -> float:
    """A rate as people read it (71.25 for 0.7125): how every report shows the match rate."""
    return round(rate * 100, 2)


@dataclass(frozen=True)
class Band:
    low: float
    high: float
    median: float
    runs: int

    def __str__(self) -> str:
        return f"{percent(self.low):.1f}–{percent(self.high):.1f}% of eligible"


def usual_band(history: Sequence[float]) -> Band | None:
    """Median of earlier rates ± max(10 points, 3 × MAD); None until ``BAND_MIN_RUNS`` runs.

    Median and MAD rather than mean and standard deviation, so one bad run in the history does
    not widen the band enough to let the next bad run through.
    """
    if len(history) < BAND_MIN_RUNS:
        return None
    median = statistics.median(history)
    mad = statistics.median(abs(x - median) for x in history)
    half = max(MIN_BAND, 3 * mad)
    return Band(max(0.0, median - half), min(1.0, median + half), median, len(history))


def band_history(records: Sequence[PublishRecord]) -> list[float]:
    """The rates the band learns from: the last passed full publishes, newest last."""
    full = [r.match_rate_of_eligible for r in records if r.mode == "full"]
    return full[-HISTORY_RUNS:]


def band_status(history: Sequence[float]) -> str:
    missing = BAND_MIN_RUNS - len(history)
    if missing > 0:
        return f"needs {missing} more passed full run{'s' if missing > 1 else ''}"
    return f"from {len(history)} passed full runs"


@dataclass(frozen=True)
class LabelQuality:
    precision: float
    recall: float
    true_positives: int
    predicted: int
    labelled_in_index: int


def quality_against_labels(matches: pl.DataFrame, labels: pl.DataFrame, eligible_ids: pl.Series) -> LabelQuality:
    """Precision and recall over the candidates the run was allowed to match.

    ``labels`` holds candidate_id and profile_id (null when the person is known not to be in the
    index). Candidates without a label are ignored, so partial confirmations still score.
    """
    labels = labels.filter(pl.col("candidate_id").is_in(eligible_ids.implode()))
    scored = matches.filter(pl.col("candidate_id").is_in(labels["candidate_id"].implode()))
    joined = scored.join(labels, on="candidate_id", how="inner", suffix="_true")
    tp = joined.filter(pl.col("profile_id") == pl.col("profile_id_true")).height
    in_index = labels.filter(pl.col("profile_id").is_not_null()).height
    return LabelQuality(
        precision=tp / scored.height if scored.height else 1.0,
        recall=tp / in_index if in_index else 1.0,
        true_positives=tp,
        predicted=scored.height,
        labelled_in_index=in_index,
    )


@dataclass(frozen=True)
class Verdict:
    """What the gate decided, and the figures it decided on (reported as check metadata)."""

    problems: list[str]
    figures: dict[str, object] = field(default_factory=dict)
    outside_band: bool = False

    @property
    def passed(self) -> bool:
        return not self.problems


def judge(
    matches: pl.DataFrame,
    eligible: pl.DataFrame,
    *,
    mode: str,
    history: Sequence[PublishRecord],
    labels: pl.DataFrame | None = None,
) -> Verdict:
    """May this run's matches be published? See the module docstring for the rules."""
    forbidden = matches.filter(~pl.col("candidate_id").is_in(eligible["candidate_id"].implode()))
    rate = match_rate_of_eligible(matches.height, eligible.height)
    rates = band_history(history)
    band = usual_band(rates)
    figures: dict[str, object] = {
        "matched": matches.height,
        "eligible": eligible.height,
        "match_rate_of_eligible": rate,
        "forbidden_matches": forbidden.height,
        "usual_band": str(band) if band else band_status(rates),
    }
    problems: list[str] = []
    outside_band = False
    if forbidden.height:
        problems.append(f"{forbidden.height} anonymised or private candidates were matched")
    if eligible.height >= MIN_ELIGIBLE and matches.height == 0:
        problems.append("no candidate matched at all: the profile index or the model is broken")
    if band is not None and eligible.height >= MIN_ELIGIBLE and mode == "full":
        if not band.low <= rate <= band.high:
            outside_band = True
            problems.append(
                f"match rate {percent(rate):.1f}% is outside this tenant's usual band {band}: check the "
                "profile index snapshot and the ATS extract before publishing (re-run once they are right)"
            )
    if labels is not None:
        quality = quality_against_labels(matches, labels, eligible["candidate_id"])
        figures |= {
            "precision": round(quality.precision, 4),
            "recall": round(quality.recall, 4),
            "labelled_in_index": quality.labelled_in_index,
        }
        if quality.precision < MIN_PRECISION:
            problems.append(f"precision {quality.precision:.3f} is below {MIN_PRECISION}")
        if quality.recall < MIN_RECALL:
            problems.append(f"recall {quality.recall:.3f} is below {MIN_RECALL}")
    return Verdict(problems, figures, outside_band)


# -- the threshold, seen through the labels ------------------------------------------------------


TARGET_PRECISION = 0.99
"""The precision on labels the suggested threshold must keep: one wrong enrichment in a hundred."""


@dataclass(frozen=True)
class ThresholdPoint:
    """Precision, recall and F1 on the labelled candidates if the threshold were ``threshold``."""

    threshold: float
    precision: float
    recall: float
    f1: float
    kept: int


@dataclass(frozen=True)
class ThresholdSuggestion:
    """What the labels say about the threshold.

    ``safest``: the lowest threshold whose precision on labels is at least ``target_precision``
    (the most recall that precision allows); None when no threshold reaches it. ``best_f1``: the
    threshold with the best F1. ``current``: the figures at the run's own threshold.

    The linker keeps only pairs at or above the run's threshold, so only thresholds at or above it
    can be judged: when ``safest`` is the current threshold, lower ones may be as precise, but the
    labels cannot tell.
    """

    current: ThresholdPoint
    safest: ThresholdPoint | None
    best_f1: ThresholdPoint
    target_precision: float
    labelled_pairs: int
    labelled_in_index: int

    @property
    def threshold(self) -> float:
        """The one threshold to suggest: the safest, else the F1-best."""
        return (self.safest or self.best_f1).threshold

    def advice(self) -> str:
        """One sentence a data engineer can act on."""
        cur = self.current
        target = f"{percent(self.target_precision):g}%"
        if self.safest is None:
            return (
                f"no threshold at or above {cur.threshold:g} keeps precision ≥ {target} on the labels "
                f"(best F1 {percent(self.best_f1.f1):g}% at {self.best_f1.threshold:g}): check the labels "
                "and the model before publishing more"
            )
        if self.safest.threshold <= cur.threshold:
            return (
                f"keep {cur.threshold:g}: precision {percent(cur.precision):g}% ≥ {target} with recall "
                f"{percent(cur.recall):g}% (lower thresholds cannot be judged: pairs below "
                f"{cur.threshold:g} are not kept)"
            )
        return (
            f"raise the threshold to {self.safest.threshold:g}: the lowest that keeps precision ≥ {target} "
            f"on the labels (recall {percent(self.safest.recall):g}%, now {percent(cur.precision):g}% precision "
            f"and {percent(cur.recall):g}% recall at {cur.threshold:g})"
        )


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def threshold_curve(
    matches: pl.DataFrame, labels: pl.DataFrame, eligible_ids: pl.Series, current: float
) -> list[ThresholdPoint]:
    """Precision, recall and F1 on the labelled eligible candidates at the run's threshold and at
    every match probability above it that a labelled match carries (where the figures change).

    Precision counts the labelled candidates' matches that found their labelled profile; recall
    divides those by the labelled candidates known to be in the index. Ascending thresholds.
    """
    labels = labels.filter(pl.col("candidate_id").is_in(eligible_ids.implode()))
    in_index = labels.filter(pl.col("profile_id").is_not_null()).height
    scored = matches.join(labels, on="candidate_id", how="inner", suffix="_true").select(
        pl.col("match_probability"),
        (pl.col("profile_id") == pl.col("profile_id_true")).fill_null(False).alias("correct"),
    )
    points = []
    for t in sorted({current, *(p for p in scored["match_probability"].to_list() if p >= current)}):
        kept = scored.filter(pl.col("match_probability") >= t)
        tp = int(kept["correct"].sum()) if kept.height else 0
        precision = tp / kept.height if kept.height else 1.0
        recall = tp / in_index if in_index else 1.0
        points.append(ThresholdPoint(
            round(t, 6), round(precision, 4), round(recall, 4), round(_f1(precision, recall), 4), kept.height
        ))
    return points


def suggest_threshold(
    matches: pl.DataFrame,
    labels: pl.DataFrame,
    eligible_ids: pl.Series,
    current: float,
    *,
    target_precision: float = TARGET_PRECISION,
) -> ThresholdSuggestion | None:
    """The lowest threshold keeping precision ≥ ``target_precision`` on the labels, and the F1-best.

    None when no eligible candidate carries a label.
    """
    labelled = labels.filter(pl.col("candidate_id").is_in(eligible_ids.implode()))
    if not labelled.height:
        return None
    curve = threshold_curve(matches, labels, eligible_ids, current)
    safest = next((p for p in curve if p.precision >= target_precision), None)
    best = max(curve, key=lambda p: (p.f1, -p.threshold))
    in_index = labelled.filter(pl.col("profile_id").is_not_null()).height
    return ThresholdSuggestion(curve[0], safest, best, target_precision, labelled.height, in_index)


# -- the fleet: every tenant's last run beside its previous full run and its band -----------------

CADENCE_PERIOD = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
"""How often a tenant of each cadence is run (the schedule's ticks)."""
RUN_ALLOWANCE = timedelta(hours=2)
"""How long a scheduled run may take before its tenant counts as overdue."""
STALE_AFTER = {"daily": timedelta(hours=36), "weekly": timedelta(days=8)}
"""A tenant whose last run is older than this (by cadence) is stale: its figures say nothing
about today. The fleet report's "stale" status and the Dagster freshness policy of the tenant's
quality asset both use it."""


def overdue_after(cadence: str) -> timedelta:
    """A cadence's period plus the time a run may take: past it, the scheduled run is late."""
    return CADENCE_PERIOD.get(cadence, CADENCE_PERIOD["weekly"]) + RUN_ALLOWANCE


def stale_after(cadence: str) -> timedelta:
    """How long a tenant of this cadence may go without a run reaching the gate (unknown: weekly)."""
    return STALE_AFTER.get(cadence, STALE_AFTER["weekly"])

OK, OUTSIDE_BAND, BLOCKED, BAND_NOT_READY, STALE, NEVER_RUN = (
    "ok", "outside band", "blocked", "band not ready", "stale", "never run"
)
STATUS_ORDER = (OUTSIDE_BAND, BLOCKED, STALE, NEVER_RUN, BAND_NOT_READY, OK)
"""Worst first: the order the fleet report lists tenants in."""


@dataclass(frozen=True)
class RunFigures:
    """One run that reached the gate, as the fleet report sees it."""

    at: str
    mode: str
    eligible: int
    matched: int
    rate: float
    passed: bool
    problems: tuple[str, ...] = ()
    outside_band: bool = False


@dataclass(frozen=True)
class TenantQuality:
    """A tenant's line in the fleet report (aggregates only)."""

    tenant: str
    status: str
    reason: str
    last_run: RunFigures | None
    last_full: RunFigures | None
    previous_full: RunFigures | None
    band: Band | None
    band_text: str
    published_matches: int | None
    published_rate: float | None

    @property
    def change_points(self) -> float | None:
        """Last full run's rate minus the previous full run's, in percentage points."""
        if self.last_full is None or self.previous_full is None:
            return None
        return round(100 * (self.last_full.rate - self.previous_full.rate), 2)


def _from_publish(r: PublishRecord) -> RunFigures:
    return RunFigures(r.published_at, r.mode, r.eligible, r.matched, r.match_rate_of_eligible, True)


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)


def published_figures(history: Sequence[PublishRecord]) -> tuple[int, float] | None:
    """Matches in the published table now, and their rate of the eligible candidates of the last
    full run (an incremental run re-reads a window, so its own eligible count is not the
    tenant's). None before the first publish."""
    if not history:
        return None
    last = history[-1]
    matches = last.published_matches if last.published_matches is not None else last.matched
    fulls = [r for r in history if r.mode == "full"]
    eligible = fulls[-1].eligible if fulls else last.eligible
    return matches, match_rate_of_eligible(matches, eligible)


def tenant_quality(
    tenant: str,
    history: Sequence[PublishRecord],
    gate: GateRecord | None,
    *,
    cadence: str,
    now: datetime,
) -> TenantQuality:
    """The tenant's last run, its last and previous full runs, the band the last full run was
    judged against, and a status: outside band or blocked, stale, never run, band not ready, ok."""
    runs = [_from_publish(r) for r in history]
    if gate is not None and not (gate.passed and any(r.published_at >= gate.checked_at for r in history)):
        # a blocked run (or a passed one whose publish did not happen): the history never holds it
        runs.append(RunFigures(gate.checked_at, gate.mode, gate.eligible, gate.matched,
                               gate.match_rate_of_eligible, gate.passed, tuple(gate.problems),
                               gate.outside_band))
        runs.sort(key=lambda r: r.at)
    last_run = runs[-1] if runs else None
    full_at = [i for i, r in enumerate(runs) if r.mode == "full"]
    last_full = runs[full_at[-1]] if full_at else None
    # what the last full run was judged against: the passed full runs before it
    before = [r for r in runs[: full_at[-1]] if r.mode == "full" and r.passed] if full_at else []
    previous_full = before[-1] if before else None
    rates = [r.rate for r in before][-HISTORY_RUNS:]
    band = usual_band(rates)
    band_text = str(band) if band else band_status(rates)
    published = published_figures(history)

    if last_run is None:
        status, reason = NEVER_RUN, "no run has reached the quality gate yet"
    elif not last_run.passed and last_run.outside_band:
        status, reason = OUTSIDE_BAND, "; ".join(last_run.problems)
    elif not last_run.passed:
        status, reason = BLOCKED, "; ".join(last_run.problems) or "the publish was blocked"
    elif band is not None and last_full is not None and last_full.eligible >= MIN_ELIGIBLE and not (
        band.low <= last_full.rate <= band.high
    ):
        status, reason = OUTSIDE_BAND, f"last full run {percent(last_full.rate)}% is outside {band}"
    elif now - _parse(last_run.at) > stale_after(cadence):
        status, reason = STALE, f"last run {last_run.at}, a {cadence} tenant"
    elif band is None:
        status, reason = BAND_NOT_READY, band_text
    else:
        status, reason = OK, f"last full run inside the usual band {band}"
    return TenantQuality(
        tenant=tenant, status=status, reason=reason, last_run=last_run, last_full=last_full,
        previous_full=previous_full, band=band, band_text=band_text,
        published_matches=published[0] if published else None,
        published_rate=published[1] if published else None,
    )
