"""Reading the match probabilities against a truth: bands, exact intervals, verdicts, and the
run's metadata that shows them against a tenant's labels."""

from __future__ import annotations

from math import comb

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from assets.charts import label_metadata
from connect_pipeline.reliability import Band, exact_interval, reliability


def _binomial_tail(k_from: int, k_to: int, n: int, p: float) -> float:
    return sum(comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k_from, k_to + 1))


@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_the_interval_is_clopper_pearsons(case):
    """Its ends are where seeing this many right or more (fewer) becomes a 2.5 % chance, computed
    here by plain binomial sums; it holds the observed share; 0 and 1 are reached exactly."""
    right, n = case
    lo, hi = exact_interval(right, n)
    assert lo <= right / n <= hi
    if right == 0:
        assert lo == 0.0
    else:
        assert _binomial_tail(right, n, n, lo) == pytest.approx(0.025, abs=1e-6)
    if right == n:
        assert hi == 1.0
    else:
        assert _binomial_tail(0, right, n, hi) == pytest.approx(0.025, abs=1e-6)


def test_an_empty_band_says_nothing():
    assert exact_interval(0, 0) == (0.0, 1.0)
    assert Band(0.9, 0.99, 0, 0.0, 0).verdict() == "no matches"


def test_a_band_over_states_only_beyond_chance():
    """One wrong of 20 at 0.96 is chance; 20 wrong of 100 at 0.96 is not; all right at 0.95
    of 200 is more right than said."""
    assert Band(0.9, 0.99, 20, 20 * 0.96, 19).verdict() == "holds"
    assert Band(0.9, 0.99, 100, 100 * 0.96, 80).verdict() == "over-states by 0.1600"
    assert Band(0.9, 0.99, 200, 200 * 0.95, 200).verdict() == "under-states by 0.0500"


def test_bands_pool_only_with_the_same_band():
    a, b = Band(0.9, 0.99, 10, 9.6, 9), Band(0.9, 0.99, 5, 4.8, 5)
    assert a + b == Band(0.9, 0.99, 15, 9.6 + 4.8, 14)
    with pytest.raises(ValueError, match="cannot pool"):
        a + Band(0.99, 0.999, 1, 0.995, 1)


MATCHES = pl.DataFrame({
    "candidate_id": [1, 2, 3, 4, 5, 6],
    "profile_id": ["a", "x", "c", "d", "e", "f"],
    "match_probability": [0.95, 0.95, 0.99, 1.0, 0.85, 0.97],
})
# 2 is matched to the wrong profile; 4 is known not to be in the index; 6 carries no label
LABELS = pl.DataFrame({"candidate_id": [1, 2, 3, 4, 5, 7], "profile_id": ["a", "b", "c", None, "e", "g"]})


def test_matches_fall_in_their_band_and_unlabelled_ones_are_left_out():
    bands = {band.label: band for band in reliability(MATCHES, LABELS)}
    assert list(bands) == ["[0.9, 0.99)", "[0.99, 0.999)", "[0.999, 0.9999)", "[0.9999, 1]"]
    assert (bands["[0.9, 0.99)"].count, bands["[0.9, 0.99)"].right) == (2, 1)  # 6 has no label, 5 is below
    assert (bands["[0.99, 0.999)"].count, bands["[0.99, 0.999)"].right) == (1, 1)  # 0.99 opens its band
    assert bands["[0.999, 0.9999)"].count == 0
    assert (bands["[0.9999, 1]"].count, bands["[0.9999, 1]"].right) == (1, 0)  # certain, yet known absent
    lowered = reliability(MATCHES, LABELS, lowest=0.8)  # a tenant publishing from 0.8
    assert (lowered[0].label, lowered[0].count, lowered[0].right) == ("[0.8, 0.9)", 1, 1)


def test_a_run_shows_whether_its_probabilities_hold_on_the_tenants_labels():
    """The ats_matches metadata: a one-line verdict and the table by band, over the eligible
    labelled candidates only; a band that over-states is named with by how much."""
    n = 60
    matches = pl.DataFrame({
        "candidate_id": list(range(n)),
        "profile_id": [f"p{i}" if i % 4 else "wrong" for i in range(n)],  # a quarter wrong
        "match_probability": [0.96] * n,
    })
    labels = pl.DataFrame({"candidate_id": list(range(n)), "profile_id": [f"p{i}" for i in range(n)]})
    eligible = pl.DataFrame({"candidate_id": list(range(n))})
    meta = label_metadata(matches, labels, eligible, 0.9, "this run")
    assert meta["match probabilities against labels"].text == "[0.9, 0.99) over-states by 0.2100"
    table = meta["match probabilities by band (labels)"].md_str
    assert "| [0.9, 0.99) | 60 | 0.9600 | 0.7500 | " in table and "| [0.9999, 1] | 0 |" in table
    right = label_metadata(matches.with_columns(pl.format("p{}", "candidate_id").alias("profile_id")),
                           labels, eligible, 0.9, "this run")
    assert right["match probabilities against labels"].text == "hold in every band"
    # a candidate no longer eligible (made private since) is not judged
    only_right = label_metadata(matches, labels, eligible.filter(pl.col("candidate_id") % 4 != 0), 0.9, "this run")
    assert only_right["match probabilities against labels"].text == "hold in every band"
