"""E-mail addresses and phone numbers as matching keys.

E-mail: lower-case and trimmed, "mailto:" and angle brackets dropped, anything that is not an
address becomes null. Gmail ignores dots and "+tags" in the local part, so by default those are
removed for gmail.com / googlemail.com (the same mailbox then has one key); other providers treat
dots as significant, so their addresses are only lower-cased.

Phone: E.164 ("+14155550100"). The profile side has millions of numbers, so the main normaliser
is vectorised: an explicit "+" or "00" international prefix wins, else the row's default region
supplies the country calling code and its trunk prefix is dropped ("020 7946 0958" in GB ->
"+442079460958"). Country codes and trunk prefixes come from the phonenumbers metadata, so the
table is complete and maintained. The small ATS side first tries phonenumbers' own parser (it
knows every national numbering plan) and falls back to the vectorised rules.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
import polars as pl

_EMAIL_RE = r"^[^@\s<>(),;:\"\[\]]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}$"
_GMAIL_DOMAINS = ("gmail.com", "googlemail.com")

_MIN_E164_DIGITS = 7
_MAX_E164_DIGITS = 15
_MIN_NATIONAL_DIGITS = 6
_SEP = "\x1f"  # separates numbers of one row while tagging them with the row's region
_TAG = "\x1e"  # ends the region tag


def email_key(expr: pl.Expr, *, gmail_canonical: bool = True) -> pl.Expr:
    """One key per mailbox: lower-case address, or null when it is not an address."""
    text = (
        expr.cast(pl.String)
        .str.strip_chars()
        .str.to_lowercase()
        .str.replace(r"^mailto:", "")
        .str.strip_chars("<> \t\"'")
    )
    valid = pl.when(text.str.contains(_EMAIL_RE)).then(text)
    if not gmail_canonical:
        return valid
    local = valid.str.extract(r"^(.+)@", 1)
    domain = valid.str.extract(r"@([^@]+)$", 1)
    is_gmail = domain.is_in(_GMAIL_DOMAINS)
    gmail_local = local.str.replace(r"\+.*$", "").str.replace_all(r"\.", "")
    return (
        pl.when(is_gmail & (gmail_local.str.len_bytes() > 0))
        .then(pl.concat_str([gmail_local, pl.lit("@gmail.com")]))
        .otherwise(valid)
    )


def emails_key(list_expr: pl.Expr, *, gmail_canonical: bool = True) -> pl.Expr:
    """Keys of every address in a list, nulls and duplicates dropped, first occurrence kept."""
    return list_expr.list.eval(
        email_key(pl.element(), gmail_canonical=gmail_canonical)
        .drop_nulls()
        .unique(maintain_order=True)
    )


@lru_cache(maxsize=1)
def region_table() -> pl.DataFrame:
    """region (ISO 3166 alpha-2) -> calling code, trunk prefix, longest national number."""
    rows = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if meta is None:
            continue
        # Personal numbers (fixed line, mobile) define a national number's length; the general
        # description also counts service numbers and is too loose to tell a trunk digit apart.
        lengths = [
            n
            for desc in (meta.fixed_line, meta.mobile)
            if desc is not None
            for n in (desc.possible_length or ())
            if n > 0
        ] or [n for n in (meta.general_desc.possible_length or ()) if n > 0]
        rows.append(
            (
                region,
                str(meta.country_code),
                meta.national_prefix or "",
                max(lengths) if lengths else _MAX_E164_DIGITS,
            )
        )
    return pl.DataFrame(
        rows, schema={"region": pl.String, "cc": pl.String, "trunk": pl.String, "max_len": pl.Int32},
        orient="row",
    )


def _region_lookup(region: pl.Expr, column: str) -> pl.Expr:
    table = region_table()
    return region.str.to_uppercase().replace_strict(
        table["region"], table[column], default=None, return_dtype=table.schema[column]
    )


def phone_e164(expr: pl.Expr, default_region: str | pl.Expr = "US") -> pl.Expr:
    """One phone number -> E.164, vectorised; null when it cannot be told.

    `default_region` is the ISO alpha-2 region used for numbers written without an international
    prefix: a constant, or an expression giving one region per row.
    """
    region = pl.lit(default_region) if isinstance(default_region, str) else default_region
    text = (
        expr.cast(pl.String)
        .str.to_lowercase()
        .str.replace(r"\s*(?:ext\.?|extension|x|#|;ext=|;)\s*\d*\s*$", "")
        .str.replace_all(r"\(0\)", "")
        .str.strip_chars()
    )
    has_plus = text.str.starts_with("+")
    digits = text.str.replace_all(r"\D", "")
    cc = _region_lookup(region, "cc")
    trunk = _region_lookup(region, "trunk")
    max_len = _region_lookup(region, "max_len")

    international = (
        pl.when(has_plus)
        .then(digits)
        .when(digits.str.starts_with("00"))
        .then(digits.str.slice(2))
        .when((cc == "1") & digits.str.starts_with("011"))
        .then(digits.str.slice(3))
    )
    trunk_len = trunk.str.len_chars()
    strip_trunk = (
        (trunk_len > 0)
        & digits.str.starts_with(trunk)
        & ((trunk == "0") | (digits.str.len_chars() > max_len))
    )
    national = pl.when(strip_trunk).then(digits.str.slice(trunk_len)).otherwise(digits)
    national = pl.when(
        (national.str.len_chars() >= _MIN_NATIONAL_DIGITS) & (national.str.len_chars() <= max_len)
    ).then(pl.concat_str([cc, national]))
    full = pl.coalesce(international, national)
    n = full.str.len_chars()
    return pl.when((n >= _MIN_E164_DIGITS) & (n <= _MAX_E164_DIGITS) & ~full.str.starts_with("0")).then(
        pl.concat_str([pl.lit("+"), full])
    )


def phones_e164(list_expr: pl.Expr, default_region: str | pl.Expr = "US") -> pl.Expr:
    """E.164 of every number in a list, nulls and duplicates dropped, first occurrence kept.

    `default_region` may differ per row (the person's country). A list evaluation cannot see
    other columns, so each element is first tagged with its row's region ("GB\x1e020 7946 0958")
    by one string replacement, then split and read back inside the list: still no Python per row.
    """
    if isinstance(default_region, str):
        return list_expr.list.eval(
            phone_e164(pl.element(), default_region).drop_nulls().unique(maintain_order=True)
        )
    prefix = pl.concat_str([default_region.fill_null("").str.slice(0, 2), pl.lit(_TAG)])
    joined = list_expr.list.eval(pl.element().str.replace_all(f"[{_SEP}{_TAG}]", " ")).list.join(_SEP)
    tagged = pl.concat_str(
        [prefix, joined.str.replace_all(_SEP, pl.concat_str([pl.lit(_SEP), prefix]), literal=True)]
    )
    element = pl.element()
    return tagged.str.split(_SEP).list.eval(
        phone_e164(
            element.str.extract(f"^[^{_TAG}]*{_TAG}(.*)$", 1),
            element.str.extract(f"^([^{_TAG}]*){_TAG}", 1),
        )
        .drop_nulls()
        .unique(maintain_order=True)
    )


def phone_e164_exact(raw: str | None, default_region: str = "US") -> str | None:
    """phonenumbers' reading of one number (ATS side only: it is a Python call per number)."""
    if not raw or not raw.strip():
        return None
    try:
        parsed = phonenumbers.parse(raw, default_region.upper() if default_region else None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
