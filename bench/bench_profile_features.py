"""Time build_profile_features on an N-profile index (default 1,000,000).

    python bench/bench_profile_features.py [--rows N] [--index GLOB] [--files K] [--keep DIR]

Without --index it writes a synthetic index first (vectorised numpy/Polars, messy on purpose:
accents, nicknames, legal suffixes, mixed LinkedIn URL forms, national and international phone
formats, missing values) and times only the feature build. Prints seconds, rows/s and the peak
resident memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connect_pipeline.normalise.features import FEATURE_SCHEMA  # noqa: E402
from connect_pipeline.normalise.profiles import build_profile_features  # noqa: E402

FIRST = ["William", "Bill", "José", "Jose", "Łukasz", "Sasha", "Aleksandr", "Margaret", "Peggy",
         "Dmitry", "Dima", "Jürgen", "Nguyễn Văn", "Anne-Marie", "J. Michael", "Zoë", "Søren",
         "Francisco", "Paco", "Katarzyna"]
LAST = ["Müller", "Mueller", "Muller", "García López", "O'Brien", "Nowak", "Smith Jr.", "Nguyễn",
        "van der Berg", "Ivanov", "Straße", "Dubois", "Rossi", "Kowalski", "Øster"]
COMPANY = ["Acme, Inc.", "ACME Corporation", "acme corp", "Globex GmbH", "Initech LLC",
           "Umbrella S.A.", "Stark Industries", "Wayne Enterprises Ltd", "Hooli", "Procter & Gamble Co."]
TITLE = ["Sr. SWE", "Senior Software Engineer", "VP Eng", "Data Scientist", "Eng Mgr",
         "Product Manager", "CTO", "Jr. Developer", None]
LOCATION = ["San Francisco, California, United States", "London, England, United Kingdom",
            "Berlin, Berlin, Germany", "Austin, TX", "Kraków, Małopolskie, Poland", "Madrid, Spain",
            "São Paulo, SP, Brasil", None]
URL_FORM = ["https://www.linkedin.com/in/{}/", "http://uk.linkedin.com/in/{}?trk=x",
            "linkedin.com/in/{}", "https://de.linkedin.com/in/{}/en", None]


def synthetic_index(rows: int, out_dir: Path, files: int, seed: int = 7) -> str:
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    per_file = -(-rows // files)
    for k in range(files):
        n = min(per_file, rows - k * per_file)
        if n <= 0:
            break
        ids = np.arange(k * per_file, k * per_file + n)
        pick = lambda values: pl.Series(values).gather(rng.integers(0, len(values), n))  # noqa: E731
        first, last = pick(FIRST), pick(LAST)
        slug = pl.Series(ids).cast(pl.String).str.pad_start(8, "0")
        url_form = pick(URL_FORM)
        frame = pl.DataFrame(
            {
                "profile_id": pl.Series(ids).cast(pl.String).str.pad_start(9, "p"),
                "first_name": first,
                "last_name": last,
                "current_title": pick(TITLE),
                "current_company": pick(COMPANY),
                "location": pick(LOCATION),
                "url_form": url_form,
                "slug": slug,
                "phone_a": pl.Series(rng.integers(200, 999, n)).cast(pl.String),
                "phone_b": pl.Series(rng.integers(1_000_000, 9_999_999, n)).cast(pl.String),
                "updated_at": pl.Series(np.full(n, np.datetime64("2026-11-01T00:00:00", "us"))),
                "extra_column": pl.Series(rng.random(n)),
            }
        ).with_columns(
            full_name=pl.concat_str(["first_name", "last_name"], separator=" "),
            linkedin_url=pl.col("url_form").str.replace("{}", pl.col("slug"), literal=True),
            past_companies=pl.concat_list([pl.col("current_company"), pl.lit("Initech, L.L.C.")]),
            emails=pl.concat_list(
                [pl.concat_str([pl.lit("User.") , pl.col("slug"), pl.lit("+tag@GMail.com")]),
                 pl.concat_str([pl.col("slug"), pl.lit("@example.org")])]
            ),
            phones=pl.concat_list(
                [pl.concat_str([pl.lit("("), pl.col("phone_a"), pl.lit(") "), pl.col("phone_b")]),
                 pl.concat_str([pl.lit("+44 20 "), pl.col("phone_b")])]
            ),
        ).drop("url_form", "slug", "phone_a", "phone_b")
        frame.write_parquet(out_dir / f"part-{k:04d}.parquet", row_group_size=100_000)
    return str(out_dir / "*.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--index", help="an existing profile index glob (skips generation)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep the files")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_profiles_"))
    glob = args.index
    if not glob:
        t0 = time.perf_counter()
        glob = synthetic_index(args.rows, work / "index", args.files)
        print(f"generated {args.rows:,} profiles in {time.perf_counter() - t0:.1f}s")
    out = work / "features.parquet"
    t0 = time.perf_counter()
    build_profile_features(glob, out)
    seconds = time.perf_counter() - t0
    result = pl.scan_parquet(out)
    n = result.select(pl.len()).collect().item()
    assert list(result.collect_schema()) == list(FEATURE_SCHEMA), "feature schema drifted"
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"build_profile_features: {n:,} rows in {seconds:.1f}s = {n / seconds:,.0f} rows/s "
          f"(peak RSS {peak_mb:,.0f} MB, output {out.stat().st_size / 1e6:,.0f} MB)")
    print(pl.read_parquet(out, n_rows=3))


if __name__ == "__main__":
    main()
