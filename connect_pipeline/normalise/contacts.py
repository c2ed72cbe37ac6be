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

_MIN_E164_DIGITS = 7
_MAX_E164_DIGITS = 15
_MIN_NATIONAL_DIGITS = 6
_SEP = "\x1f"  # separates numbers of one row while tagging them with the row's region
_TAG = "\x1e"  # ends the region tag


def email_key(expr: pl.Expr, *, gmail_canonical: bool = True) -> pl.Expr:
    """One key per mailbox: lower-case address, or null when it is not an address.

    One chain (see names.null_if_empty for why): an anchored extract is the validity check.
    """
    key = (
        expr.cast(pl.String)
        .str.normalize("NFKC")  # full-width and styled forms, before case (see fold_text)
        .str.strip_chars()
        .str.to_lowercase()
        .str.replace(r"^mailto:", "")
        .str.strip_chars("<> \t\"'")
        .str.extract(f"({_EMAIL_RE})", 1)
    )
    if not gmail_canonical:
        return key
    key = key.str.replace(r"^([^@+]+)(?:\+[^@]*)?@(?:gmail|googlemail)\.com$", "${1}@gmail.com")
    # Gmail ignores every dot of the local part; ".@gmail.com" loses all of it: no mailbox
    local = key.str.extract(r"^([^@]*)@gmail\.com$", 1).str.replace_all(".", "", literal=True)
    return pl.when(local.is_null()).then(key).when(local == "").then(None).otherwise(local + "@gmail.com")


def emails_key(list_expr: pl.Expr, *, gmail_canonical: bool = True) -> pl.Expr:
    """Keys of every address in a list, nulls and duplicates dropped, first occurrence kept."""
    return _clean_list(list_expr.list.eval(email_key(pl.element(), gmail_canonical=gmail_canonical)))


def _clean_list(list_expr: pl.Expr) -> pl.Expr:
    """Nulls and duplicates out, first occurrence kept. Deliberately outside list.eval: an
    elementwise eval runs once over all elements, a drop_nulls/unique inside it once per row."""
    return list_expr.list.drop_nulls().list.unique(maintain_order=True)


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


def phone_e164(expr: pl.Expr, default_region: str | pl.Expr = "US") -> pl.Expr:
    """One phone number -> E.164, vectorised; null when it cannot be told.

    `default_region` is the ISO alpha-2 region used for numbers written without an international
    prefix: a constant, or an expression giving one region per row. The rules need the digits
    and the region's codes several times, so they run as eager column steps on each batch
    (`_e164_frame`), computing each intermediate once; still no Python per row.
    """
    region = pl.lit(default_region) if isinstance(default_region, str) else default_region
    return pl.struct(expr.cast(pl.String).alias("raw"), region.cast(pl.String).alias("region")).map_batches(
        _e164_batch, return_dtype=pl.String, is_elementwise=True
    )


def _e164_batch(batch: pl.Series) -> pl.Series:
    return _e164_frame(batch.struct.unnest()).to_series()


def _e164_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """raw, region -> e164 (one column), by column steps."""
    table = region_table().lazy()
    return (
        frame.lazy()
        .with_columns(
            text=pl.col("raw")
            .str.to_lowercase()
            .str.replace(r"\s*(?:ext\.?|extension|x|#|;ext=|;)\s*\d*\s*$", "")
            .str.replace_all(r"\(0\)", "")
            .str.strip_chars(),
            region=pl.col("region").str.to_uppercase(),
        )
        .with_columns(
            has_plus=pl.col("text").str.starts_with("+"),
            digits=pl.col("text").str.replace_all(r"\D", ""),
        )
        .join(table, on="region", how="left", maintain_order="left")
        .with_columns(n=pl.col("digits").str.len_chars(), trunk_len=pl.col("trunk").str.len_chars())
        .with_columns(
            international=pl.when(pl.col("has_plus"))
            .then(pl.col("digits"))
            .when(pl.col("digits").str.starts_with("00"))
            .then(pl.col("digits").str.slice(2))
            .when((pl.col("cc") == "1") & pl.col("digits").str.starts_with("011"))
            .then(pl.col("digits").str.slice(3)),
            national=pl.when(
                (pl.col("trunk_len") > 0)
                & pl.col("digits").str.starts_with(pl.col("trunk"))
                & ((pl.col("trunk") == "0") | (pl.col("n") > pl.col("max_len")))
            )
            .then(pl.col("digits").str.slice(pl.col("trunk_len")))
            .otherwise(pl.col("digits")),
        )
        .with_columns(
            national=pl.when(
                pl.col("national").str.len_chars().is_between(_MIN_NATIONAL_DIGITS, pl.col("max_len"))
            ).then(pl.concat_str([pl.col("cc"), pl.col("national")]))
        )
        .with_columns(full=pl.coalesce("international", "national"))
        .select(
            pl.when(
                pl.col("full").str.len_chars().is_between(_MIN_E164_DIGITS, _MAX_E164_DIGITS)
                & ~pl.col("full").str.starts_with("0")
            )
            .then(pl.concat_str([pl.lit("+"), pl.col("full")]))
            .alias("e164")
        )
        .collect()
    )


def phones_e164(list_expr: pl.Expr, default_region: str | pl.Expr = "US") -> pl.Expr:
    """E.164 of every number in a list, nulls and duplicates dropped, first occurrence kept.

    `default_region` may differ per row (the person's country). A list evaluation cannot see
    other columns, so each element is first tagged with its row's region ("GB\x1e020 7946 0958")
    by one string replacement, then split and read back inside the list: still no Python per row.
    """
    if isinstance(default_region, str):
        return _clean_list(list_expr.list.eval(phone_e164(pl.element(), default_region)))
    prefix = pl.concat_str([default_region.fill_null("").str.slice(0, 2), pl.lit(_TAG)])
    joined = list_expr.list.eval(pl.element().str.replace_all(f"[{_SEP}{_TAG}]", " ")).list.join(_SEP)
    tagged = pl.concat_str(
        [prefix, joined.str.replace_all(_SEP, pl.concat_str([pl.lit(_SEP), prefix]), literal=True)]
    )
    element = pl.element()
    return _clean_list(
        tagged.str.split(_SEP).list.eval(
            phone_e164(
                element.str.extract(f"^[^{_TAG}]*{_TAG}(.*)$", 1),
                element.str.extract(f"^([^{_TAG}]*){_TAG}", 1),
            )
        )
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
