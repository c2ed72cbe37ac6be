"""A cheap first pass over the blocked pairs: keep the best few profiles per candidate.

Why: prediction cost 75-93 % of every large run (3.4-6.3 microseconds per pair), and almost
every blocked pair is a namesake far below the threshold. The model only ever publishes the
best profile per candidate, so scoring the twentieth namesake of a "james smith" buys nothing
as long as the true profile is among those scored.

The first pass ranks a candidate's blocked pairs without any string similarity, from what the
key index already returned (``key_index.lookup_pairs``): the *agreement pattern* (which keys the
pair shares, a bit set) and, for each shared key, the size of the block it came from. A shared
key carries ``log2(profiles / block size)`` bits: the evidence a shared value carries when it
is as common as its block says (a LinkedIn slug, block of one:
about 23 bits on 10M profiles; a common first name in a large city: a few). It is the same
quantity the model's term-frequency adjusted u probabilities express, read off the index
instead of computed per pair.

Keys made of the names alone (``BlockingKey.names_only``: "first+last", its prefix, how the
names sound, surname + initial, the swapped names) say one thing several times, so only the
strongest of them counts; every other shared key adds. A big name block entered through its
refinement (the names plus the city or an employer, ``key_index.refinements``) counts as its
key, with the refined block's smaller size: its bits include what the place or employer adds. Summed, thirty namesakes sharing only
the old name outscored, and cut, the one profile that shares the given name with the employer
and the city of a candidate whose surname changed.

Pairs that share an identifier (LinkedIn, e-mail, phone: ``BlockingKey.identifier``) rank before
all others, most identifiers first: no amount of shared name or place outweighs one.

The bound: the ``bound`` best profiles per candidate, and every profile tied with the last of
them. The first pass sees only which keys agree, so namesakes sharing the same keys are equal to
it, while the model still tells them apart (a similar title or employer, a nearby city): cutting
through such a tie by id would choose the profile the model sees at random, and the true one
could be left out while a namesake is scored alone and published. Ties are kept up to
``TIE_FACTOR`` times the bound; past that, the rarest shared block and then the profile id
decide (so a rerun keeps the same pairs). A true match is lost only when more profiles than
that share at least as much evidence with the candidate, or when its shared keys are all
commoner than those of ``bound`` others. The default was chosen from measured recall
(``LinkConfig.first_pass_bound``).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
from splink import block_on
from splink.internals.blocking_rule_creator import BlockingRuleCreator

DEFAULT_BOUND = 10
TIE_FACTOR = 5
"""Profiles tied with the bound-th are kept up to this many times the bound."""
CANDIDATES_PER_SLICE = 250_000
"""Candidates whose key hits are held at once: the first pass's memory follows the slice, not
the tenant (a million candidates against ten million profiles hit several hundred million
index rows)."""
"""Profiles kept per candidate; see ``LinkConfig.first_pass_bound`` for the measurements."""


@dataclass(frozen=True)
class FirstPass:
    """Key hits before the first pass (a pair sharing two keys counts twice), pairs kept, and
    candidates that have any."""

    key_hits: int
    kept_pairs: int
    candidates: int


def keep_best(
    con: duckdb.DuckDBPyConnection,
    blocked: str,
    out_table: str,
    n_profiles: int,
    bound: int = DEFAULT_BOUND,
    append: bool = False,
    identifier_keys: tuple[int, ...] = (),
    name_keys: tuple[int, ...] = (),
) -> FirstPass:
    """``out_table`` (``ats_uid``, ``pid``, ``keys`` bit set, ``score``, ``rarest``) from
    ``blocked`` (``key_index.lookup_pairs``' rows): the ``bound`` best profiles per candidate
    and those tied with the last of them, at most ``TIE_FACTOR * bound``. ``identifier_keys``
    are the positions of the identifier keys in ``blocked.key``: pairs sharing more of them rank
    first. ``name_keys`` are those of the keys made of the names alone
    (``BlockingKey.names_only``): a pair's score counts the strongest of them, plus every
    other key it shares.

    ``append`` adds to an existing ``out_table`` (a run passes its candidates in slices, so the
    blocked pairs of one slice at a time are held); the figures are the slice's."""
    if bound < 1:
        raise ValueError(f"the first pass must keep at least one profile per candidate, got {bound}")
    total = max(int(n_profiles), 1)
    ids = ", ".join(str(int(k)) for k in identifier_keys)
    identifiers = f"count(DISTINCT key) FILTER (WHERE key IN ({ids}))" if ids else "0"
    bits = f"log2({total}::DOUBLE / greatest(n, 1))"
    names = ", ".join(str(int(k)) for k in name_keys)
    score = (
        f"coalesce(max({bits}) FILTER (WHERE key IN ({names})), 0) "
        f"+ coalesce(sum({bits}) FILTER (WHERE key NOT IN ({names})), 0)"
        if names else f"sum({bits})"
    )
    head = f"INSERT INTO {out_table}" if append else f"CREATE OR REPLACE TABLE {out_table} AS"
    before = int(con.execute(f"SELECT count(*) FROM {out_table}").fetchall()[0][0]) if append else 0
    before_candidates = int(
        con.execute(f"SELECT count(DISTINCT ats_uid) FROM {out_table}").fetchall()[0][0]
    ) if append else 0
    con.execute(
        f"""
        {head}
        SELECT ats_uid, pid, bit_or(1::BIGINT << key) AS keys,
               {score} AS score, min(n) AS rarest
        FROM {blocked}
        GROUP BY ats_uid, pid
        QUALIFY rank() OVER (PARTITION BY ats_uid ORDER BY {identifiers} DESC, score DESC) <= {int(bound)}
            AND row_number() OVER (PARTITION BY ats_uid ORDER BY {identifiers} DESC, score DESC, rarest, pid)
                <= {int(bound) * TIE_FACTOR}
        """
    )
    key_hits = int(con.execute(f"SELECT count(*) FROM {blocked}").fetchall()[0][0])
    kept, candidates = con.execute(
        f"SELECT count(*), count(DISTINCT ats_uid) FROM {out_table}"
    ).fetchall()[0]
    return FirstPass(key_hits, int(kept) - before, int(candidates) - before_candidates)


KEPT_IDS = "kept_ids"
"""The column the kept pairs are scored through: on a candidate, the ids of its kept profiles;
on a profile, its own id. Blocking on it (exploded) yields exactly the kept pairs."""


def splink_rule() -> BlockingRuleCreator:
    """The one blocking rule prediction uses after a first pass."""
    return block_on(KEPT_IDS, arrays_to_explode=[KEPT_IDS])


def attach_kept(
    con: duckdb.DuckDBPyConnection, ats: str, profiles: str, kept: str
) -> None:
    """Give ``ats`` its kept profiles' ids and ``profiles`` (fetched with ``pid``) its own id in
    ``KEPT_IDS``; ``pid`` leaves ``profiles``, whose columns then match ``ats``'s."""
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {ats} AS
        SELECT a.*, k.{KEPT_IDS} FROM {ats} a LEFT JOIN (
            SELECT kp.ats_uid, list(p.unique_id ORDER BY p.unique_id) AS {KEPT_IDS}
            FROM {kept} kp JOIN {profiles} p USING (pid) GROUP BY kp.ats_uid
        ) k ON a.unique_id = k.ats_uid
        ORDER BY a.rowid
        """
    )
    con.execute(
        f"CREATE OR REPLACE TABLE {profiles} AS "
        f"SELECT * EXCLUDE (pid), [unique_id] AS {KEPT_IDS} FROM {profiles} ORDER BY pid"
    )


def add_own_id(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Give another profile-side input (the u sample) the same ``KEPT_IDS`` column."""
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT *, [unique_id] AS {KEPT_IDS} FROM {table}")
