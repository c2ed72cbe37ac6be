"""Figures about the whole profile index that every tenant's link reads: once per snapshot.

A pair's posterior is prior x likelihood ratio over the *population*, so name and employer
frequencies, the u sample and the size of each blocking key's blocks are properties of the
profile index, not of a tenant. Counting them means scanning every profile; doing that in every
tenant's run made the index scan the largest cost of linking against a large index. So they are
computed once per profile-index snapshot, written as Parquet beside the snapshot's features,
and each run reads them (restricted to the values it meets). Nothing in them comes from a
tenant, so sharing them keeps the rule that no tenant's parameters or frequencies reach another.

Statistics (each a relation ``Tables.population(<name>)`` in the run's DuckDB connection):

* ``first_name``, ``first_name_canonical``, ``last_name``, ``company``: value, ``n`` profiles;
* ``name_pair``: canonical first name + last name, with both parts and ``n``;
* ``name_cities``: name + city (``name_city``), with the name and ``n`` profiles (both known);
* ``cities``: city, ``n`` profiles with a name and that city;
* ``namesake_places``: one row, the ordered pairs of those profiles that share a name, a name
  and a city, and a city, and how many they are;
* ``history_company``: company, ``n`` profiles with it anywhere in their career;
* ``keys_<blocking key>``: key values and ``n`` profiles per value (the profile side of every
  block's size, which is what deciding whether a rule explodes needs);
* ``u_sample``: a uniform sample of profiles (model columns) for estimating u.

A ``manifest.json`` holds the profile count and a fingerprint of the SQL that produced the
figures: when the model's columns or blocking keys change, the old figures no longer apply and
a run computes its own (and says so) until the snapshot's are rebuilt.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Iterable, NamedTuple

import duckdb

from connect_pipeline.linkage import snapshot_folder
from connect_pipeline.linkage.blocking import BlockingKey
from connect_pipeline.linkage.settings import TF_COLUMNS
from connect_pipeline.linkage.tables import Tables

logger = logging.getLogger(__name__)

POPULATION_VERSION = 1
U_SAMPLE_ROWS = 200_000  # profiles in the uniform sample u is estimated against
U_SAMPLE_SEED = 42
U_SAMPLE = "u_sample"  # the statistic holding the uniform profile sample
NAME_CITIES = "name_cities"  # profiles per name and city: namesakes' places
CITIES = "cities"  # profiles with a name, per city
NAMESAKE_PLACES = "namesake_places"  # one row: how often namesakes, and anyone, share a city
MIN_NAMESAKE_PAIRS = 100
"""Ordered namesake pairs below which the index cannot tell how often namesakes share a city."""
MIN_TWICE_SEEN_NAMES = 50
"""Whole names held twice below which the index cannot tell how common its once-seen names are."""


def key_stat(key: BlockingKey) -> str:
    """The statistic holding a blocking key's profile-side block sizes."""
    return f"keys_{key.slug}"


def key_counts(tables: Tables, key: BlockingKey) -> str:
    """The relation ``attach_population`` gives a blocking key's profile-side block sizes."""
    return tables.population(key_stat(key))


def statistics_sql(view: str, keys: Iterable[BlockingKey]) -> dict[str, str]:
    """name -> SQL over ``view`` (profiles in model columns) for every statistic."""
    stats = {
        col: f"SELECT {col}, count(*) AS n FROM {view} WHERE {col} IS NOT NULL GROUP BY {col}"
        for col in ("first_name", "first_name_canonical", "last_name", "company")
    }
    stats["name_pair"] = (
        "SELECT name_pair, any_value(first_name_canonical) AS first_name_canonical, "
        f"any_value(last_name) AS last_name, count(*) AS n FROM {view} "
        "WHERE name_pair IS NOT NULL GROUP BY name_pair"
    )
    # where namesakes live (``namesake_city_share``, ``name_city_frequencies``), all counted over
    # the profiles with both a name and a city, so every share below is of one population
    stats[NAME_CITIES] = (
        "SELECT name_city, any_value(name_pair) AS name_pair, count(*) AS n "
        f"FROM {view} WHERE name_city IS NOT NULL GROUP BY name_city"
    )
    stats[CITIES] = f"SELECT city, count(*) AS n FROM {view} WHERE name_city IS NOT NULL GROUP BY city"
    stats[NAMESAKE_PLACES] = (
        "WITH g AS (SELECT name_pair, city, count(*)::DOUBLE AS n "
        f"FROM {view} WHERE name_city IS NOT NULL GROUP BY ALL), "
        "names AS (SELECT sum(n) AS n FROM g GROUP BY name_pair), "
        "places AS (SELECT sum(n) AS n FROM g GROUP BY city) "
        "SELECT (SELECT coalesce(sum(n * (n - 1)), 0) FROM g) AS same_city_pairs, "
        "(SELECT coalesce(sum(n * (n - 1)), 0) FROM names) AS namesake_pairs, "
        "(SELECT coalesce(sum(n * (n - 1)), 0) FROM places) AS city_pairs, "
        "(SELECT coalesce(sum(n), 0) FROM g) AS located"
    )
    # companies holds each company once per profile, so a row count is a count of profiles
    stats["history_company"] = (
        "SELECT c AS history_company, count(*) AS n "
        f"FROM (SELECT unnest(companies) AS c FROM {view}) WHERE c IS NOT NULL GROUP BY c"
    )
    for key in keys:
        stats[key_stat(key)] = (
            f"SELECT {key.key_columns}, count(*) AS n "
            f"FROM ({key.keys_sql(view, 'right')}) GROUP BY ALL"
        )
    stats[U_SAMPLE] = (
        f"SELECT * FROM {view} USING SAMPLE reservoir({U_SAMPLE_ROWS} ROWS) REPEATABLE ({U_SAMPLE_SEED})"
    )
    return stats


def fingerprint(view_definition: str, stats: dict[str, str]) -> str:
    """Hash of what the figures mean: the profile columns' definition and every statistic's SQL."""
    digest = hashlib.sha256(f"population-v{POPULATION_VERSION}\0{view_definition}".encode())
    for name in sorted(stats):
        digest.update(f"\0{name}\0{stats[name]}".encode())
    return digest.hexdigest()[:16]


def write_population(
    con: duckdb.DuckDBPyConnection,
    view: str,
    view_definition: str,
    keys: Iterable[BlockingKey],
    out_dir: Path,
) -> int:
    """Compute every statistic over ``view`` into ``out_dir`` (replaced whole, atomically).

    Returns the profile count. A crash leaves the previous folder (or none), never a mix.
    """
    stats = statistics_sql(view, keys)
    out_dir = Path(out_dir)
    tmp = snapshot_folder.start(out_dir)
    for name, sql in stats.items():
        target = str(tmp / f"{name}.parquet").replace("'", "''")
        con.execute(f"COPY ({sql}) TO '{target}' (FORMAT parquet)")
    n_profiles = int(con.execute(f"SELECT count(*) FROM {view}").fetchall()[0][0])
    manifest = {"fingerprint": fingerprint(view_definition, stats), "n_profiles": n_profiles}
    snapshot_folder.finish(tmp, out_dir, manifest)
    return n_profiles


def _current_manifest(
    out_dir: Path | None, view: str, view_definition: str, keys: Iterable[BlockingKey]
) -> dict | None:
    """``out_dir``'s manifest if its figures were computed with today's definitions."""
    manifest = snapshot_folder.read_manifest(out_dir)
    if manifest is None:
        return None
    current = manifest.get("fingerprint") == fingerprint(view_definition, statistics_sql(view, keys))
    return manifest if current else None


def is_current(
    out_dir: Path | None, view: str, view_definition: str, keys: Iterable[BlockingKey]
) -> bool:
    """Whether ``out_dir`` holds figures computed with today's definitions."""
    return _current_manifest(out_dir, view, view_definition, keys) is not None


def attach_population(
    con: duckdb.DuckDBPyConnection,
    tables: Tables,
    view_definition: str,
    keys: Iterable[BlockingKey],
    out_dir: Path | None,
) -> int:
    """Make every ``tables.population(<name>)`` relation available; returns the profile count.

    The statistics are computed over ``tables.profiles``, whose select list is ``view_definition``.

    Reads the snapshot's figures when ``out_dir`` holds current ones, otherwise computes them in
    this run (correct, but it scans the whole index again: build them once per snapshot).
    """
    keys = list(keys)
    view = tables.profiles
    stats = statistics_sql(view, keys)
    manifest = _current_manifest(out_dir, view, view_definition, keys)
    if manifest is not None:
        for name in stats:
            path = str(Path(out_dir) / f"{name}.parquet").replace("'", "''")
            con.execute(
                f"CREATE OR REPLACE VIEW {tables.population(name)} AS SELECT * FROM read_parquet('{path}')"
            )
        logger.info(f"population figures read from the snapshot ({manifest['n_profiles']:,} profiles)")
        return int(manifest["n_profiles"])
    where = f"at {out_dir} are stale" if out_dir is not None and Path(out_dir).exists() else "were not built"
    logger.info(
        f"population figures for this profile snapshot {where}: computing them in this run "
        "(build them once per snapshot with pipeline.ensure_profile_features)"
    )
    for name, sql in stats.items():
        con.execute(f"CREATE OR REPLACE TABLE {tables.population(name)} AS {sql}")
    return int(con.execute(f"SELECT count(*) FROM {view}").fetchall()[0][0])


def term_frequency_tables(con: duckdb.DuckDBPyConnection, tables: Tables, n_profiles: int) -> None:
    """Name and company frequencies over all profiles, for the values this run can compare.

    Read from the population figures (once per snapshot), restricted to the values of this
    run's two sides (``tables.ats`` and ``tables.subset``) so the tables Splink joins stay small:
    one ``tables.term_frequencies(column)`` per ``TF_COLUMNS`` entry.

    ``history_company``: the share of profiles with the candidate's company anywhere in their
    career, which is what "company appears in their career history" agreeing is as common as.

    ``name_pair`` (first name + last name) holds the last name's frequency *given* the first
    name: (profiles with both - 1) / profiles with that first name, never below the last name's
    overall frequency. The one is the profile being compared itself, which must not count as
    its own namesake. Multiplied by the first name's own frequency this is the frequency of
    the whole name, so names common together (within one culture) get the discount they
    deserve. A name the index holds once leaves no other profile to count, and its frequency is
    what first and last names predict times ``once_seen_name_factor`` (independence alone made
    its namesakes near-impossible wherever names cluster), but never above what a name held
    twice gets: one sighting cannot make a name commoner than two do, and the factor, an
    average over every once-seen name, would otherwise lift most the common first and last
    names that happen to meet once.
    """
    n = max(n_profiles, 1)
    once = once_seen_name_factor(con, tables, n)
    pop, tf, ats = tables.population, tables.term_frequencies, tables.ats
    for col in TF_COLUMNS:
        if col in ("name_pair", "name_city", "history_company", "resume_company"):
            continue
        con.execute(
            f"""
            CREATE OR REPLACE TABLE {tf(col)} AS
            SELECT {col}, n / {n}::DOUBLE AS tf_{col} FROM {pop(col)}
            WHERE {col} IN (SELECT {col} FROM {ats} UNION SELECT {col} FROM {tables.subset})
            """
        )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {tf("name_pair")} AS
        WITH pairs AS (
            SELECT name_pair, first_name_canonical AS f, last_name AS l, n FROM {pop("name_pair")}
            WHERE name_pair IN (SELECT name_pair FROM {ats} WHERE name_pair IS NOT NULL)
        ),
        firsts AS (SELECT first_name_canonical AS f, n AS nf FROM {pop("first_name_canonical")}),
        lasts AS (SELECT last_name AS l, n / {n}::DOUBLE AS tl FROM {pop("last_name")})
        SELECT name_pair,
               CASE WHEN n = 1 THEN least({once!r} * tl, greatest(tl, 1.0 / nf))
                    ELSE greatest(tl, (n - 1) / nf::DOUBLE) END
               AS tf_name_pair
        FROM pairs JOIN firsts USING (f) JOIN lasts USING (l)
        """
    )
    name_city_frequencies(con, tables)
    # the candidate's company and the rarest employer its resumes date: each as common as the
    # profiles naming that employer anywhere in their career
    for col in ("history_company", "resume_company"):
        con.execute(
            f"""
            CREATE OR REPLACE TABLE {tf(col)} AS
            SELECT history_company AS {col}, n / {n}::DOUBLE AS tf_{col} FROM {pop("history_company")}
            WHERE history_company IN (SELECT {col} FROM {ats})
            """
        )


def once_seen_name_factor(con: duckdb.DuckDBPyConnection, tables: Tables, n_profiles: int) -> float:
    """How many times as common as its first and last names predict (each name's share of the
    index, as if chosen independently) a whole name the index holds once is; never below 1,
    and 1 when the index holds too few names twice to tell.

    The index can check that prediction against itself (Good-Turing): of the people outside
    it, the share whose name it holds exactly once is about 2 N2 / N (N2: names it holds
    twice, N: profiles). Independence predicts the sum, over the names held once, of first-
    name share x last-name share. Their ratio is the factor. Where they cluster by language and
    family, as real names do, a once-seen name is several times commoner than independence
    says, and a namesake sharing it is that much less surprising. Where first and last names
    are drawn apart (a register of Australian names) the ratio is a little below 1, because each
    once-seen name's own profile counts in its first and last names' shares; it is held at 1
    there, so this correction only ever weakens the evidence a name gives, never strengthens it.
    """
    pop = tables.population
    twice, expected = con.execute(
        f"""
        SELECT count(*) FILTER (WHERE p.n = 2),
               sum(f.n::DOUBLE * l.n) FILTER (WHERE p.n = 1) / ({n_profiles}::DOUBLE * {n_profiles})
        FROM {pop("name_pair")} p
        JOIN {pop("first_name_canonical")} f USING (first_name_canonical)
        JOIN {pop("last_name")} l USING (last_name)
        """
    ).fetchall()[0]
    if twice < MIN_TWICE_SEEN_NAMES or not expected:
        return 1.0
    return max(1.0, 2.0 * twice / n_profiles / float(expected))


class NamesakePlaces(NamedTuple):
    """Over the profiles with a name and a city (the snapshot's one-row ``namesake_places``)."""

    same_city_pairs: float  # ordered pairs sharing a name and a city
    namesake_pairs: float  # ordered pairs sharing a name
    city_pairs: float  # ordered pairs sharing a city
    located: float  # the profiles

    @property
    def share(self) -> float | None:
        """Share of the namesake pairs that live in the same city; None when the index holds
        too few namesakes to tell.

        Profiles sharing a name are nearly all different people (the index holds one profile
        per person), so this is how common a shared city is among namesakes, which is what a
        shared city has to be weighed against once the names agree.
        """
        return self.same_city_pairs / self.namesake_pairs if self.namesake_pairs >= MIN_NAMESAKE_PAIRS else None

    @property
    def random_share(self) -> float | None:
        """Share of all pairs that live in the same city, named alike or not (the sum of the
        cities' squared shares); None without two profiles."""
        return self.city_pairs / (self.located * (self.located - 1)) if self.located > 1 else None


def namesake_places(con: duckdb.DuckDBPyConnection, tables: Tables) -> NamesakePlaces:
    """The snapshot's figures on where namesakes, and anyone, live."""
    row = con.execute(
        f"SELECT same_city_pairs, namesake_pairs, city_pairs, located FROM {tables.population(NAMESAKE_PLACES)}"
    ).fetchall()[0]
    return NamesakePlaces(*(float(x) for x in row))


def namesake_city_share(con: duckdb.DuckDBPyConnection, tables: Tables) -> float | None:
    """``NamesakePlaces.share`` of this run's index."""
    return namesake_places(con, tables).share


def random_city_share(con: duckdb.DuckDBPyConnection, tables: Tables) -> float | None:
    """``NamesakePlaces.random_share`` of this run's index."""
    return namesake_places(con, tables).random_share


def namesake_city_concentration(share: float, random_share: float) -> float | None:
    """How many namesakes' worth of the index-wide spread of cities a name's own bearers are
    weighed against (the Dirichlet concentration of a name's cities); None when names and
    cities are independent (then a name's bearers live where everyone does).

    If each name's bearers spread over the cities as a Dirichlet draw around the index's own
    spread pi, with concentration a, two bearers of a name share a city with probability
    (a sum(pi^2) + 1) / (a + 1). That is the namesake share the index shows (``share``; the
    sum is ``random_share``), so a = (1 - share) / (share - sum(pi^2)): read off the index, not
    chosen. Names that cluster (share well above sum(pi^2)) give a small a, and a name's own
    bearers soon speak for it.
    """
    if share <= random_share:
        return None
    return (1.0 - share) / (share - random_share)


def name_city_frequencies(con: duckdb.DuckDBPyConnection, tables: Tables) -> None:
    """``tables.term_frequencies("name_city")``: for each name and city of this run's candidates,
    the chance that a bearer of the name lives in that city, which is what the same city beside
    the same name has to be weighed against (the namesake-city level's u).

    The index-wide namesake share (``namesake_city_share``) is an average over names; "jing
    wang" in Beijing, where a fifth of the index's jing wangs live, is a much weaker sign than
    "rahul iyer" in Pune, where one in fifty does. With k bearers of the name in the index, k_c
    of them in city c, and the city's share pi_c of the profiles with a name and a city, the
    chance is the Dirichlet posterior mean (k_c + a pi_c) / (k + a), a from
    ``namesake_city_concentration``. k_c counts the profile being compared: where it lives is
    evidence of where the name's bearers live (for the name's own frequency it would count as
    its own namesake, and is left out there). A name held once thus gets (1 + a pi_c) / (1 + a),
    the index-wide share on average over its cities, and a name held often its own spread;
    pi_c alone when names and cities are independent. Never below the share of random pairs
    that live in one city: a shared name does not make a shared city rarer than it is between
    anyone, and same-name relatives who stay in one small town are not drawn at random from the
    name's spread. Empty (the level keeps its one u) when the index holds too few namesakes to
    tell.
    """
    pop, tf = tables.population, tables.term_frequencies("name_city")
    places = namesake_places(con, tables)
    share, random_share = places.share, places.random_share
    if share is None or random_share is None:
        con.execute(f"CREATE OR REPLACE TABLE {tf} (name_city VARCHAR, tf_name_city DOUBLE)")
        return
    a = namesake_city_concentration(share, random_share)
    prior = f"c.n / {places.located!r}"
    chance = prior if a is None else f"(nc.n + {a!r} * {prior}) / (names.n + {a!r})"
    logger.info(
        f"same city beside the same name: namesakes share one {share:.3g} of the time, anyone "
        f"{random_share:.3g}; a name's own bearers weighed against "
        + ("the cities' spread alone" if a is None else f"{a:.3g} namesakes' worth of the cities' spread")
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {tf} AS
        WITH wanted AS (
            SELECT DISTINCT name_city, name_pair, city FROM {tables.ats} WHERE name_city IS NOT NULL
        ),
        names AS (
            SELECT name_pair, sum(n)::DOUBLE AS n FROM {pop(NAME_CITIES)}
            WHERE name_pair IN (SELECT name_pair FROM wanted) GROUP BY name_pair
        )
        SELECT w.name_city, greatest({chance}, {random_share!r}) AS tf_name_city
        FROM wanted w
        JOIN {pop(NAME_CITIES)} nc ON nc.name_city = w.name_city
        JOIN names ON names.name_pair = w.name_pair
        JOIN {pop(CITIES)} c ON c.city = w.city
        """
    )


def u_sample_table(con: duckdb.DuckDBPyConnection, tables: Tables) -> int:
    """Copy the snapshot's uniform sample into ``tables.u_sample`` (the run adds its block
    columns to it, which a view over the snapshot's Parquet cannot take); returns its size."""
    sample = tables.population(U_SAMPLE)
    n = int(con.execute(f"SELECT count(*) FROM {sample}").fetchall()[0][0])
    con.execute(f"CREATE OR REPLACE TABLE {tables.u_sample} AS SELECT * FROM {sample}")
    return n
