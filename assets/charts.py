"""How a run's figures and charts appear in the Dagster UI.

A chart is an inline SVG in ``MetadataValue.md``: the materialisation's metadata row shows
"[Show Markdown]", and one click opens the chart. Dagster's markdown renderer allows ``data:``
images (checked in a browser against dagster-webserver 1.13), so nothing else must run for a chart
to show: no chart server, no port, and runs started from the CLI show theirs too. A ``file://``
link or a copied path would not do: browsers refuse ``file://`` from the UI's http page. The
charts are drawn from aggregates only (counts and model parameters), never a candidate.
"""

from __future__ import annotations

import polars as pl
from dagster import MetadataValue, TableColumn, TableSchema

from connect_pipeline.charts import RunCharts, markdown_image, save_run_charts, threshold_weight, unlinkable_share
from connect_pipeline.linkage.result import LinkResult
from connect_pipeline.quality import ThresholdPoint, ThresholdSuggestion, percent, quality_against_labels, suggest_threshold
from connect_pipeline.reliability import BAND_EDGES, Band, reliability
from connect_pipeline.storage import TenantStorage

__all__ = [
    "blocking_md", "chart_metadata", "column_schema", "histogram_md", "label_metadata", "reliability_md",
    "threshold_metadata",
]


def chart_metadata(storage: TenantStorage, run_id: str, result: LinkResult, threshold: float) -> dict:
    """Save this run's charts (kept per run) and show each as a "chart: …" metadata row."""
    charts = save_run_charts(storage, run_id, result, threshold)
    files = str(charts.folder)
    if charts.splink_html:
        files += f": the SVGs above and Splink's interactive HTML charts ({', '.join(sorted(charts.splink_html))})"
    metadata: dict = {
        "chart: score histogram": MetadataValue.md(
            markdown_image(charts.histogram, "score histogram") + "\n\n" + histogram_md(result.score_histogram, threshold)
        ),
        "chart: unlinkables": MetadataValue.md(_unlinkables_md(charts, result, threshold)),
        "chart: match weights": MetadataValue.md(_with_caption(
            charts.match_weights, "match weights",
            "Bits of evidence each comparison level adds (right) or takes away (left): log2(m/u).",
        )),
        "chart: m and u parameters": MetadataValue.md(_with_caption(
            charts.m_u, "m and u parameters",
            "m: how often the level is seen for the same person; u: for different people. Trained "
            "for this tenant only.",
        )),
        "chart files (this run, on the Dagster host)": MetadataValue.text(files),
    }
    if result.unlinkables:  # an empty link plots no point rather than a false zero
        metadata["unlinkable candidates (% of eligible)"] = percent(unlinkable_share(result.unlinkables, threshold))
    return metadata


def _with_caption(svg: str, alt: str, caption: str) -> str:
    return f"{markdown_image(svg, alt)}\n\n{caption}"


def _unlinkables_md(charts: RunCharts, result: LinkResult, threshold: float) -> str:
    if not result.unlinkables:
        return "Not computed in this run (the link had nothing to score)."
    share = unlinkable_share(result.unlinkables, threshold)
    return _with_caption(
        charts.unlinkables, "unlinkables",
        f"Each candidate scored against itself: {percent(share):g}% of them fall short of the "
        f"threshold (p ≥ {threshold:g}, read one pair at a time) even when a profile agrees on "
        "everything they have, so no index could match them (a candidate without identifiers, "
        "read on the full posterior, may still pass below it, by log2(1 / (1 - s)) bits for s the "
        "share of candidates in the index). A rise here points at "
        "thinner ATS records, not at the model.",
    )


def histogram_md(histogram: list[tuple[float, int]], threshold: float) -> str:
    """The histogram in a few rows (match weight ranges), the threshold's row marked."""
    if not histogram:
        return "No pair was scored in this run."
    cut = threshold_weight(threshold)
    edges = [float("-inf"), -10.0, -5.0, 0.0, round(cut, 1), round(cut, 1) + 5, round(cut, 1) + 10, float("inf")]
    lines = [
        f"Pairs scored, by match weight (bits); the threshold p ≥ {threshold:g} is weight {cut:.1f} "
        "for a pair read alone (a candidate without identifiers, read on the full posterior, "
        "passes lower, by log2(1 / (1 - s)) bits for s the share of candidates in the index).",
        "",
        "| match weight | pairs | |",
        "|---|---:|---|",
    ]
    for lo, hi in zip(edges, edges[1:]):
        n = sum(count for edge, count in histogram if lo <= edge < hi)
        label = f"< {hi:g}" if lo == float("-inf") else (f"≥ {lo:g}" if hi == float("inf") else f"{lo:g} to {hi:g}")
        mark = "◀ matches start here (threshold)" if lo == round(cut, 1) else ""
        lines.append(f"| {label} | {n:,} | {mark} |")
    return "\n".join(lines)


def blocking_md(counts: dict[str, int]) -> str:
    """Per blocking rule: pairs it would make, pairs left out by trimming, pairs scored."""
    if not counts:
        return "No blocking rule ran: nothing to compare in this run."
    rules: dict[str, dict[str, int]] = {}
    extra: list[str] = []
    for key, n in counts.items():
        if key.endswith(" (largest blocks left out)"):
            rules.setdefault(key.removesuffix(" (largest blocks left out)"), {})["left out"] = n
        elif key.endswith(" (scored)"):
            rules.setdefault(key.removesuffix(" (scored)"), {})["scored"] = n
        elif key == "ambiguous ties dropped":
            extra.append(f"Candidates whose two best profiles tied exactly (not matched): **{n:,}**")
        else:
            rules.setdefault(key, {})["made"] = n
    lines = [
        "| blocking rule | pairs it makes | left out (largest blocks) | scored (found first by this rule) |",
        "|---|---:|---:|---:|",
    ]
    for rule, c in rules.items():
        lines.append(
            f"| {rule} | {c.get('made', 0):,} | {c.get('left out', 0):,} | {c.get('scored', 0):,} |"
        )
    lines += [
        "",
        "*Pairs it makes*: candidate–profile pairs sharing the rule's key. *Left out*: pairs in the "
        "largest blocks, trimmed because the rule exceeded its limit. *Scored*: pairs compared that "
        "this rule found first (a pair found by several rules is scored once).",
    ]
    return "\n".join(lines + ([""] + extra if extra else []))


def label_metadata(
    matches: pl.DataFrame, labels: pl.DataFrame, eligible: pl.DataFrame, threshold: float, run: str
) -> dict:
    """Precision and recall against the tenant's labels, whether its match probabilities hold
    on them, and the threshold the labels suggest."""
    quality = quality_against_labels(matches, labels, eligible["candidate_id"])
    if quality.labelled_in_index == 0 and quality.predicted == 0:
        return {"labels": MetadataValue.text("no labelled candidate in this run: precision and recall not measured")}
    bands = reliability(
        matches, labels.filter(pl.col("candidate_id").is_in(eligible["candidate_id"].implode())),
        lowest=min(threshold, BAND_EDGES[0]),
    )
    out: dict = {
        f"{run}: precision against labels (%)": percent(quality.precision),
        f"{run}: recall against labels (%)": percent(quality.recall),
        "labelled candidates in the index": quality.labelled_in_index,
        "match probabilities against labels": MetadataValue.text(reliability_summary(bands)),
        "match probabilities by band (labels)": MetadataValue.md(reliability_md(bands)),
    }
    suggestion = suggest_threshold(matches, labels, eligible["candidate_id"], threshold)
    if suggestion is not None:
        out |= threshold_metadata(suggestion)
    return out


def reliability_summary(bands: list[Band]) -> str:
    """One line: do the probabilities hold on the labelled matches, and where not."""
    verdicts = [(band.label, band.verdict()) for band in bands]
    off = [f"{label} {verdict}" for label, verdict in verdicts if verdict not in ("holds", "no matches")]
    if not any(band.count for band in bands):
        return "no labelled candidate was matched: nothing to judge"
    return "hold in every band" if not off else "; ".join(off)


def reliability_md(bands: list[Band]) -> str:
    """The labelled matches by probability band: a band holds when its share right is about its
    mean probability or more, read with its 95 % interval so that one wrong match in a small
    band is not called a fault."""
    lines = [
        "The labelled candidates' matches (`labels.parquet`) by match probability. A pair published "
        "at 0.95 should be right about 95 % of the time or more: a band *over-states* when its mean "
        "probability is above the whole 95 % interval of its share right (exact, Clopper-Pearson), "
        "and *under-states* when below it. Unlabelled candidates are left out.",
        "",
        "| match probability | labelled matches | mean probability | share right | its 95 % interval | |",
        "|---|---:|---:|---:|---|---|",
    ]
    for band in bands:
        if not band.count:
            lines.append(f"| {band.label} | 0 | | | | no matches |")
            continue
        lo, hi = band.interval
        lines.append(
            f"| {band.label} | {band.count:,} | {band.mean:.4f} | {band.share_right:.4f} | "
            f"{lo:.3f}–{hi:.3f} | {band.verdict()} |"
        )
    return "\n".join(lines)


def threshold_metadata(suggestion: ThresholdSuggestion) -> dict:
    """The labels' threshold suggestion, beside the precision and recall figures."""
    target = f"{percent(suggestion.target_precision):g}%"
    out: dict = {
        f"suggested threshold (lowest with precision ≥ {target} on labels)": (
            suggestion.safest.threshold if suggestion.safest else MetadataValue.text("none reaches it")
        ),
        "threshold suggestion": MetadataValue.text(suggestion.advice()),
        "threshold by labels": MetadataValue.md(threshold_md(suggestion)),
    }
    if suggestion.safest is not None:
        out["recall at the suggested threshold (%)"] = percent(suggestion.safest.recall)
    return out


def threshold_md(s: ThresholdSuggestion) -> str:
    """The thresholds worth comparing as a small table, one row per distinct threshold."""
    named = [("current", s.current)]
    if s.safest is not None:
        named.append((f"lowest with precision ≥ {percent(s.target_precision):g}%", s.safest))
    named.append(("best F1", s.best_f1))
    rows: dict[float, tuple[list[str], ThresholdPoint]] = {}
    for name, point in named:
        rows.setdefault(point.threshold, ([], point))[0].append(name)
    lines = [
        f"On the {s.labelled_pairs:,} labelled candidates of this run (`labels.parquet`): "
        f"{s.labelled_in_index:,} confirmed in the index, {s.labelled_pairs - s.labelled_in_index:,} "
        "known not to be. Recall counts the confirmed ones found.",
        "",
        "| threshold (probability) | which | precision | recall | F1 | matches kept |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {p.threshold:g} | {' · '.join(names)} | {percent(p.precision):g}% | {percent(p.recall):g}% "
        f"| {percent(p.f1):g}% | {p.kept:,} |"
        for _, (names, p) in sorted(rows.items())
    ]
    return "\n".join(lines)


def column_schema(table: pl.DataFrame) -> TableSchema:
    return TableSchema(columns=[TableColumn(name, str(dtype)) for name, dtype in table.schema.items()])
