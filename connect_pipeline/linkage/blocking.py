"""Blocking keys: which pairs are worth scoring, their cost, and the profile subset they imply.

Each key is defined once (``BlockingKey``) and yields three things that must agree:

* the Splink blocking rule used for prediction;
* a pre-filter pair count computed with a group-by on each side (sum over key values of
  left count x right count), the same computation as Splink's ``n_largest_blocks``. Splink 5's
  ``count_comparisons_from_blocking_rules`` counts by materialising the blocked pairs (on a
  sample), which is exactly what must never happen for an exploding rule, so the decision to
  drop a rule uses this group-by count;
* a semi-join that keeps only the profiles sharing at least one kept key with the ATS side, so
  Splink never sees the millions of profiles no candidate could be compared with.

A rule over the limit loses only its largest blocks (the commonest names, the largest
employers), not all of its pairs: the blocks are left out largest first until the rule fits.
Dropping the whole rule (as a first version did) took every candidate's name rule away on a
large index because of a few hundred "John Smith"-like blocks, and recall with it. The left-out
values are written to a table; the ATS side's key is null for them (a derived column the
trimmed rule blocks on), so those blocks produce no pair whatever the profile side holds.
Asymmetric keys (a name recorded the other way round) cannot be trimmed that way, because Splink
may put either input on either side of a pair; they are still dropped whole.

The full profile features stay in Parquet and are only scanned by DuckDB.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from typing import Callable

import duckdb
from splink import block_on
from splink.blocking_rule_library import CustomRule
from splink.internals.blocking_rule_creator import BlockingRuleCreator

from connect_pipeline.linkage.tables import TABLES, Tables

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BlockingKey:
    """A conjunction of equalities on SQL expressions; ``explode`` lists array columns to unnest.

    ``right_exprs``, when given, are the expressions of the right-hand record, paired in order
    with ``exprs`` on the left-hand one. That is how a key compares *different* columns, e.g. a
    given name recorded as the family name. Splink may put either input on either side of a
    pair, so an asymmetric key is only complete together with its mirror (``mirrored``).
    """

    name: str
    exprs: tuple[str, ...]
    explode: tuple[str, ...] = ()
    right_exprs: tuple[str, ...] | None = None
    left_out: str | None = None
    """A table of key values (``k0, k1, ...``) whose blocks are left out (see ``trim``)."""
    identifier: bool = False
    """The key is an identifier of one person (LinkedIn, e-mail, phone): sharing it is evidence
    no amount of name agreement outweighs, so the first pass ranks such pairs first."""
    names_only: bool = False
    """The key is made of the names alone: several such keys shared say one thing (the names
    agree), so the first pass counts only the strongest of them."""

    @property
    def slug(self) -> str:
        """The name as it can appear in a table or column name."""
        return re.sub(r"\W+", "_", self.name)

    @property
    def block_column(self) -> str:
        """The derived column a trimmed key blocks on (see ``add_block_columns``)."""
        return f"block_{self.slug}"

    def mirrored(self, name: str) -> "BlockingKey":
        """The same key with the two sides' expressions exchanged."""
        if self.right_exprs is None:
            return self
        return replace(self, name=name, exprs=self.right_exprs, right_exprs=self.exprs)

    def splink_rule(self) -> BlockingRuleCreator:
        if self.left_out is not None:
            col = self.block_column
            return block_on(col, arrays_to_explode=[col] if self.explode else None)
        if self.right_exprs is None:
            return block_on(*self.exprs, arrays_to_explode=list(self.explode) or None)
        condition = " AND ".join(
            f"{_on_side(left, 'l')} = {_on_side(right, 'r')}"
            for left, right in zip(self.exprs, self.right_exprs)
        )
        return CustomRule(condition, sql_dialect="duckdb", arrays_to_explode=list(self.explode) or None)

    def keys_sql(self, relation: str, side: str = "left") -> str:
        """``unique_id, k0, k1, ...`` rows of a relation for this key (nulls never block).

        ``side`` says which expressions apply: the left input's (``exprs``) or the right's.
        """
        exprs = self.right_exprs if side == "right" and self.right_exprs is not None else self.exprs
        if self.explode:
            unnested = ", ".join(f"unnest({c}) AS {c}" for c in self.explode)
            source = f"(SELECT * EXCLUDE ({', '.join(self.explode)}), {unnested} FROM {relation})"
        else:
            source = relation
        cols = ", ".join(f"{e} AS k{i}" for i, e in enumerate(exprs))
        not_null = " AND ".join(f"({e}) IS NOT NULL" for e in exprs)
        sql = f"SELECT DISTINCT unique_id, {cols} FROM {source} WHERE {not_null}"
        if self.left_out is not None and side == "left":
            sql = f"SELECT * FROM ({sql}) ANTI JOIN {self.left_out} USING ({self.key_columns})"
        return sql

    @property
    def key_columns(self) -> str:
        return ", ".join(f"k{i}" for i in range(len(self.exprs)))


# Model columns an asymmetric key's expressions may reference (qualified by `_on_side`).
_RELATION_COLUMNS = (
    "unique_id",
    "first_name",
    "first_name_canonical",
    "last_name",
    "city",
    "company",
    "companies",
    "linkedin_slug",
    "emails",
    "phones",
    "phone_tails",
)

def _on_side(expr: str, side: str) -> str:
    """Qualify the model columns an expression uses with a Splink side (``l`` or ``r``)."""
    pattern = r"\b(" + "|".join(sorted(_RELATION_COLUMNS, key=len, reverse=True)) + r")\b"
    return re.sub(pattern, lambda m: f"{side}.{m.group(1)}", expr)


# Given and family name recorded the other way round (common for East Asian, Hungarian and
# Vietnamese names, and in forms that ask for "surname, name"): no key above can bring such a
# pair together. The family name must agree exactly; the given name only by its initial, so a
# swap combined with a transliteration or a typo is still compared (and scored by the model).
_SWAPPED_NAMES = BlockingKey(
    "swapped_names", ("first_name", "substr(last_name, 1, 1)"),
    right_exprs=("last_name", "substr(first_name, 1, 1)"), names_only=True,
)

# The swapped names beside the city or an employer, as the names in their order have
# "last_name+city" and "last_name+company". Where names are few (a family name shared by one
# person in seven), the swapped names alone tie with every namesake of that order, and the first
# pass, which sees only which keys a pair shares, kept a random fifty of them: these keys let it
# see the place or employer a swapped pair shares.
_SWAPPED_IN_CITY = BlockingKey(
    "swapped_names_in_city", ("first_name", "substr(last_name, 1, 1)", "city"),
    right_exprs=("last_name", "substr(first_name, 1, 1)", "city"),
)
_SWAPPED_AT_EMPLOYER = BlockingKey(
    "swapped_names_at_employer", ("first_name", "substr(last_name, 1, 1)", "companies"), ("companies",),
    right_exprs=("last_name", "substr(first_name, 1, 1)", "companies"),
)

# Ordered strongest first: Splink attributes a pair to the first rule that produced it.
DEFAULT_BLOCKING_KEYS: tuple[BlockingKey, ...] = (
    BlockingKey("linkedin_slug", ("linkedin_slug",), identifier=True),
    BlockingKey("email", ("emails",), ("emails",), identifier=True),
    # the number's last digits, so a wrong country code does not keep a pair apart
    BlockingKey("phone", ("phone_tails",), ("phone_tails",), identifier=True),
    BlockingKey("first_name+last_name", ("first_name_canonical", "last_name"), names_only=True),
    # catches last-name typos past the third letter and unresolved nicknames sharing an initial
    BlockingKey("first_name+last_name_prefix", ("first_name_canonical", "substr(last_name, 1, 3)"), names_only=True),
    # both names mistyped, misheard or transliterated ("katherine nuemann" / "catherine
    # neumann"): their sounds (Metaphone, see ``normalise.names.phonetic_key``) still agree
    BlockingKey("phonetic_names", ("first_name_phonetic", "last_name_phonetic"), names_only=True),
    # a given name written as an initial ("j. smith"), mistyped, or a diminutive no table knows,
    # beside a family name that agrees: the classic surname + initial key
    BlockingKey("last_name+first_initial", ("last_name", "substr(first_name, 1, 1)"), names_only=True),
    BlockingKey("last_name+company", ("last_name", "companies"), ("companies",)),
    # a married-name change: same person, new last name, known company
    BlockingKey("first_name+company", ("first_name_canonical", "companies"), ("companies",)),
    # one name mistyped, changed or missing, and no identifier or employer to fall back on:
    # where someone lives is then the only other thing both sides know (bounded like every key)
    BlockingKey("last_name+city", ("last_name", "city")),
    BlockingKey("first_name+city", ("first_name_canonical", "city")),
    BlockingKey("name_prefixes+city", ("substr(first_name, 1, 2)", "substr(last_name, 1, 2)", "city")),
    _SWAPPED_NAMES,
    _SWAPPED_NAMES.mirrored("swapped_names_mirror"),
    _SWAPPED_IN_CITY,
    _SWAPPED_IN_CITY.mirrored("swapped_names_in_city_mirror"),
    _SWAPPED_AT_EMPLOYER,
    _SWAPPED_AT_EMPLOYER.mirrored("swapped_names_at_employer_mirror"),
)


@dataclass
class BlockingPlan:
    kept: list[BlockingKey]
    dropped: dict[str, int]
    pre_filter_counts: dict[str, int]
    """Pairs each key would generate on the full inputs, before any block is left out."""
    left_out: dict[str, int] = field(default_factory=dict)
    """Pairs of the blocks left out of a trimmed key."""

    def pairs(self, key: BlockingKey) -> int:
        """Pairs a kept key generates (its count less the blocks left out)."""
        return self.pre_filter_counts.get(key.name, 0) - self.left_out.get(key.name, 0)


def _blocks_sql(key: BlockingKey, left: str, right: str, right_counts: str | None) -> str:
    """``k0, ..., pairs`` per key value: left count x right count.

    ``right_counts`` is a relation already holding the right side's ``k0, ..., n`` (the
    snapshot's block sizes); without it the right side is counted here.
    """
    r = right_counts or (
        f"(SELECT {key.key_columns}, count(*) AS n FROM ({key.keys_sql(right, 'right')}) GROUP BY ALL)"
    )
    return f"""
        WITH l AS (SELECT {key.key_columns}, count(*) AS n FROM ({key.keys_sql(left)}) GROUP BY ALL)
        SELECT {key.key_columns}, l.n * r.n AS pairs FROM l JOIN {r} r USING ({key.key_columns})
    """


def count_pairs(
    con: duckdb.DuckDBPyConnection, key: BlockingKey, left: str, right: str,
    right_counts: str | None = None,
) -> int:
    """Upper bound on the pairs a key generates: sum of left x right counts per key value."""
    sql = f"SELECT coalesce(sum(pairs), 0)::HUGEINT FROM ({_blocks_sql(key, left, right, right_counts)})"
    return int(con.execute(sql).fetchall()[0][0])


def trim(
    con: duckdb.DuckDBPyConnection, key: BlockingKey, left: str, right: str, limit: int,
    right_counts: str | None = None, tables: Tables = TABLES,
) -> tuple[BlockingKey, int, list[int]]:
    """Leave out a key's largest blocks until it generates at most ``limit`` pairs.

    The left-out key values go to ``tables.left_out(key)``. Returns the trimmed key, the pairs
    left out, and the sizes of the largest blocks left out. Ties are broken by key value, so
    the same inputs always leave out the same blocks.
    """
    table = tables.left_out(key)
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {table} AS
        WITH b AS ({_blocks_sql(key, left, right, right_counts)}),
        c AS (
            SELECT *, sum(pairs) OVER (ORDER BY pairs DESC, {key.key_columns}
                                       ROWS UNBOUNDED PRECEDING) AS cum,
                   sum(pairs) OVER () AS total
            FROM b
        )
        SELECT {key.key_columns}, pairs FROM c WHERE total - (cum - pairs) > {int(limit)}
        """
    )
    left_out, = con.execute(f"SELECT coalesce(sum(pairs), 0)::HUGEINT FROM {table}").fetchall()[0]
    largest = [int(r[0]) for r in con.execute(f"SELECT pairs FROM {table} ORDER BY pairs DESC LIMIT 3").fetchall()]
    return replace(key, left_out=table), int(left_out), largest


def plan_blocking(
    con: duckdb.DuckDBPyConnection,
    keys: tuple[BlockingKey, ...] | list[BlockingKey],
    left: str,
    right: str,
    max_pairs_per_rule: int,
    right_counts: Callable[[BlockingKey], str | None] = lambda key: None,
    tables: Tables = TABLES,
) -> BlockingPlan:
    """Count every key on the full inputs; trim (or, if asymmetric, drop) the ones that explode.

    A trimmed or dropped rule is logged with the sizes of the blocks responsible (sizes only:
    the key values are candidates' names and companies, which must not outlive the run in a log
    line).
    """
    kept: list[BlockingKey] = []
    dropped: dict[str, int] = {}
    counts: dict[str, int] = {}
    left_out: dict[str, int] = {}
    for key in keys:
        pairs = count_pairs(con, key, left, right, right_counts(key))
        counts[key.name] = pairs
        if pairs <= max_pairs_per_rule:
            kept.append(key)
            continue
        if key.right_exprs is None:
            trimmed, out, largest = trim(
                con, key, left, right, max_pairs_per_rule, right_counts(key), tables
            )
            n_blocks = int(con.execute(f"SELECT count(*) FROM {trimmed.left_out}").fetchall()[0][0])
            logger.warning(
                f"blocking rule {key.name} would generate {pairs:,} pairs "
                f"(limit {max_pairs_per_rule:,}); its {n_blocks:,} largest blocks ({out:,} pairs) "
                f"are left out, {pairs - out:,} pairs kept. Largest left out: "
                f"{', '.join(f'{n:,}' for n in largest)} pairs"
            )
            kept.append(trimmed)
            left_out[key.name] = out
            continue
        sql = f"SELECT pairs FROM ({_blocks_sql(key, left, right, right_counts(key))}) ORDER BY pairs DESC LIMIT 3"
        sizes = [f"{row[0]:,}" for row in con.execute(sql).fetchall()]
        logger.warning(
            f"blocking rule {key.name} would generate {pairs:,} pairs "
            f"(limit {max_pairs_per_rule:,}); dropped. Largest blocks: {', '.join(sizes)} pairs"
        )
        dropped[key.name] = pairs
    return BlockingPlan(kept=kept, dropped=dropped, pre_filter_counts=counts, left_out=left_out)


def add_block_columns(
    con: duckdb.DuckDBPyConnection, keys: list[BlockingKey], table: str, side: str
) -> None:
    """Give an input the derived column each trimmed key blocks on.

    The column holds the key's values joined into one string (a list when the key explodes an
    array); on the left (ATS) side the values whose blocks are left out are missing, and a
    null never blocks. Every input Splink sees needs the columns, in the same order, because
    ``link_only`` needs the same columns on both sides.
    """
    for key in keys:
        if key.left_out is None:
            continue
        parts = " || chr(31) || ".join(f"CAST(k{i} AS VARCHAR)" for i in range(len(key.exprs)))
        agg = "list(DISTINCT ks ORDER BY ks)" if key.explode else "min(ks)"
        col = key.block_column
        con.execute(
            f"""
            CREATE OR REPLACE TABLE {table} AS
            SELECT t.*, b.{col} FROM {table} t LEFT JOIN (
                SELECT unique_id, {agg} AS {col}
                FROM (SELECT unique_id, {parts} AS ks FROM ({key.keys_sql(table, side)}))
                GROUP BY unique_id
            ) b USING (unique_id)
            """
        )


def reduce_profiles(
    con: duckdb.DuckDBPyConnection,
    keys: list[BlockingKey],
    left: str,
    right: str,
    out_table: str,
) -> int:
    """Create ``out_table`` with the right-side rows sharing at least one key with the left.

    Blocking on the subset yields exactly the pairs blocking on the full right side would,
    because a pair exists only if its two rows share a key value.
    """
    if not keys:
        con.execute(f"CREATE OR REPLACE TABLE {out_table} AS SELECT * FROM {right} LIMIT 0")
        return 0
    hits = " UNION ".join(
        f"SELECT r.unique_id FROM ({k.keys_sql(right, 'right')}) r "
        f"SEMI JOIN ({k.keys_sql(left)}) l USING ({k.key_columns})"
        for k in keys
    )
    con.execute(
        f"CREATE OR REPLACE TABLE {out_table} AS "
        f"SELECT * FROM {right} WHERE unique_id IN ({hits})"
    )
    return int(con.execute(f"SELECT count(*) FROM {out_table}").fetchall()[0][0])
