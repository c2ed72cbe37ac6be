"""Read a tenant's downloaded resumes into one table of text and contact signals.

The public entry point of the resume package. Cheap checks that need no parser (size, magic
bytes) run here in the parent, so a 2 GiB upload or a renamed .docx never reaches a child;
everything else is parsed in sandboxed children (see ``sandbox``). Every input row comes back,
in input order, either ``ok`` or ``skipped`` with a reason that names why, so the run can report
what was not read instead of failing on it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from connect_pipeline.resumes.sandbox import MAGIC_WINDOW, FileOutcome, ResumeLimits, has_pdf_magic, run_sandboxed

__all__ = ["ResumeLimits", "read_resumes", "RESUME_SCHEMA", "SKIP_REASONS"]

SKIP_REASONS = (
    "too_large",
    "encrypted",
    "no_text",
    "corrupt",
    "timeout",
    "memory",
    "too_many_pages",
    "not_pdf",
)

RESUME_SCHEMA = pl.Schema(
    {
        "attachment_id": pl.Int64,
        "candidate_id": pl.Int64,
        "status": pl.String,
        "reason": pl.String,
        "pages": pl.Int32,
        "text": pl.String,
        "emails": pl.List(pl.String),
        "phones": pl.List(pl.String),
        "linkedin_urls": pl.List(pl.String),
        "names": pl.List(pl.String),
        "places": pl.List(pl.String),
        "employers": pl.List(pl.String),
    }
)


def _precheck(path: Path, limits: ResumeLimits) -> FileOutcome | None:
    """Skip what can be judged without parsing. A missing or unreadable file counts as corrupt:
    the download step owns that failure, and the reader must still return a row for it."""
    try:
        size = os.stat(path).st_size
        if size > limits.max_bytes:
            return FileOutcome.skipped("too_large")
        with open(path, "rb") as fh:
            head = fh.read(MAGIC_WINDOW)
    except OSError:
        return FileOutcome.skipped("corrupt")
    if not has_pdf_magic(head):
        return FileOutcome.skipped("not_pdf")
    return None


def read_resumes(files: Sequence[tuple[int, int, Path]], limits: ResumeLimits = ResumeLimits()) -> pl.DataFrame:
    """Extract text and signals from ``(attachment_id, candidate_id, path)`` resume files.

    Returns one row per input, in input order, with the columns of ``RESUME_SCHEMA``.
    """
    outcomes: dict[int, FileOutcome] = {}
    to_parse: list[tuple[int, str]] = []
    for index, (_, _, path) in enumerate(files):
        early = _precheck(Path(path), limits)
        if early is None:
            to_parse.append((index, os.fspath(path)))
        else:
            outcomes[index] = early
    outcomes.update(run_sandboxed(to_parse, limits))

    columns: dict[str, list] = {name: [] for name in RESUME_SCHEMA.names()}
    for index, (attachment_id, candidate_id, _) in enumerate(files):
        o = outcomes.get(index) or FileOutcome.skipped("corrupt")
        columns["attachment_id"].append(int(attachment_id))
        columns["candidate_id"].append(int(candidate_id))
        columns["status"].append(o.status)
        columns["reason"].append(o.reason)
        columns["pages"].append(o.pages)
        columns["text"].append(o.text)
        columns["emails"].append(list(o.emails))
        columns["phones"].append(list(o.phones))
        columns["linkedin_urls"].append(list(o.linkedin_urls))
        columns["names"].append(list(o.names))
        columns["places"].append(list(o.places))
        columns["employers"].append(list(o.employers))
    return pl.DataFrame(columns, schema=RESUME_SCHEMA)
