"""The prior when candidates carry no identifier: estimated from their names, on real DuckDB
with the population figures the run computes."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import polars as pl
import pytest

from connect_pipeline.linkage import blocking as blk
from connect_pipeline.linkage import population, training
from connect_pipeline.linkage.prepare import prepare_ats, profiles_view
from connect_pipeline.linkage.tables import TABLES
from connect_pipeline.normalise.features import FEATURE_SCHEMA

FIRSTS = [f"given{i}" for i in range(40)]
LASTS = [f"family{i}" for i in range(50)]


def _people(names: list[tuple[str, str]], emails: bool = False) -> pl.DataFrame:
    rows = [
        {"unique_id": str(i), "first_name": f, "first_name_canonical": f, "last_name": last,
         "full_name": f"{f} {last}", "emails": [f"{f}.{last}@mail.example"] if emails else None}
        for i, (f, last) in enumerate(names)
    ]
    return pl.DataFrame(rows, schema=FEATURE_SCHEMA)


def _share(tmp_path: Path, profiles: list[tuple[str, str]], candidates: list[tuple[str, str]],
           emails: bool = False) -> tuple[float, float]:
    path = tmp_path / "profiles.parquet"
    _people(profiles).write_parquet(path)
    ats = _people(candidates, emails).with_columns(candidate_id=pl.int_range(1, len(candidates) + 1))
    con = duckdb.connect()
    prepare_ats(con, ats, TABLES)
    definition = profiles_view(con, path, TABLES)
    n = population.attach_population(con, TABLES, definition, blk.DEFAULT_BLOCKING_KEYS, None)
    return training.identifier_prior(con, TABLES, n)


# 2,000 profiles, every whole name once: a name is rare enough that a chance namesake is unlikely
PROFILES = [(f, last) for f in FIRSTS for last in LASTS]


def test_names_found_in_the_index_do_not_raise_the_share(tmp_path):
    """Every candidate's whole name is in the index, but names cannot tell a person from an
    absent namesake: the share stays where it is without evidence."""
    share, prior = _share(tmp_path, PROFILES, PROFILES[:200])
    assert share == 0.5
    assert abs(prior - share / len(PROFILES)) < 1e-12


def test_candidates_whose_names_are_not_indexed_lower_it(tmp_path):
    share, _ = _share(tmp_path, PROFILES, [(f"other{i}", "stranger") for i in range(200)])
    assert share < 0.1


def test_identifiers_decide_when_candidates_have_them(tmp_path):
    """Names all indexed, but the e-mails (one per candidate) are not: the identifiers' share
    outweighs the names' pseudo-candidates."""
    share, _ = _share(tmp_path, PROFILES, PROFILES[:200], emails=True)
    assert share < 0.1


def _indicators(tmp_path: Path, with_work: bool) -> dict[str, list[str]]:
    """Which comparisons each EM session could learn from, for candidates with names and a city
    (and, ``with_work``, an employer and a title), on real DuckDB tables."""
    def frame(n: int) -> pl.DataFrame:
        return _people(PROFILES[:n]).with_columns(
            city=pl.lit("leeds"), country=pl.lit("gb"),
            company=pl.lit("initech" if with_work else None), title=pl.lit("analyst" if with_work else None),
        )
    path = tmp_path / f"profiles_{with_work}.parquet"
    frame(400).write_parquet(path)
    con = duckdb.connect()
    prepare_ats(con, frame(50).with_columns(candidate_id=pl.int_range(1, 51)), TABLES)
    profiles_view(con, path, TABLES)
    con.execute(f"CREATE TABLE {TABLES.subset} AS SELECT * FROM {TABLES.profiles}")
    return {s.key: training.indicators(con, TABLES, s) for s in training.EM_SESSIONS}


def test_an_em_session_needs_three_comparisons_with_data(tmp_path):
    """Names and a city only: the names session could learn from the city alone, too few to
    tell matches apart, so it is not run; with an employer and a title it is."""
    bare = _indicators(tmp_path, with_work=False)
    assert bare["first_name+last_name"] == ["location"]
    assert len(bare["first_name+last_name"]) < training.MIN_EM_INDICATORS
    assert bare["linkedin_slug"] == []  # nobody has a LinkedIn URL: no pair to learn from
    rich = _indicators(tmp_path, with_work=True)
    assert sorted(rich["first_name+last_name"]) == ["company", "location", "title"]


def test_a_candidates_namesakes_count_against_each_other_and_a_lone_pair_keeps_its_probability():
    """At most one profile is the candidate: two namesakes that look equally right are each at
    most an even chance (Splink's pair-by-pair probability made both near-certain), a lone pair
    keeps Splink's probability, no probability rises, and a candidate's pairs keep the order of
    their weights. (Read without a share, as a candidate holding an identifier is; one holding
    none is read on the full posterior, below.)"""
    from connect_pipeline.linkage.scoring import candidate_probability_sql

    prior = 2e-5
    prior_bits = math.log2(prior / (1 - prior))
    weight = prior_bits + 22.0  # a likelihood ratio of 2 ** 22: Splink says 0.98

    def splink(w: float) -> float:
        return 2 ** w / (1 + 2 ** w)

    con = duckdb.connect()
    con.execute("CREATE TABLE pairs (ats_uid VARCHAR, profile_id VARCHAR, match_weight DOUBLE, match_probability DOUBLE)")
    rows = [("lone", "p1", weight), ("twins", "p2", weight), ("twins", "p3", weight),
            ("two", "p4", weight), ("two", "p5", weight - 6)]
    con.executemany("INSERT INTO pairs VALUES (?, ?, ?, ?)", [(a, p, w, splink(w)) for a, p, w in rows])
    got = {(a, p): prob for a, p, prob in con.execute(
        f"SELECT ats_uid, profile_id, match_probability FROM ({candidate_probability_sql('SELECT * FROM pairs', prior)})"
    ).fetchall()}
    assert splink(weight) > 0.95
    assert abs(got[("lone", "p1")] - splink(weight)) < 1e-12
    assert got[("twins", "p2")] == got[("twins", "p3")] < 0.5
    assert splink(weight) > got[("two", "p4")] > got[("two", "p5")]
    assert all(got[(a, p)] <= splink(w) + 1e-12 for a, p, w in rows)


def _scored_with_identifiers(
    candidates: dict[str, dict[str, str]], pairs: list[tuple[str, str, float]], prior: float, share: float
) -> tuple[duckdb.DuckDBPyConnection, str]:
    """A connection holding candidates (id -> identifier values) in model columns and their
    pairs, and the SQL reading them with ``candidate_probability_sql`` at this share."""
    from connect_pipeline.linkage.scoring import candidate_probability_sql, identifier_free_sql
    from connect_pipeline.linkage.settings import identifier_columns

    con = duckdb.connect()
    columns = identifier_columns()
    con.execute(f"CREATE TABLE ats (unique_id VARCHAR, {', '.join(f'{c} VARCHAR' for c in columns)})")
    con.executemany(f"INSERT INTO ats VALUES (?, {', '.join('?' for _ in columns)})",
                    [(uid, *(values.get(c) for c in columns)) for uid, values in candidates.items()])
    con.execute("CREATE TABLE pairs (ats_uid VARCHAR, profile_id VARCHAR, match_weight DOUBLE)")
    con.executemany("INSERT INTO pairs VALUES (?, ?, ?)", pairs)
    return con, candidate_probability_sql(
        "SELECT * FROM pairs", prior, share=share, identifier_free=identifier_free_sql("ats"))


def test_a_candidate_without_identifiers_is_read_on_the_full_posterior_and_one_with_them_is_not():
    """A candidate with no LinkedIn URL, e-mail or phone: "absent" weighs 1 - s (the share of
    candidates the index holds), so a lone pair rises above Splink's probability (the rest of
    the index was ruled out); twins still stay below an even chance each, and are still found
    as a tie. A candidate with an identifier that found nothing keeps Splink's probability."""
    prior, share = 2e-5, 0.8  # s = 0.8 of the candidates are in the index
    prior_bits = math.log2(prior / (1 - prior))
    weight = prior_bits + 17.0  # a likelihood ratio of 2 ** 17: Splink says about 0.72
    lam_l = prior * 2 ** 17
    con, sql = _scored_with_identifiers(
        {"bare": {}, "twins": {}, "mailed": {"emails": "x@example.com"}},
        [("bare", "p1", weight), ("mailed", "p2", weight), ("twins", "p3", weight), ("twins", "p4", weight)],
        prior, share,
    )
    got = {(a, p): (prob, solo) for a, p, prob, solo in con.execute(
        f"SELECT ats_uid, profile_id, match_probability, solo_probability FROM ({sql})").fetchall()}
    splink = lam_l / (1 - prior + lam_l)
    full = lam_l / (1 - share + lam_l)
    assert splink < 0.9 < full
    assert got[("bare", "p1")][0] == pytest.approx(full)
    assert got[("mailed", "p2")][0] == pytest.approx(splink)
    assert got[("twins", "p3")][0] == got[("twins", "p4")][0] < 0.5
    assert got[("twins", "p3")][1] == pytest.approx(full)  # alone it would pass: a tie, not a miss


def test_twins_of_a_candidate_without_identifiers_are_a_tie_below_the_one_pair_weight():
    """Two equal profiles of a candidate read on the full posterior, at a weight below the one
    where Splink's one-pair probability passes, would each have passed alone: an ambiguous
    candidate, counted as a tie rather than as a miss. The same twins of a candidate with an
    identifier would not have passed alone, and are no tie."""
    from connect_pipeline.linkage.scoring import tied_candidates_sql

    prior, share, threshold = 2e-5, 0.8, 0.9
    weight = math.log2(prior / (1 - prior)) + 17.0  # one-pair 0.72, alone on the full posterior 0.93
    assert weight < math.log2(threshold / (1 - threshold))
    con, scored = _scored_with_identifiers(
        {"bare": {}, "linked": {"linkedin_slug": "someone"}},
        [(a, f"{a}{i}", weight) for a in ("bare", "linked") for i in (1, 2)],
        prior, share,
    )
    tied = {a for (a,) in con.execute(tied_candidates_sql(scored, threshold)).fetchall()}
    assert tied == {"bare"}


def test_the_share_is_held_between_the_prior_and_0_99():
    """s near 1 would make any lone pair certain ("absent" weighing nothing): held at 0.99. An s
    below the prior would read a candidate without identifiers more strictly than one with
    them: held at the prior, Splink's one-pair reading."""
    prior = 2e-5
    lam_l = prior * 2 ** 17
    weight = math.log2(prior / (1 - prior)) + 17.0
    for share, absent in ((0.999999, 0.01), (1e-9, 1 - prior)):
        con, sql = _scored_with_identifiers({"bare": {}}, [("bare", "p1", weight)], prior, share)
        (probability,) = con.execute(f"SELECT match_probability FROM ({sql})").fetchone()
        assert probability == pytest.approx(lam_l / (absent + lam_l)), share


def test_every_identifier_comparison_names_its_column():
    """Which candidates hold no identifier is read from the columns the identifier comparisons
    name; one naming none would make every candidate look identifier-free."""
    from dataclasses import replace

    from connect_pipeline.linkage.settings import MODEL, identifier_columns

    assert identifier_columns() == ("linkedin_slug", "emails", "phones")
    unnamed = tuple(replace(c, column=None) if c.name == "phones" else c for c in MODEL)
    with pytest.raises(ValueError, match="phones"):
        identifier_columns(unnamed)
