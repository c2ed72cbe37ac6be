"""The model's comparison levels on the pairs they exist for, scored by real Splink on DuckDB,
and saved parameters of an older model version still loading."""

from __future__ import annotations

import copy
import functools
import json
import math
from typing import Any

import duckdb
import polars as pl
import pytest
from splink import DuckDBAPI, Linker, block_on

from connect_pipeline.linkage import population
from connect_pipeline.linkage.tables import TABLES
from connect_pipeline.normalise.names import first_name_canonical
from connect_pipeline.linkage.settings import (
    LIST_COLUMNS,
    MODEL,
    MODEL_COLUMNS,
    CHAIN_PSEUDO_PAIRS,
    apply_conditional_chains,
    apply_fallbacks,
    apply_namesake_city_u,
    build_settings,
    carry_parameters,
    level_for_gamma,
    prepare_chains_for_em,
    settings_dict,
)
from tests.conftest import log_lines

COMPARISONS = {c.name: c for c in MODEL}


def _record(uid: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in MODEL_COLUMNS}
    row["unique_id"] = uid
    row.update(values)
    if "first_name" in values and "first_name_canonical" not in values:
        row["first_name_canonical"] = values["first_name"]
    return row


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = {
        c: pl.List(pl.String) if c in (*LIST_COLUMNS, "phone_tails") else pl.String for c in MODEL_COLUMNS
    }
    return pl.DataFrame(rows, schema=schema)


@functools.cache
def _linker(model_json: str | None) -> Linker:
    """One linker per model: building one costs far more than scoring a pair with it."""
    db = DuckDBAPI()
    a = db.register(_frame([_record("a0")]), dataset_display_name="ats")
    b = db.register(_frame([_record("b0")]), dataset_display_name="profiles")
    model = json.loads(model_json) if model_json is not None else build_settings("duckdb", [block_on("unique_id")])
    return Linker([a, b], model, log_level=None)


def levels_of(
    left: dict[str, Any], right: dict[str, Any], model: dict[str, Any] | None = None
) -> dict[str, str | None]:
    """The level each comparison puts the pair on (None: the null level), scored by Splink."""
    linker = _linker(json.dumps(model, sort_keys=True) if model is not None else None)
    row = linker.inference.score_pair(left, right).as_record_list()[0]
    out = {}
    for comp in MODEL:
        level = level_for_gamma(comp, row[f"gamma_{comp.name}"])
        out[comp.name] = None if level is None else level.key
    return out


def _name_weight(left: dict[str, Any], right: dict[str, Any], frequencies: dict[str, dict[str, float]],
                 model: dict[str, Any] | None = None) -> float:
    """Bits the two name comparisons give the pair, term frequencies included, scored by Splink
    with ``model`` (default: the untrained one) and these frequencies (column -> value -> share)."""
    return _bits(left, right, frequencies, model, "first_name", "last_name")


def _bits(left: dict[str, Any], right: dict[str, Any], frequencies: dict[str, dict[str, float]],
          model: dict[str, Any] | None, *comparisons: str) -> float:
    """Bits these comparisons give the pair, term frequencies included, scored by Splink."""
    db = DuckDBAPI()
    linker = Linker([db.register(_frame([left]), dataset_display_name="ats"),
                     db.register(_frame([right]), dataset_display_name="profiles")],
                    model if model is not None else build_settings("duckdb", [block_on("unique_id")]),
                    log_level=None)
    for col, shares in frequencies.items():
        linker.table_management.register_term_frequency_lookup(db.register(pl.DataFrame(
            {col: list(shares), f"tf_{col}": list(shares.values())}).to_arrow()), col)
    row = linker.inference.score_pair(left, right).as_record_list()[0]
    return sum(row.get(f"{p}{c}") or 0.0 for c in comparisons for p in ("mw_", "mw_tf_adj_"))


def test_a_swapped_name_is_weighed_by_how_common_the_name_is():
    """"wang wei" recorded family name first: the swap is weighed by the given name's and the
    family name's frequency as the names in their order are, so a swapped common name counts
    less than a swapped rare one, and no more than the same common name in its own order."""
    common = {"first_name": {"wei": 0.02}, "first_name_canonical": {"wei": 0.02},
              "last_name": {"wang": 0.05}, "name_pair": {"wei wang": 0.05}}
    rare = {"first_name": {"xiuying": 1e-5}, "first_name_canonical": {"xiuying": 1e-5},
            "last_name": {"qiao": 1e-5}, "name_pair": {"xiuying qiao": 1e-5}}
    profile = _record("b1", first_name="wei", last_name="wang", name_pair="wei wang")
    swapped = _record("a1", first_name="wang", last_name="wei", name_pair="wang wei")
    in_order = _record("a1", first_name="wei", last_name="wang", name_pair="wei wang")
    assert levels_of(swapped, profile)["first_name"] == "swapped"
    swapped_common = _name_weight(swapped, profile, common)
    swapped_rare = _name_weight(_record("a1", first_name="qiao", last_name="xiuying", name_pair="qiao xiuying"),
                                _record("b1", first_name="xiuying", last_name="qiao", name_pair="xiuying qiao"), rare)
    assert swapped_common < swapped_rare - 10  # log2 of (0.02 x 0.05) / (1e-5 x 1e-5) is about 17 bits
    assert swapped_common <= _name_weight(in_order, profile, common)
    # a trained model whose swap reached the exact level's cap, names that cluster ("wang" is 5 %
    # of family names, 20 % of those of a "wei"): the swap weighs what the names in order do,
    # but for the family name read alone, at most log2(0.2 / 0.05) = 2 bits more
    trained = _trained_dict()
    for comp in trained["comparisons"]:
        if comp["output_column_name"] in ("first_name", "last_name"):
            for level in comp["comparison_levels"]:
                if level.get("label_for_charts") == "swapped":
                    level["u_probability"] = 1e-7
    capped = apply_fallbacks(trained, identifier_u=1e-6)
    clustered = {**common, "name_pair": {"wei wang": 0.2}}
    gap = _name_weight(swapped, profile, clustered, capped) - _name_weight(in_order, profile, clustered, capped)
    assert 0.0 <= gap <= 2.0 + 1e-9


def test_a_swap_no_sampled_pair_showed_gains_no_frequency_bits():
    """A tenant whose training never met a swapped name: the level is left at no evidence, and a
    swapped rare name must not gain the term-frequency bits the level would have carried; the
    same holds for any level at m = u in a model carried from before the rule."""
    trained = _trained_dict()
    for comp in trained["comparisons"]:
        if comp["output_column_name"] in ("first_name", "last_name"):
            for level in comp["comparison_levels"]:
                if level.get("label_for_charts") == "swapped":
                    assert "tf_adjustment_column" in level
                    level.pop("m_probability"), level.pop("u_probability")
    safe = apply_fallbacks(trained, identifier_u=1e-6)
    swapped_levels = [lvl for c in safe["comparisons"] for lvl in c["comparison_levels"]
                      if lvl.get("label_for_charts") == "swapped"]
    assert len(swapped_levels) == 2
    for level in swapped_levels:
        assert level["m_probability"] == level["u_probability"] and "tf_adjustment_column" not in level
    left = _record("a1", first_name="qiao", last_name="xiuying", name_pair="qiao xiuying")
    right = _record("b1", first_name="xiuying", last_name="qiao", name_pair="xiuying qiao")
    rare = {"first_name": {"xiuying": 1e-5}, "first_name_canonical": {"xiuying": 1e-5},
            "last_name": {"qiao": 1e-5}, "name_pair": {"xiuying qiao": 1e-5}}
    assert _name_weight(left, right, rare, safe) == pytest.approx(0.0, abs=1e-9)
    # a model saved before this rule, holding a level at m = u with its frequency settings (a
    # nickname level EM left empty), loses them when carried, as apply_fallbacks drops them
    saved = _trained_dict()
    first = next(c for c in saved["comparisons"] if c["output_column_name"] == "first_name")
    nickname = next(lvl for lvl in first["comparison_levels"] if lvl.get("label_for_charts") == "canonical (nickname) match")
    nickname["m_probability"] = nickname["u_probability"] = 0.12
    assert "tf_adjustment_column" in nickname
    carried = carry_parameters(saved, settings_dict(build_settings("duckdb", []), "duckdb"))
    levels = next(c for c in carried["comparisons"] if c["output_column_name"] == "first_name")["comparison_levels"]
    carried_nickname = next(lvl for lvl in levels if lvl.get("label_for_charts") == "canonical (nickname) match")
    assert carried_nickname["m_probability"] == 0.12 and "tf_adjustment_column" not in carried_nickname
    exact = next(lvl for lvl in levels if lvl.get("label_for_charts") == "exact")
    assert "tf_adjustment_column" in exact  # a level with evidence keeps its frequency bits


def test_a_misspelt_suburb_nearly_agrees_and_another_suburb_does_not():
    left = _record("a1", first_name="michala", last_name="neumann", city="winston hills", country="au")
    assert levels_of(left, _record("b1", first_name="michala", last_name="neumann",
                                   city="winston hils", country="au"))["location"] == "near_city"
    assert levels_of(left, _record("b1", first_name="michala", last_name="neumann",
                                   city="winston hills", country="au"))["location"] == "same_city"
    # another place in the same country is only "same country"
    assert levels_of(left, _record("b1", first_name="michala", last_name="neumann",
                                   city="paddington", country="au"))["location"] == "same_country"
    # a similar name in another country is another place
    assert levels_of(left, _record("b1", first_name="michala", last_name="neumann",
                                   city="winston hils", country="us"))["location"] == "differs"


def test_a_nickname_only_the_maintained_source_knows_agrees_as_a_nickname():
    """"Tibbie" is a diminutive of Isabel in the maintained nickname source, not in our table:
    with the name families both sides' normalisers write, the pair agrees as a nickname
    instead of differing entirely."""
    frame = pl.DataFrame({"v": ["Tibbie", "Isabel"]})
    ats, profile = frame.select(first_name_canonical(pl.col("v"))).to_series().to_list()
    left = _record("a1", first_name="tibbie", first_name_canonical=ats, last_name="okafor")
    right = _record("b1", first_name="isabel", first_name_canonical=profile, last_name="okafor")
    assert levels_of(left, right)["first_name"] == "nickname"


def _trained_dict() -> dict[str, Any]:
    trained = settings_dict(build_settings("duckdb", []), "duckdb")
    for comp in trained["comparisons"]:
        for i, level in enumerate(comp["comparison_levels"]):
            if not level.get("is_null_level"):
                level["m_probability"], level["u_probability"] = 0.5 / (i + 1), 0.01 * (i + 1)
    trained["probability_two_random_records_match"] = 3e-5
    return trained


def _location_levels(model: dict[str, Any]) -> list[dict[str, Any]]:
    comp = next(c for c in model["comparisons"] if c["output_column_name"] == "location")
    return [lvl for lvl in comp["comparison_levels"] if not lvl.get("is_null_level")]


def test_parameters_saved_before_a_level_existed_still_load_with_the_level_neutral():
    trained = _trained_dict()
    old = copy.deepcopy(trained)
    location = next(c for c in old["comparisons"] if c["output_column_name"] == "location")
    location["comparison_levels"] = [
        lvl for lvl in location["comparison_levels"] if lvl.get("label_for_charts") != "city JW >= 0.9"
    ]
    target = settings_dict(build_settings("duckdb", []), "duckdb")
    with log_lines() as messages:
        carried = carry_parameters(old, target)

    by_label = {lvl["label_for_charts"]: lvl for lvl in _location_levels(carried)}
    trained_by_label = {lvl["label_for_charts"]: lvl for lvl in _location_levels(trained)}
    near = by_label["city JW >= 0.9"]
    default = next(lvl for lvl in COMPARISONS["location"].levels if lvl.key == "near_city").default_m
    assert near["m_probability"] == near["u_probability"] == default  # no evidence either way
    for label in ("same city", "same country", "different"):  # the rest keep their trained values
        assert by_label[label]["m_probability"] == trained_by_label[label]["m_probability"]
        assert by_label[label]["u_probability"] == trained_by_label[label]["u_probability"]
    assert carried["probability_two_random_records_match"] == 3e-5
    assert any("predate level location/near_city" in m for m in messages)
    # the carried model scores
    pair = levels_of(_record("a1", first_name="ann", last_name="lee", city="ryde", country="au"),
                     _record("b1", first_name="ann", last_name="lee", city="rydee", country="au"), carried)
    assert pair["location"] == "near_city"


def test_parameters_saved_before_a_comparison_existed_still_load_with_it_neutral():
    """A tenant's carried model from before the resume's employers were compared: an
    incremental run still scores, the new comparison weighing nothing until the next training."""
    trained = _trained_dict()
    old = copy.deepcopy(trained)
    old["comparisons"] = [c for c in old["comparisons"] if c["output_column_name"] != "resume_employer"]
    with log_lines() as messages:
        carried = carry_parameters(old, settings_dict(build_settings("duckdb", []), "duckdb"))
    comp = next(c for c in carried["comparisons"] if c["output_column_name"] == "resume_employer")
    levels = [lvl for lvl in comp["comparison_levels"] if not lvl.get("is_null_level")]
    for spec, level in zip(COMPARISONS["resume_employer"].levels, levels):
        assert level["m_probability"] == level["u_probability"] == spec.default_m
    assert any("predate level resume_employer/in_history" in m for m in messages)
    # scored: a rare shared employer weighs nothing, term frequency included
    db = DuckDBAPI()
    ats = _record("a1", first_name="ann", last_name="lee", resume_company="traf o data",
                  resume_companies=["traf o data"])
    profile = _record("b1", first_name="ann", last_name="lee", companies=["traf o data"])
    linker = Linker([db.register(_frame([ats]), dataset_display_name="ats"),
                     db.register(_frame([profile]), dataset_display_name="profiles")], carried, log_level=None)
    linker.table_management.register_term_frequency_lookup(db.register(
        pl.DataFrame({"resume_company": ["traf o data"], "tf_resume_company": [2e-5]}).to_arrow()), "resume_company")
    row = linker.inference.score_pair(ats, profile).as_record_list()[0]
    assert row["gamma_resume_employer"] == 2  # "in_history": the level the file lacked
    assert row["mw_resume_employer"] == 0.0 and row.get("mw_tf_adj_resume_employer", 0.0) == 0.0
    # a carried run saves the model it scored with, and the next window carries that file again
    again = carry_parameters(carried, settings_dict(build_settings("duckdb", []), "duckdb"))
    assert again == carried
    # any other comparison missing still refuses the file
    old["comparisons"] = [c for c in old["comparisons"] if c["output_column_name"] != "location"]
    with pytest.raises(ValueError, match="lack comparison 'location'"):
        carry_parameters(old, settings_dict(build_settings("duckdb", []), "duckdb"))


def test_a_trained_level_the_model_does_not_have_is_refused():
    trained = _trained_dict()
    location = next(c for c in trained["comparisons"] if c["output_column_name"] == "location")
    location["comparison_levels"][1]["label_for_charts"] = "a level from elsewhere"
    with pytest.raises(ValueError, match="not in the model"):
        carry_parameters(trained, settings_dict(build_settings("duckdb", []), "duckdb"))


def test_a_swap_needs_both_names_out_of_place():
    """A real swap is scored as one on both names; a given name that agrees in place is not
    counted a second time because it also equals the other side's family name."""
    swapped = levels_of(_record("a1", first_name="wang", last_name="li"),
                        _record("b1", first_name="li", last_name="wang"))
    assert swapped["first_name"] == "swapped" and swapped["last_name"] == "swapped"
    same_given = levels_of(_record("a1", first_name="li", last_name="liu"),
                           _record("b1", first_name="li", last_name="li"))
    assert same_given["first_name"] == "exact" and same_given["last_name"] != "swapped"
    same_family = levels_of(_record("a1", first_name="liu", last_name="li"),
                            _record("b1", first_name="li", last_name="li"))
    assert same_family["last_name"] == "exact" and same_family["first_name"] != "swapped"


def test_a_given_name_two_keystrokes_away_is_not_an_entirely_different_name():
    """Short names mistyped or misread at their first letter fall below every Jaro-Winkler
    level ("amy" / "may"), and so do names spelt by ear ("catherine" / "kathryn"): a corrupted
    name, not another person's, so they must not take the strongest negative level. A name
    further away does."""
    left = _record("a1", first_name="amy", last_name="neumann")
    assert levels_of(left, _record("b1", first_name="may", last_name="neumann"))["first_name"] == "edits"
    # two edits in three letters, or two two-letter names, are other names
    assert levels_of(left, _record("b1", first_name="oma", last_name="neumann"))["first_name"] == "differs"
    assert levels_of(_record("a1", first_name="li", last_name="wang"),
                     _record("b1", first_name="wu", last_name="wang"))["first_name"] == "differs"
    assert levels_of(left, _record("b1", first_name="katherine", last_name="neumann"))["first_name"] == "differs"
    by_ear = levels_of(_record("a1", first_name="catherine", first_name_phonetic="k0rn", last_name="neumann"),
                       _record("b1", first_name="kathryn", first_name_phonetic="k0rn", last_name="neumann"))
    assert by_ear["first_name"] == "edits"
    # a nearer name still takes its stricter level
    assert levels_of(left, _record("b1", first_name="amyy", last_name="neumann"))["first_name"] == "typo"



def test_a_shared_city_beside_a_shared_name_is_weighed_against_namesakes():
    """Namesakes cluster where their name is common, so once the names agree the same city is
    weighed against how often the index's namesakes share one, never as rarer than among
    random people, and as before when the index cannot tell."""
    same = levels_of(_record("a1", first_name="srinivas", last_name="singh", name_pair="srinivas singh",
                             city="chennai", country="in"),
                     _record("b1", first_name="srinivas", last_name="singh", name_pair="srinivas singh",
                             city="chennai", country="in"))
    assert same["location"] == "namesake_city"
    other_name = levels_of(_record("a1", first_name="srinivas", last_name="singh", name_pair="srinivas singh",
                                   city="chennai", country="in"),
                           _record("b1", first_name="srinivas", last_name="sing", name_pair="srinivas sing",
                                   city="chennai", country="in"))
    assert other_name["location"] == "same_city"

    def location_u(share: float | None, plain_u: float) -> float:
        trained = _trained_dict()
        levels = _location_levels(trained)
        keys = [lvl.key for lvl in COMPARISONS["location"].levels]
        levels[keys.index("same_city")]["u_probability"] = plain_u
        levels[keys.index("namesake_city")]["u_probability"] = 1e-7  # what random sampling sees
        out = apply_namesake_city_u(trained, share)
        return _location_levels(out)[keys.index("namesake_city")]["u_probability"]

    assert location_u(0.3, 0.02) == 0.3
    assert location_u(0.001, 0.02) == 0.02  # never rarer than among random people
    assert location_u(None, 0.02) == 0.02  # too few namesakes to tell: independence, as before

    # a true match shares the city as often whatever its names: one m for both levels
    trained = _trained_dict()
    keys = [lvl.key for lvl in COMPARISONS["location"].levels]
    _location_levels(trained)[keys.index("namesake_city")]["m_probability"] = 0.7
    with log_lines() as messages:
        tied = _location_levels(apply_namesake_city_u(trained, 0.3))
        apply_namesake_city_u(trained, 0.3)  # a run applies it before EM and again after
    assert tied[keys.index("same_city")]["m_probability"] == 0.7
    assert sum("namesakes' shared city" in m for m in messages) == 1


def _first_name_bits(model: dict[str, Any]) -> dict[str, float]:
    comp = next(c for c in model["comparisons"] if c["output_column_name"] == "first_name")
    levels = [lvl for lvl in comp["comparison_levels"] if not lvl.get("is_null_level")]
    return {
        spec.key: math.log2(lvl["m_probability"] / lvl["u_probability"])
        for spec, lvl in zip(COMPARISONS["first_name"].levels, levels)
    }


def _with_first_name(trained: dict[str, Any], values: dict[str, tuple[float, float]]) -> dict[str, Any]:
    out = copy.deepcopy(trained)
    keys = [lvl.key for lvl in COMPARISONS["first_name"].levels]
    comp = next(c for c in out["comparisons"] if c["output_column_name"] == "first_name")
    levels = [lvl for lvl in comp["comparison_levels"] if not lvl.get("is_null_level")]
    for key, (m, u) in values.items():
        levels[keys.index(key)]["m_probability"], levels[keys.index(key)]["u_probability"] = m, u
    return out


def test_a_level_without_evidence_does_not_silence_the_levels_below_it():
    """A tenant whose records never use a nickname: EM puts the nickname level's m near its u
    (no evidence either way). A nickname is another kind of agreement than a typo, so it caps
    nothing below it: a typo still counts as the evidence EM found for it. And a fuzzy level
    whose m EM drove to ~0 (raised to "no evidence") does not cap the levels below it either."""
    trained = _trained_dict()
    exact = {"exact": (0.8, 0.003)}
    bits = _first_name_bits(apply_fallbacks(
        _with_first_name(trained, {**exact, "nickname": (0.0024, 0.002), "typo": (0.12, 0.001)}), identifier_u=1e-4))
    assert bits["nickname"] == pytest.approx(math.log2(1.2))
    assert bits["typo"] == pytest.approx(math.log2(0.12 / 0.001))
    bits = _first_name_bits(apply_fallbacks(
        _with_first_name(trained, {**exact, "typo": (1e-5, 0.001), "similar": (0.05, 0.002)}), identifier_u=1e-4))
    assert bits["typo"] == 0.0
    assert bits["similar"] == pytest.approx(math.log2(0.05 / 0.002))
    # a level that has evidence still caps the ones below it
    capped = _first_name_bits(apply_fallbacks(
        _with_first_name(trained, {**exact, "typo": (0.9, 0.001)}), identifier_u=1e-4))
    assert capped["typo"] == pytest.approx(capped["exact"])


def _title_levels(model: dict[str, Any]) -> list[dict[str, Any]]:
    comp = next(c for c in model["comparisons"] if c["output_column_name"] == "title")
    return [lvl for lvl in comp["comparison_levels"] if not lvl.get("is_null_level")]


def _with_title(values: dict[str, tuple[float, float]]) -> dict[str, Any]:
    """A trained model dict whose title levels have these (m, u)."""
    trained = _trained_dict()
    keys = [lvl.key for lvl in COMPARISONS["title"].levels]
    levels = _title_levels(trained)
    for key, (m, u) in values.items():
        levels[keys.index(key)]["m_probability"], levels[keys.index(key)]["u_probability"] = m, u
    return trained


def test_a_title_is_read_apart_once_the_candidate_has_moved_employer():
    """Someone who has since changed employer (the ATS's company only in the profile's past)
    often has a new title: the title is then read on a chain of its own, and at the same
    employer, or with no employer known, on the usual one."""
    ats = _record("a1", first_name="ana", last_name="silva", company="initech", companies=["initech"],
                  title="data analyst", title_role="data analyst")

    def title_level(**profile: Any) -> str | None:
        return levels_of(ats, _record("b1", first_name="ana", last_name="silva", **profile))["title"]

    moved = {"company": "globex", "companies": ["globex", "initech"]}
    assert title_level(**moved, title="head of growth", title_role="head of growth") == "moved_differs"
    assert title_level(**moved, title="data analyst", title_role="data analyst") == "moved_exact"
    assert title_level(**moved, title="senior data analyst", title_role="data analyst") == "moved_role"
    stayed = {"company": "initech", "companies": ["initech"]}
    assert title_level(**stayed, title="head of growth", title_role="head of growth") == "differs"
    assert title_level(**stayed, title="data analyst", title_role="data analyst") == "exact"
    assert title_level(title="head of growth", title_role="head of growth") == "differs"  # no employer known
    # the other way round: the profile's employer is in the ATS record's history
    back = levels_of({**ats, "company": "globex", "companies": ["globex", "initech"]},
                     _record("b1", first_name="ana", last_name="silva", company="initech", companies=["initech"],
                             title="head of growth", title_role="head of growth"))
    assert (back["company"], back["title"]) == ("in_history", "moved_differs")


def test_the_title_is_read_as_moved_exactly_when_the_company_is_in_the_career_history():
    """The moved chain must hold exactly the pairs the company comparison calls "in their
    career history": every mix of current employer and history, missing on either side (all
    pairs scored by Splink in one prediction)."""
    sides = [(None, None), ("initech", None), ("initech", ["initech"]), ("globex", ["globex", "initech"]),
             (None, ["initech", "umbrella"]), ("umbrella", ["umbrella"])]

    def side(prefix: str, title: str) -> pl.DataFrame:
        return _frame([_record(f"{prefix}{i}", first_name="ana", last_name="silva", company=company,
                               companies=companies, title=title, title_role=title)
                       for i, (company, companies) in enumerate(sides)])

    db = DuckDBAPI()
    linker = Linker([db.register(side("a", "data analyst"), dataset_display_name="ats"),
                     db.register(side("b", "head of growth"), dataset_display_name="profiles")],
                    build_settings("duckdb", [block_on("first_name")]), log_level=None)
    pairs = linker.inference.predict().as_record_list()
    assert len(pairs) == len(sides) ** 2
    seen = set()
    for row in pairs:
        company = level_for_gamma(COMPARISONS["company"], row["gamma_company"])
        title = level_for_gamma(COMPARISONS["title"], row["gamma_title"])
        company_key = None if company is None else company.key
        assert title.key.startswith("moved_") == (company_key == "in_history"), row
        seen.add(company_key)
    assert {"in_history", "same", None} <= seen


def test_a_move_of_employer_is_not_counted_twice_through_the_title():
    """Sampling and EM measure each moved level among *all* pairs, where a move is rare: a
    differing title after a move would read as strong evidence *for* a match, the move counted
    a second time beside the company comparison. Each chain's m and u become shares among the
    pairs that meet its condition, so the title adds only what it says given the move, and the
    moved chain caps only its own levels."""
    keys = [lvl.key for lvl in COMPARISONS["title"].levels]
    trained = _with_title({  # key: (share among true matches, among random pairs), moved or not together
        "moved_exact": (0.02, 0.0001), "moved_role": (0.22, 0.0002), "moved_similar": (0.0, 0.0),
        "moved_loose": (0.0, 0.0), "moved_differs": (0.06, 0.0027),
        "exact": (0.66, 0.01), "role": (0.01, 0.02), "similar": (0.01, 0.03), "loose": (0.01, 0.1),
        "differs": (0.01, 0.8357),
    })
    assert math.log2(0.06 / 0.0027) > 4  # as sampled: a new title after a move "proves" a match
    out = apply_conditional_chains(trained)
    by_key = dict(zip(keys, _title_levels(out)))
    moved_differs = by_key["moved_differs"]
    assert moved_differs["m_probability"] == pytest.approx(0.06 / 0.30)
    assert moved_differs["u_probability"] == pytest.approx(0.0027 / 0.003)
    assert math.log2(moved_differs["m_probability"] / moved_differs["u_probability"]) < -2  # given the move
    for given in (True, False):
        chain = [by_key[k] for k in keys if k.startswith("moved_") == given]
        for field in ("m_probability", "u_probability"):
            assert sum(lvl[field] for lvl in chain) == pytest.approx(1.0)
    again = _title_levels(apply_conditional_chains(copy.deepcopy(out)))  # applied twice, unchanged
    assert [(lvl["m_probability"], lvl["u_probability"]) for lvl in again] == [
        (pytest.approx(lvl["m_probability"]), pytest.approx(lvl["u_probability"])) for lvl in _title_levels(out)]
    # the moved chain's exact title (+1 bit) does not cap the usual chain's levels
    safe = dict(zip(keys, _title_levels(apply_fallbacks(out, identifier_u=1e-4))))
    assert math.log2(safe["exact"]["m_probability"] / safe["exact"]["u_probability"]) == pytest.approx(
        math.log2((0.66 / 0.70) / (0.01 / 0.9957)))


def test_a_new_seniority_after_a_move_may_weigh_more_than_the_same_title():
    """Someone who changed employer is more often promoted than given the very same title, so
    "same role at another seniority" is another fact, not a fuzzier "same title": the weight
    EM finds for it stands even above the exact title's, in both chains. The string-similarity
    levels below are still degrees of the same title and stay capped by it."""
    keys = [lvl.key for lvl in COMPARISONS["title"].levels]
    trained = _with_title({  # within each chain: (share among true matches, among random pairs)
        "moved_exact": (0.07, 0.015), "moved_role": (0.72, 0.04), "moved_similar": (0.05, 0.001),
        "moved_loose": (0.01, 0.1), "moved_differs": (0.15, 0.844),
        "exact": (0.60, 0.01), "role": (0.30, 0.001), "similar": (0.05, 0.0001), "loose": (0.03, 0.1),
        "differs": (0.02, 0.859),
    })
    out = dict(zip(keys, _title_levels(apply_fallbacks(trained, identifier_u=1e-4))))

    def bits(key: str) -> float:
        return math.log2(out[key]["m_probability"] / out[key]["u_probability"])

    assert bits("moved_role") == pytest.approx(math.log2(0.72 / 0.04))
    assert bits("moved_role") > bits("moved_exact") + 1
    assert bits("role") == pytest.approx(math.log2(0.30 / 0.001))
    # a similar title is still no better evidence than the same title
    assert bits("moved_similar") == pytest.approx(bits("moved_exact"))
    assert math.log2(0.05 / 0.0001) > bits("exact")  # uncapped, it would outweigh the same title
    assert bits("similar") == pytest.approx(bits("exact"))


def test_em_starts_from_chains_that_do_not_count_the_move_either():
    """EM scores its pairs with the levels as they stand: a chain's u as sampled among all
    pairs would make a new title after a move strong evidence for a match while EM learns the
    other comparisons. Prepared, the moved chain weighs about what the title says given the
    move; a level sampling never saw, or a chain met by a handful of sampled pairs, leans on
    the defaults instead of reading one chance agreement as certain."""
    keys = [lvl.key for lvl in COMPARISONS["title"].levels]
    trained = _trained_dict()
    levels = _title_levels(trained)
    sampled = 300_000
    joint_u = {"moved_exact": 0.0001, "moved_role": 0.0002, "moved_differs": 0.0027,
               "exact": 0.01, "role": 0.02, "similar": 0.03, "loose": 0.1, "differs": 0.8357}
    for key in keys:
        levels[keys.index(key)].pop("u_probability", None)  # never sampled unless listed
        if key in joint_u:
            levels[keys.index(key)]["u_probability"] = joint_u[key]
    prepared = dict(zip(keys, _title_levels(prepare_chains_for_em(trained, sampled))))
    # what EM's first step reads for a true match that moved and has a new title (6 % of them)
    assert math.log2(0.06 / 0.0027) > 4  # as sampled
    assert math.log2(0.06 / prepared["moved_differs"]["u_probability"]) < 0
    assert prepared["moved_similar"]["u_probability"] > 0  # never sampled: its default's share
    assert sum(prepared[k]["u_probability"] for k in keys if k.startswith("moved_")) == pytest.approx(0.25)
    assert sum(prepared[k]["u_probability"] for k in keys if not k.startswith("moved_")) == pytest.approx(0.75)
    # three sampled pairs in the whole chain, all "moved, same title": not a u of 1
    few = _trained_dict()
    for level, key in zip(_title_levels(few), keys):
        level.pop("u_probability", None)
        if key == "moved_exact":
            level["u_probability"] = 3 / sampled
    chain = dict(zip(keys, _title_levels(apply_conditional_chains(prepare_chains_for_em(few, sampled)))))
    assert chain["moved_exact"]["u_probability"] == pytest.approx((3 + CHAIN_PSEUDO_PAIRS * 0.15) / (3 + CHAIN_PSEUDO_PAIRS))
    assert chain["moved_exact"]["u_probability"] < 0.5


def test_a_run_whose_sample_never_shared_a_city_keeps_its_defaults():
    """Candidates with no place at all: random sampling never sees "same city", so neither
    same-city level has a u; with no namesake figure either the model keeps its defaults."""
    trained = _trained_dict()
    keys = [lvl.key for lvl in COMPARISONS["location"].levels]
    for key in ("same_city", "namesake_city"):
        _location_levels(trained)[keys.index(key)].pop("u_probability", None)
    out = _location_levels(apply_namesake_city_u(trained, None))
    assert "u_probability" not in out[keys.index("namesake_city")]
    assert out[keys.index("same_city")]["m_probability"] == out[keys.index("namesake_city")]["m_probability"]


def _name_city_index(rows: list[tuple[str, str | None]]) -> duckdb.DuckDBPyConnection:
    """An index of (name, city) profiles, every one of them a candidate too, with the figures
    the namesake-city frequencies read and those frequencies built."""
    con = duckdb.connect()
    con.execute("CREATE TABLE rows (name_pair VARCHAR, city VARCHAR)")
    con.executemany("INSERT INTO rows VALUES (?, ?)", rows)
    con.execute(
        f"CREATE TABLE {TABLES.profiles} AS SELECT name_pair, city, name_pair || ' @ ' || city AS name_city FROM rows"
    )
    stats = population.statistics_sql(TABLES.profiles, [])
    for name in (population.NAME_CITIES, population.CITIES, population.NAMESAKE_PLACES):
        con.execute(f"CREATE TABLE {TABLES.population(name)} AS {stats[name]}")
    con.execute(f"CREATE TABLE {TABLES.ats} AS SELECT * FROM {TABLES.profiles}")
    population.name_city_frequencies(con, TABLES)
    return con


def _name_city_u(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    return dict(con.execute(f"SELECT * FROM {TABLES.term_frequencies('name_city')}").fetchall())


def test_the_index_counts_how_often_its_namesakes_share_a_city():
    con = _name_city_index([("ann lee", "leeds"), ("ann lee", "leeds"), ("ann lee", "york"),
                            ("bo ng", "pune"), ("bo ng", None), (None, "leeds")])
    # ann lee: 3 profiles with a city -> 6 ordered pairs, 2 of them in leeds; bo ng: one city
    # only; 2 pairs of the 4 profiles with a name and a city share one (the nameless one is not
    # among them)
    assert population.namesake_places(con, TABLES) == (2.0, 6.0, 2.0, 4.0)
    # too few namesakes to tell: the level keeps its one u, and no name and city is looked up
    assert population.namesake_city_share(con, TABLES) is None
    assert _name_city_u(con) == {}


def _clustered_index() -> list[tuple[str | None, str | None]]:
    """40 cities of 12 people each, everyone else's name their own; 20 "jing wang", ten of them
    in beijing; 20 "rahul iyer", one to a city (one in pune); one "ann lee", in leeds; and 300
    profiles in pune without a name, which must not make pune look common among named people."""
    cities = ["beijing", "pune", "leeds"] + [f"city{k}" for k in range(37)]
    rows: list[tuple[str | None, str | None]] = [(f"person {c} {k}", c) for c in cities for k in range(12)]
    rows += [("jing wang", "beijing")] * 10 + [("jing wang", c) for c in cities[3:13]]
    rows += [("rahul iyer", c) for c in cities[1:21]]
    return rows + [("ann lee", "leeds")] + [(None, "pune")] * 300


def test_a_shared_city_beside_a_shared_name_is_weighed_by_where_that_name_lives():
    """Half the index's jing wangs live in beijing, one rahul iyer in twenty in pune: beside the
    same name, a shared beijing is weak evidence and a shared pune strong, each as that name's
    bearers show (shrunk toward the index's spread of cities by as many namesakes as the
    index's own namesake share implies), and a name held once as the namesakes' average."""
    rows = _clustered_index()
    con = _name_city_index(rows)
    same, total, _, _ = population.namesake_places(con, TABLES)
    share = same / total
    assert (same, total) == (90.0, 760.0)  # jing wang: 10 x 9 of 20 x 19; rahul iyer: 0 of 20 x 19
    named = [(name, city) for name, city in rows if name is not None]
    people = {c: sum(1 for _, city in named if city == c) for _, c in named}
    n = len(named)
    random_share = sum(k * (k - 1) for k in people.values()) / (n * (n - 1))
    assert population.random_city_share(con, TABLES) == pytest.approx(random_share)
    a = (1 - share) / (share - random_share)
    assert population.namesake_city_concentration(share, random_share) == pytest.approx(a)
    u = _name_city_u(con)
    assert u["jing wang @ beijing"] == pytest.approx((10 + a * people["beijing"] / n) / (20 + a))
    assert u["rahul iyer @ pune"] == pytest.approx((1 + a * people["pune"] / n) / (20 + a))
    assert u["rahul iyer @ pune"] > random_share  # above the floor: the value itself, not the floor
    assert u["jing wang @ beijing"] > 2 * share and u["rahul iyer @ pune"] < share / 2
    assert u["ann lee @ leeds"] == pytest.approx((1 + a * people["leeds"] / n) / (1 + a))
    assert people["leeds"] / n < u["ann lee @ leeds"] < 2 * share

    # Splink weighs the level by it: the bits part as the two chances do
    trained = apply_namesake_city_u(_trained_dict(), share)
    frequencies = {"name_city": u}

    def location_bits(name: str, city: str) -> float:
        first, last = name.split(" ")
        record = {"first_name": first, "last_name": last, "name_pair": name, "city": city,
                  "name_city": f"{name} @ {city}"}
        left, right = _record("a1", **record), _record("b1", **record)
        assert levels_of(left, right)["location"] == "namesake_city"
        return _bits(left, right, frequencies, trained, "location")

    m = _location_levels(trained)[0]["m_probability"]
    assert location_bits("rahul iyer", "pune") == pytest.approx(math.log2(m / u["rahul iyer @ pune"]))
    assert location_bits("jing wang", "beijing") == pytest.approx(math.log2(m / u["jing wang @ beijing"]))


def test_a_shared_small_town_beside_a_widespread_name_is_no_rarer_than_between_anyone():
    """A name with many bearers, one of them in a small town: its own spread says a bearer is
    almost never there, but a shared city is never rarer beside a shared name than between
    any two profiles (relatives of one name stay in one town)."""
    cities = [f"city{k}" for k in range(20)]
    rows: list[tuple[str | None, str | None]] = [("kim lee", c) for c in cities for _ in range(10)]
    rows += [("kim lee", "smalltown")] + [(f"p{k}", cities[k % 20]) for k in range(600)]
    rows += [(f"family{j}", cities[j % 20]) for j in range(50) for _ in range(10)]  # names that cluster
    con = _name_city_index(rows)
    share = population.namesake_city_share(con, TABLES)
    random_share = population.random_city_share(con, TABLES)
    a = population.namesake_city_concentration(share, random_share)
    assert a is not None
    unfloored = (1 + a * 1 / len(rows)) / (201 + a)  # 201 kim lees, one in smalltown
    assert unfloored < random_share / 5
    assert _name_city_u(con)["kim lee @ smalltown"] == pytest.approx(random_share)


def test_where_names_and_places_are_independent_a_namesake_lives_where_anyone_does():
    """Names spread over the cities as everyone is (a register's names beside its suburbs):
    the namesake share is no higher than two random profiles', and the same city beside the
    same name is as common as that city."""
    cities = [f"city{k}" for k in range(10)]
    rows = [(f"name{j}", cities[(j + k) % 10]) for j in range(30) for k in range(10)]
    rows += [(f"solo{k}", cities[k % 3]) for k in range(60)]  # three cities commoner than the rest
    con = _name_city_index(rows)
    share = population.namesake_city_share(con, TABLES)
    assert share == 0.0
    random_share = population.random_city_share(con, TABLES)
    assert population.namesake_city_concentration(share, random_share) is None
    n = len(rows)
    shares = {c: sum(1 for _, city in rows if city == c) / n for _, c in rows}
    assert min(shares.values()) < random_share < max(shares.values())
    for value, u in _name_city_u(con).items():
        city = value.split(" @ ")[1]
        assert u == pytest.approx(max(shares[city], random_share))


def _name_frequencies(names: list[tuple[str, str]]) -> tuple[duckdb.DuckDBPyConnection, dict[str, float], dict[str, int]]:
    """The run's term frequency tables over an index of these (first, last) names, every
    name a candidate too: the whole-name frequency each name is given (first-name share x the
    last name's share given the first) and how many profiles hold each name."""
    con = duckdb.connect()
    con.execute("CREATE TABLE names (first_name VARCHAR, last_name VARCHAR)")
    con.executemany("INSERT INTO names VALUES (?, ?)", names)
    con.execute(
        f"CREATE TABLE {TABLES.profiles} AS SELECT first_name, first_name AS first_name_canonical, last_name, "
        "first_name || ' ' || last_name AS name_pair, NULL::VARCHAR AS name_city, NULL::VARCHAR AS company, "
        "NULL::VARCHAR AS city, "
        "NULL::VARCHAR[] AS companies FROM names"
    )
    for name, sql in population.statistics_sql(TABLES.profiles, []).items():
        con.execute(f"CREATE TABLE {TABLES.population(name)} AS {sql}")
    con.execute(f"CREATE TABLE {TABLES.subset} AS SELECT * FROM {TABLES.profiles}")
    con.execute(
        f"CREATE TABLE {TABLES.ats} AS SELECT DISTINCT first_name, first_name_canonical, name_pair, company, "
        f"NULL::VARCHAR AS history_company, NULL::VARCHAR AS resume_company FROM {TABLES.profiles}"
    )
    population.term_frequency_tables(con, TABLES, len(names))
    whole = dict(con.execute(
        f"SELECT name_pair, tf_first_name_canonical * tf_name_pair FROM {TABLES.term_frequencies('name_pair')} "
        f"JOIN {TABLES.profiles} USING (name_pair) "
        f"JOIN {TABLES.term_frequencies('first_name_canonical')} USING (first_name_canonical)"
    ).fetchall())
    held = dict(con.execute(f"SELECT name_pair, n FROM {TABLES.population('name_pair')}").fetchall())
    return con, whole, held


def _families(n_families: int = 15) -> list[tuple[str, str]]:
    """Clustered names: families of four first and four last names that never mix; in each,
    four whole names held twice and twelve held once (N1 = 12 per family, N2 = 4)."""
    names = []
    for family in range(n_families):
        for i in range(4):
            for j in range(4):
                names += [(f"f{family}{i}", f"l{family}{j}")] * (2 if (i + j) % 4 == 0 else 1)
    return names


def test_a_name_the_index_holds_once_is_as_common_as_the_index_shows():
    """Names that cluster (families that never mix): a name the index holds once is as common
    among outsiders as Good-Turing reads from the names held twice (2 N2 / N shared by the N1
    once-seen names), several times what first x last name shares predict."""
    names = _families()
    _, whole, held = _name_frequencies(names)
    once = [name for name, n in held.items() if n == 1]
    n2 = sum(1 for n in held.values() if n == 2)
    assert (len(once), n2, len(names)) == (180, 60, 300)
    # every first and last name is held by 5 of the 300 profiles: independence says 1/3,600
    for name in once:
        assert whole[name] == pytest.approx(2 * n2 / len(names) / len(once))
        assert whole[name] > 5 * (5 / 300) * (5 / 300)
    # a name held twice still counts its one other holder
    assert whole[next(name for name, n in held.items() if n == 2)] == pytest.approx(1 / len(names))


def test_a_name_held_once_is_never_commoner_than_one_held_twice():
    """The factor is an average over every once-seen name; a common first name meeting a common
    last name once (across families) would be lifted above a name held twice. It is held at what
    a name held twice gets, and never below what independence says."""
    names = _families()
    names += [("ann", f"r{k}") for k in range(8)] + [(f"g{k}", "lee") for k in range(8)]
    names += [("ann", "lee")]
    _, whole, held = _name_frequencies(names)
    n = len(names)
    # independence says (9/n)^2, a quarter of 1/n; the factor (about 8) would make it twice 1/n
    assert whole["ann lee"] == pytest.approx(1 / n)
    first = {f: sum(1 for a, _ in names if a == f) for f, _ in names}
    last = {l: sum(1 for _, b in names if b == l) for _, l in names}
    for name in (name for name, k in held.items() if k == 1):
        f, l = name.split(" ")
        independent = first[f] / n * last[l] / n
        assert independent * (1 - 1e-9) <= whole[name] <= max(independent, 1 / n) * (1 + 1e-9)


def test_names_drawn_apart_keep_what_their_first_and_last_names_predict():
    """First and last names drawn independently (as in a register): there Good-Turing reads the
    once-seen names as no commoner than independence says (a little rarer, as each one's own
    profile is in its names' shares), and the correction, which only ever weakens a name's
    evidence, leaves their frequency as it was."""
    import random

    r = random.Random(5)
    firsts = [f"f{i}" for i in range(300)]
    lasts = [f"l{i}" for i in range(2000)]
    fw = [1 / (i + 1) for i in range(300)]
    lw = [1 / (i + 1) ** 0.8 for i in range(2000)]
    names = list(zip(r.choices(firsts, fw, k=8000), r.choices(lasts, lw, k=8000)))
    con, whole, held = _name_frequencies(names)
    assert sum(1 for n in held.values() if n == 2) >= population.MIN_TWICE_SEEN_NAMES
    pop = TABLES.population
    first = dict(con.execute(f"SELECT first_name_canonical, n FROM {pop('first_name_canonical')}").fetchall())
    last = dict(con.execute(f"SELECT last_name, n FROM {pop('last_name')}").fetchall())
    for name in (name for name, n in held.items() if n == 1):
        f, l = name.split(" ")
        assert whole[name] == pytest.approx(first[f] / len(names) * last[l] / len(names))


def test_an_earlier_employer_on_the_resume_is_looked_up_in_the_profile_career():
    """The resume dates the jobs before the current one; the rarest of them the index knows is
    compared with the profile's career (either side of the pair), a commoner shared one still
    counts as another level, and a candidate whose resume names no employer the index knows
    has nothing to say."""
    ats = _record("a1", first_name="ann", last_name="lee", company="microsoft", companies=["microsoft"],
                  resume_company="traf o data", resume_companies=["seattle", "traf o data"])

    def level(companies: list[str] | None, left: dict[str, Any] = ats) -> str | None:
        profile = _record("b1", first_name="ann", last_name="lee", companies=companies)
        return levels_of(left, profile)["resume_employer"]

    assert level(["contoso", "traf o data"]) == "in_history"
    assert levels_of(_record("b1", first_name="ann", last_name="lee", companies=["traf o data"]),
                     ats)["resume_employer"] == "in_history"
    assert level(["seattle"]) == "any_in_history"
    assert level(["contoso"]) == "differs"
    assert level(None) is None
    unknown = {**ats, "resume_company": None}
    assert level(["contoso"], unknown) is None
    # a candidate with no current employer on its record still has its resume read
    jobless = {**ats, "company": None, "companies": None}
    assert level(["contoso", "traf o data"], jobless) == "in_history"
    assert levels_of(_record("b1", first_name="ann", last_name="lee", companies=["traf o data"]),
                     jobless)["resume_employer"] == "in_history"
    # two candidates (the unlinkables' self-comparison) have no career to compare
    assert levels_of(ats, {**ats, "unique_id": "a2"})["resume_employer"] is None
    # the current employer keeps its own comparison
    assert levels_of(ats, _record("b1", first_name="ann", last_name="lee", company="microsoft",
                                  companies=["microsoft", "traf o data"]))["company"] == "same"


def test_the_resume_employer_compared_is_the_rarest_the_index_knows():
    from connect_pipeline.linkage.prepare import add_resume_company

    con = duckdb.connect()
    con.execute(
        f"CREATE TABLE {TABLES.ats} AS SELECT * FROM (VALUES "
        "('1', ['big corp', 'small firm', 'senior analyst']), ('2', ['nobody knows']), ('3', NULL), "
        "('4', ['tie b', 'tie a'])"
        ") t(unique_id, resume_companies)"
    )
    con.execute(f"ALTER TABLE {TABLES.ats} ADD COLUMN resume_company VARCHAR")
    con.execute(
        f"CREATE TABLE {TABLES.population('history_company')} AS SELECT * FROM (VALUES "
        "('big corp', 900), ('small firm', 12), ('tie a', 5), ('tie b', 5)) t(history_company, n)"
    )
    assert add_resume_company(con, TABLES) == 2
    chosen = dict(con.execute(f"SELECT unique_id, resume_company FROM {TABLES.ats}").fetchall())
    # the title part no profile names is never chosen; a tie goes to the first in order
    assert chosen == {"1": "small firm", "2": None, "3": None, "4": "tie a"}


def test_both_sides_carry_the_name_and_city_the_namesake_level_looks_up():
    """The lookup value is the name the level compares and the city it compares, trimmed as
    they are; no city (or only spaces), or no name, is no value."""
    from connect_pipeline.linkage.prepare import feature_select

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE f AS SELECT * FROM (VALUES ('1', 'ann', 'lee', ' leeds '), ('2', 'ann', 'lee', '  '), "
        "('3', NULL, 'lee', 'leeds')) t(unique_id, first_name_canonical, last_name, city)"
    )
    for ats_side in (True, False):
        select = feature_select({"first_name_canonical", "last_name", "city"}, "unique_id", ats_side=ats_side)
        rows = dict(con.execute(f"SELECT unique_id, name_city FROM (SELECT {select} FROM f) ORDER BY 1").fetchall())
        assert rows == {"1": "ann lee @ leeds", "2": None, "3": None}
        names, cities = con.execute(f"SELECT list(name_pair), list(city) FROM (SELECT {select} FROM f)").fetchall()[0]
        assert (names[0], cities[0]) == ("ann lee", "leeds")
