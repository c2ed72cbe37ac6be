"""Phone numbers written the many ways people write them.

One small template language serves both sides: the vectorised profile generator (Polars
expressions over a column of national numbers) and the per-candidate ATS noise (plain Python).
Sharing it keeps "the same number, another format" honest: both sides render one national number.
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from connect_pipeline.testkit.world.pools import COUNTRIES, NANP_TEMPLATES, PHONE_TEMPLATES, Country

_TOKEN = re.compile(r"\{(cc|t|a|b|c|g[ .\-]?)\}")


def templates_for(country: Country) -> tuple[str, ...]:
    """The layouts that make sense for a country (no "(0)" where there is no trunk prefix)."""
    if country.cc == "1":
        return NANP_TEMPLATES
    if not country.trunk:
        return tuple(t for t in PHONE_TEMPLATES if "({t})" not in t)
    return PHONE_TEMPLATES


def _groups(nsn: str, grouping: tuple[int, ...]) -> list[str]:
    out, pos = [], 0
    for size in grouping:
        out.append(nsn[pos:pos + size])
        pos += size
    if pos < len(nsn):
        out[-1] += nsn[pos:]
    return out


def format_phone(country: Country, nsn: str, grouping: tuple[int, ...], template: str) -> str:
    """Render one national significant number with one template."""
    groups = _groups(nsn, grouping)

    def token(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "cc":
            return country.cc
        if name == "t":
            return country.trunk
        if name in ("a", "b", "c"):
            return (nsn[:3], nsn[3:6], nsn[6:])["abc".index(name)]
        return (name[1:] if len(name) > 1 else "").join(groups)

    return _TOKEN.sub(token, template)


def _expr(country: Country, grouping: tuple[int, ...], template: str) -> pl.Expr:
    """The same rendering as format_phone, as a Polars expression over column "nsn"."""
    parts: list[pl.Expr] = []
    pos = 0
    nsn = pl.col("nsn")
    for match in _TOKEN.finditer(template):
        if match.start() > pos:
            parts.append(pl.lit(template[pos:match.start()]))
        name = match.group(1)
        if name == "cc":
            parts.append(pl.lit(country.cc))
        elif name == "t":
            parts.append(pl.lit(country.trunk))
        elif name in ("a", "b", "c"):
            start = 3 * "abc".index(name)
            parts.append(nsn.str.slice(start, 3 if name != "c" else None))
        else:
            sep = name[1:] if len(name) > 1 else ""
            offset = 0
            for i, size in enumerate(grouping):
                if i:
                    parts.append(pl.lit(sep))
                last = i == len(grouping) - 1
                parts.append(nsn.str.slice(offset, None if last else size))
                offset += size
        pos = match.end()
    if pos < len(template):
        parts.append(pl.lit(template[pos:]))
    return pl.concat_str(parts)


def random_nsn(rng: np.random.Generator, prefix: str, n_random: int, size: int) -> pl.Series:
    """National numbers: the prefix then random digits, the first of them never 0 or 1."""
    lead = rng.integers(2, 10, size=size)
    rest = rng.integers(0, 10 ** (n_random - 1), size=size) if n_random > 1 else np.zeros(size, np.int64)
    numbers = pl.Series(lead * 10 ** (n_random - 1) + rest).cast(pl.String)
    return (prefix + numbers).alias("nsn")


# A group of numbers (one country, one number spec) at most this large is rendered in Python
# (``format_phone``); a larger one by a Polars expression (``_expr``). Both render the same
# strings; an expression costs a few milliseconds to build and plan whatever the group's size,
# and a small world has hundreds of groups of a few rows.
PYTHON_GROUP_MAX = 2_000


def _render(
    country: Country, grouping: tuple[int, ...], templates: tuple[str, ...], nsn: pl.Series, tmpl: np.ndarray
) -> pl.Series:
    """Each national number in the template its row drew, the cheaper way for the group's size."""
    if len(nsn) <= PYTHON_GROUP_MAX:
        return pl.Series(
            "phone",
            [format_phone(country, number, grouping, templates[t]) for number, t in zip(nsn.to_list(), tmpl.tolist())],
            dtype=pl.String,
        )
    expr = pl.when(pl.col("tmpl") == 0).then(_expr(country, grouping, templates[0]))
    for t in range(1, len(templates)):
        expr = expr.when(pl.col("tmpl") == t).then(_expr(country, grouping, templates[t]))
    return pl.DataFrame({"nsn": nsn, "tmpl": tmpl}).select(expr.alias("phone")).to_series()


def phone_column(rng: np.random.Generator, country_id: np.ndarray, has_phone: np.ndarray) -> pl.DataFrame:
    """Per row: a formatted phone (or null) plus the national number and spec index behind it.

    Returns columns phone, phone_nsn, phone_spec (index into the country's number specs).
    """
    n = len(country_id)
    frames: list[pl.DataFrame] = []
    for ci, country in enumerate(COUNTRIES.values()):
        rows = np.flatnonzero((country_id == ci) & has_phone)
        if not len(rows):
            continue
        spec = rng.integers(0, len(country.numbers), size=len(rows))
        templates = templates_for(country)
        tmpl = rng.integers(0, len(templates), size=len(rows))
        for k, (prefix, n_random, grouping) in enumerate(country.numbers):
            sel = spec == k
            if not sel.any():
                continue
            nsn = random_nsn(rng, prefix, n_random, int(sel.sum()))
            frames.append(pl.DataFrame({
                "row": pl.Series(rows[sel], dtype=pl.Int64),
                "phone": _render(country, grouping, templates, nsn, tmpl[sel]),
                "phone_nsn": nsn,
                "phone_spec": pl.Series([k] * len(nsn), dtype=pl.Int8),
            }))
    base = pl.DataFrame({"row": np.arange(n, dtype=np.int64)})
    if not frames:
        return base.with_columns(
            phone=pl.lit(None, pl.String), phone_nsn=pl.lit(None, pl.String), phone_spec=pl.lit(None, pl.Int8)
        ).drop("row")
    found = pl.concat(frames)
    return base.join(found, on="row", how="left").sort("row").drop("row")
