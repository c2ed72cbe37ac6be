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

The full profile features stay in Parquet and are only scanned by DuckDB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import duckdb
from splink import block_on
from splink.blocking_rule_library import CustomRule
from splink.internals.blocking_rule_creator import BlockingRuleCreator


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

    def mirrored(self, name: str) -> "BlockingKey":
        """The same key with the two sides' expressions exchanged."""
        if self.right_exprs is None:
            return self
        return BlockingKey(name, self.right_exprs, self.explode, self.exprs)

    def splink_rule(self) -> BlockingRuleCreator:
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
            others = [c for c in _RELATION_COLUMNS if c not in self.explode]
            source = f"(SELECT {', '.join(others)}, {unnested} FROM {relation})"
        else:
            source = relation
        cols = ", ".join(f"{e} AS k{i}" for i, e in enumerate(exprs))
        not_null = " AND ".join(f"({e}) IS NOT NULL" for e in exprs)
        return f"SELECT DISTINCT unique_id, {cols} FROM {source} WHERE {not_null}"

    @property
    def key_columns(self) -> str:
        return ", ".join(f"k{i}" for i in range(len(self.exprs)))


# Columns a keys_sql may reference (the model columns of both sides).
_RELATION_COLUMNS = (
    "unique_id",
    "first_name",
    "first_name_canonical",
    "last_name",
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
    right_exprs=("last_name", "substr(first_name, 1, 1)"),
)

# Ordered strongest first: Splink attributes a pair to the first rule that produced it.
DEFAULT_BLOCKING_KEYS: tuple[BlockingKey, ...] = (
    BlockingKey("linkedin_slug", ("linkedin_slug",)),
    BlockingKey("email", ("emails",), ("emails",)),
    # the number's last digits, so a wrong country code does not keep a pair apart
    BlockingKey("phone", ("phone_tails",), ("phone_tails",)),
    BlockingKey("first_name+last_name", ("first_name_canonical", "last_name")),
    # catches last-name typos past the third letter and unresolved nicknames sharing an initial
    BlockingKey("first_name+last_name_prefix", ("first_name_canonical", "substr(last_name, 1, 3)")),
    BlockingKey("last_name+company", ("last_name", "companies"), ("companies",)),
    # a married-name change: same person, new last name, known company
    BlockingKey("first_name+company", ("first_name_canonical", "companies"), ("companies",)),
    _SWAPPED_NAMES,
    _SWAPPED_NAMES.mirrored("swapped_names_mirror"),
)


@dataclass
class BlockingPlan:
    kept: list[BlockingKey]
    dropped: dict[str, int]
    pre_filter_counts: dict[str, int]


def count_pairs(con: duckdb.DuckDBPyConnection, key: BlockingKey, left: str, right: str) -> int:
    """Upper bound on the pairs a key generates: sum of left x right counts per key value."""
    sql = f"""
        WITH l AS (SELECT {key.key_columns}, count(*) AS n FROM ({key.keys_sql(left)}) GROUP BY ALL),
             r AS (SELECT {key.key_columns}, count(*) AS n FROM ({key.keys_sql(right, 'right')}) GROUP BY ALL)
        SELECT coalesce(sum(l.n * r.n), 0)::HUGEINT FROM l JOIN r USING ({key.key_columns})
    """
    return int(con.execute(sql).fetchall()[0][0])


def largest_blocks(
    con: duckdb.DuckDBPyConnection, key: BlockingKey, left: str, right: str, n: int = 3
) -> list[tuple]:
    """The key values responsible for the most pairs (for the drop warning)."""
    sql = f"""
        WITH l AS (SELECT {key.key_columns}, count(*) AS n FROM ({key.keys_sql(left)}) GROUP BY ALL),
             r AS (SELECT {key.key_columns}, count(*) AS n FROM ({key.keys_sql(right, 'right')}) GROUP BY ALL)
        SELECT {key.key_columns}, l.n * r.n AS pairs FROM l JOIN r USING ({key.key_columns})
        ORDER BY pairs DESC LIMIT {int(n)}
    """
    return con.execute(sql).fetchall()


def plan_blocking(
    con: duckdb.DuckDBPyConnection,
    keys: tuple[BlockingKey, ...] | list[BlockingKey],
    left: str,
    right: str,
    max_pairs_per_rule: int,
    log: Callable[[str], None],
) -> BlockingPlan:
    """Count every key on the full inputs and drop the ones that would explode.

    A dropped rule is logged with the values that made it explode; it is never run.
    """
    kept: list[BlockingKey] = []
    dropped: dict[str, int] = {}
    counts: dict[str, int] = {}
    for key in keys:
        pairs = count_pairs(con, key, left, right)
        counts[key.name] = pairs
        if pairs > max_pairs_per_rule:
            # sizes only: the key values are candidates' names and companies, which must not
            # outlive the run in a log line
            sizes = [f"{row[-1]:,}" for row in largest_blocks(con, key, left, right)]
            log(
                f"WARNING: blocking rule {key.name} would generate {pairs:,} pairs "
                f"(limit {max_pairs_per_rule:,}); dropped. Largest blocks: {', '.join(sizes)} pairs"
            )
            dropped[key.name] = pairs
        else:
            kept.append(key)
    return BlockingPlan(kept=kept, dropped=dropped, pre_filter_counts=counts)


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
