"""How a run's figures and charts appear in the Dagster UI.

Dagster renders ``MetadataValue.md`` with ``data:`` images allowed, so a chart is an inline SVG
one click away (the metadata's "Show markdown"), while a ``file://`` link from the UI's http page
is blocked by browsers. Splink's interactive HTML charts are kept per run beside the SVGs.
"""

from __future__ import annotations

import polars as pl
from dagster import MetadataValue, TableColumn, TableSchema

from connect_pipeline.charts import RunCharts, markdown_image, save_run_charts, threshold_weight
from connect_pipeline.linkage.result import LinkResult
from connect_pipeline.quality import percent, quality_against_labels, suggest_threshold
from connect_pipeline.storage import TenantStorage

__all__ = [
    "blocking_md", "column_schema", "histogram_md", "label_metadata", "markdown_image", "save_charts",
]


def save_charts(storage: TenantStorage, run_id: str, result: LinkResult, threshold: float) -> "ShownCharts":
    return ShownCharts(save_run_charts(storage, run_id, result, threshold))


class ShownCharts:
    """A run's saved charts as markdown: the SVG inline, the files it was saved to beneath."""

    def __init__(self, charts: RunCharts) -> None:
        self.charts = charts
        self.folder = charts.folder
        self.histogram = charts.histogram

    def _md(self, svg: str, alt: str, svg_file: str, html_file: str) -> str:
        lines = [markdown_image(svg, alt), "", f"Saved with this run: `{self.folder / svg_file}`"]
        if html_file in self.charts.splink_html:
            lines.append(f" · Splink's interactive chart: `{self.charts.splink_html[html_file]}`")
        return "\n".join(lines)

    @property
    def match_weights_md(self) -> str:
        return self._md(self.charts.match_weights, "match weights", "match_weights.svg", "match_weights_chart.html")

    @property
    def m_u_md(self) -> str:
        return self._md(self.charts.m_u, "m and u parameters", "m_u_parameters.svg", "m_u_parameters_chart.html")


def histogram_md(histogram: list[tuple[float, int]], threshold: float) -> str:
    """The histogram in a few rows (match weight ranges), the threshold's row marked."""
    if not histogram:
        return "No pair was scored in this run."
    cut = threshold_weight(threshold)
    edges = [float("-inf"), -10.0, -5.0, 0.0, round(cut, 1), round(cut, 1) + 5, round(cut, 1) + 10, float("inf")]
    lines = [
        f"Pairs scored, by match weight (bits); the threshold p ≥ {threshold:g} is weight {cut:.1f}.",
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
    """Precision and recall against the tenant's labels, and the threshold the labels favour."""
    quality = quality_against_labels(matches, labels, eligible["candidate_id"])
    if quality.labelled_in_index == 0 and quality.predicted == 0:
        return {"labels": MetadataValue.text("no labelled candidate in this run: precision and recall not measured")}
    out: dict = {
        f"{run}: precision against labels (%)": percent(quality.precision),
        f"{run}: recall against labels (%)": percent(quality.recall),
        "labelled candidates in the index": quality.labelled_in_index,
    }
    suggestion = suggest_threshold(matches, labels, eligible["candidate_id"], threshold)
    if suggestion is not None:
        verdict = (
            "keep the threshold" if suggestion.threshold <= threshold
            else f"raising it to {suggestion.threshold:g} would give F1 {percent(suggestion.f1)}% "
            f"(precision {percent(suggestion.precision)}%, recall {percent(suggestion.recall)}%)"
        )
        out["suggested threshold (best F1 on labels)"] = suggestion.threshold
        out["F1 against labels at the current threshold (%)"] = percent(suggestion.current_f1)
        out["threshold suggestion"] = MetadataValue.text(
            f"{verdict}. Only thresholds at or above the current {threshold:g} can be judged: pairs "
            "below it are not kept."
        )
    return out


def column_schema(table: pl.DataFrame) -> TableSchema:
    return TableSchema(columns=[TableColumn(name, str(dtype)) for name, dtype in table.schema.items()])
