"""Company names as matching keys: "Acme, Inc." == "ACME Corporation" == "acme corp" == "acme".

The same employer is written with and without its legal form, with "&" or "and", with or without
dots and commas. The key folds all of that away and keeps the words that name the company. Legal
forms are dropped only at the end (repeatedly: "Acme Holdings Co. Ltd" -> "acme"), never in the
middle ("The Company Store" keeps its words); a name that is nothing but a legal form keeps it.
"""

from __future__ import annotations

import polars as pl

from connect_pipeline.normalise.names import fold_text

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
    text = fold_text(expr)
    words = (
        text.str.replace_all(r"\.", "")  # "s.a." -> "sa", "Inc." -> "inc"
        .str.replace_all(r"\s*[&+]\s*", " and ")
        .str.replace_all(r"\b([a-z])/([a-z])\b", "$1$2")  # "a/s" -> "as"
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
        .str.replace(r"^the\s+", "")
    )
    stripped = words.str.replace(_SUFFIX_RE, "").str.strip_chars()
    key = pl.when(stripped.str.len_bytes() > 0).then(stripped).otherwise(words)
    return pl.when(key.str.len_bytes() > 0).then(key)


def companies_key(list_expr: pl.Expr) -> pl.Expr:
    """Every company in a list keyed, without nulls or duplicates (first occurrence kept)."""
    return list_expr.list.eval(company_key(pl.element()).drop_nulls().unique(maintain_order=True))
