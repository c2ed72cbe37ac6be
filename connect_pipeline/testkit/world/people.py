"""Draw people in bulk: the profile index and the people who are not in it.

Everything is column arithmetic (numpy draws, Polars gathers and string concatenation), because
the index must reach a million rows in seconds. Besides the contract columns the frame keeps
hidden columns (entry and spelling ids, the national phone number, the company id...) that the
ATS generator needs to add *plausible* noise later; they are dropped before the index is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

import numpy as np
import polars as pl
import pyarrow as pa

from connect_pipeline.testkit.world.catalog import Catalog, NameTable, catalog, zipf_weights
from connect_pipeline.testkit.world.phones import phone_column
from connect_pipeline.testkit.world.pools import CULTURES, PERSONAL_DOMAINS, SENIORITY_WEIGHTS, nicknames_for

REFERENCE_TIME = datetime(2026, 11, 1, tzinfo=timezone.utc)

PROFILE_SCHEMA: dict[str, pl.DataType] = {
    "profile_id": pl.String(),
    "first_name": pl.String(),
    "last_name": pl.String(),
    "full_name": pl.String(),
    "current_title": pl.String(),
    "current_company": pl.String(),
    "past_companies": pl.List(pl.String()),
    "location": pl.String(),
    "linkedin_url": pl.String(),
    "emails": pl.List(pl.String()),
    "phones": pl.List(pl.String()),
    "updated_at": pl.Datetime("us", "UTC"),
}

_BASE36 = np.frombuffer(b"0123456789abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)


def random_tokens(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    """n random lower-case base-36 strings of a fixed width, without a Python loop."""
    codes = _BASE36[rng.integers(0, 36, size=(n, width))]
    return pl.Series(np.ascontiguousarray(codes).view(f"S{width}").ravel()).cast(pl.String)


def _gather(values: np.ndarray, idx: np.ndarray) -> pl.Series:
    return pl.Series(values.tolist(), dtype=pl.String).gather(pl.Series(idx, dtype=pl.Int64))


def _draw_names(rng: np.random.Generator, table: NameTable, culture: np.ndarray, zipf_attr: str,
                native_p: float) -> tuple[np.ndarray, np.ndarray]:
    n = len(culture)
    entry = np.zeros(n, dtype=np.int64)
    for k, spec in enumerate(CULTURES):
        rows = np.flatnonzero(culture == k)
        if len(rows):
            ids = table.culture_entries[k]
            entry[rows] = ids[rng.choice(len(ids), size=len(rows), p=zipf_weights(len(ids), getattr(spec, zipf_attr)))]
    count = table.entry_count[entry]
    alt = (rng.random(n) >= native_p) & (count > 1)
    offset = np.where(alt, 1 + np.floor(rng.random(n) * np.maximum(count - 1, 1)).astype(np.int64), 0)
    return entry, table.entry_start[entry] + offset


def culture_weights(cultures: Mapping[str, float] | None = None) -> np.ndarray:
    """The share of people drawn from each of the catalog's name cultures: the default mix, or
    ``cultures`` (name -> weight, normalised; a culture left out is not drawn)."""
    cat = catalog()
    if cultures is None:
        return cat.culture_weights
    unknown = sorted(set(cultures) - set(cat.cultures))
    if unknown:
        raise ValueError(f"unknown name cultures {unknown}; the catalog has {list(cat.cultures)}")
    weights = np.array([float(cultures.get(name, 0.0)) for name in cat.cultures])
    if (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(f"culture weights must be >= 0 with a positive total, got {dict(cultures)}")
    return weights / weights.sum()


def _list_column(flat: pl.Series, lengths: np.ndarray, inner: pl.DataType = pl.String()) -> pl.Series:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    arr = pa.ListArray.from_arrays(pa.array(offsets), flat.to_arrow())
    return pl.Series(arr).cast(pl.List(inner))


def _unique_or_null(col: str) -> pl.Expr:
    return pl.when(pl.col(col).is_first_distinct()).then(pl.col(col)).otherwise(None).alias(col)


def make_people(
    rng: np.random.Generator, n: int, *, outsiders: bool = False, cultures: Mapping[str, float] | None = None
) -> pl.DataFrame:
    """n people with the contract columns plus hidden generator columns (prefixed "_").

    ``outsiders`` draws people who are *not* in the index: no profile id, e-mails always end in a
    three-digit number (a shape the index never uses) and LinkedIn slugs always carry a random
    suffix, so an outsider never owns an identifier of an index person by accident.
    ``cultures`` replaces the default mix of name cultures (culture name -> weight, see
    ``culture_weights``); where people live follows their culture either way.
    """
    cat: Catalog = catalog()
    culture = rng.choice(len(cat.cultures), size=n, p=culture_weights(cultures))
    first_entry, first_spell = _draw_names(rng, cat.first, culture, "first_zipf", 0.82)
    last_entry, last_spell = _draw_names(rng, cat.last, culture, "last_zipf", 0.8)

    # Some people go by a diminutive in their profile as well.
    nick_of = np.array([(nicknames_for(s) or (None,))[0] for s in cat.first.spelling], dtype=object)
    use_nick = (rng.random(n) < 0.07) & np.array([x is not None for x in nick_of])[first_spell]

    # Where they live.
    country = np.zeros(n, dtype=np.int64)
    for k in range(len(cat.cultures)):
        rows = np.flatnonzero(culture == k)
        if len(rows):
            country[rows] = rng.choice(len(cat.country_iso), size=len(rows), p=cat.culture_country_p[k])
    place = np.zeros(n, dtype=np.int64)
    for ci, places in enumerate(cat.country_places):
        rows = np.flatnonzero(country == ci)
        if len(rows):
            place[rows] = places[rng.choice(len(places), size=len(rows), p=zipf_weights(len(places), 1.0))]
    no_location = rng.random(n) < 0.04

    # Work.
    n_comp = len(cat.companies)
    company = rng.choice(n_comp, size=n, p=zipf_weights(n_comp, 0.8))
    employed = rng.random(n) >= 0.07
    company = np.where(employed, company, -1)
    company_variant = rng.random(n) < 0.12
    title_base = rng.choice(len(cat.title_base), size=n, p=zipf_weights(len(cat.title_base), 0.7))
    seniority = rng.choice(len(cat.seniority), size=n, p=np.array(SENIORITY_WEIGHTS) / sum(SENIORITY_WEIGHTS))
    has_title = np.where(employed, rng.random(n) >= 0.03, rng.random(n) < 0.3)
    n_past = rng.choice(5, size=n, p=[0.18, 0.3, 0.27, 0.15, 0.1])
    past = rng.choice(n_comp, size=int(n_past.sum()), p=zipf_weights(n_comp, 0.8))
    owner_company = np.repeat(company, n_past)
    past = np.where(past == owner_company, (past + 1) % n_comp, past)

    # Online presence.
    has_linkedin = rng.random(n) < 0.78
    slug_style = rng.choice(4, size=n, p=[0.6, 0.15, 0.15, 0.1])
    if outsiders:
        slug_style = np.minimum(slug_style, 1)
    trailing_slash = rng.random(n) < 0.08
    personal_fmt = rng.choice(7, size=n, p=[0.22, 0.14, 0.08, 0.1, 0.2, 0.18, 0.08])
    has_personal = rng.random(n) < 0.7
    work_fmt = rng.choice(4, size=n, p=[0.55, 0.25, 0.1, 0.1])
    has_work = (rng.random(n) < 0.35) & (company >= 0)
    domain_pick = rng.random(n)
    middle = rng.random(n) < 0.05
    middle_initial = random_tokens(rng, n, 1).str.to_uppercase()
    number2 = rng.integers(10, 100, size=n)
    number3 = rng.integers(100, 1000, size=n)
    suffix6 = random_tokens(rng, n, 6)
    suffix_num = rng.integers(10_000_000, 100_000_000, size=n)
    age_seconds = rng.integers(0, 730 * 86_400, size=n)
    has_phone = rng.random(n) < 0.45
    has_phone2 = has_phone & (rng.random(n) < 0.1)
    phone1 = phone_column(rng, country, has_phone)
    phone2 = phone_column(rng, country, has_phone2)

    # Personal e-mail domain per row, from the country's usual providers.
    domain_values: list[str] = []
    domain_idx = np.zeros(n, dtype=np.int64)
    for ci, iso in enumerate(cat.country_iso):
        rows = np.flatnonzero(country == ci)
        choices = PERSONAL_DOMAINS.get(iso, PERSONAL_DOMAINS["default"])
        domain_idx[rows] = len(domain_values) + (domain_pick[rows] * len(choices)).astype(np.int64)
        domain_values.extend(choices)

    nick_series = pl.Series([x if x is not None else "" for x in nick_of.tolist()], dtype=pl.String)
    df = pl.DataFrame({
        "_culture": culture.astype(np.int8),
        "_first_entry": first_entry, "_first_spell": first_spell,
        "_last_entry": last_entry, "_last_spell": last_spell,
        "_native_first": _gather(cat.first.spelling, first_spell),
        "_nick": nick_series.gather(pl.Series(first_spell)),
        "_use_nick": use_nick,
        "last_name": _gather(cat.last.spelling, last_spell),
        "_f": _gather(cat.first.email_part, first_spell), "_l": _gather(cat.last.email_part, last_spell),
        "_fs": _gather(cat.first.slug_part, first_spell), "_ls": _gather(cat.last.slug_part, last_spell),
        "_country": _gather(cat.country_iso, country),
        "_place": place,
        "_city": _gather(cat.city, place),
        "location": _gather(cat.location, place),
        "_no_location": no_location,
        "_company": company,
        "_company_canonical": _gather(cat.company_canonical, np.maximum(company, 0)),
        "_company_variant": _gather(cat.company_variant, np.maximum(company, 0)),
        "_company_domain": _gather(cat.company_domain, np.maximum(company, 0)),
        "_use_variant": company_variant,
        "_title_base": title_base, "_seniority": seniority, "_has_title": has_title,
        "_seniority_s": _gather(cat.seniority, seniority), "_title_base_s": _gather(cat.title_base, title_base),
        "_has_linkedin": has_linkedin, "_slug_style": slug_style, "_trailing": trailing_slash,
        "_pfmt": personal_fmt, "_has_personal": has_personal, "_wfmt": work_fmt, "_has_work": has_work,
        "_domain": _gather(np.array(domain_values, dtype=object), domain_idx),
        "_middle": middle, "_mi": middle_initial,
        "_n2": pl.Series(number2).cast(pl.String), "_n3": pl.Series(number3).cast(pl.String),
        "_suffix6": suffix6, "_suffix_num": pl.Series(suffix_num).cast(pl.String),
        "_age": age_seconds,
        "_phone": phone1["phone"], "_phone_nsn": phone1["phone_nsn"], "_phone_spec": phone1["phone_spec"],
        "_phone2": phone2["phone"],
    })
    f, l, fs, ls = pl.col("_f"), pl.col("_l"), pl.col("_fs"), pl.col("_ls")
    fi = f.str.slice(0, 1)
    df = df.with_columns(
        first_name=pl.when(pl.col("_use_nick")).then(pl.col("_nick")).otherwise(pl.col("_native_first")),
        current_company=pl.when(pl.col("_company") < 0).then(None)
        .when(pl.col("_use_variant")).then(pl.col("_company_variant"))
        .otherwise(pl.col("_company_canonical")),
        current_title=pl.when(pl.col("_has_title"))
        .then(pl.concat_str([pl.col("_seniority_s"), pl.col("_title_base_s")])).otherwise(None),
        location=pl.when(pl.col("_no_location")).then(None).otherwise(pl.col("location")),
        _slug=pl.when(pl.col("_slug_style") == 0).then(pl.concat_str([fs, ls, pl.col("_suffix6")], separator="-"))
        .when(pl.col("_slug_style") == 1).then(pl.concat_str([fs, ls, pl.col("_suffix_num")], separator="-"))
        .when(pl.col("_slug_style") == 2).then(pl.concat_str([f, l]))
        .otherwise(pl.concat_str([fs, ls], separator="-")),
        _personal=pl.when(~pl.col("_has_personal")).then(None)
        .when(pl.col("_pfmt") == 0).then(pl.concat_str([f, pl.lit("."), l]))
        .when(pl.col("_pfmt") == 1).then(pl.concat_str([f, l]))
        .when(pl.col("_pfmt") == 2).then(pl.concat_str([f, pl.lit("_"), l]))
        .when(pl.col("_pfmt") == 3).then(pl.concat_str([fi, l]))
        .when(pl.col("_pfmt") == 4).then(pl.concat_str([f, pl.lit("."), l, pl.col("_n2")]))
        .when(pl.col("_pfmt") == 5).then(pl.concat_str([f, l, pl.col("_n2")]))
        .otherwise(pl.concat_str([l, pl.lit("."), f])),
        _work=pl.when(~pl.col("_has_work")).then(None)
        .when(pl.col("_wfmt") == 0).then(pl.concat_str([f, pl.lit("."), l]))
        .when(pl.col("_wfmt") == 1).then(pl.concat_str([fi, l]))
        .when(pl.col("_wfmt") == 2).then(f)
        .otherwise(pl.concat_str([f, pl.lit("_"), l])),
    )
    if outsiders:
        # Outsiders: always a three-digit number, a shape the index never uses.
        df = df.with_columns(_personal=pl.concat_str([f, pl.lit("."), l, pl.col("_n3")]),
                             _work=pl.concat_str([f, pl.lit("."), l, pl.col("_n3")]))
        df = df.with_columns(
            _personal=pl.when(pl.col("_has_personal")).then(pl.col("_personal")).otherwise(None),
            _work=pl.when(pl.col("_has_work")).then(pl.col("_work")).otherwise(None),
        )
    df = df.with_columns(
        _personal=pl.concat_str([pl.col("_personal"), pl.lit("@"), pl.col("_domain")]),
        _work=pl.concat_str([pl.col("_work"), pl.lit("@"), pl.col("_company_domain")]),
    )
    df = _dedupe_slugs(df)
    df = df.with_columns(_unique_or_null("_personal"), _unique_or_null("_work"))
    df = df.with_columns(
        full_name=pl.when(pl.col("_middle"))
        .then(pl.concat_str([pl.col("first_name"), pl.lit(" "), pl.col("_mi"), pl.lit(". "), pl.col("last_name")]))
        .otherwise(pl.concat_str([pl.col("first_name"), pl.col("last_name")], separator=" ")),
        linkedin_url=pl.when(pl.col("_has_linkedin"))
        .then(pl.concat_str([pl.lit("https://www.linkedin.com/in/"), pl.col("_slug"),
                             pl.when(pl.col("_trailing")).then(pl.lit("/")).otherwise(pl.lit(""))]))
        .otherwise(None),
        emails=pl.concat_list([pl.col("_personal"), pl.col("_work")]).list.drop_nulls(),
        phones=pl.concat_list([pl.col("_phone"), pl.col("_phone2")]).list.drop_nulls(),
        updated_at=(pl.lit(int(REFERENCE_TIME.timestamp() * 1_000_000)) - pl.col("_age") * 1_000_000)
        .cast(pl.Datetime("us", "UTC")),
    )
    past_series = _gather(cat.company_canonical, past)
    df = df.with_columns(past_companies=_list_column(past_series, n_past),
                         _past_ids=_list_column(pl.Series(past), n_past, pl.Int64))
    if not outsiders:
        width = max(7, len(str(n)))
        ids = pl.Series(rng.permutation(n) + 1).cast(pl.String).str.zfill(width)
        df = df.with_columns(profile_id=pl.concat_str([pl.lit("pr_"), ids]))
    else:
        df = df.with_columns(profile_id=pl.lit(None, pl.String))
    return df


def _dedupe_slugs(df: pl.DataFrame) -> pl.DataFrame:
    """A LinkedIn slug names one person: a vanity slug somebody already holds gets a suffix."""
    for round_ in range(5):
        dup = ~pl.col("_slug").is_first_distinct()
        if not df.select(dup.any()).item():
            break
        df = df.with_columns(_slug=pl.when(dup).then(pl.concat_str(
            [pl.col("_slug"), pl.col("_suffix6").str.slice(round_, 6 - round_),
             pl.col("_n2")], separator="-")).otherwise(pl.col("_slug")))
    return df


def profile_frame(people: pl.DataFrame) -> pl.DataFrame:
    """The contract columns only, in contract order and types."""
    return people.select([pl.col(name).cast(dtype) for name, dtype in PROFILE_SCHEMA.items()])
