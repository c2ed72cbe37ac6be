"""Small, self-contained SVG charts of a run's aggregates: the score histogram with the threshold
marked, the model's match weights, its m and u parameters, and the unlinkables curve.

Drawn from counts and model parameters only (never a candidate or a profile), as plain SVG with
no script and nothing fetched, so they can be embedded anywhere: as files beside Splink's
interactive HTML charts, and inline in the Dagster UI as ``data:`` images (``as_data_uri``).
"""

from __future__ import annotations

import base64
import json
import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from connect_pipeline.linkage.result import LinkResult
from connect_pipeline.storage import TenantStorage, private_dir, write_bytes_atomic, write_text_atomic

FONT = "font-family='system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif'"
POSITIVE, NEGATIVE, THRESHOLD, M_COLOUR, U_COLOUR = "#2f6fb2", "#c0504d", "#d62728", "#2f6fb2", "#e08a2c"


def as_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def markdown_image(svg: str, alt: str) -> str:
    """An inline image for markdown (the Dagster UI renders ``data:`` images in markdown)."""
    return f"![{escape(alt)}]({as_data_uri(svg)})"


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' {FONT} font-size='11'>"
        f"<rect width='{width}' height='{height}' fill='white'/>"
        f"<text x='8' y='16' font-size='13' font-weight='600'>{escape(title)}</text>"
        + "".join(body)
        + "</svg>"
    )


def threshold_weight(threshold: float) -> float:
    """The match weight (bits) a probability threshold corresponds to."""
    return math.log2(threshold / (1 - threshold))


def histogram_svg(histogram: Sequence[tuple[float, int]], threshold: float, *, title: str | None = None) -> str:
    """Pairs per match-weight bucket (log scale), the threshold as a red line."""
    width, height, left, right, top, bottom = 640, 240, 52, 16, 30, 40
    cut = threshold_weight(threshold)
    title = title or "Scored pairs by match weight (log scale); red: the match threshold"
    if not histogram:
        return _svg(width, 60, ["<text x='8' y='40'>no pair was scored in this run</text>"], title)
    step = min((b - a for (a, _), (b, _) in zip(histogram, histogram[1:]) if b > a), default=1.0)
    lo = min(min(e for e, _ in histogram), cut) - step
    hi = max(max(e for e, _ in histogram) + step, cut + step)
    top_count = max(n for _, n in histogram)
    ymax = math.log10(top_count + 1) or 1.0
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(w: float) -> float:
        return left + (w - lo) / (hi - lo) * plot_w

    def y(n: int) -> float:
        return top + plot_h - math.log10(n + 1) / ymax * plot_h

    body = [f"<line x1='{left}' y1='{top + plot_h}' x2='{width - right}' y2='{top + plot_h}' stroke='#888'/>"]
    for power in range(0, int(math.floor(ymax)) + 1):
        yy = y(10**power - 1) if power else y(0)
        label = f"{10**power:,}" if power else "0"
        body.append(f"<line x1='{left}' y1='{yy:.1f}' x2='{width - right}' y2='{yy:.1f}' stroke='#eee'/>")
        body.append(f"<text x='{left - 4}' y='{yy + 4:.1f}' text-anchor='end' fill='#555'>{label}</text>")
    for edge, n in histogram:
        x0, x1 = x(edge), x(edge + step)
        colour = POSITIVE if edge >= cut else "#9aa7b4"
        body.append(
            f"<rect x='{x0 + 0.5:.1f}' y='{y(n):.1f}' width='{max(1.0, x1 - x0 - 1):.1f}' "
            f"height='{top + plot_h - y(n):.1f}' fill='{colour}'><title>weight ≥ {edge:.1f}: {n:,} pairs</title></rect>"
        )
    first, last = math.ceil(lo / 5) * 5, math.floor(hi / 5) * 5
    for tick in range(int(first), int(last) + 1, 5):
        body.append(f"<text x='{x(tick):.1f}' y='{top + plot_h + 14}' text-anchor='middle' fill='#555'>{tick}</text>")
    body.append(
        f"<text x='{left + plot_w / 2:.0f}' y='{height - 6}' text-anchor='middle' fill='#333'>"
        "match weight (bits): log2 of the odds the pair is the same person</text>"
    )
    matched = sum(n for e, n in histogram if e >= cut)
    body.append(f"<line x1='{x(cut):.1f}' y1='{top - 4}' x2='{x(cut):.1f}' y2='{top + plot_h}' "
                f"stroke='{THRESHOLD}' stroke-width='2'/>")
    body.append(
        f"<text x='{x(cut) + 4:.1f}' y='{top + 8}' fill='{THRESHOLD}'>threshold p ≥ {threshold:g} "
        f"(weight {cut:.1f}); ≈{matched:,} pairs above</text>"
    )
    return _svg(width, height, body, title)


def _levels(params: dict[str, Any]) -> list[tuple[str, str, float | None, float | None]]:
    """(comparison, level label, m, u) for every non-null level of the model."""
    rows = []
    for comparison in params.get("comparisons", []):
        name = comparison.get("output_column_name") or comparison.get("comparison_description", "?")
        for level in comparison.get("comparison_levels", []):
            if level.get("is_null_level"):
                continue
            rows.append((
                str(name),
                str(level.get("label_for_charts") or level.get("sql_condition", "?")),
                level.get("m_probability"),
                level.get("u_probability"),
            ))
    return rows


def _weight(m: float | None, u: float | None) -> float | None:
    if not m or not u:
        return None
    return math.log2(m / u)


def match_weights_svg(params: dict[str, Any], *, title: str = "Match weights per comparison level (bits)") -> str:
    """One bar per comparison level: log2(m/u), positive (evidence for a match) to the right."""
    rows = [(c, label, _weight(m, u)) for c, label, m, u in _levels(params)]
    prior = params.get("probability_two_random_records_match")
    if prior:  # far below every level's weight: a bar would squash the others, so it is a caption
        title += f"; prior {math.log2(prior / (1 - prior)):.1f} bits (p = {prior:.3g})"
    return _bars(rows, title, unit="bits")


# Average glyph widths of the charts' 11 px sans-serif, regular and bold, generous: a level label
# is cut (with an ellipsis) where it would run into its comparison's name.
_CHAR_PX = 6.2
_BOLD_CHAR_PX = 7.0


def _level_heading(group: str, label: str, new_group: bool, top: float, baseline: float, width: int,
                   left: int) -> list[str]:
    """A comparison level's label in the left column, under its comparison's name and a rule
    when a new comparison starts: the per-level charts share one layout so they read alike."""
    parts = []
    room = left - 6 - 8  # the left column, from its margin to the labels' right edge
    if new_group:
        parts.append(f"<line x1='8' y1='{top:.1f}' x2='{width - 8}' y2='{top:.1f}' stroke='#eee'/>")
        parts.append(f"<text x='8' y='{baseline}' font-weight='600'>{escape(group)}</text>")
        room -= len(group) * _BOLD_CHAR_PX + 10  # the comparison's name shares the row
    fits = max(4, int(room / _CHAR_PX))
    shown = label if len(label) <= fits else label[: fits - 1] + "…"
    parts.append(f"<text x='{left - 6}' y='{baseline}' text-anchor='end' fill='#333'>{escape(shown)}</text>")
    return parts


def _bars(rows: list[tuple[str, str, float | None]], title: str, *, unit: str) -> str:
    row_h, left, right, top = 16, 330, 60, 30
    width = 760
    height = top + row_h * len(rows) + 30
    values = [v for _, _, v in rows if v is not None]
    span = max([abs(v) for v in values] + [1.0])
    zero = left + (width - left - right) / 2
    scale = (width - left - right) / 2 / span
    body = [f"<line x1='{zero:.1f}' y1='{top - 4}' x2='{zero:.1f}' y2='{height - 24}' stroke='#888'/>"]
    previous = None
    for i, (group, label, value) in enumerate(rows):
        yy = top + i * row_h
        body.extend(_level_heading(group, label, group != previous, yy, yy + 12, width, left))
        previous = group
        if value is None:
            body.append(f"<text x='{zero + 4:.1f}' y='{yy + 12}' fill='#999'>not estimated</text>")
            continue
        x0 = zero if value >= 0 else zero + value * scale
        colour = POSITIVE if value >= 0 else NEGATIVE
        body.append(f"<rect x='{x0:.1f}' y='{yy + 3}' width='{max(1.0, abs(value) * scale):.1f}' height='{row_h - 6}' "
                    f"fill='{colour}'><title>{escape(group)}: {escape(label)}: {value:.2f} {unit}</title></rect>")
        tx = zero + value * scale + (4 if value >= 0 else -4)
        anchor = "start" if value >= 0 else "end"
        body.append(f"<text x='{tx:.1f}' y='{yy + 12}' text-anchor='{anchor}' fill='#555'>{value:.1f}</text>")
    body.append(f"<text x='{zero:.1f}' y='{height - 8}' text-anchor='middle' fill='#555'>"
                f"← against a match · 0 · for a match → ({unit})</text>")
    return _svg(width, height, body, title)


def m_u_svg(params: dict[str, Any], *, title: str = "m and u per comparison level") -> str:
    """Two bars per level: m (share of true matches at this level) and u (share of non-matches),
    within the level's chain for a level read under a condition (``settings.Level.given``)."""
    rows = _levels(params)
    row_h, left, right, top = 22, 330, 70, 44
    width = 760
    height = top + row_h * len(rows) + 16
    plot_w = width - left - right
    body = [
        f"<rect x='{left}' y='24' width='10' height='8' fill='{M_COLOUR}'/>"
        f"<text x='{left + 14}' y='32'>m: P(level | same person)</text>"
        f"<rect x='{left + 190}' y='24' width='10' height='8' fill='{U_COLOUR}'/>"
        f"<text x='{left + 204}' y='32'>u: P(level | different people)</text>"
    ]
    previous = None
    for i, (group, label, m, u) in enumerate(rows):
        yy = top + i * row_h
        body.extend(_level_heading(group, label, group != previous, yy, yy + 14, width, left))
        previous = group
        for j, (value, colour, name) in enumerate(((m, M_COLOUR, "m"), (u, U_COLOUR, "u"))):
            by = yy + 3 + j * 9
            if value is None:
                body.append(f"<text x='{left + 4}' y='{by + 8}' fill='#999' font-size='9'>{name} not estimated</text>")
                continue
            body.append(f"<rect x='{left}' y='{by}' width='{max(1.0, value * plot_w):.1f}' height='8' fill='{colour}'>"
                        f"<title>{escape(group)}: {escape(label)}: {name} = {value:.4g}</title></rect>")
            body.append(f"<text x='{left + value * plot_w + 4:.1f}' y='{by + 8}' font-size='9' fill='#555'>{value:.3g}</text>")
    return _svg(width, height, body, title)


def unlinkables_svg(
    curve: Sequence[tuple[float, float]], threshold: float,
    *, title: str = "Unlinkables: candidates scored against themselves",
) -> str:
    """Share of candidates (y) whose self-match weight is at most x: a candidate left of the
    red threshold line lacks the details to ever be matched, whatever the index holds.

    Splink leaves out the candidates whose self-match probability rounds to 1 (most of them), so
    the curve ends well below 100 %: the y axis is scaled to it and the caption says so."""
    width, height, left, right, top, bottom = 640, 240, 52, 16, 30, 40
    cut = threshold_weight(threshold)
    if not curve:
        return _svg(width, 60, ["<text x='8' y='40'>not computed in this run</text>"], title)
    lo = min(min(w for w, _ in curve), cut) - 1
    hi = max(max(w for w, _ in curve), cut) + 1
    top_share = max(s for _, s in curve)
    ymax = _nice_ceiling(top_share)
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(w: float) -> float:
        return left + (w - lo) / (hi - lo) * plot_w

    def y(share: float) -> float:
        return top + plot_h - share / ymax * plot_h

    body = [f"<line x1='{left}' y1='{top + plot_h}' x2='{width - right}' y2='{top + plot_h}' stroke='#888'/>"]
    for i in range(5):
        share = ymax * i / 4
        body.append(f"<line x1='{left}' y1='{y(share):.1f}' x2='{width - right}' y2='{y(share):.1f}' stroke='#eee'/>")
        body.append(f"<text x='{left - 4}' y='{y(share) + 4:.1f}' text-anchor='end' fill='#555'>{_pct(share)}</text>")
    points = [(lo, 0.0)] + [(w, s) for w, s in sorted(curve)]
    steps = []
    for (w0, s0), (w1, s1) in zip(points, points[1:]):
        steps += [f"{x(w1):.1f},{y(s0):.1f}", f"{x(w1):.1f},{y(s1):.1f}"]
    body.append(f"<polyline points='{x(lo):.1f},{y(0):.1f} {' '.join(steps)}' fill='none' stroke='{POSITIVE}' stroke-width='2'/>")
    first, last = math.ceil(lo / 5) * 5, math.floor(hi / 5) * 5
    for tick in range(int(first), int(last) + 1, 5):
        body.append(f"<text x='{x(tick):.1f}' y='{top + plot_h + 14}' text-anchor='middle' fill='#555'>{tick}</text>")
    body.append(
        f"<text x='{left + plot_w / 2:.0f}' y='{height - 6}' text-anchor='middle' fill='#333'>"
        f"weight (bits) a candidate reaches against itself; the other {_pct(1 - top_share)} reach p ≈ 1</text>"
    )
    unlinkable = unlinkable_share(curve, threshold)
    body.append(f"<line x1='{x(cut):.1f}' y1='{top - 4}' x2='{x(cut):.1f}' y2='{top + plot_h}' "
                f"stroke='{THRESHOLD}' stroke-width='2'/>")
    body.append(
        f"<text x='{x(cut) + 4:.1f}' y='{top + 8}' fill='{THRESHOLD}'>threshold (weight {cut:.1f}): "
        f"{_pct(unlinkable)} of candidates can never reach it</text>"
    )
    return _svg(width, height, body, title)


def _nice_ceiling(share: float) -> float:
    """The y axis top for a share: the next of 1, 2, 5 × a power of ten at or above it."""
    if share <= 0:
        return 0.01
    power = 10 ** math.floor(math.log10(share))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= share - 1e-12)


def _pct(share: float) -> str:
    """A share as people read it, with the decimals small shares need."""
    value = share * 100
    return f"{value:.0f}%" if value >= 10 or value == 0 else f"{value:.2g}%"


def unlinkable_share(curve: Sequence[tuple[float, float]], threshold: float) -> float:
    """Share of candidates whose self-match weight is below the threshold's weight."""
    cut = threshold_weight(threshold)
    below = [share for weight, share in sorted(curve) if weight < cut]
    return below[-1] if below else 0.0


# -- one run's charts, kept per run ----------------------------------------------------------------

KEEP_RUNS = 30  # chart folders kept per tenant (a few KB of SVG and ~1 MB of Splink HTML each)


@dataclass(frozen=True)
class RunCharts:
    """Where one run's charts went, and the SVGs themselves (for inline display)."""

    folder: Path
    histogram: str
    match_weights: str
    m_u: str
    unlinkables: str
    splink_html: dict[str, Path]


def save_run_charts(
    storage: TenantStorage, run_id: str, result: LinkResult, threshold: float, *, keep: int = KEEP_RUNS
) -> RunCharts:
    """Write this run's charts to their own folder (never overwritten by a later run): our SVGs of
    the histogram, match weights and m/u, and copies of Splink's interactive HTML charts. Keeps
    the newest ``keep`` run folders."""
    params = json.loads(Path(result.params_path).read_text())
    folder = private_dir(storage.charts(run_id))
    svgs = {
        "score_histogram.svg": histogram_svg(result.score_histogram, threshold),
        "match_weights.svg": match_weights_svg(params),
        "m_u_parameters.svg": m_u_svg(params),
        "unlinkables.svg": unlinkables_svg(result.unlinkables, threshold),
    }
    for name, svg in svgs.items():
        write_text_atomic(folder / name, svg)
    html: dict[str, Path] = {}
    for source in (result.chart_path, result.mu_chart_path, result.unlinkables_chart_path):
        if source is not None and Path(source).exists():
            target = folder / Path(source).name
            write_bytes_atomic(target, Path(source).read_bytes())
            html[target.name] = target
    _prune(storage.charts_root, keep)
    return RunCharts(
        folder, svgs["score_histogram.svg"], svgs["match_weights.svg"], svgs["m_u_parameters.svg"],
        svgs["unlinkables.svg"], html,
    )


def _prune(root: Path, keep: int) -> None:
    folders = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in folders[:-keep] if keep else folders:
        shutil.rmtree(old, ignore_errors=True)
