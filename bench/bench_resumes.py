"""Throughput of read_resumes on simple one-page text resumes.

    python bench/bench_resumes.py [N] [--workers 2] [--batch-size 50]

Makes N PDFs with fpdf2 in a temporary directory (compressed content, core font, the kind of
file a word processor exports), reads them all and prints files per second. The PDFs are made
before the clock starts; the clock covers prechecks, child start-up, parsing and the table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connect_pipeline.resumes import ResumeLimits, read_resumes  # noqa: E402


def make_resume(path: Path, i: int) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=16)
    pdf.cell(0, 10, f"Alex Example{chr(65 + i % 26)}son", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(
        0,
        5,
        f"alex.{i}@example.com | +44 20 7946 {i % 10000:04d} | linkedin.com/in/alex-example-{i}\n\n"
        "Experience\nSenior Engineer, Example Ltd (2019 - 2024)\n"
        + "Built data pipelines and services in Python; led a team of five. " * 12
        + "\n\nEducation\nBSc Computer Science, Example University, 2012 - 2015",
    )
    pdf.output(str(path))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        files = []
        for i in range(args.n):
            p = Path(tmp) / f"{i}.pdf"
            make_resume(p, i)
            files.append((i, 10_000 + i, p))
        made = time.perf_counter() - t0
        limits = ResumeLimits(workers=args.workers, batch_size=args.batch_size)
        t1 = time.perf_counter()
        df = read_resumes(files, limits)
        took = time.perf_counter() - t1
        # Baseline without the sandbox: the same parse, in this process, on one core.
        from connect_pipeline.resumes.sandbox import _parse_path

        sample = files[: min(200, len(files))]
        t2 = time.perf_counter()
        for _, _, p in sample:
            _parse_path(str(p), limits)
        inproc = len(sample) / (time.perf_counter() - t2)
    ok = df.filter(df["status"] == "ok").height
    with_email = df.filter(df["emails"].list.len() > 0).height
    print(f"made {args.n} PDFs in {made:.1f}s")
    print(
        f"read {df.height} files in {took:.2f}s with {args.workers} workers, batch {args.batch_size}: "
        f"{df.height / took:.0f} files/s; ok={ok}, with e-mail={with_email}"
    )
    print(f"baseline, no sandbox, one core in-process: {inproc:.0f} files/s")


if __name__ == "__main__":
    main()
