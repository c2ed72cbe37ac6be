"""The fleet's match-quality report: each tenant's last run beside its previous full run and its
usual band, a status worst first; the threshold the labels favour; the charts kept per run."""

from __future__ import annotations

import json
from html import escape
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from connect_pipeline.charts import (
    histogram_svg, m_u_svg, match_weights_svg, save_run_charts, threshold_weight, unlinkable_share, unlinkables_svg,
)
from connect_pipeline.fleet import fleet_json, fleet_markdown, fleet_quality
from connect_pipeline.linkage.result import LinkResult
from connect_pipeline.linkage.settings import build_settings, settings_dict
from connect_pipeline.quality import (
    BAND_NOT_READY,
    BLOCKED,
    NEVER_RUN,
    OK,
    OUTSIDE_BAND,
    STALE,
    suggest_threshold,
    threshold_curve,
    tenant_quality,
)
from connect_pipeline.run_state import GateRecord, PublishRecord, record_gate, record_publish
from connect_pipeline.storage import TenantStorage
from connect_pipeline.tenants import TenantConnection, TenantRegistry

NOW = datetime(2026, 12, 2, 9, tzinfo=timezone.utc)


def _pub(day: int, rate: float, mode: str = "full", published: int | None = None) -> PublishRecord:
    at = f"2026-12-{day:02d}T02:00:00Z"
    matched = int(rate * 1000)
    return PublishRecord(f"g{day}", at, mode, 1000, matched, rate, published if published is not None else matched)


def _gate(day: int, rate: float, *, passed: bool, outside: bool = False, mode: str = "full") -> GateRecord:
    return GateRecord(f"run-{day}", f"2026-12-{day:02d}T01:59:00Z", mode, 1000, int(rate * 1000), rate, passed,
                      [] if passed else ["match rate is outside this tenant's usual band"], outside)


def test_a_tenant_inside_its_band_is_ok_and_shows_the_change():
    history = [_pub(1, 0.70), _pub(1, 0.72), _pub(2, 0.71)]
    q = tenant_quality("acme", history, _gate(2, 0.71, passed=True), cadence="daily", now=NOW)
    assert q.status == OK
    assert q.previous_full.rate == 0.72 and q.last_full.rate == 0.71
    assert q.change_points == -1.0
    assert q.band is not None and q.band.runs == 2  # the band the last run was judged against


def test_a_blocked_run_shows_outside_band_though_the_history_never_holds_it():
    history = [_pub(1, 0.70), _pub(1, 0.72)]
    q = tenant_quality("acme", history, _gate(2, 0.05, passed=False, outside=True), cadence="daily", now=NOW)
    assert q.status == OUTSIDE_BAND
    assert q.last_run.passed is False and q.last_full.rate == 0.05
    assert q.change_points == -67.0
    assert q.published_rate == 0.72  # the last good table is still the one published
    other = tenant_quality("acme", history, GateRecord("r", "2026-12-02T01:00:00Z", "full", 1000, 700, 0.7,
                                                       False, ["precision 0.9 is below 0.95"]), cadence="daily", now=NOW)
    assert other.status == BLOCKED


def test_band_not_ready_stale_and_never_run():
    q = tenant_quality("new", [_pub(2, 0.7)], None, cadence="daily", now=NOW)
    assert q.status == BAND_NOT_READY and q.band_text == "needs 2 more passed full runs"
    old = tenant_quality("old", [_pub(1, 0.7), _pub(1, 0.7), _pub(1, 0.7)], None, cadence="daily",
                         now=datetime(2026, 12, 5, tzinfo=timezone.utc))
    assert old.status == STALE
    weekly = tenant_quality("weekly", [_pub(1, 0.7), _pub(1, 0.7), _pub(1, 0.7)], None, cadence="weekly",
                            now=datetime(2026, 12, 5, tzinfo=timezone.utc))
    assert weekly.status == OK
    assert tenant_quality("none", [], None, cadence="daily", now=NOW).status == NEVER_RUN


def test_an_incremental_run_keeps_the_published_rate_of_the_whole_table():
    # an incremental run that matched nothing in its window: the table still holds 710 matches
    history = [_pub(1, 0.70), _pub(1, 0.72), _pub(1, 0.71), _pub(2, 0.0, mode="incremental", published=710)]
    q = tenant_quality("acme", history, _gate(2, 0.0, passed=True, mode="incremental"), cadence="daily", now=NOW)
    assert q.published_rate == 0.71 and q.published_matches == 710
    assert q.last_run.mode == "incremental" and q.last_full.rate == 0.71
    assert q.status == OK


def _connect(root: Path, tenant_id: str, cadence: str = "daily") -> None:
    TenantRegistry(root).add(TenantConnection(
        tenant_id=tenant_id, greenhouse_url="https://app.greenhouse.io/", client_id=f"id-{tenant_id}",
        secret_ref="env:UNUSED", sub=1, cadence=cadence,
    ))


def test_the_fleet_lists_the_worst_first(tmp_path):
    for t in ("acme", "globex", "initech"):
        _connect(tmp_path, t)
    acme, globex = TenantStorage(tmp_path, "acme"), TenantStorage(tmp_path, "globex")
    for r in (_pub(1, 0.70), _pub(1, 0.72), _pub(2, 0.71)):
        record_publish(acme, r)
    for r in (_pub(1, 0.60), _pub(1, 0.62)):
        record_publish(globex, r)
    record_gate(globex, _gate(2, 0.10, passed=False, outside=True))
    rows = fleet_quality(tmp_path, NOW)
    assert [(q.tenant, q.status) for q in rows] == [("globex", OUTSIDE_BAND), ("initech", NEVER_RUN), ("acme", OK)]
    table = fleet_markdown(rows, NOW)
    assert "| **globex** | 🔴 outside band |" in table and "-52.0" in table
    assert "60.0–72.0%" not in table  # the band is median ± 10 points at least
    data = fleet_json(rows)
    assert data[0]["change_points"] == -52.0 and json.dumps(data)


def test_the_labels_suggest_the_lowest_threshold_keeping_precision_and_the_f1_best():
    matches = pl.DataFrame({
        "candidate_id": [1, 2, 3, 4],
        "profile_id": ["a", "b", "x", "d"],
        "match_probability": [0.99, 0.98, 0.91, 0.97],
    })
    labels = pl.DataFrame({"candidate_id": [1, 2, 3, 4, 5], "profile_id": ["a", "b", "c", "d", None]})
    s = suggest_threshold(matches, labels, pl.Series([1, 2, 3, 4, 5]), 0.9)
    assert (s.current.threshold, s.current.precision, s.current.recall) == (0.9, 0.75, 0.75)
    assert s.safest is not None and s.safest.threshold == 0.97  # dropping the one wrong, weakest match
    assert (s.safest.precision, s.safest.recall) == (1.0, 0.75)
    assert s.best_f1.threshold == 0.97 and s.best_f1.f1 > s.current.f1
    assert s.threshold == 0.97 and "raise the threshold to 0.97" in s.advice()
    assert suggest_threshold(matches, labels.head(0), pl.Series([1]), 0.9) is None


def test_precision_met_at_the_current_threshold_says_keep_and_why_lower_is_unknown():
    matches = pl.DataFrame({"candidate_id": [1, 2], "profile_id": ["a", "b"], "match_probability": [0.95, 0.99]})
    labels = pl.DataFrame({"candidate_id": [1, 2, 3], "profile_id": ["a", "b", "c"]})
    s = suggest_threshold(matches, labels, pl.Series([1, 2, 3]), 0.9)
    assert s.safest == s.current and s.current.recall == round(2 / 3, 4)
    assert s.advice().startswith("keep 0.9") and "cannot be judged" in s.advice()


def test_no_threshold_reaching_the_target_precision_is_said_plainly():
    matches = pl.DataFrame({"candidate_id": [1, 2], "profile_id": ["x", "b"], "match_probability": [0.99, 0.95]})
    labels = pl.DataFrame({"candidate_id": [1, 2], "profile_id": ["a", "b"]})
    s = suggest_threshold(matches, labels, pl.Series([1, 2]), 0.9)
    assert s.safest is None and "no threshold" in s.advice()
    curve = threshold_curve(matches, labels, pl.Series([1, 2]), 0.9)
    assert [p.threshold for p in curve] == [0.9, 0.95, 0.99] and curve[-1].precision == 0.0


def test_unlinkables_count_the_candidates_below_the_threshold_against_themselves():
    curve = [(-2.0, 0.1), (4.0, 0.3), (12.0, 1.0)]  # weight of p = 0.9 is 3.17 bits
    assert unlinkable_share(curve, 0.9) == 0.1
    assert unlinkable_share(curve, 0.99) == 0.3  # 6.6 bits
    svg = unlinkables_svg(curve, 0.99)
    assert "30% of candidates can never reach it" in svg and "<script" not in svg
    assert "not computed" in unlinkables_svg([], 0.9)


def test_charts_mark_the_threshold_and_are_kept_per_run(tmp_path):
    svg = histogram_svg([(0.0, 10), (3.0, 5), (8.0, 2)], 0.9)
    assert "threshold p ≥ 0.9" in svg and f"weight {threshold_weight(0.9):.1f}" in svg
    params = {"probability_two_random_records_match": 1e-4, "comparisons": [{
        "output_column_name": "emails", "comparison_levels": [
            {"is_null_level": True, "label_for_charts": "null"},
            {"label_for_charts": "shared", "m_probability": 0.8, "u_probability": 0.0001},
            {"label_for_charts": "none shared", "m_probability": 0.2, "u_probability": 0.9999},
        ]}]}
    assert "shared" in match_weights_svg(params) and "null" not in match_weights_svg(params)
    # every level of the model reads whole beside its comparison's name, however long
    model = settings_dict(build_settings("duckdb", []), "duckdb")
    labels = [lvl["label_for_charts"] for c in model["comparisons"] for lvl in c["comparison_levels"]
              if not lvl.get("is_null_level")]
    for svg in (match_weights_svg(model), m_u_svg(model)):
        assert all(f">{escape(label)}</text>" in svg for label in labels)
    long = {"comparisons": [{"output_column_name": "a_very_long_comparison_name", "comparison_levels": [
        {"label_for_charts": "a level label far too long to sit beside that name", "m_probability": 0.5,
         "u_probability": 0.1}]}]}
    assert "a level label far…</text>" in m_u_svg(long)
    storage = TenantStorage(tmp_path, "acme").ensure()
    params_path = tmp_path / "params.json"
    params_path.write_text(json.dumps(params))
    result = LinkResult(
        matches=pl.DataFrame(), candidates_scored=0, pairs_compared=0, blocking_counts={},
        score_histogram=[(0.0, 3)], borderline_share=0.0, settings_path=params_path, params_path=params_path,
        chart_path=None, mu_chart_path=None, unlinkables_chart_path=None,
        unlinkables=[(-2.0, 0.1), (4.0, 0.3), (12.0, 1.0)], timings={}, prediction_chunks=1, share_in_index=0.7,
    )
    first = save_run_charts(storage, "run-1", result, 0.9)
    second = save_run_charts(storage, "run-2", result, 0.9)
    assert first.folder != second.folder and (first.folder / "score_histogram.svg").exists()
    assert "10% of candidates can never reach it" in (first.folder / "unlinkables.svg").read_text()
    save_run_charts(storage, "run-3", result, 0.9, keep=2)
    assert sorted(p.name for p in storage.charts_root.iterdir()) == ["run-2", "run-3"]


def test_a_run_with_nothing_to_link_plots_no_unlinkables_point(tmp_path):
    from assets.charts import chart_metadata

    params_path = tmp_path / "params.json"
    params_path.write_text(json.dumps({"comparisons": []}))
    result = LinkResult(
        matches=pl.DataFrame(), candidates_scored=0, pairs_compared=0, blocking_counts={},
        score_histogram=[], borderline_share=0.0, settings_path=params_path, params_path=params_path,
        chart_path=None, mu_chart_path=None, unlinkables_chart_path=None, unlinkables=[], timings={},
        prediction_chunks=0, share_in_index=None,
    )
    shown = chart_metadata(TenantStorage(tmp_path, "acme").ensure(), "run-1", result, 0.9)
    assert "unlinkable candidates (% of eligible)" not in shown  # not a false zero on the plot
    assert "Not computed in this run" in shown["chart: unlinkables"].value
    assert {k for k in shown if k.startswith("chart: ")} == {
        "chart: score histogram", "chart: unlinkables", "chart: match weights", "chart: m and u parameters",
    }
