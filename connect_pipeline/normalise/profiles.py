"""The profile side of the link: the public profile index -> profile features, once per snapshot.

The index has millions of rows, so this is one lazy Polars query streamed to Parquet
(`sink_parquet`): the whole index is never in memory, and every normaliser is a vectorised
expression (no Python per row). The features are shared by all tenants and rebuilt only when the
index files change (`profile_snapshot_id`).

Input contract (checked by ``profile_index.py``; see the README): profile_id, first_name, last_name, full_name, current_title?,
current_company?, past_companies list, location?, linkedin_url?, emails list, phones list,
updated_at. Extra columns are ignored; a missing optional column is read as null.
"""

from __future__ import annotations

import glob as globlib
import hashlib
import os
from pathlib import Path

import polars as pl

from connect_pipeline.errors import ConfigError
from connect_pipeline.normalise.features import FEATURES_VERSION, feature_frame
from connect_pipeline.normalise.nicknames import maintained_version

REQUIRED_COLUMNS = ("profile_id",)
_TEXT_COLUMNS = (
    "first_name", "last_name", "full_name", "current_title", "current_company", "location",
    "linkedin_url",
)
_LIST_COLUMNS = ("past_companies", "emails", "phones")


def profile_files(profile_glob: str) -> list[Path]:
    """The Parquet files the glob names (a directory means every Parquet file below it)."""
    pattern = profile_glob
    if os.path.isdir(pattern):
        pattern = os.path.join(pattern, "**", "*.parquet")
    files = sorted(Path(p) for p in globlib.glob(pattern, recursive=True) if os.path.isfile(p))
    if not files:
        raise ConfigError(
            f"the profile index {profile_glob!r} matches no file: point it at the index's Parquet "
            "files (a glob such as /data/profiles/*.parquet, or their folder)"
        )
    return files


def profile_snapshot_id(profile_glob: str) -> str:
    """A short hash of the index files (path, size, mtime) and the normalisation rules.

    Equal ids mean the features built earlier are still right; a new, changed or removed file,
    a change of FEATURES_VERSION or of the maintained nickname source gives a new id and so a
    rebuild.
    """
    digest = hashlib.sha256(f"features-v{FEATURES_VERSION}\0nicknames-{maintained_version()}".encode())
    for path in profile_files(profile_glob):
        stat = path.stat()
        digest.update(f"\0{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _as_list(name: str, schema: pl.Schema) -> pl.Expr:
    """A list-of-strings column whatever the file holds (list, a single string, or nothing)."""
    if name not in schema:
        return pl.lit(None, dtype=pl.List(pl.String))
    dtype = schema[name]
    if isinstance(dtype, (pl.List, pl.Array)):
        return pl.col(name).cast(pl.List(pl.String))
    return pl.concat_list([pl.col(name).cast(pl.String)])


def _as_text(name: str, schema: pl.Schema) -> pl.Expr:
    if name not in schema:
        return pl.lit(None, dtype=pl.String)
    return pl.col(name).cast(pl.String)


def scan_profiles(profile_glob: str) -> pl.LazyFrame:
    """The index as RAW_SCHEMA columns, lazily. Files may differ in optional columns."""
    files = profile_files(profile_glob)
    schemas = [pl.read_parquet_schema(f) for f in files]
    union: dict[str, pl.DataType] = {}
    for schema in schemas:
        for name, dtype in schema.items():
            union.setdefault(name, dtype)
    missing = [c for c in REQUIRED_COLUMNS if c not in union]
    if missing:
        raise ConfigError(
            f"the profile index {profile_glob!r} lacks column(s) {missing}: every profile needs "
            "a profile_id"
        )
    wanted = [c for c in (*REQUIRED_COLUMNS, *_TEXT_COLUMNS, *_LIST_COLUMNS) if c in union]
    frames = []
    for file, schema in zip(files, schemas):
        lf = pl.scan_parquet(file).select([c for c in wanted if c in schema])
        frames.append(
            lf.select(
                pl.col("profile_id").cast(pl.String).alias("unique_id"),
                _as_text("first_name", schema).alias("first_raw"),
                _as_text("last_name", schema).alias("last_raw"),
                _as_text("full_name", schema).alias("full_raw"),
                pl.lit(None, dtype=pl.String).alias("alt_first_raw"),
                _as_text("current_company", schema).alias("company_raw"),
                _as_list("past_companies", schema).alias("companies_raw"),
                _as_text("current_title", schema).alias("title_raw"),
                pl.concat_list([_as_text("linkedin_url", schema)]).alias("linkedin_raw"),
                _as_list("emails", schema).alias("emails_raw"),
                _as_list("phones", schema).alias("phones_raw"),
                _as_text("location", schema).alias("location_raw"),
            )
        )
    return pl.concat(frames, how="vertical").filter(pl.col("unique_id").is_not_null())


def profile_features_lazy(profile_glob: str) -> pl.LazyFrame:
    return feature_frame(scan_profiles(profile_glob))


def build_profile_features(profile_glob: str, out_path: Path) -> Path:
    """Normalise the whole index into FEATURE_SCHEMA Parquet at `out_path`, streaming.

    Rows keep the index's order; a profile without profile_id is skipped (nothing could refer
    to it). The caller owns atomicity (write to a temporary name, then rename).
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    profile_features_lazy(profile_glob).sink_parquet(
        out_path, compression="zstd", row_group_size=128_000, engine="streaming"
    )
    return out_path
