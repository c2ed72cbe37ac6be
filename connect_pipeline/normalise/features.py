"""The matching features both sides of the link share, by name and type.

The ATS side (one row per Greenhouse candidate) and the profile side (one row per profile of the
index) are normalised into the same columns so Splink compares like with like. All strings are
lower-case, accent-folded and trimmed; an absent value is null (never ""); lists never hold nulls
or duplicates.
"""

from __future__ import annotations

import polars as pl

FEATURE_SCHEMA: dict[str, pl.DataType] = {
    "unique_id": pl.String(),  # ATS: str(candidate_id); profiles: profile_id
    "first_name": pl.String(),  # folded given name, first token
    "first_name_canonical": pl.String(),  # nickname/diminutive resolved ("bill" -> "william")
    "last_name": pl.String(),  # folded family name (all tokens joined by a space)
    "full_name": pl.String(),  # "first last", folded
    "company": pl.String(),  # current company (ATS: the candidate's company), legal suffixes dropped
    "companies": pl.List(pl.String()),  # every company known for the person, current and past
    "title": pl.String(),  # folded, abbreviations expanded
    "linkedin_slug": pl.String(),  # canonical /in/ slug, e.g. "jane-doe-1a2b3c"
    "emails": pl.List(pl.String()),  # lower-case addresses
    "phones": pl.List(pl.String()),  # E.164, e.g. "+14155550100"
    "city": pl.String(),
    "country": pl.String(),  # ISO 3166 alpha-2 where it can be told, else folded text
}

# Extra columns the ATS side carries (not compared, used to filter and explain).
ATS_EXTRA_SCHEMA: dict[str, pl.DataType] = {
    "candidate_id": pl.Int64(),
    "is_anonymised": pl.Boolean(),
    "is_private": pl.Boolean(),
}
