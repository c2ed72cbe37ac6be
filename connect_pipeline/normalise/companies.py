"""Company names as matching keys: "Acme, Inc." == "ACME Corporation" == "acme corp" == "acme".

The same employer is written with and without its legal form, with "&" or "and", with or without
dots and commas. The key folds all of that away and keeps the words that name the company. Legal
forms are dropped only at the end (repeatedly: "Acme Holdings Co. Ltd" -> "acme"), never in the
middle ("The Company Store" keeps its words); a name that is nothing but a legal form keeps it.
"""

from __future__ import annotations

import polars as pl

from connect_pipeline.normalise.names import fold_text, null_if_empty

# Trailing legal forms and corporate filler, already without dots (they are removed first).
LEGAL_SUFFIXES: tuple[str, ...] = (
    "inc", "incorporated", "corp", "corporation", "llc", "llp", "lp", "ltd", "limited", "plc",
    "co", "company", "cos", "companies", "group", "holding", "holdings", "gmbh", "ag", "kg",
    "kgaa", "se", "sa", "sas", "sarl", "sl", "slu", "spa", "srl", "sro", "bv", "nv", "vof", "oy",
    "oyj", "ab", "as", "asa", "aps", "pty", "pte", "pvt", "private", "public", "kk", "cv", "de",
    "rl", "mbh", "ug", "ohg", "eirl", "eurl", "ltda", "sc", "sp zoo", "zoo", "intl",
    "international", "and",
)
_SUFFIX_RE = r"(?:\s+(?:" + "|".join(sorted(LEGAL_SUFFIXES, key=len, reverse=True)) + r"))+$"


def company_key(expr: pl.Expr) -> pl.Expr:
    """Folded company name without punctuation or trailing legal forms; null if empty."""
    # Every suffix needs a space before it, so the first word always survives the stripping.
    return (
        fold_text(expr)
        .str.replace_all(r"\.", "")  # "s.a." -> "sa", "Inc." -> "inc"
        .str.replace_all(r"\s*[&+]\s*", " and ")
        .str.replace_all(r"\b([a-z])/([a-z])\b", "$1$2")  # "a/s" -> "as"
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
        .str.replace(r"^the\s+", "")
        .str.replace(_SUFFIX_RE, "")
        .pipe(null_if_empty)
    )


def companies_key(list_expr: pl.Expr) -> pl.Expr:
    """Every company in a list keyed, without nulls or duplicates (first occurrence kept)."""
    return _clean_list(list_expr.list.eval(company_key(pl.element())))


def _clean_list(list_expr: pl.Expr) -> pl.Expr:
    # Outside list.eval on purpose: an elementwise eval runs once over all elements, while
    # drop_nulls/unique inside it would run once per row.
    return list_expr.list.drop_nulls().list.unique(maintain_order=True)
