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

import polars as pl

from connect_pipeline.run_state import PublishRecord

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


@dataclass(frozen=True)
class Band:
    low: float
    high: float
    median: float
    runs: int

    def __str__(self) -> str:
        return f"{self.low:.3f}–{self.high:.3f}"


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
    if forbidden.height:
        problems.append(f"{forbidden.height} anonymised or private candidates were matched")
    if eligible.height >= MIN_ELIGIBLE and matches.height == 0:
        problems.append("no candidate matched at all: the profile index or the model is broken")
    if band is not None and eligible.height >= MIN_ELIGIBLE and mode == "full":
        if not band.low <= rate <= band.high:
            problems.append(
                f"match rate {rate:.3f} is outside this tenant's usual band {band}: check the "
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
    return Verdict(problems, figures)
