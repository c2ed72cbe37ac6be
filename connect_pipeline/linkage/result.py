"""What a link hands back: the matches and the figures that say how they were reached."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import polars as pl

BORDERLINE_BITS = 3.0  # matches within this many bits above the threshold count as borderline


@dataclass(frozen=True)
class LinkResult:
    """One run's outcome, built once when the run ends.

    Frozen and without defaults: every field is given when the run knows it, so no caller can
    see a placeholder (an empty path, a zero count) that a later step was meant to fill in.
    """

    matches: pl.DataFrame
    candidates_scored: int
    pairs_compared: int
    blocking_counts: dict[str, int]
    score_histogram: list[tuple[float, int]]
    borderline_share: float
    settings_path: Path
    params_path: Path
    chart_path: Path | None
    """Splink's match weights chart (self-contained HTML), when it could be drawn."""
    mu_chart_path: Path | None
    """Splink's m and u parameters chart (self-contained HTML), when it could be drawn."""
    unlinkables_chart_path: Path | None
    """Splink's unlinkables chart (self-contained HTML), when it could be drawn."""
    unlinkables: list[tuple[float, float]]
    """(match weight, share of candidates whose self-match weight is at most that): the ATS
    candidates scored against themselves; empty when it could not be computed."""
    timings: dict[str, float]
    prediction_chunks: int
    share_in_index: float | None
    """The share of this run's candidates the index holds, as the trained model estimates it
    (``training.share_in_index``; it sets the prior). None when the run carried a model, had
    nothing to score, or could not estimate it."""


def borderline_share(matches: pl.DataFrame, threshold: float) -> float:
    """Share of matches within BORDERLINE_BITS of the threshold's weight: one weak detail (a
    similar title, a shared city) away from not being a match. Measured in weight, not
    probability, because probabilities crowd near 1 above any useful threshold. The weight is
    the one-pair reading's cut: a candidate without identifiers, read on the full posterior,
    can pass a little below it, and its match then counts as borderline, which it is."""
    if not matches.height:
        return 0.0
    threshold_weight = math.log2(threshold / (1 - threshold))
    return matches.filter(pl.col("match_weight") < threshold_weight + BORDERLINE_BITS).height / matches.height
