"""The linkage model on a small synthetic world with namesakes, nicknames, married names and job
changes, on real DuckDB and Splink."""

from __future__ import annotations

import ast
import dataclasses
import json
import math
import random
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest
from splink import DuckDBAPI, Linker

from connect_pipeline.errors import LinkageError
from connect_pipeline.linkage import (
    DEFAULT_THRESHOLD,
    LinkConfig,
    LinkResult,
    LinkRun,
    build_population,
    link_tenant,
    population_is_current,
)
from connect_pipeline.linkage import blocking as blk
from connect_pipeline.linkage import training
from connect_pipeline.linkage.settings import MODEL, UNTRAINED_PRIOR
from connect_pipeline.linkage.tables import TABLES, Tables
from connect_pipeline.normalise.features import FEATURE_SCHEMA
from tests.conftest import log_lines

NICKNAMES = {
    "william": "bill", "robert": "bob", "elizabeth": "liz", "katherine": "kate",
    "michael": "mike", "james": "jim", "margaret": "maggie", "richard": "rick",
    "jennifer": "jen", "thomas": "tom", "alexander": "alex", "christopher": "chris",
}
FIRST = list(NICKNAMES) + [
    "maria", "john", "david", "sarah", "laura", "daniel", "anna", "peter", "emma", "lucas",
    "sofia", "noah", "olivia", "liam", "mia", "ethan", "chloe", "omar", "fatima", "yuki",
    "ines", "pablo", "carmen", "ivan", "olga", "nina", "hugo", "lea", "marc", "julia",
]
LAST = [
    "smith", "johnson", "garcia", "martin", "muller", "rossi", "nguyen", "kim", "silva", "lopez",
    "brown", "wilson", "moreau", "dubois", "schmidt", "novak", "kowalski", "jensen", "larsen",
    "andersen", "costa", "ferreira", "tanaka", "sato", "ivanova", "petrov", "hughes", "walker",
    "young", "king", "wright", "scott", "green", "baker", "adams", "nelson", "hill", "campbell",
    "mitchell", "roberts", "carter", "phillips", "evans", "turner", "torres", "parker", "collins",
    "edwards", "stewart", "morris", "murphy", "cook", "rogers", "morgan", "peterson", "cooper",
    "reed", "bailey", "bell", "gomez", "kelly", "howard", "ward", "cox", "diaz", "richardson",
    "wood", "watson", "brooks", "bennett", "gray", "james", "reyes", "cruz", "hughes", "price",
]
COMPANIES = [
    "acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka", "tyrell",
    "cyberdyne", "soylent", "vandelay", "dunder", "sterling", "pied piper", "aviato", "gringotts",
    "monarch", "oscorp", "massive", "nakatomi", "weyland", "zorg", "buy n large", "gekko",
    "prestige", "virtucon", "spacely", "cogswell", "bluth", "krusty", "duff", "moes", "lacroix",
    "northwind", "contoso", "fabrikam", "tailspin", "litware", "adatum", "proseware", "woodgrove",
    "lucerne", "margie", "alpine ski", "fourth coffee", "wingtip", "trey research", "coho",
    "blue yonder", "graphic design", "humongous", "relecloud", "datum", "southridge", "lamna",
    "consolidated", "vortex", "quantum leap", "brightside",
]
TITLES = ["software engineer", "data scientist", "product manager", "designer", "recruiter",
          "sales manager", "account executive", "engineering manager", "analyst", "consultant"]
CITIES = [("london", "gb"), ("paris", "fr"), ("berlin", "de"), ("madrid", "es"), ("new york", "us"),
          ("austin", "us"), ("toronto", "ca"), ("lisbon", "pt"), ("warsaw", "pl"), ("tokyo", "jp")]

N_PROFILES = 4000
N_MATCHED = 600
N_NAMESAKES = 250


def _canonical(first: str) -> str:
    reverse = {v: k for k, v in NICKNAMES.items()}
    return reverse.get(first, first)


def _row(uid, first, last, company, companies, title, slug, emails, phones, city, country):
    return {
        "unique_id": uid, "first_name": first, "first_name_canonical": _canonical(first),
        "last_name": last, "full_name": f"{first} {last}", "company": company,
        "companies": companies, "title": title, "linkedin_slug": slug, "emails": emails,
        "phones": phones, "city": city, "country": country,
    }


def _profiles(rng: random.Random) -> list[dict]:
    rows = []
    for i in range(N_PROFILES):
        # skewed name choice: many namesakes on common names
        first = FIRST[min(int(rng.expovariate(1 / 12)), len(FIRST) - 1)]
        last = LAST[min(int(rng.expovariate(1 / 20)), len(LAST) - 1)]
        company = rng.choice(COMPANIES)
        past = rng.sample(COMPANIES, rng.randint(0, 3))
        companies = list(dict.fromkeys([company, *past]))
        city, country = rng.choice(CITIES)
        slug = f"{first}-{last}-{i:05x}" if rng.random() < 0.8 else None
        emails = [f"{first}.{last}.{i}@mail{i % 7}.example"] if rng.random() < 0.7 else []
        if emails and rng.random() < 0.3:
            emails.append(f"{first[0]}{last}{i}@{company}.example")
        phones = [f"+4420{7000000 + i}"] if rng.random() < 0.4 else []
        rows.append(_row(f"p{i:06d}", first, last, company, companies, rng.choice(TITLES), slug,
                         emails, phones, city, country))
    return rows


def _ats(rng: random.Random, profiles: list[dict]) -> tuple[list[dict], dict[int, str]]:
    """ATS candidates: noisy copies of some profiles plus namesakes who are not in the index."""
    rows, truth = [], {}
    chosen = rng.sample(range(len(profiles)), N_MATCHED)
    cid = 1000
    for n, idx in enumerate(chosen):
        p = dict(profiles[idx])
        scenario = n % 5
        first, last, company = p["first_name"], p["last_name"], p["company"]
        emails = list(p["emails"]) if rng.random() < 0.8 else []
        if scenario == 1 and first in NICKNAMES:  # nickname in the ATS
            first = NICKNAMES[first]
        elif scenario == 2:  # married-name change, same e-mail
            last = rng.choice([x for x in LAST if x != last])
            emails = list(p["emails"]) or [f"{first}.{last}@home.example"]
            if not p["emails"]:  # give the profile that e-mail too (it is the same person)
                profiles[idx]["emails"] = list(emails)
        elif scenario == 3 and len(p["companies"]) > 1:  # job change: ATS knows a past company
            company = p["companies"][-1]
        elif scenario == 4 and len(last) > 4:  # typo in last name
            last = last[:-2] + last[-1] + last[-2]
        if rng.random() < 0.3:
            emails = emails + [f"{first}{cid}@personal.example"]
        slug = p["linkedin_slug"] if rng.random() < 0.5 else None
        phones = p["phones"] if rng.random() < 0.5 else []
        city, country = (p["city"], p["country"]) if rng.random() < 0.8 else rng.choice(CITIES)
        title = p["title"] if rng.random() < 0.6 else rng.choice(TITLES)
        row = _row(str(cid), first, last, company, [company], title, slug, emails, phones, city,
                   country)
        row["candidate_id"] = cid
        rows.append(row)
        truth[cid] = p["unique_id"]
        cid += 1
    for n in range(N_NAMESAKES):  # same name as a profile, not that person
        p = rng.choice(profiles)
        company = rng.choice([c for c in COMPANIES if c not in p["companies"]])
        city, country = rng.choice([c for c in CITIES if c[0] != p["city"]])
        slug = f"{p['first_name']}-{p['last_name']}-x{cid}" if rng.random() < 0.5 else None
        emails = [f"{p['first_name']}{cid}@other.example"] if rng.random() < 0.7 else []
        row = _row(str(cid), p["first_name"], p["last_name"], company, [company],
                   rng.choice(TITLES), slug, emails, [], city, country)
        row["candidate_id"] = cid
        rows.append(row)
        cid += 1
    return rows, truth


SPECIAL_EMAIL_CONFLICT = 900001
SPECIAL_NAMESAKE = 900002


def _frame(rows: list[dict], ats: bool) -> pl.DataFrame:
    schema = dict(FEATURE_SCHEMA)
    if ats:
        schema["candidate_id"] = pl.Int64()
    return pl.DataFrame(rows, schema=schema)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    rng = random.Random(7)
    profiles = _profiles(rng)
    ats_rows, truth = _ats(rng, profiles)
    # Same e-mail as a profile, but a totally different name, company and place.
    victim = next(p for p in profiles if p["emails"] and p["first_name"] == "john")
    ats_rows.append(_row(str(SPECIAL_EMAIL_CONFLICT), "zoltan", "quagliarello", "lamna",
                         ["lamna"], "chef", None, [victim["emails"][0]], [], "tokyo", "jp")
                    | {"candidate_id": SPECIAL_EMAIL_CONFLICT})
    # A namesake of a profile whose LinkedIn and e-mail conflict with it.
    twin = next(p for p in profiles if p["linkedin_slug"] and p["emails"] and p["last_name"] == "kim")
    ats_rows.append(_row(str(SPECIAL_NAMESAKE), twin["first_name"], "kim", "southridge",
                         ["southridge"], "recruiter", "someone-else-entirely",
                         ["other.person@elsewhere.example"], [], "lisbon", "pt")
                    | {"candidate_id": SPECIAL_NAMESAKE})
    base = tmp_path_factory.mktemp("linkage")
    path = base / "profile_features.parquet"
    _frame(profiles, ats=False).write_parquet(path)
    ats = _frame(ats_rows, ats=True)
    with log_lines() as messages:
        result = link_tenant(
            ats, path, base / "model",
            LinkConfig(u_max_pairs=3e5),
            db_path=base / "tenant.duckdb",
        )
    return {"result": result, "truth": truth, "ats": ats, "profiles_path": path, "base": base,
            "messages": messages, "email_victim": victim["unique_id"], "twin": twin["unique_id"]}


def _precision_recall(result: LinkResult, truth: dict[int, str]) -> tuple[float, float]:
    pairs = dict(zip(result.matches["candidate_id"].to_list(), result.matches["profile_id"].to_list()))
    correct = sum(1 for c, p in pairs.items() if truth.get(c) == p)
    precision = correct / len(pairs) if pairs else 0.0
    recall = correct / len(truth)
    return precision, recall


def test_precision_and_recall(world):
    precision, recall = _precision_recall(world["result"], world["truth"])
    print(f"precision={precision:.3f} recall={recall:.3f}")
    assert precision >= 0.97
    assert recall >= 0.90


def test_at_most_one_profile_per_candidate_and_schema(world):
    m = world["result"].matches
    assert m["candidate_id"].n_unique() == m.height
    assert m.schema["candidate_id"] == pl.Int64
    assert m.schema["profile_id"] == pl.String
    assert m.schema["match_probability"] == pl.Float64
    assert (m["match_probability"] >= DEFAULT_THRESHOLD).all()


def test_every_match_explained(world):
    m = world["result"].matches
    assert m.height > 0
    assert (m["explanation"].str.len_chars() > 0).all()
    first = json.loads(m["top_signals"][0])
    assert first and {"comparison", "level", "weight"} <= set(first[0])
    # a LinkedIn-backed match says so in words
    linked = m.filter(pl.col("explanation").str.contains("Same LinkedIn profile|same LinkedIn profile"))
    assert linked.height > 0


def test_namesake_with_conflicting_identifiers_not_matched(world):
    m = world["result"].matches
    assert SPECIAL_NAMESAKE not in m["candidate_id"].to_list()


def test_shared_email_does_not_override_conflicting_name(world):
    m = world["result"].matches
    assert SPECIAL_EMAIL_CONFLICT not in m["candidate_id"].to_list()


def test_married_name_with_same_email_still_matched(world):
    ats, truth, m = world["ats"], world["truth"], world["result"].matches
    got = dict(zip(m["candidate_id"].to_list(), m["profile_id"].to_list()))
    married = [
        c for c, n in zip(ats["candidate_id"].to_list(), range(ats.height))
        if c in truth and n % 5 == 2
    ]
    hit = sum(1 for c in married if got.get(c) == truth[c])
    assert hit / len(married) >= 0.85


def test_model_files_written_and_loadable(world):
    r = world["result"]
    assert r.settings_path.exists() and r.params_path.exists()
    params = json.loads(r.params_path.read_text())
    assert params["link_type"] == "link_only"
    for comp in params["comparisons"]:
        for level in comp["comparison_levels"]:
            if not level.get("is_null_level"):
                assert level["m_probability"] > 0 and level["u_probability"] > 0
    db_api = DuckDBAPI()
    frame = pl.read_parquet(world["profiles_path"]).head(50)
    a = db_api.register(frame.to_arrow(), dataset_display_name="a")
    b = db_api.register(frame.to_arrow(), dataset_display_name="b")
    Linker([a, b], str(r.params_path), log_level=None)  # loads without error


def test_a_trained_title_is_read_on_chains_of_shares(world):
    """A run's trained title levels are shares within each chain (moved employer or not), not
    shares among all pairs: each chain's u sums to one (its m may not: a fuzzier level is capped
    at the weight of the stricter ones above it)."""
    params = json.loads(world["result"].params_path.read_text())
    comp = next(c for c in params["comparisons"] if c["output_column_name"] == "title")
    levels = [lvl for lvl in comp["comparison_levels"] if not lvl.get("is_null_level")]
    spec = next(c for c in MODEL if c.name == "title")
    for moved in (True, False):
        chain = [lvl for lvl, key in zip(levels, (lv.key for lv in spec.levels)) if key.startswith("moved_") == moved]
        assert sum(lvl["u_probability"] for lvl in chain) == pytest.approx(1.0)


def test_chart_is_self_contained(world):
    chart = world["result"].chart_path
    assert chart is not None and chart.exists()
    html = chart.read_text()
    assert "vega" in html.lower()
    assert "cdn" not in html.lower()
    assert 'src="https://' not in html and "src='https://" not in html


def test_unlinkables_score_the_candidates_against_themselves(world):
    r = world["result"]
    shares = [share for _, share in r.unlinkables]
    assert shares and shares == sorted(shares) and 0.0 < shares[-1] <= 1.0  # a cumulative share
    weights = [w for w, _ in r.unlinkables]
    assert weights == sorted(weights)
    assert r.unlinkables_chart_path is not None and "cdn" not in r.unlinkables_chart_path.read_text().lower()


def test_run_figures(world):
    r = world["result"]
    assert r.pairs_compared > 0 and r.candidates_scored > 0
    assert sum(n for _, n in r.score_histogram) == r.pairs_compared
    assert 0.0 <= r.borderline_share <= 1.0
    assert r.blocking_counts["linkedin_slug"] > 0


def test_exploding_asymmetric_rule_is_dropped_and_symmetric_one_trimmed(world):
    con = duckdb.connect()
    con.execute(f"CREATE TABLE r AS SELECT * FROM read_parquet('{world['profiles_path']}')")
    con.execute("CREATE TABLE l AS SELECT * FROM r LIMIT 300")
    constant = blk.BlockingKey("everyone", ("'same'",))
    lopsided = blk.BlockingKey("lopsided", ("'same'",), right_exprs=("'same'",))
    with log_lines() as messages:
        plan = blk.plan_blocking(con, (blk.DEFAULT_BLOCKING_KEYS[0], constant, lopsided), "l", "r",
                                 max_pairs_per_rule=100_000)
    # one block over the limit: the symmetric rule keeps running without it, the asymmetric
    # one (which cannot be trimmed) is never run
    assert [k.name for k in plan.kept] == ["linkedin_slug", "everyone"]
    assert plan.left_out["everyone"] == 300 * N_PROFILES
    assert plan.pairs(plan.kept[1]) == 0
    assert plan.dropped == {"lopsided": 300 * N_PROFILES}
    assert any("lopsided" in msg and "dropped" in msg for msg in messages)
    assert any("everyone" in msg and "left out" in msg for msg in messages)


def test_trimming_leaves_out_the_largest_blocks_only(world):
    con = duckdb.connect()
    con.execute(f"CREATE TABLE r AS SELECT * FROM read_parquet('{world['profiles_path']}')")
    con.execute("CREATE TABLE l AS SELECT * FROM r USING SAMPLE 400 ROWS")
    key = next(k for k in blk.DEFAULT_BLOCKING_KEYS if k.name == "first_name+company")
    total = blk.count_pairs(con, key, "l", "r")
    limit = total // 3
    trimmed, left_out, largest = blk.trim(con, key, "l", "r", limit)
    kept = total - left_out
    assert 0 < kept <= limit
    # the trimmed key generates exactly the kept pairs, and no kept block is larger than a
    # block left out (largest first)
    assert blk.count_pairs(con, trimmed, "l", "r") == kept
    blocks = blk._blocks_sql(trimmed, "l", "r", None)
    biggest_kept = con.execute(f"SELECT max(pairs) FROM ({blocks})").fetchall()[0][0]
    smallest_out = con.execute(f"SELECT min(pairs) FROM {trimmed.left_out}").fetchall()[0][0]
    assert biggest_kept <= smallest_out
    assert largest[0] == con.execute(f"SELECT max(pairs) FROM {trimmed.left_out}").fetchall()[0][0]
    # leaving out one block fewer would break the limit
    assert kept + smallest_out > limit


@pytest.mark.slow  # links a whole world again: `make test-fast` leaves it out
def test_link_tenant_trims_rules_over_limit(world, tmp_path):
    ats = world["ats"].head(300)
    # trimming is a matter of blocking: both runs score with the module's trained model
    params = world["result"].params_path
    full = link_tenant(ats, world["profiles_path"], tmp_path / "full", LinkConfig(trained_params=params))
    # 300 candidates x 5 pairs each = 1,500 > 1,000: the per-candidate bound sets the limit
    with log_lines() as messages:
        result = link_tenant(ats, world["profiles_path"], tmp_path / "model",
                             LinkConfig(trained_params=params, max_pairs_per_rule=1_000, max_pairs_per_candidate=5))
    trimmed = [msg.split("blocking rule ")[1].split(" would")[0]
               for msg in messages if "left out" in msg]
    assert trimmed, "a rule above the limit must be trimmed"
    assert all("(limit 1,500)" in msg for msg in messages if "left out" in msg)
    for name in trimmed:
        assert result.blocking_counts[name] > 1_500
        assert result.blocking_counts[f"{name} (largest blocks left out)"] > 0
        # the rule still runs, within the limit
        assert 0 <= result.blocking_counts.get(f"{name} (scored)", 0) <= 1_500
    assert result.pairs_compared < full.pairs_compared
    # identifiers still find people: most of the full run's matches survive
    both = result.matches.join(full.matches, on=["candidate_id", "profile_id"])
    assert both.height >= 0.8 * full.matches.height


@pytest.mark.slow  # links a whole world again: `make test-fast` leaves it out
def test_population_figures_from_the_snapshot_link_as_computed_in_the_run(world, tmp_path):
    population = tmp_path / "population"
    assert not population_is_current(world["profiles_path"], population)
    assert build_population(world["profiles_path"], population) == N_PROFILES
    assert population_is_current(world["profiles_path"], population)
    with log_lines() as messages:
        result = link_tenant(world["ats"], world["profiles_path"], tmp_path / "model",
                             LinkConfig(u_max_pairs=3e5), population_dir=population)
    assert any("read from the snapshot" in m for m in messages)
    assert not any("computing them in this run" in m for m in messages)
    assert any("computing them in this run" in m for m in world["messages"])
    ref = world["result"]
    assert result.pairs_compared == ref.pairs_compared
    assert result.blocking_counts == ref.blocking_counts
    both = ref.matches.join(result.matches, on="candidate_id", how="full", suffix="_snap", coalesce=True)
    assert both.height == ref.matches.height == result.matches.height
    assert (both["profile_id"] == both["profile_id_snap"]).all()
    assert (both["match_weight"] - both["match_weight_snap"]).abs().max() < 1e-6


@pytest.mark.slow  # links a whole world again: `make test-fast` leaves it out
def test_stale_population_figures_are_not_used(world, tmp_path):
    population = tmp_path / "population"
    build_population(world["profiles_path"], population)
    manifest = json.loads((population / "manifest.json").read_text())
    # figures written under other definitions (an older model): never read, recomputed
    (population / "manifest.json").write_text(json.dumps(manifest | {"fingerprint": "0" * 16}))
    pl.DataFrame({"first_name": ["john"], "n": [10**9]}).write_parquet(population / "first_name.parquet")
    assert not population_is_current(world["profiles_path"], population)
    with log_lines() as messages:
        result = link_tenant(world["ats"].head(200), world["profiles_path"], tmp_path / "model",
                             LinkConfig(trained_params=world["result"].params_path),
                             population_dir=population)
    assert any("are stale" in m and "computing them in this run" in m for m in messages)
    assert result.matches.height > 0


@pytest.mark.slow  # links part of a world twice: `make test-fast` leaves it out
def test_a_carried_model_sets_its_prior_from_the_tenant_share_on_a_grown_index(world, tmp_path):
    """An incremental run carries the last full run's parameters. Its prior is the share of the
    tenant's candidates the index holds over the index's size: on an index that has doubled
    since, the carried prior must halve (the tenant's share is the same), not stay as trained
    (which would say the index holds twice the candidates it can). The share travels beside
    the params file, from one carried run to the next; a params file without it still loads."""
    trained_share = world["result"].share_in_index
    assert trained_share is not None
    n = pl.scan_parquet(world["profiles_path"]).select(pl.len()).collect().item()
    trained = json.loads(world["result"].params_path.read_text())
    assert trained["probability_two_random_records_match"] == pytest.approx(trained_share / n)
    # the index doubles with people nobody in the tenant resembles
    profiles = pl.read_parquet(world["profiles_path"])
    strangers = profiles.with_columns(
        ("x" + pl.col("unique_id")).alias("unique_id"),
        ("zq" + pl.col("unique_id")).alias("first_name"),
        ("zq" + pl.col("unique_id")).alias("first_name_canonical"),
        ("xv" + pl.col("unique_id")).alias("last_name"),
    )
    grown = tmp_path / "grown.parquet"
    pl.concat([profiles, strangers]).write_parquet(grown)
    ats = world["ats"].head(200)

    def carried_prior(params: Path, model: str) -> tuple[float, Path]:
        result = link_tenant(ats, grown, tmp_path / model, LinkConfig(trained_params=params))
        return json.loads(result.params_path.read_text())["probability_two_random_records_match"], result.params_path

    first, first_params = carried_prior(world["result"].params_path, "first")
    assert first == pytest.approx(trained_share / (2 * n))
    again, _ = carried_prior(first_params, "again")  # the next incremental run carries the carried
    assert again == pytest.approx(trained_share / (2 * n))
    # parameters saved without their share (an older version): read as before, with a log line
    bare = tmp_path / "bare" / "params.json"
    bare.parent.mkdir()
    bare.write_text(world["result"].params_path.read_text())
    with log_lines() as messages:
        old, _ = carried_prior(bare, "bare")
    assert old == pytest.approx(trained_share / n)
    assert any("params.share.json" in m and "next full run saves it" in m for m in messages)


def test_an_empty_window_leaves_the_carried_model_as_it_was(world, tmp_path):
    """An incremental run whose window holds no changed candidate carries the last full run's
    parameters from the model folder it writes to: with nothing to link, that folder must keep
    them (and their share), or every later window scores with untrained settings."""
    import shutil

    model = tmp_path / "model"
    shutil.copytree(world["result"].params_path.parent, model)
    params, share = model / "params.json", training.share_path(model / "params.json")
    before = (params.read_text(), share.read_text())
    result = link_tenant(world["ats"].head(0), world["profiles_path"], model, LinkConfig(trained_params=params))
    assert result.matches.height == 0
    assert (params.read_text(), share.read_text()) == before
    # carried from elsewhere into an empty folder: copied, with the share
    elsewhere = tmp_path / "elsewhere"
    link_tenant(world["ats"].head(0), world["profiles_path"], elsewhere, LinkConfig(trained_params=params))
    assert (elsewhere / "params.json").read_text() == before[0]
    assert training.share_path(elsewhere / "params.json").read_text() == before[1]


def test_a_share_is_used_only_beside_the_parameters_it_belongs_to(tmp_path):
    """The share file records the prior it set: beside parameters with another prior (one of
    the two replaced without the other) it is refused with a warning, not used."""
    params = tmp_path / "params.json"
    training.save_share(params, 0.6, 0.6 / 1000)
    assert training.load_share(params, 0.6 / 1000) == pytest.approx(0.6)
    with log_lines() as messages:
        assert training.load_share(params, 0.4 / 1000) is None
    assert any("belongs to other parameters" in m for m in messages)
    training.share_path(params).unlink()
    with log_lines() as messages:
        assert training.load_share(params, 0.6 / 1000) is None
    assert any("next full run saves it" in m for m in messages)


def test_a_run_that_could_score_nothing_still_saves_the_share_its_prior_came_from(world, tmp_path):
    """No candidate shares a key with any profile: the share is not re-estimated from scores,
    and the prior stays the starting one; its share is saved all the same, so a run carrying
    these parameters reads the prior the way it was set."""
    ats = world["ats"].head(30).with_columns(
        pl.format("qzx{}", pl.col("candidate_id")).alias("first_name"),
        pl.format("vwq{}", pl.col("candidate_id")).alias("last_name"),
        pl.lit(None, pl.String).alias("linkedin_slug"),
        pl.lit(None, pl.List(pl.String)).alias("emails"),
        pl.lit(None, pl.List(pl.String)).alias("phones"),
        pl.lit(None, pl.List(pl.String)).alias("companies"),
        pl.lit(None, pl.String).alias("company"),
        pl.lit(None, pl.String).alias("city"),
    )
    result = link_tenant(ats, world["profiles_path"], tmp_path / "model", LinkConfig(u_max_pairs=5e4))
    assert result.pairs_compared == 0 and result.share_in_index is None
    prior = json.loads(result.params_path.read_text())["probability_two_random_records_match"]
    n = pl.scan_parquet(world["profiles_path"]).select(pl.len()).collect().item()
    assert training.load_share(result.params_path, prior) == pytest.approx(prior * n)


def test_empty_ats_side(world, tmp_path):
    result = link_tenant(world["ats"].head(0), world["profiles_path"], tmp_path / "model")
    assert result.matches.height == 0 and result.pairs_compared == 0
    assert result.params_path.exists()


def test_a_reader_holding_the_model_files_sees_them_whole(world, tmp_path):
    """The model folder's files are replaced whole, never rewritten in place: a reader holding
    one (the UI opening the parameters, the next run carrying them) keeps the file it opened,
    and a run killed mid-write leaves the last model, not half of a new one. Covered: a full run
    with nothing to link (untrained settings over the last trained model) and a run carrying
    parameters (its settings)."""
    import shutil

    model = tmp_path / "model"
    shutil.copytree(world["result"].params_path.parent, model)
    params, settings = model / "params.json", model / "settings.json"
    held = {path: (path.open("rb"), path.read_bytes()) for path in (params, settings)}
    link_tenant(world["ats"].head(0), world["profiles_path"], model)  # a full run, empty side
    assert json.loads(params.read_text())["probability_two_random_records_match"] == pytest.approx(UNTRAINED_PRIOR)
    for path, (fh, before) in held.items():
        with fh:
            assert fh.read() == before, f"{path.name} was rewritten in place"
    shutil.copy(world["result"].params_path, params)
    settings.write_text("{}")  # anything the run's settings differ from
    with settings.open("rb") as fh:
        link_tenant(world["ats"].head(40), world["profiles_path"], model, LinkConfig(trained_params=params))
        assert fh.read() == b"{}", "settings.json was rewritten in place"
    assert json.loads(settings.read_text())["blocking_rules_to_generate_predictions"]


def test_missing_columns_raise_linkage_error(world, tmp_path):
    with pytest.raises(LinkageError):
        link_tenant(world["ats"].drop("emails"), world["profiles_path"], tmp_path / "m")


@pytest.mark.slow  # links a whole world again: `make test-fast` leaves it out
def test_chunked_scoring_and_explanation_pass_agree_with_every_pair(world, tmp_path):
    """Scoring in many slices keeps the same figures and matches as one pass, and each
    published weight (from the explanation pass) is the best weight its candidate got."""
    params = world["result"].params_path
    ats, path = world["ats"].head(300), world["profiles_path"]
    whole = link_tenant(ats, path, tmp_path / "whole", LinkConfig(trained_params=params),
                        scored_pairs_out=tmp_path / "review.parquet")
    sliced = link_tenant(ats, path, tmp_path / "sliced",
                         LinkConfig(trained_params=params, pairs_per_chunk=whole.pairs_compared // 4))
    assert whole.prediction_chunks == 1 and sliced.prediction_chunks > 3
    assert sliced.pairs_compared == whole.pairs_compared
    assert sliced.candidates_scored == whole.candidates_scored
    assert sliced.score_histogram == whole.score_histogram
    key = ["candidate_id", "profile_id"]
    assert sliced.matches.select(key).equals(whole.matches.select(key))
    assert sliced.matches["explanation"].to_list() == whole.matches["explanation"].to_list()
    # each candidate's probability counts all its profiles, however the candidates were sliced
    assert (sliced.matches["match_probability"] - whole.matches["match_probability"]).abs().max() < 1e-12

    review = pl.read_parquet(tmp_path / "review.parquet")
    assert review.height == whole.pairs_compared
    best = review.group_by("ats_uid").agg(pl.col("match_weight").max().alias("best"))
    joined = (
        whole.matches.with_columns(pl.col("candidate_id").cast(pl.String).alias("ats_uid"))
        .join(review.select("ats_uid", "profile_id", "match_weight"), on=["ats_uid", "profile_id"],
              suffix="_review")
        .join(best, on="ats_uid")
    )
    assert joined.height == whole.matches.height > 0
    assert (joined["match_weight"] - joined["match_weight_review"]).abs().max() < 1e-6
    assert (joined["best"] - joined["match_weight"]).abs().max() < 1e-6


def test_a_candidate_whose_best_profile_has_a_twin_is_dropped_as_a_tie_and_counted(world, tmp_path):
    """Two identical profiles: each counts against the other, so neither reaches the threshold,
    and the candidate is reported as an ambiguous tie (alone, its probability would have passed)."""
    ats = world["ats"].head(120)
    matched = world["result"].matches.filter(
        pl.col("candidate_id").is_in(ats["candidate_id"].implode()) & (pl.col("match_probability") > 0.999)
    ).row(0, named=True)
    profiles = pl.read_parquet(world["profiles_path"])
    twin = profiles.filter(pl.col("unique_id") == matched["profile_id"]).with_columns(
        pl.lit("twin-of-" + matched["profile_id"]).alias("unique_id"))
    path = tmp_path / "profiles.parquet"
    pl.concat([profiles, twin]).write_parquet(path)
    params = world["result"].params_path
    alone = link_tenant(ats, world["profiles_path"], tmp_path / "alone", LinkConfig(trained_params=params))
    tied = link_tenant(ats, path, tmp_path / "tied", LinkConfig(trained_params=params))
    assert matched["candidate_id"] in alone.matches["candidate_id"].to_list()
    assert matched["candidate_id"] not in tied.matches["candidate_id"].to_list()
    assert tied.blocking_counts["ambiguous ties dropped"] == alone.blocking_counts.get("ambiguous ties dropped", 0) + 1
    assert tied.matches.height == alone.matches.height - 1


def test_result_is_built_once_with_every_field_set(world):
    """A run hands back one finished result: frozen, and no field has a default a later step
    could have been meant to overwrite."""
    assert LinkResult.__dataclass_params__.frozen
    assert all(
        f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        for f in dataclasses.fields(LinkResult)
    )
    r = world["result"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.settings_path = Path()  # type: ignore[misc]
    # every field carries this run's figure, not a placeholder
    assert r.settings_path.name == "settings.json" and r.settings_path.exists()
    assert r.params_path.name == "params.json" and r.params_path.exists()
    assert r.chart_path is not None and r.chart_path.exists()
    assert r.prediction_chunks >= 1
    assert list(r.timings) == [
        "prepare", "block", "population", "engine", "register", "estimate_u", "estimate_m",
        "estimate_prior", "predict", "select",
    ]


# -- every working table is named by ``Tables`` ------------------------------------------------

LINKAGE_DIR = Path(blk.__file__).parent


def _table_name_patterns(tables: Tables = TABLES) -> dict[str, re.Pattern[str]]:
    """What a literal naming one of the run's tables looks like.

    The dataset labels that are plain words ("ats", "profiles") are left out: they appear in
    ordinary messages, and a label spelled elsewhere cannot mislead a step about a table.
    """
    names = set(tables.relations()) | {
        getattr(tables, f.name) for f in dataclasses.fields(tables)
        if f.name.endswith("_source") and "_" in getattr(tables, f.name)
    }
    prefixes = {
        tables.population(""), tables.term_frequencies(""),
        tables.left_out(blk.BlockingKey("", ())),
    }
    patterns = {n: re.compile(rf"(?<![\w.]){re.escape(n)}(?!\w)") for n in names}
    patterns |= {p: re.compile(rf"(?<!\w){re.escape(p)}") for p in prefixes}
    return patterns


def _literal_table_names(source: str) -> list[tuple[int, str]]:
    """(line, name) for every string literal (f-string parts included) naming a working table.

    Docstrings and other bare string statements are prose about the tables, not uses of them.
    """
    tree = ast.parse(source)
    prose = {
        id(node.value) for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    patterns = _table_name_patterns()
    return [
        (node.lineno, name)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose
        for name, pattern in patterns.items()
        if pattern.search(node.value)
    ]


def test_the_table_name_scan_finds_a_spelled_name():
    planted = (
        'def f(con):\n    """Reads top_pairs."""\n'
        '    con.execute(f"SELECT * FROM top_pairs WHERE x = {1}")\n'
    )
    assert _literal_table_names(planted) == [(3, "top_pairs")]
    assert _literal_table_names('x = "tf_pop_" + col\n') == [(1, "tf_pop_")]
    assert _literal_table_names('x = "the top pairs"\n') == []


def test_no_linkage_module_spells_a_working_table_name():
    """Only ``tables.py`` names the run's tables; every other module reads them from a
    ``Tables``, so no step depends on what another step happens to call its output."""
    spelled = {
        path.name: found
        for path in sorted(LINKAGE_DIR.glob("*.py"))
        if path.name != "tables.py" and (found := _literal_table_names(path.read_text()))
    }
    assert spelled == {}


@pytest.mark.slow  # links a whole world again: `make test-fast` leaves it out
def test_a_run_keeps_every_table_it_creates_in_its_namespace(world, tmp_path):
    """A run given other table names creates only those, and links exactly as with the usual
    ones."""

    @dataclasses.dataclass(frozen=True)
    class Renamed(Tables):
        def population(self, statistic: str) -> str:
            return f"other_pop_{statistic}"

        def term_frequencies(self, column: str) -> str:
            return f"other_tf_{column}"

        def left_out(self, key: blk.BlockingKey) -> str:
            return f"other_left_out_{key.slug}"

    # the dataset labels stay: renaming them changes the pairs Splink samples, hence the model
    renamed = Renamed(**{
        f.name: getattr(TABLES, f.name) if f.name.endswith("_source") else f"other_{getattr(TABLES, f.name)}"
        for f in dataclasses.fields(Tables)
    })
    ats = world["ats"].head(300)
    config = LinkConfig(u_max_pairs=5e4, max_pairs_per_rule=1_000, max_pairs_per_candidate=5)
    db = tmp_path / "renamed.duckdb"
    # the renamed run trains (its training tables are named too); the usual run scores with the
    # model it trained, so any difference comes from the names alone
    other = LinkRun(tmp_path / "renamed", config, db_path=db, tables=renamed).run(ats, world["profiles_path"])
    usual = LinkRun(tmp_path / "usual", dataclasses.replace(config, trained_params=other.params_path)).run(
        ats, world["profiles_path"]
    )

    con = duckdb.connect(str(db), read_only=True)
    created = {
        name for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() UNION SELECT view_name FROM duckdb_views() "
            "WHERE NOT internal"
        ).fetchall()
    }
    con.close()
    ours = {n for n in created if not n.startswith("__splink")}
    assert any(n.startswith("other_left_out_") for n in ours)  # trimming ran
    assert renamed.ats in ours and renamed.subset in ours and renamed.u_sample in ours
    assert {n for n in ours if not n.startswith("other_")} == set()

    key = ["candidate_id", "profile_id", "explanation"]
    assert other.matches.select(key).equals(usual.matches.select(key))
    assert (other.matches["match_weight"] - usual.matches["match_weight"]).abs().max() < 1e-9
    assert other.blocking_counts == usual.blocking_counts
    assert other.score_histogram == usual.score_histogram


def _keys_pairing(left: tuple[str | None, str, str], right: tuple[str | None, str, str]) -> list[str]:
    """The default keys that bring two records of (given name, family name, city) together; no
    identifier, employer or sound of a name on either side."""
    from connect_pipeline.linkage.settings import LIST_COLUMNS, MODEL_COLUMNS

    def table(con, name, first, last, city):
        cols = ", ".join(
            f"CAST(NULL AS VARCHAR[]) AS {c}" if c in (*LIST_COLUMNS, "phone_tails") else f"CAST(NULL AS VARCHAR) AS {c}"
            for c in MODEL_COLUMNS if c not in ("unique_id", "first_name", "first_name_canonical", "last_name", "city")
        )
        con.execute(
            f"CREATE TABLE {name} AS SELECT '{name}1' AS unique_id, ?::VARCHAR AS first_name, "
            f"?::VARCHAR AS first_name_canonical, ?::VARCHAR AS last_name, ?::VARCHAR AS city, {cols}",
            [first, first, last, city],
        )

    con = duckdb.connect()
    table(con, "l", *left)
    table(con, "r", *right)
    return [k.name for k in blk.DEFAULT_BLOCKING_KEYS if blk.count_pairs(con, k, "l", "r") > 0]


def test_one_mistyped_or_missing_name_is_still_blocked_by_the_other_and_the_city():
    """No identifier, no employer: with one name mistyped or missing, keys on the other name
    with the place (or with the given initial) still pair them ("michala neumann" in Winston
    Hills vs "michafla neumann")."""
    assert _keys_pairing(("michala", "neumann", "winston hills"), ("michafla", "neumann", "winston hills")) == [
        "last_name+first_initial", "last_name+city", "name_prefixes+city"
    ]
    assert _keys_pairing(("michala", "neumann", "winston hills"), ("michala", "nuemann", "winston hills")) == [
        "first_name+city"
    ]


def test_a_given_initial_or_two_mistyped_names_are_still_blocked():
    """A given name written as an initial, or mistyped past its first letter, beside the same
    family name, is found wherever the person lives now; both names mistyped past their first
    two letters ("kathleen povey" / "kathledn povez"), in the same place."""
    assert _keys_pairing(("j", "ashworth", "leeds"), ("john", "ashworth", "york")) == ["last_name+first_initial"]
    assert _keys_pairing(("zac", "maynard", "nambour"), ("zqc", "maynard", "nambur")) == ["last_name+first_initial"]
    assert _keys_pairing(("kathleen", "povey", "revesby"), ("kathledn", "povez", "revesby")) == ["name_prefixes+city"]
    # neither: another initial, another place
    assert _keys_pairing(("kathleen", "povey", "revesby"), ("mathleen", "povez", "revesby")) == []
    assert _keys_pairing(("kathleen", "povey", "revesby"), ("kathledn", "povez", "rockdale")) == []


def _location_m(params_path: Path) -> dict[str, float]:
    params = json.loads(Path(params_path).read_text())
    comp = next(c for c in params["comparisons"] if c["output_column_name"] == "location")
    levels = [lvl for lvl in comp["comparison_levels"] if not lvl.get("is_null_level")]
    spec = next(c for c in MODEL if c.name == "location")
    return {level.key: d["m_probability"] for level, d in zip(spec.levels, levels)}


@pytest.mark.slow  # links a whole world again: `make test-fast` leaves it out
def test_candidates_with_only_names_and_a_place_keep_the_documented_location_m(world, tmp_path):
    """With names and a city only, EM's session on the names has one comparison left to learn
    from, and one indicator cannot separate matches from non-matches: the run must not take
    what EM returns for it (it made a moved city veto two agreeing names)."""
    bare = world["ats"].with_columns(
        pl.lit(None, pl.String).alias("company"), pl.lit(None, pl.List(pl.String)).alias("companies"),
        pl.lit(None, pl.String).alias("title"), pl.lit(None, pl.String).alias("linkedin_slug"),
        pl.lit(None, pl.List(pl.String)).alias("emails"), pl.lit(None, pl.List(pl.String)).alias("phones"),
    )
    with log_lines() as messages:
        result = link_tenant(bare, world["profiles_path"], tmp_path / "model", LinkConfig(u_max_pairs=3e5))
    assert any("EM on first_name_canonical+last_name skipped" in m and "location" in m for m in messages)
    defaults = {lvl.key: lvl.default_m for lvl in next(c for c in MODEL if c.name == "location").levels}
    m = _location_m(result.params_path)
    # (a level weighing more than the stricter ones above it is still capped, below its default)
    assert [m[k] for k in ("same_city", "differs")] == [defaults["same_city"], defaults["differs"]]
    # the same world with employers and titles trains the session as before
    assert _location_m(world["result"].params_path) != _location_m(result.params_path)


def test_the_prior_is_the_share_of_candidates_the_index_holds(world):
    """600 of the 852 candidates are in the index; the e-mails and LinkedIn URLs find fewer of
    them (not every profile shows them), so only the scores of every comparison can tell."""
    params = json.loads(Path(world["result"].params_path).read_text())
    share = params["probability_two_random_records_match"] * N_PROFILES
    truth = len(world["truth"]) / world["ats"].height
    assert abs(share - truth) < 0.02, (share, truth)
    assert world["result"].share_in_index is not None
    assert abs(world["result"].share_in_index - share) < 1e-9
    assert any("candidates' scores" in m for m in world["messages"])


def test_the_share_in_the_index_by_em_recovers_a_known_share() -> None:
    """Candidates drawn from the mixture the estimate assumes: 70 % present (their profile's
    likelihood ratio large, plus a namesake's small one), the rest absent with only namesakes
    or no pair at all; a strong identifier-free tenant and a weak one."""
    rng = random.Random(3)
    n_profiles, n = 50_000, 4_000
    evidence = []
    for i in range(n):
        namesakes = sum(rng.choice((0.0, 50.0, 400.0)) for _ in range(rng.randint(0, 3)))
        if i < 0.7 * n:
            evidence.append(rng.lognormvariate(math.log(5e6), 1.5) + namesakes)
        elif namesakes:
            evidence.append(namesakes)
    for start in (0.1, 0.5, 0.95):
        assert abs(training.share_in_index(evidence, n, n_profiles, start) - 0.7) < 0.02
    assert training.share_in_index([], 0, n_profiles, 0.4) == 0.4


@pytest.mark.slow  # trains a model again: `make test-fast` leaves it out
def test_candidates_sharing_no_key_with_the_index_train_and_match_nobody(world, tmp_path):
    """Nothing to score: the run still trains, keeps its starting prior, and ends with no match."""
    strangers = world["ats"].head(30).with_columns(
        first_name=pl.lit("zebulon"), first_name_canonical=pl.lit("zebulon"),
        last_name=pl.concat_str(pl.lit("quixotevitch"), pl.col("candidate_id").cast(pl.String)),
        full_name=pl.lit("zebulon quixotevitch"), company=pl.lit("nowhere at all"),
        companies=pl.lit(["nowhere at all"]), linkedin_slug=pl.lit(None, pl.String),
        emails=pl.lit(None, pl.List(pl.String)), phones=pl.lit(None, pl.List(pl.String)),
        city=pl.lit("atlantis"), country=pl.lit("aq"),
    )
    result = link_tenant(strangers, world["profiles_path"], tmp_path / "model", LinkConfig(u_max_pairs=3e5))
    assert result.matches.height == 0 and result.pairs_compared == 0
    assert result.share_in_index is None
    assert json.loads(result.params_path.read_text())["probability_two_random_records_match"] > 0


@pytest.mark.slow  # trains a model again: `make test-fast` leaves it out
def test_a_failed_share_estimate_keeps_the_starting_prior_not_the_run(world, tmp_path, monkeypatch):
    """The prior's re-estimate is a refinement, like EM: if it fails the run still links."""
    from connect_pipeline.linkage import scoring

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory while scoring the sample")

    monkeypatch.setattr(scoring, "evidence_per_candidate", broken)
    with log_lines() as messages:
        result = link_tenant(world["ats"].head(300), world["profiles_path"], tmp_path / "model",
                             LinkConfig(u_max_pairs=3e5))
    assert result.share_in_index is None and result.matches.height > 0
    assert any("not re-estimated" in m and "starting prior stays" in m for m in messages)
