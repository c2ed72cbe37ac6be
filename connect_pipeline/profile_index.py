"""The profile index contract, checked before a run spends anything on it.

A run reads a tenant's whole Greenhouse account and downloads its resumes before it links them
to the index. An index that breaks the contract must therefore be refused first, in seconds,
with a message naming the file, the column and the fix, rather than failing (or worse,
silently dropping matches, as duplicated ``profile_id``s do) after all that work.

The contract (``PROFILE_COLUMNS``; extra columns are ignored):

    column            kind        column may be absent   values may be null
    profile_id        str         no                     no (and not empty; unique across all files)
    first_name        str         no                     yes (see the names rule)
    last_name         str         no                     yes (see the names rule)
    full_name         str         no                     yes (see the names rule)
    current_title     str         yes                    yes
    current_company   str         yes                    yes
    past_companies    list[str]   no                     yes
    location          str         yes                    yes
    linkedin_url      str         yes                    yes
    emails            list[str]   no                     yes
    phones            list[str]   no                     yes
    updated_at        timestamp   no                     yes (nothing reads its values yet)

"str" is Parquet text of any Arrow flavour (string, large_string, string_view, dictionary of
strings); a column of the Arrow ``null`` type (every value missing) is accepted wherever values
may be null. "list[str]" is any list flavour of such text.

Names rule: every row needs a name the matcher can compare, so ``full_name`` is non-empty, or
both ``first_name`` and ``last_name`` are (blank strings count as empty). A first name alone
cannot be told apart from thousands of namesakes, so it does not count.

Cost: the column checks read only each file's footer; the row checks are one DuckDB scan of
``profile_id`` and the three name columns, streamed, with a second query only when duplicates
were found (to name a few of them and their files). A snapshot that passed once is not scanned
again: the result is recorded per ``profile_snapshot_id`` (which changes whenever a file is added,
removed or rewritten) under the caller's ``cache_dir``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from connect_pipeline.errors import ConfigError, ProfileIndexError
from connect_pipeline.normalise.profiles import profile_files, profile_snapshot_id
from connect_pipeline.storage import data_root, write_text_atomic

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "CONTRACT_VERSION",
    "PROFILES_ENV",
    "PROFILE_COLUMNS",
    "ColumnSpec",
    "IndexSummary",
    "ProfileIndexError",
    "check_profile_index",
    "default_profiles_glob",
    "index_check_cache_dir",
    "validate_profile_index",
]

PROFILES_ENV = "CONNECT_PIPELINE_PROFILES"
# Bump when the rules below change, so that records written under the old rules are re-checked.
CONTRACT_VERSION = 1
CHECK_FILE = "index_check.json"
_EXAMPLES = 5  # how many offending ids / files a message shows

Kind = Literal["str", "list[str]", "timestamp"]


@dataclass(frozen=True)
class ColumnSpec:
    """One contract column: its kind, whether it may be absent, whether values may be null."""

    kind: Kind
    optional: bool = False
    nullable: bool = True


PROFILE_COLUMNS: dict[str, ColumnSpec] = {
    "profile_id": ColumnSpec("str", nullable=False),
    "first_name": ColumnSpec("str"),
    "last_name": ColumnSpec("str"),
    "full_name": ColumnSpec("str"),
    "current_title": ColumnSpec("str", optional=True),
    "current_company": ColumnSpec("str", optional=True),
    "past_companies": ColumnSpec("list[str]"),
    "location": ColumnSpec("str", optional=True),
    "linkedin_url": ColumnSpec("str", optional=True),
    "emails": ColumnSpec("list[str]"),
    "phones": ColumnSpec("list[str]"),
    "updated_at": ColumnSpec("timestamp"),
}

_KIND_WORDS = {
    "str": "text (a Parquet string)",
    "list[str]": "a list of strings",
    "timestamp": "a timestamp",
}

_FIX_BY_KIND = {
    "str": "write it as plain strings (join or pick from a list, cast numbers to text) and re-export the file",
    "list[str]": "write it as a list of strings (wrap a single value in a one-element list; null for none) "
    "and re-export the file",
    "timestamp": "write it as a Parquet timestamp (parse text dates before writing) and re-export the file",
}


@dataclass(frozen=True)
class IndexSummary:
    """What a passed check found; ``cached`` is true when an earlier check of the same snapshot was reused."""

    snapshot_id: str
    files: int
    rows: int
    seconds: float
    checked_at: str
    cached: bool = False


def default_profiles_glob() -> str:
    """The profile index a run uses when none is given: $CONNECT_PIPELINE_PROFILES, else the demo's."""
    return os.environ.get(PROFILES_ENV, str(data_root() / "demo" / "world" / "profiles" / "*.parquet"))


def index_check_cache_dir(root: Path) -> Path:
    """Where checks are recorded for a storage root: beside the features of the same snapshot."""
    return Path(root) / "profile_features"


def check_profile_index(root: str | os.PathLike[str] | None, profile_glob: str) -> IndexSummary:
    """The check every entry point runs before a tenant run: validate, recording under ``root``."""
    return validate_profile_index(profile_glob, cache_dir=index_check_cache_dir(data_root(root)))


def validate_profile_index(profile_glob: str, *, cache_dir: Path | None = None) -> IndexSummary:
    """Check the profile index against the contract; raise ``ProfileIndexError`` naming file, column and fix.

    With ``cache_dir``, a passed check is recorded in ``<cache_dir>/<snapshot>/index_check.json``
    and a later call for the same snapshot returns it without reading the files again. Only
    passes are recorded: a failing index is re-checked on every call, so a fix is seen at once.
    """
    started = time.perf_counter()
    if not profile_glob:
        raise ProfileIndexError(
            f"no profile index given: pass --profiles with the index's Parquet glob or set {PROFILES_ENV}"
        )
    try:
        files = profile_files(profile_glob)
        snapshot = profile_snapshot_id(profile_glob)
    except ProfileIndexError:
        raise
    except ConfigError as exc:
        raise ProfileIndexError(str(exc)) from None

    record = Path(cache_dir) / snapshot / CHECK_FILE if cache_dir is not None else None
    if record is not None:
        earlier = _read_record(record, snapshot)
        if earlier is not None:
            return earlier

    _check_schemas(files)
    rows = _check_rows(profile_glob, files)
    summary = IndexSummary(
        snapshot_id=snapshot,
        files=len(files),
        rows=rows,
        seconds=round(time.perf_counter() - started, 3),
        checked_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    if record is not None:
        _write_record(record, summary)
    return summary


# -- column checks: footers only ------------------------------------------------------------------


def _is_text(dtype: pa.DataType) -> bool:
    if pa.types.is_dictionary(dtype):
        return _is_text(dtype.value_type)
    return pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_string_view(dtype)


def _is_list(dtype: pa.DataType) -> bool:
    return (
        pa.types.is_list(dtype)
        or pa.types.is_large_list(dtype)
        or pa.types.is_fixed_size_list(dtype)
        or pa.types.is_list_view(dtype)
        or pa.types.is_large_list_view(dtype)
    )


def _fits(dtype: pa.DataType, spec: ColumnSpec) -> bool:
    if pa.types.is_null(dtype):
        return spec.nullable
    if spec.kind == "str":
        return _is_text(dtype)
    if spec.kind == "list[str]":
        return _is_list(dtype) and (_is_text(dtype.value_type) or pa.types.is_null(dtype.value_type))
    return pa.types.is_timestamp(dtype)


def _check_schemas(files: list[Path]) -> None:
    """Every file is readable Parquet and holds the contract's columns with the right kinds."""
    problems: list[str] = []
    for path in files:
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowException, OSError) as exc:
            problems.append(
                f"{path} is not readable Parquet ({type(exc).__name__}: {str(exc).strip()}): the file is "
                "probably truncated or still being written; copy or export it again, or move it out of "
                "the index folder"
            )
            continue
        for name, spec in PROFILE_COLUMNS.items():
            index = schema.get_field_index(name)
            if index < 0:
                if not spec.optional:
                    problems.append(
                        f"{path} lacks the column {name!r} ({_KIND_WORDS[spec.kind]}): add it to the export "
                        "(all null is fine if the source has no such data) and re-export the file"
                    )
                continue
            dtype = schema.field(index).type
            if not _fits(dtype, spec):
                problems.append(
                    f"{path}: column {name!r} holds {dtype}, but the contract wants {_KIND_WORDS[spec.kind]}"
                    f"{'' if spec.nullable else ' with no nulls'}: {_FIX_BY_KIND[spec.kind]}"
                )
    if problems:
        shown = problems[:_EXAMPLES]
        more = f"\n  ... and {len(problems) - len(shown)} more problems" if len(problems) > len(shown) else ""
        raise ProfileIndexError(
            f"the profile index does not meet its contract ({len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}):\n  " + "\n  ".join(shown) + more
        )


# -- row checks: one streamed scan of four columns ------------------------------------------------

_EMPTY = "coalesce(trim({0}), '') = ''"
_HAS_NAME = (
    f"NOT {_EMPTY.format('full_name')} OR (NOT {_EMPTY.format('first_name')} AND NOT {_EMPTY.format('last_name')})"
)


def _check_rows(profile_glob: str, files: list[Path]) -> int:
    """profile_id present and unique across all files; every row has a name. Returns the row count."""
    import duckdb  # imported here: the column checks alone must stay light

    paths = "[" + ", ".join(_sql_text(p) for p in files) + "]"
    spill = tempfile.TemporaryDirectory(prefix="index_check_")  # a huge index may spill; never into the cwd
    con = duckdb.connect()
    try:
        con.execute(f"SET temp_directory = {_sql_text(spill.name)}")
        con.execute("SET preserve_insertion_order = false")
        con.execute(
            "CREATE TEMP VIEW idx AS SELECT profile_id::VARCHAR AS profile_id, first_name::VARCHAR AS first_name, "
            "last_name::VARCHAR AS last_name, full_name::VARCHAR AS full_name, filename "
            f"FROM read_parquet({paths}, filename = true, union_by_name = true)"
        )
        rows, no_id, nameless, ids, distinct_ids = con.execute(
            f"""
            SELECT count(*),
                   count(*) FILTER (WHERE {_EMPTY.format('profile_id')}),
                   count(*) FILTER (WHERE NOT ({_HAS_NAME})),
                   count(profile_id),
                   count(DISTINCT profile_id)
            FROM idx
            """
        ).fetchone()
        if rows == 0:
            raise ProfileIndexError(
                f"the profile index {profile_glob!r} has no rows in its {len(files)} file(s): point it at the "
                "complete export"
            )
        if no_id:
            examples = _where(con, f"WHERE {_EMPTY.format('profile_id')}", "coalesce(full_name, first_name)")
            raise ProfileIndexError(
                f"the profile index {profile_glob!r}: column 'profile_id' is null or empty in {no_id} rows "
                f"(e.g. the rows named {examples}): every profile needs its id; fill the ids or drop those "
                "rows and re-export"
            )
        if ids != distinct_ids:
            raise ProfileIndexError(_duplicates_message(con, profile_glob, ids - distinct_ids))
        if nameless:
            examples = _where(con, f"WHERE NOT ({_HAS_NAME})", "profile_id")
            raise ProfileIndexError(
                f"the profile index {profile_glob!r}: {nameless} rows have no name (e.g. {examples}): every "
                "row needs a non-empty 'full_name', or both 'first_name' and 'last_name'; fill the name "
                "columns or drop those rows and re-export"
            )
        return int(rows)
    except duckdb.Error as exc:
        raise ProfileIndexError(
            f"the profile index {profile_glob!r} could not be scanned ({type(exc).__name__}: "
            f"{str(exc).strip().splitlines()[0]}): the file named there is damaged or not Parquet; copy or "
            "export it again, or move it out of the index folder"
        ) from None
    finally:
        con.close()
        spill.cleanup()


def _sql_text(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _grouped(pairs: list[tuple[object, str]]) -> str:
    """["'a' in F1", "'b' in F1"] as "'a', 'b' in F1": each file named once."""
    by_place: dict[str, list[str]] = {}
    for value, place in pairs:
        by_place.setdefault(place, []).append(repr(value))
    return "; ".join(f"{', '.join(values)} in {place}" for place, values in by_place.items())


def _where(con: duckdb.DuckDBPyConnection, condition: str, label: str) -> str:
    """A few offending rows, each file named once, for a message."""
    found = con.execute(f"SELECT {label}, filename FROM idx {condition} ORDER BY filename LIMIT {_EXAMPLES}").fetchall()
    return _grouped([(value, file) for value, file in found])


def _duplicates_message(con: duckdb.DuckDBPyConnection, profile_glob: str, extra_rows: int) -> str:
    """Name a few duplicated ids and the files that hold them (run only once duplicates are known).

    The ids are found without the file names (a grouping of one column); the files are then
    looked up for the few ids shown only, so the failure path costs about two more scans.
    """
    dup_ids, first = con.execute(
        f"""
        WITH dups AS (SELECT profile_id FROM idx WHERE profile_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1)
        SELECT (SELECT count(*) FROM dups), (SELECT list(profile_id ORDER BY profile_id)[1:{_EXAMPLES}] FROM dups)
        """
    ).fetchone()
    examples = con.execute(
        "SELECT profile_id, list(DISTINCT filename ORDER BY filename) FROM idx "
        "WHERE list_contains($ids, profile_id) GROUP BY 1 ORDER BY 1",
        {"ids": first},
    ).fetchall()
    shown = _grouped([(pid, " and ".join(files)) for pid, files in examples])
    return (
        f"the profile index {profile_glob!r}: column 'profile_id' must be unique across all files, but "
        f"{dup_ids} ids occur more than once ({extra_rows} extra rows), e.g. {shown}: a duplicated id "
        "makes its matches ambiguous and they are lost; keep one row per profile_id (e.g. the latest "
        "updated_at) and re-export"
    )


# -- the record of a passed check ------------------------------------------------------------------


def _read_record(path: Path, snapshot: str) -> IndexSummary | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("contract_version") != CONTRACT_VERSION or data.get("snapshot_id") != snapshot:
            return None
        return IndexSummary(
            snapshot_id=data["snapshot_id"],
            files=int(data["files"]),
            rows=int(data["rows"]),
            seconds=float(data["seconds"]),
            checked_at=str(data["checked_at"]),
            cached=True,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # absent or damaged: check again and rewrite it


def _write_record(path: Path, summary: IndexSummary) -> None:
    """Atomically, owner-only. Failing to record is not an error."""
    payload = {"contract_version": CONTRACT_VERSION, **asdict(summary)}
    payload.pop("cached")
    try:
        write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")
    except OSError:
        pass  # a read-only root only costs a re-check next time
