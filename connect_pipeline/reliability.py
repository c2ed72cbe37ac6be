"""Do the published probabilities mean what they say? Matches by probability band against a truth.

A pair published at 0.95 should be right about 95 % of the time or more. Grouping the matches
into bands of probability and counting how many of each are right tells whether they are. The
accuracy bench reads its worlds' truth this way, and each run reads the tenant's confirmed
matches (``labels.parquet``) this way, so both say "holds" or "over-states" by one rule.

A band over-states only when its mean probability lies above the whole 95 % interval of its
share right. The interval is exact (Clopper-Pearson), so a band of 20 matches with one wrong is
not called over-confident for the one wrong pair that chance alone gives it, and a band where
every match is right reaches 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import polars as pl

BAND_EDGES: tuple[float, ...] = (0.9, 0.99, 0.999, 0.9999)
"""Lower edges of the bands; the last band runs to 1 inclusive. Each is ten times closer to
certainty than the one before, where the published matches of a tenant mostly sit."""


@dataclass(frozen=True)
class Band:
    """One probability band's matches: how many, their summed probability, how many right."""

    low: float
    high: float  # exclusive, except the last band's 1.0
    count: int
    said: float  # summed match probability
    right: int

    @property
    def label(self) -> str:
        return f"[{self.low:g}, {self.high:g}{']' if self.high >= 1.0 else ')'}"

    @property
    def mean(self) -> float:
        return self.said / self.count if self.count else math.nan

    @property
    def share_right(self) -> float:
        return self.right / self.count if self.count else math.nan

    @cached_property
    def interval(self) -> tuple[float, float]:
        """The share right's exact 95 % interval (computed once: it is a bisection)."""
        return exact_interval(self.right, self.count)

    def verdict(self) -> str:
        """"holds", "over-states by …" or "under-states by …" (see the module docstring)."""
        if not self.count:
            return "no matches"
        lo, hi = self.interval
        if self.mean > hi:
            return f"over-states by {self.mean - self.share_right:.4f}"
        if self.mean < lo:
            return f"under-states by {self.share_right - self.mean:.4f}"
        return "holds"

    def __add__(self, other: Band) -> Band:
        """Pooled with the same band of another world or run."""
        if (other.low, other.high) != (self.low, self.high):
            raise ValueError(f"cannot pool band {other.label} into {self.label}")
        return Band(self.low, self.high, self.count + other.count, self.said + other.said, self.right + other.right)


def reliability(matches: pl.DataFrame, truth: pl.DataFrame, *, lowest: float = BAND_EDGES[0]) -> list[Band]:
    """The matches by probability band, each with how many are right.

    ``matches`` holds candidate_id, profile_id and match_probability; ``truth`` holds
    candidate_id and profile_id, null for a candidate known not to be in the index. Matches of a
    candidate the truth does not cover are left out: a tenant confirms some candidates, not all,
    and an unconfirmed match is neither right nor wrong. ``lowest`` (a run's threshold below the
    first edge) opens one more band under it, so every published match is in a band.
    """
    edges = sorted({lowest, *(e for e in BAND_EDGES if e > lowest)})
    known = matches.join(
        truth.select("candidate_id", pl.col("profile_id").alias("true_profile")), on="candidate_id", how="inner"
    ).with_columns(right=(pl.col("profile_id") == pl.col("true_profile")).fill_null(False))
    bands = []
    for low, high in zip(edges, [*edges[1:], 1.0]):
        in_band = (pl.col("match_probability") >= low) & (
            pl.col("match_probability") <= high if high >= 1.0 else pl.col("match_probability") < high
        )
        band = known.filter(in_band)
        bands.append(Band(low, high, band.height, float(band["match_probability"].sum()), int(band["right"].sum())))
    return bands


def exact_interval(right: int, count: int, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval of a share right: exact, so it holds for shares near 1 and for
    small bands (an approximate one called 28 right of 29 at 0.997 over-confident), and reaches
    1 exactly when every pair is right. (0, 1) for an empty band."""
    if count <= 0:
        return 0.0, 1.0
    tail = (1 - confidence) / 2
    lo = 0.0 if right == 0 else _solve(lambda p: _at_least(right, count, p), tail)
    hi = 1.0 if right == count else _solve(lambda p: 1 - _at_least(right + 1, count, p), tail, falling=True)
    return lo, hi


def _at_least(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space (n runs to thousands)."""
    if p <= 0:
        return 0.0 if k > 0 else 1.0
    if p >= 1:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
             for i in range(k, n + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def _solve(f: Callable[[float], float], target: float, falling: bool = False) -> float:
    """The p in (0, 1) where the monotone f(p) equals target, by bisection."""
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if (f(mid) < target) != falling:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2
