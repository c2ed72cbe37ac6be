"""Both sides of a link in the same model columns (Splink's ``link_only`` needs identical ones).

The candidates are copied into DuckDB once; the profile index stays in Parquet behind a view
that DuckDB scans, so Python never holds it. The view's select list is also what the
population figures' fingerprint covers: a change here makes every snapshot's figures stale.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from connect_pipeline.errors import LinkageError
from connect_pipeline.linkage.settings import LIST_COLUMNS, MODEL_COLUMNS, PHONE_TAIL_DIGITS, role_sql
from connect_pipeline.linkage.tables import Tables
from connect_pipeline.normalise.features import FEATURE_SCHEMA


def feature_select(columns: set[str], unique_id_sql: str, ats_side: bool) -> str:
    """SQL select list mapping a feature relation onto MODEL_COLUMNS with uniform types.

    Empty strings and empty lists become null (Splink's null levels then say "no evidence"),
    and the current company is folded into the company list so "company in history" and the
    company blocking keys see it on both sides. Four columns are derived once per record rather
    than per scored pair: ``phone_tails`` (each number's last digits), ``title_role`` (the
    title without seniority words), ``name_pair`` (first and last name) and ``name_city`` (the
    name and the city), the last two for term frequencies; ``history_company`` is the
    candidate's company on the ATS side only.
    """
    parts = [f"{unique_id_sql} AS unique_id"]
    for col in MODEL_COLUMNS[1:]:
        if col in ("companies", "title_role", "phone_tails", "name_pair", "name_city", "history_company",
                   "resume_company"):
            continue
        if col in LIST_COLUMNS:
            src = f"CAST({col} AS VARCHAR[])" if col in columns else "CAST(NULL AS VARCHAR[])"
            parts.append(
                f"CASE WHEN len(list_filter({src}, lambda x: x IS NOT NULL AND x <> '')) = 0 THEN NULL "
                f"ELSE list_distinct(list_filter({src}, lambda x: x IS NOT NULL AND x <> '')) END AS {col}"
            )
        else:
            src = f"CAST({col} AS VARCHAR)" if col in columns else "CAST(NULL AS VARCHAR)"
            parts.append(f"nullif(trim({src}), '') AS {col}")
    companies = "CAST(companies AS VARCHAR[])" if "companies" in columns else "CAST([] AS VARCHAR[])"
    company = "nullif(trim(CAST(company AS VARCHAR)), '')" if "company" in columns else "NULL"
    merged = (
        f"list_distinct(list_filter(list_concat(coalesce({companies}, []), [{company}]), "
        "lambda x: x IS NOT NULL AND x <> ''))"
    )
    parts.append(f"CASE WHEN len({merged}) = 0 THEN NULL ELSE {merged} END AS companies")
    # the ATS company looked up in the profiles' career histories (term frequencies); null on
    # the profile side so the lookup always uses the candidate's company
    parts.append(f"{company if ats_side else 'CAST(NULL AS VARCHAR)'} AS history_company")
    # set on the ATS side once the population figures are attached (``add_resume_company``)
    parts.append("CAST(NULL AS VARCHAR) AS resume_company")
    first = "nullif(trim(CAST(first_name_canonical AS VARCHAR)), '')"
    last = "nullif(trim(CAST(last_name AS VARCHAR)), '')"
    parts.append(f"{first} || ' ' || {last} AS name_pair")
    city = "nullif(trim(CAST(city AS VARCHAR)), '')" if "city" in columns else "CAST(NULL AS VARCHAR)"
    parts.append(f"{first} || ' ' || {last} || ' @ ' || {city} AS name_city")
    phones = "CAST(phones AS VARCHAR[])" if "phones" in columns else "CAST(NULL AS VARCHAR[])"
    tails = (
        f"list_distinct(list_transform(list_filter({phones}, lambda x: x IS NOT NULL AND x <> ''), "
        f"lambda x: right(x, {PHONE_TAIL_DIGITS})))"
    )
    parts.append(f"CASE WHEN len({tails}) = 0 THEN NULL ELSE {tails} END AS phone_tails")
    title = "nullif(trim(CAST(title AS VARCHAR)), '')" if "title" in columns else "CAST(NULL AS VARCHAR)"
    parts.append(f"{role_sql(title)} AS title_role")
    order = {c: i for i, c in enumerate(MODEL_COLUMNS)}
    parts.sort(key=lambda p: order[p.rsplit(" AS ", 1)[1]])
    return ", ".join(parts)


def check_ats_people(ats_people: pl.DataFrame) -> None:
    """Refuse a candidate frame the model cannot read: a bad frame must fail the run with a
    clear message here, not as a SQL error half-way through blocking."""
    required = set(FEATURE_SCHEMA) - {"unique_id"}
    missing = sorted(required - set(ats_people.columns))
    if "candidate_id" not in ats_people.columns:
        missing.append("candidate_id")
    if missing:
        raise LinkageError(f"ATS people frame lacks feature columns {missing}; normalise it first")
    if ats_people["candidate_id"].null_count():
        raise LinkageError("ATS people frame has rows without candidate_id")
    if ats_people["candidate_id"].n_unique() != ats_people.height:
        raise LinkageError("ATS people frame has duplicate candidate_id values; one row per candidate")


def prepare_ats(con: duckdb.DuckDBPyConnection, ats_people: pl.DataFrame, tables: Tables) -> int:
    """Tables ``tables.ats`` (model columns) and ``tables.ats_ids``; returns the candidate count.

    Splink needs string ids on both sides; ``ats_ids`` maps them back to the integer
    ``candidate_id`` the published matches carry.
    """
    check_ats_people(ats_people)
    keep = [c for c in ats_people.columns if c in FEATURE_SCHEMA or c in ("candidate_id", "resume_companies")]
    con.register(tables.ats_input, ats_people.select(keep).to_arrow())
    con.execute(
        f"CREATE OR REPLACE TABLE {tables.ats} AS SELECT "
        + feature_select(set(keep), "CAST(CAST(candidate_id AS BIGINT) AS VARCHAR)", ats_side=True)
        + f" FROM {tables.ats_input}"
    )
    con.execute(
        f"CREATE OR REPLACE TABLE {tables.ats_ids} AS SELECT CAST(candidate_id AS BIGINT) AS candidate_id, "
        f"CAST(CAST(candidate_id AS BIGINT) AS VARCHAR) AS unique_id FROM {tables.ats_input}"
    )
    con.unregister(tables.ats_input)
    return int(con.execute(f"SELECT count(*) FROM {tables.ats}").fetchall()[0][0])


def add_resume_company(con: duckdb.DuckDBPyConnection, tables: Tables) -> int:
    """Give each candidate ``resume_company``: of the employers its resumes date, the one the
    fewest profiles name anywhere in their career; returns how many candidates have one.

    One employer is compared, the rarest, because the evidence of a shared employer is how few
    people share it, and Splink adjusts a level by the term frequency of one value: a resume
    listing a big employer and a forty-person firm is best told apart from namesakes by the
    firm. An employer no profile names cannot agree with any, so it is never the one chosen.
    Needs the population figures (``population.attach_population``).
    """
    con.execute(
        f"""
        UPDATE {tables.ats} a SET resume_company = r.c
        FROM (
            SELECT unique_id, arg_min(c, (n, c)) AS c
            FROM (SELECT unique_id, unnest(resume_companies) AS c FROM {tables.ats})
            JOIN {tables.population("history_company")} p ON p.history_company = c
            GROUP BY unique_id
        ) r
        WHERE a.unique_id = r.unique_id
        """
    )
    return int(con.execute(f"SELECT count(resume_company) FROM {tables.ats}").fetchall()[0][0])


def profiles_view(con: duckdb.DuckDBPyConnection, profile_features: Path | str, tables: Tables) -> str:
    """View ``tables.profiles``: the profile features in model columns, scanned from Parquet.

    Returns the select list, which is what the population figures' fingerprint must cover."""
    path = str(profile_features)
    if Path(path).is_dir():
        path = str(Path(path) / "**" / "*.parquet")
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()
    except duckdb.Error as exc:
        raise LinkageError(f"profile features at {profile_features} cannot be read: {exc}") from exc
    prof_cols = {row[0] for row in described}
    lacking = sorted(set(FEATURE_SCHEMA) - prof_cols)
    if lacking:
        raise LinkageError(f"profile features at {profile_features} lack columns {lacking}")
    escaped = path.replace("'", "''")
    definition = feature_select(prof_cols, "CAST(unique_id AS VARCHAR)", ats_side=False)
    con.execute(
        f"CREATE OR REPLACE VIEW {tables.profiles} AS SELECT {definition} "
        f"FROM read_parquet('{escaped}') WHERE unique_id IS NOT NULL"
    )
    return definition
