"""Why a pair matched, in words a recruiter can check.

Splink 5 keeps, per comparison, the comparison vector value (``gamma_<name>``), the level's
match weight (``mw_<name>``, log2 of its Bayes factor) and, where term frequencies apply, their
adjustment (``mw_tf_adj_<name>``). The evidence a comparison contributed is their sum, in the
same unit as ``match_weight``. Comparisons that had nothing to say (a null on either side) are
left out; the rest are listed strongest first.
"""

from __future__ import annotations

import json
import math
from typing import Any, Iterable, Mapping

import polars as pl

from connect_pipeline.linkage.settings import MODEL, Comparison, level_for_gamma

TOP_SIGNALS = 5
MIN_SHOWN_WEIGHT = 0.05  # evidence below this is noise in the sentence


def comparison_weight(row: Mapping[str, Any], name: str) -> float | None:
    """Evidence (bits) one comparison contributed to a scored pair, or None if it was null."""
    gamma = row.get(f"gamma_{name}")
    if gamma is None or gamma < 0:
        return None
    weight = row.get(f"mw_{name}")
    if weight is None or not math.isfinite(weight):
        return None
    adj = row.get(f"mw_tf_adj_{name}")
    if adj is not None and math.isfinite(adj):
        weight += adj
    return float(weight)


def signals(row: Mapping[str, Any], model: Iterable[Comparison] = MODEL) -> list[dict[str, Any]]:
    """Every non-null comparison of a pair as {comparison, level, words, weight}, strongest first."""
    out: list[dict[str, Any]] = []
    for comp in model:
        weight = comparison_weight(row, comp.name)
        if weight is None:
            continue
        level = level_for_gamma(comp, int(row[f"gamma_{comp.name}"]))
        if level is None:
            continue
        out.append(
            {"comparison": comp.name, "level": level.key, "words": level.words, "weight": weight}
        )
    out.sort(key=lambda s: -abs(s["weight"]))
    return out


def _signed(weight: float) -> str:
    return f"+{weight:.1f}" if weight >= 0 else f"\u2212{abs(weight):.1f}"


def sentence(sigs: list[dict[str, Any]]) -> str:
    """'Same LinkedIn profile (+12.1); same e-mail (+9.8); company differs (−1.5)'."""
    shown = [s for s in sigs if abs(s["weight"]) >= MIN_SHOWN_WEIGHT] or sigs[:1]
    # the two name comparisons both report a swap; say it once
    seen: set[str] = set()
    parts = []
    for s in shown:
        if s["words"] in seen:
            continue
        seen.add(s["words"])
        parts.append(f"{s['words']} ({_signed(s['weight'])})")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] if text else "No comparable details"


def top_signals_json(sigs: list[dict[str, Any]]) -> str:
    return json.dumps(
        [
            {"comparison": s["comparison"], "level": s["level"], "weight": round(s["weight"], 3)}
            for s in sigs[:TOP_SIGNALS]
        ]
    )


def explain_frame(pairs: pl.DataFrame, model: Iterable[Comparison] = MODEL) -> pl.DataFrame:
    """Add ``explanation`` and ``top_signals`` to scored pairs carrying gamma_/mw_ columns."""
    model = tuple(model)
    explanations: list[str] = []
    tops: list[str] = []
    for row in pairs.iter_rows(named=True):
        sigs = signals(row, model)
        explanations.append(sentence(sigs))
        tops.append(top_signals_json(sigs))
    return pairs.with_columns(
        pl.Series("explanation", explanations, dtype=pl.String),
        pl.Series("top_signals", tops, dtype=pl.String),
    )
