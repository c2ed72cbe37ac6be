"""Which blocking keys pair two records, on real DuckDB, for the mistakes each key exists for."""

from __future__ import annotations

import duckdb
import polars as pl

from connect_pipeline.linkage import blocking as blk
from connect_pipeline.linkage.settings import LIST_COLUMNS, MODEL_COLUMNS
from connect_pipeline.normalise.names import first_name_canonical, last_name_key, phonetic_key


def _table(con: duckdb.DuckDBPyConnection, name: str, first: str, last: str, city: str | None) -> None:
    """A one-record input in model columns, its name keys built by the real normalisers."""
    keys = pl.DataFrame({"first": [first], "last": [last]}).select(
        first_name_canonical(pl.col("first")).alias("first_name_canonical"),
        last_name_key(pl.col("last")).alias("last_name"),
    ).with_columns(
        first_name_phonetic=phonetic_key(pl.col("first_name_canonical")),
        last_name_phonetic=phonetic_key(pl.col("last_name")),
    ).row(0, named=True)
    values = {"unique_id": f"{name}1", "first_name": keys["first_name_canonical"], "city": city, **keys}
    cols = []
    for c in MODEL_COLUMNS:
        if c in (*LIST_COLUMNS, "phone_tails"):
            cols.append(f"CAST(NULL AS VARCHAR[]) AS {c}")
        elif values.get(c) is None:
            cols.append(f"CAST(NULL AS VARCHAR) AS {c}")
        else:
            cols.append(f"'{values[c]}' AS {c}")
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT {', '.join(cols)}")


def _pairing(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [k.name for k in blk.DEFAULT_BLOCKING_KEYS if blk.count_pairs(con, k, "l", "r") > 0]


def test_both_names_misspelt_are_paired_by_their_sound():
    """No identifier, no employer, another spelling of both names and of the town: only the
    names' sounds still agree."""
    con = duckdb.connect()
    _table(con, "l", "Katherine", "Nuemann", "winston hills")
    _table(con, "r", "Catherine", "Neumann", "winston hils")
    assert _pairing(con) == ["phonetic_names"]


def test_names_that_sound_different_are_not_paired_by_sound():
    con = duckdb.connect()
    _table(con, "l", "Katherine", "Neumann", "winston hills")
    _table(con, "r", "Karen", "Newton", "paddington")
    assert _pairing(con) == []


def test_phonetic_key_on_names():
    names = pl.Series(["neumann", "nuemann", "newman", "smith", "smyth", None, ""])
    codes = pl.DataFrame({"n": names}).select(phonetic_key(pl.col("n").replace("", None)))["n"].to_list()
    assert codes[0] == codes[1] == codes[2] == "nmn"
    assert codes[3] == codes[4] != codes[0]
    assert codes[5] is None and codes[6] is None


def test_a_swapped_name_is_paired_with_its_city_both_ways():
    """"Chen Jun" recorded family name first: the swapped names pair it, and beside the same
    city so do the swapped names' city keys (with their mirrors, as Splink may put either
    input on either side); in another city only the names do. The same keys as Splink rules
    (the whole-index path) pair the records as the counts say."""
    from splink import DuckDBAPI, Linker

    from connect_pipeline.linkage.settings import build_settings

    swapped = {"swapped_names", "swapped_names_mirror", "swapped_names_in_city", "swapped_names_in_city_mirror"}
    con = duckdb.connect()
    _table(con, "l", "Chen", "Jun", "beijing")
    _table(con, "r", "Jun", "Chen", "beijing")
    assert set(_pairing(con)) == swapped
    keys = [k for k in blk.DEFAULT_BLOCKING_KEYS if k.name in swapped]
    db = DuckDBAPI(con)
    linker = Linker([db.register(con.table("l").pl(), dataset_display_name="ats"),
                     db.register(con.table("r").pl(), dataset_display_name="profiles")],
                    build_settings("duckdb", [k.splink_rule() for k in keys if "city" in k.name]), log_level=None)
    assert len(linker.inference.predict().as_record_list()) == 1
    _table(con, "r", "Jun", "Chen", "shanghai")
    assert set(_pairing(con)) == {"swapped_names", "swapped_names_mirror"}
