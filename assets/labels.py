"""Metadata labels as a data engineer reads them in the Dagster UI: words, with units.

Dagster shows metadata keys as they are and plots every numeric key of an asset as its own
series, so a key says which figures it holds (this run's, or the published table's) and its unit.
"""

from __future__ import annotations

from dagster import MetadataValue

from connect_pipeline.quality import percent


def this_run(mode: str) -> str:
    """The prefix of a run's own figures: an incremental run scores a window, not the tenant."""
    return "this run" if mode == "full" else "this run (incremental window)"


def readable_figures(figures: dict[str, object], *, mode: str) -> dict[str, object]:
    """``quality.judge``'s figures under readable labels, rates in % of eligible."""
    run = this_run(mode)
    labels = {
        "matched": f"{run}: candidates matched",
        "eligible": f"{run}: eligible candidates",
        "forbidden_matches": "anonymised or private candidates matched",
        "labelled_in_index": "labelled candidates in the index",
    }
    out: dict[str, object] = {}
    for key, value in figures.items():
        if key == "match_rate_of_eligible":
            out[f"{run}: match rate (% of eligible)"] = percent(float(value))  # type: ignore[arg-type]
        elif key == "usual_band":
            out["usual band (full runs)"] = MetadataValue.text(str(value))
        elif key in ("precision", "recall"):
            out[f"{run}: {key} against labels (%)"] = percent(float(value))  # type: ignore[arg-type]
        else:
            out[labels.get(key, key.replace("_", " "))] = value
    return out
