"""The matching features both sides of the link share, by name and type.

The ATS side (one row per Greenhouse candidate) and the profile side (one row per profile of the
index) are normalised into the same columns so Splink compares like with like. All strings are
lower-case, accent-folded and trimmed; an absent value is null (never "", never an empty list);
lists never hold nulls or duplicates. `feature_frame` is the one place both sides are turned into
these columns.
"""

from __future__ import annotations

import polars as pl

FEATURE_SCHEMA: dict[str, pl.DataType] = {
    "unique_id": pl.String(),  # ATS: str(candidate_id); profiles: profile_id
    "first_name": pl.String(),  # folded given name, first token
    "first_name_canonical": pl.String(),  # nickname/diminutive resolved ("bill" -> "william")
    "first_name_phonetic": pl.String(),  # how the canonical given name sounds (blocking only)
    "last_name": pl.String(),  # folded family name (all tokens joined by a space)
    "last_name_phonetic": pl.String(),  # how the family name sounds (blocking only)
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
    # the employers the candidate's resumes date (keyed like ``companies``), besides the
    # current one: compared with the profile's career by the linkage's ``resume_employer``
    "resume_companies": pl.List(pl.String()),
    "is_anonymised": pl.Boolean(),
    "is_private": pl.Boolean(),
}

# The version of the normalisation rules. Bump it when a normaliser changes what it produces:
# the profile snapshot id includes it, so profile features are rebuilt under the new rules.
# 6: name families from the maintained nickname source too (its version is in the id as well).
# 7: its forms that key to a bare initial ("l.b.") left out.
# 8: "Remote", "Anywhere", "N/A" and the like are no city (``location.NOT_A_CITY``).
FEATURES_VERSION = "8"

# What both sides hand to `feature_frame`: raw text as read, before any normalisation.
RAW_SCHEMA: dict[str, pl.DataType] = {
    "unique_id": pl.String(),
    "first_raw": pl.String(),
    "last_raw": pl.String(),
    "full_raw": pl.String(),
    "alt_first_raw": pl.String(),  # a preferred name, when the source has one
    "company_raw": pl.String(),
    "companies_raw": pl.List(pl.String()),
    "title_raw": pl.String(),
    "linkedin_raw": pl.List(pl.String()),  # candidate URLs, best source first
    "emails_raw": pl.List(pl.String()),
    "phones_raw": pl.List(pl.String()),
    "location_raw": pl.String(),
}


def _null_if_empty(column: str) -> pl.Expr:
    """A list with no elements -> null ("no e-mail known" must not read as "none in common")."""
    return pl.when(pl.col(column).list.len() > 0).then(pl.col(column)).alias(column)


def feature_frame(raw: pl.LazyFrame, keep: tuple[str, ...] = ()) -> pl.LazyFrame:
    """RAW_SCHEMA columns -> FEATURE_SCHEMA columns (then `keep`), with the same expressions for
    the ATS and the profile side, so neither can drift from the other.

    Names: the given name is the first real word of `first_raw` (else of `full_raw`); the family
    name is `last_raw` (else the rest of `full_raw`). A preferred name, when there is one, decides
    the name family (`first_name_canonical`) while `first_name` stays the legal one, so a
    profile under either name can agree on one of the two. Empty lists become null, like empty
    strings: "no e-mail known" must not read as "no e-mail in common".
    """
    from connect_pipeline.normalise.companies import companies_key, company_key
    from connect_pipeline.normalise.contacts import emails_key, phones_e164, region_table
    from connect_pipeline.normalise.linkedin import linkedin_slugs
    from connect_pipeline.normalise.location import location_struct
    from connect_pipeline.normalise.names import (
        canonical_from_key,
        first_name_key,
        full_name_key,
        last_name_key,
        phonetic_key,
    )
    from connect_pipeline.normalise.titles import title_key

    full = pl.col("full_raw").str.strip_chars()
    full_first = full.str.extract(r"^(\S+)", 1)
    full_rest = full.str.extract(r"^\S+\s+(.+)$", 1)
    # a one-word full name that is the family name ("Lund" beside last name "Lund") names no
    # given name
    first_key = pl.coalesce(
        first_name_key(pl.col("first_raw")),
        pl.when(full_rest.is_not_null() | pl.col("last_raw").is_null()).then(first_name_key(full_first)),
        pl.col("alt_key"),
    )
    last_key = pl.coalesce(last_name_key(pl.col("last_raw")), last_name_key(full_rest))
    regions = region_table()["region"].str.to_lowercase().to_list()
    phone_region = (
        pl.when(pl.col("country").is_in(regions))
        .then(pl.col("country").str.to_uppercase())
        .otherwise(pl.lit("US"))
    )
    companies = pl.concat_list(
        [pl.col("company_raw"), pl.col("companies_raw").fill_null(pl.lit([], dtype=pl.List(pl.String)))]
    )
    lists = ("companies", "emails", "phones")
    return (
        raw.with_columns(alt_key=first_name_key(pl.col("alt_first_raw")))
        .with_columns(
            first_name=first_key,
            last_name=last_key,
            company=company_key(pl.col("company_raw")),
            companies=companies_key(companies),
            title=title_key(pl.col("title_raw")),
            linkedin_slug=linkedin_slugs(pl.col("linkedin_raw")).list.first(),
            emails=emails_key(pl.col("emails_raw")),
            _location=location_struct(pl.col("location_raw")),
        )
        .with_columns(
            city=pl.col("_location").struct.field("city"),
            country=pl.col("_location").struct.field("country"),
            first_name_canonical=canonical_from_key(pl.coalesce("alt_key", "first_name")),
            full_name=full_name_key(pl.col("first_name"), pl.col("last_name")),
        )
        .with_columns(
            phones=phones_e164(pl.col("phones_raw"), phone_region),
            first_name_phonetic=phonetic_key(pl.col("first_name_canonical")),
            last_name_phonetic=phonetic_key(pl.col("last_name")),
        )
        .with_columns([_null_if_empty(c) for c in lists])
        .select(
            [pl.col(name).cast(dtype) for name, dtype in FEATURE_SCHEMA.items()] + list(keep)
        )
    )
