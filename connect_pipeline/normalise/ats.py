"""The ATS side of the link: Greenhouse (Harvest v3) candidates -> one row of features each.

A tenant has thousands of candidates, not millions, so this side may walk records in Python to
collect raw signals (a LinkedIn URL can hide in several places: the website and social-media
fields, the resume) before the shared vectorised `feature_frame` turns them into the very keys
the profile side has.

Where each signal comes from, best source first:
* name: first_name / last_name; preferred_name decides the name family (see feature_frame).
* LinkedIn: social_media_addresses, website_addresses, answers to application questions that
  mention LinkedIn, custom fields (candidate's and applications') holding a LinkedIn URL or named
  like one, then URLs found in the resume. A bare slug typed into a LinkedIn question or field
  ("jane-doe-1a2b") is read as /in/<slug>.
* e-mail / phone: the candidate's arrays, then the resume's. Phones go through phonenumbers
  first (default region: the address's country, else US), then the shared vectorised rules.
* company / title: candidate.company, candidate.title; location: the city of the first address,
  found where its country's postal format puts it (``addresses.address_place``); without an
  address, the first place in a resume's header that names a known country or a US state,
  Canadian province or Australian state (most resumes say where their author lives under the
  name; most Greenhouse records carry no address at all).

Anonymised candidates (first name "Anonymized", last name = their id) keep their row with
is_anonymised=True and every feature null; private ones carry is_private. Filtering is the
caller's decision (pipeline.eligible_people), so counts can be reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import polars as pl

from connect_pipeline.normalise.addresses import address_place
from connect_pipeline.normalise.companies import company_key
from connect_pipeline.normalise.contacts import phone_e164_exact
from connect_pipeline.normalise.features import (
    ATS_EXTRA_SCHEMA,
    FEATURE_SCHEMA,
    RAW_SCHEMA,
    feature_frame,
)
from connect_pipeline.normalise.location import country_lookup, location_parts, location_struct
from connect_pipeline.normalise.titles import JOB_TITLE_NOUNS
from connect_pipeline.greenhouse_records import is_anonymised

_LINKEDIN_IN_TEXT = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://)?(?:[a-z0-9-]+\.)*linkedin\.com/(?:in|pub)/[^\s,;\"'<>()\[\]]+",
    re.IGNORECASE,
)
_BARE_SLUG = re.compile(r"^@?([a-z0-9][a-z0-9_%-]{1,99})/?$", re.IGNORECASE)
_MAX_WALK = 200  # strings taken from one custom-field value: a hostile record stays bounded
_MAX_TEXT = 2_000  # characters of one value we look at


def _values(items: Any) -> list[str]:
    """The `value` strings of a v3 [{value, type}] array (tolerates plain strings and nulls)."""
    out: list[str] = []
    for item in items or ():
        value = item.get("value") if isinstance(item, dict) else item
        if isinstance(value, str) and value.strip():
            out.append(value.strip()[:_MAX_TEXT])
    return out


def _strings(value: Any, budget: list[int]) -> Iterator[str]:
    """Every string inside a JSON value, depth-first, at most _MAX_WALK of them."""
    if budget[0] <= 0:
        return
    if isinstance(value, str):
        budget[0] -= 1
        yield value[:_MAX_TEXT]
    elif isinstance(value, dict):
        for inner in value.values():
            yield from _strings(inner, budget)
    elif isinstance(value, (list, tuple)):
        for inner in value:
            yield from _strings(inner, budget)


def _linkedin_in(text: str, *, about_linkedin: bool) -> list[str]:
    """LinkedIn URLs in a text; a bare slug counts when the field is about LinkedIn."""
    found = _LINKEDIN_IN_TEXT.findall(text)
    if not found and about_linkedin:
        bare = _BARE_SLUG.match(text.strip())
        if bare and "." not in bare.group(1):
            found = [f"linkedin.com/in/{bare.group(1)}"]
    return found


def _custom_field_urls(fields: Any) -> list[str]:
    """LinkedIn URLs in custom fields ({key: {name, type, value}}, or a list of such objects)."""
    if isinstance(fields, dict):
        entries = [
            (str(key), entry) if not isinstance(entry, dict) else
            (f"{key} {entry.get('name') or ''}", entry.get("value"))
            for key, entry in fields.items()
        ]
    elif isinstance(fields, list):
        entries = [
            (str(e.get("name") or e.get("key") or ""), e.get("value"))
            for e in fields
            if isinstance(e, dict)
        ]
    else:
        return []
    urls: list[str] = []
    for label, value in entries:
        about = "linkedin" in label.lower()
        for text in _strings(value, [_MAX_WALK]):
            urls.extend(_linkedin_in(text, about_linkedin=about))
    return urls


def _answer_urls(answers: Any) -> list[str]:
    urls: list[str] = []
    for item in answers or ():
        if not isinstance(item, dict):
            continue
        question = str(item.get("question") or "")
        about = "linkedin" in question.lower()
        for text in _strings(item.get("answer"), [_MAX_WALK]):
            if about or "linkedin" in text.lower():
                urls.extend(_linkedin_in(text, about_linkedin=about))
    return urls


def _dedupe(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _latest_per_id(candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per id: incremental windows and sweeps can deliver a candidate twice."""
    best: dict[int, dict[str, Any]] = {}
    for record in candidates:
        if not isinstance(record, dict) or record.get("id") is None:
            continue
        cid = int(record["id"])
        kept = best.get(cid)
        if kept is None or str(record.get("updated_at") or "") >= str(kept.get("updated_at") or ""):
            best[cid] = record
    return list(best.values())


def _signals_by_candidate(resume_signals: pl.DataFrame | None) -> dict[int, dict[str, list[str]]]:
    if resume_signals is None or resume_signals.is_empty():
        return {}
    out: dict[int, dict[str, list[str]]] = {}
    cols = [c for c in ("emails", "phones", "linkedin_urls", "places", "employers") if c in resume_signals.columns]
    for row in resume_signals.select("candidate_id", *cols).iter_rows(named=True):
        if row["candidate_id"] is None:
            continue
        entry = out.setdefault(int(row["candidate_id"]), {c: [] for c in cols})
        for c in cols:
            entry.setdefault(c, []).extend(v for v in (row[c] or []) if isinstance(v, str))
    return out


def _resume_places(signals: dict[int, dict[str, list[str]]]) -> dict[int, str]:
    """Per candidate, the first place its resumes' headers give that names a known country or
    region ("Austin, TX", "Leeds, United Kingdom"); a header's "Python, SQL" names neither and
    is dropped."""
    rows = [(cid, i, place) for cid, entry in signals.items()
            for i, place in enumerate(entry.get("places", []))]
    if not rows:
        return {}
    known = set(country_lookup()[1])
    frame = pl.DataFrame(rows, schema={"cid": pl.Int64, "i": pl.Int64, "place": pl.String}, orient="row")
    frame = frame.with_columns(country=location_parts(pl.col("place"))[1])
    kept = frame.filter(pl.col("country").is_in(list(known))).sort("cid", "i").unique("cid", keep="first")
    return dict(zip(kept["cid"].to_list(), kept["place"].to_list()))


def _empty_people() -> pl.DataFrame:
    return pl.DataFrame(schema={**FEATURE_SCHEMA, **ATS_EXTRA_SCHEMA})


def build_ats_people(
    candidates: list[dict],
    applications: list[dict],
    resume_signals: pl.DataFrame | None,
) -> pl.DataFrame:
    """One row per Greenhouse candidate: FEATURE_SCHEMA + ATS_EXTRA_SCHEMA columns.

    Every candidate is returned, with is_anonymised / is_private flags: the pipeline filters
    (``pipeline.eligible_people``) and counts what it left out.
    """
    records = _latest_per_id(candidates)
    if not records:
        return _empty_people()

    answers_by_candidate: dict[int, list[str]] = {}
    for app in applications or ():
        if not isinstance(app, dict) or app.get("candidate_id") is None:
            continue
        urls = _answer_urls(app.get("answers")) + _custom_field_urls(app.get("custom_fields"))
        if urls:
            answers_by_candidate.setdefault(int(app["candidate_id"]), []).extend(urls)
    signals = _signals_by_candidate(resume_signals)
    resume_place = _resume_places(signals)

    rows: list[dict[str, Any]] = []
    for c in records:
        cid = int(c["id"])
        anonymised = is_anonymised(c)
        resume = signals.get(cid, {})
        addresses = _values(c.get("addresses"))
        linkedin = _dedupe(
            [u for text in _values(c.get("social_media_addresses")) for u in _linkedin_in(text, about_linkedin=False)]
            + [u for text in _values(c.get("website_addresses")) for u in _linkedin_in(text, about_linkedin=False)]
            + answers_by_candidate.get(cid, [])
            + _custom_field_urls(c.get("custom_fields"))
            + [u for text in resume.get("linkedin_urls", []) for u in (_linkedin_in(text, about_linkedin=False) or [text])]
        )
        rows.append(
            {
                "unique_id": str(cid),
                "first_raw": c.get("first_name"),
                "last_raw": c.get("last_name"),
                "full_raw": None,
                "alt_first_raw": c.get("preferred_name"),
                "company_raw": c.get("company"),
                "companies_raw": [],
                "title_raw": c.get("title"),
                "linkedin_raw": linkedin,
                "emails_raw": _dedupe(_values(c.get("email_addresses")) + resume.get("emails", [])),
                "phones_raw": _dedupe(_values(c.get("phone_numbers")) + resume.get("phones", [])),
                "location_raw": address_place(addresses[0]) if addresses else resume_place.get(cid),
                "candidate_id": cid,
                "resume_companies": resume.get("employers", []),
                "is_anonymised": anonymised,
                "is_private": bool(c.get("private")),
            }
        )
    raw = pl.DataFrame(rows, schema={**RAW_SCHEMA, **ATS_EXTRA_SCHEMA})
    raw = _phones_through_phonenumbers(raw)
    people = feature_frame(raw.lazy(), keep=tuple(ATS_EXTRA_SCHEMA)).collect()
    people = _resume_companies(people)
    blank = [
        pl.when(pl.col("is_anonymised")).then(pl.lit(None, dtype)).otherwise(pl.col(name)).alias(name)
        for name, dtype in {**FEATURE_SCHEMA, "resume_companies": ATS_EXTRA_SCHEMA["resume_companies"]}.items()
        if name != "unique_id"
    ]
    return people.with_columns(blank).select(
        [pl.col(n).cast(t) for n, t in {**FEATURE_SCHEMA, **ATS_EXTRA_SCHEMA}.items()]
    )


def _resume_companies(people: pl.DataFrame) -> pl.DataFrame:
    """The resume's dated parts keyed as companies, less what can be told is not an earlier
    employer: the current company (the company comparison reads it), a job title (its last
    word names a job, "Senior Data Analyst"), the candidate's own city, a country or a region.
    Sorted so a rerun holds the same list; null if none is left."""
    long = (
        people.select("company", "city", part=pl.col("resume_companies")).with_row_index("row")
        .explode("part").drop_nulls("part")
        .with_columns(key=company_key(pl.col("part")), place=location_struct(pl.col("part")))
        .with_columns(last_word=pl.col("key").str.extract(r"(\S+)$", 1))
    )
    kept = long.filter(
        pl.col("key").is_not_null()
        & (pl.col("key") != pl.col("company").fill_null(""))
        & (pl.col("key") != pl.col("city").fill_null(""))
        & ~pl.col("last_word").fill_null("").is_in(list(JOB_TITLE_NOUNS))
        # a country or region named in words (a two- or three-letter code is as often an employer: GE, BT)
        & ~(pl.col("place").struct.field("city").is_null() & pl.col("place").struct.field("country").is_not_null()
            & (pl.col("part").str.len_chars() > 3))
    )
    lists = kept.group_by("row").agg(pl.col("key").unique().sort().alias("resume_companies"))
    return (
        people.drop("resume_companies").with_row_index("row")
        .join(lists, on="row", how="left").sort("row").drop("row")
        .select(people.columns)
    )


def _phones_through_phonenumbers(raw: pl.DataFrame) -> pl.DataFrame:
    """Replace each raw phone by phonenumbers' E.164 reading where it has one (ATS side only:
    one Python call per number); the rest stay raw for the shared vectorised rules."""
    country = raw.select(location_parts(pl.col("location_raw"))[1].alias("c"))["c"]
    phones = []
    for numbers, region in zip(raw["phones_raw"].to_list(), country.to_list()):
        default = region.upper() if isinstance(region, str) and len(region) == 2 else "US"
        phones.append([phone_e164_exact(n, default) or n for n in (numbers or [])])
    return raw.with_columns(pl.Series("phones_raw", phones, dtype=pl.List(pl.String)))
