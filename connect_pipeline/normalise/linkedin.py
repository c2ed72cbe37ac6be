"""A LinkedIn profile URL in any of its spellings -> one canonical slug.

Seen in ATS fields and resumes: with or without scheme, "www." or a country subdomain
("uk.", "de.", "m."), "/in/<slug>" or the legacy "/pub/<name>/<a>/<b>/<c>", mixed case, a
trailing slash, a locale suffix ("/in/jane-doe/en"), a query string or a fragment, or just
"linkedin.com/in/jane-doe" pasted into a text field.

Legacy public URLs redirect to a modern slug made of the name and the three path parts in
reverse order: "/pub/krzysztof-marzec/a7/576/b50" -> "/in/krzysztof-marzec-b50576a7", so that is
the key we produce for them too. Anything that is not a person's LinkedIn profile (a company
page, another site, a bare slug) yields null: a wrong key is worse than none.
"""

from __future__ import annotations

import polars as pl

_HOST = r"^(?:[a-z][a-z0-9+.-]*:/+)?(?:[a-z0-9-]+\.)*linkedin\.com(?::\d+)?/"
_IN = _HOST + r"in/([^/?#\s]+)"
_PUB = _HOST + r"pub/([^/?#\s]+)/([0-9a-z]{1,3})/([0-9a-z]{1,3})/([0-9a-z]{1,3})(?:[/?#]|$)"


def linkedin_slug(expr: pl.Expr) -> pl.Expr:
    """The canonical profile slug, lower-case, percent-escapes kept as lower-case hex; or null."""
    return (
        expr.cast(pl.String)
        .str.normalize("NFKC")  # full-width and styled forms, before case (see names.fold_text)
        .str.strip_chars()
        .str.to_lowercase()
        .str.replace(_PUB, "linkedin.com/in/${1}-${4}${3}${2}/")  # legacy form -> modern form
        .str.extract(_IN, 1)
        .str.strip_chars("-_. ")
        .replace("", None)
    )


def linkedin_slugs(list_expr: pl.Expr) -> pl.Expr:
    """Slugs of every URL in a list, nulls and duplicates dropped, first occurrence kept."""
    # Elementwise inside list.eval (one pass over all elements), cleaning outside it.
    slugs = list_expr.list.eval(linkedin_slug(pl.element()))
    return slugs.list.drop_nulls().list.unique(maintain_order=True)
