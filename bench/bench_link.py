"""Benchmark the linkage model on a synthetic world: N ATS candidates x M profiles.

    python bench/bench_link.py --ats 100000 --profiles 2000000

Features are generated vectorised (numpy + polars) straight into FEATURE_SCHEMA form: real
first names, surnames, employers and cities (the test world's catalog) at the head of Zipf
distributions with real-population skew and long generated tails (``--names realistic``, the
default; ``--names synthetic`` draws generated words only), profiles with LinkedIn slugs,
e-mails, phones and career histories; ATS candidates are noisy copies of some profiles
(nicknames, married names, job changes, typos, missing identifiers, personal e-mails) plus
namesakes who are not in the index. The snapshot's population figures and key index are built
first (once per snapshot, timed apart); the link then reads only the index blocks its keys hit
and scores the pairs the first pass keeps (``--no-index``: block over the whole index as
before). Prints seconds per phase, peak RSS and precision/recall against the known truth.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connect_pipeline.linkage import (  # noqa: E402
    DEFAULT_U_MAX_PAIRS,
    LinkConfig,
    build_key_index,
    build_population,
    key_index_is_current,
    link_tenant,
    population_is_current,
)
from connect_pipeline.normalise.features import FEATURE_SCHEMA  # noqa: E402
from connect_pipeline.normalise.names import phonetic_key  # noqa: E402


def _words(rng: np.random.Generator, n: int, lo: int, hi: int) -> np.ndarray:
    """n distinct-ish pronounceable lower-case words."""
    cons, vows = np.array(list("bcdfghjklmnprstvwz")), np.array(list("aeiou"))
    lengths = rng.integers(lo, hi + 1, n)
    out = []
    c = cons[rng.integers(0, len(cons), (n, hi))]
    v = vows[rng.integers(0, len(vows), (n, hi))]
    for i in range(n):
        k = lengths[i]
        out.append("".join(c[i, j] if j % 2 == 0 else v[i, j] for j in range(k)))
    return np.array(list(dict.fromkeys(out)))


def _zipf_index(rng: np.random.Generator, n: int, pool: int, a: float = 1.1) -> np.ndarray:
    ranks = np.arange(1, pool + 1, dtype=np.float64)
    p = ranks ** -a
    p /= p.sum()
    return rng.choice(pool, size=n, p=p)


def _pool(head: np.ndarray, rng: np.random.Generator, size: int, lo: int, hi: int) -> np.ndarray:
    """``head`` (real values, commonest first) followed by generated words up to ``size``."""
    head = np.array(list(dict.fromkeys(str(v).lower() for v in head)), dtype=object)
    taken = set(head.tolist())
    tail = [w for w in _words(rng, int(size * 1.3), lo, hi) if w not in taken][: max(0, size - len(head))]
    return np.concatenate([head, np.array(tail, dtype=object)]).astype(str)


def _real_heads() -> dict[str, np.ndarray]:
    """Real first names, last names, employers and cities from the test world's catalog, each
    ordered commonest first: cultures interleaved by weight, ranks kept within a culture."""
    from connect_pipeline.testkit.world.catalog import catalog

    cat = catalog()

    def interleave(table) -> np.ndarray:
        lists = [list(table.spelling[table.entry_start[e]] for e in entries)
                 for entries in table.culture_entries]
        order = np.argsort(-cat.culture_weights, kind="stable")
        out = []
        for rank in range(max(len(x) for x in lists)):
            out.extend(lists[k][rank] for k in order if rank < len(lists[k]))
        return np.array(out, dtype=object)

    return {"first": interleave(cat.first), "last": interleave(cat.last),
            "company": cat.company_canonical, "city": cat.city}


# Realistic skew (``--names realistic``): pool sizes and Zipf exponents chosen so the commonest
# value's share is about what a large professional index shows: the commonest first name about
# 3 % of people, the commonest surname about 1.3 %, the largest employer about 2 %, the largest
# city about 10 %, with long tails of rare values (200k surnames, 100k employers).
REALISTIC = {"first": (20_000, 0.8), "last": (200_000, 0.75), "company": (100_000, 0.8),
             "city": (5_000, 0.9)}
SYNTHETIC = {"first": (3_000, 1.0), "last": (80_000, 0.9), "company": (30_000, 1.0),
             "city": (800, 1.0)}


def make_world(n_ats: int, n_profiles: int, seed: int = 1,
               names: str = "realistic") -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """``names="realistic"``: real names, employers and cities (the catalog's) as the head of
    Zipf distributions with real-population skew; ``"synthetic"``: generated words only (the
    series measured before realistic names)."""
    rng = np.random.default_rng(seed)
    shape = REALISTIC if names == "realistic" else SYNTHETIC
    if names == "realistic":
        heads = _real_heads()
        firsts = _pool(heads["first"], rng, shape["first"][0], 3, 8)
        lasts = _pool(heads["last"], rng, shape["last"][0], 4, 10)
        companies = _pool(heads["company"], rng, shape["company"][0], 4, 9)
        cities = _pool(heads["city"], rng, shape["city"][0], 4, 9)
    else:
        firsts = _words(rng, shape["first"][0], 3, 8)
        lasts = _words(rng, shape["last"][0], 4, 10)
        companies = _words(rng, shape["company"][0], 4, 9)
        cities = _words(rng, shape["city"][0], 4, 9)
    nick_of = {i: f"{firsts[i][:3]}y" for i in range(len(firsts))}  # a diminutive form
    countries = np.array(["us", "gb", "de", "fr", "es", "ca", "in", "br", "nl", "pl"])
    titles = np.array(["software engineer", "data scientist", "product manager", "designer",
                       "recruiter", "sales manager", "account executive", "analyst",
                       "engineering manager", "consultant", "marketing manager", "nurse"])

    m = n_profiles
    fi = _zipf_index(rng, m, len(firsts), shape["first"][1])
    li = _zipf_index(rng, m, len(lasts), shape["last"][1])
    ci = _zipf_index(rng, m, len(companies), shape["company"][1])
    past = _zipf_index(rng, (m, 3), len(companies), shape["company"][1])
    n_past = rng.integers(0, 4, m)
    city_i = _zipf_index(rng, m, len(cities), shape["city"][1])
    ids = np.arange(m)
    prof = pl.DataFrame({
        "unique_id": np.char.add("p", np.char.zfill(ids.astype(str), 9)),
        "first_name": firsts[fi], "last_name": lasts[li], "company": companies[ci],
        "p0": companies[past[:, 0]], "p1": companies[past[:, 1]], "p2": companies[past[:, 2]],
        "n_past": n_past, "title": titles[rng.integers(0, len(titles), m)],
        "city": cities[city_i], "country": countries[city_i % len(countries)],
        "has_slug": rng.random(m) < 0.7, "has_email": rng.random(m) < 0.6,
        "has_phone": rng.random(m) < 0.3, "i": ids,
    })
    prof = prof.with_columns(
        first_name_canonical=pl.col("first_name"),
        full_name=pl.col("first_name") + " " + pl.col("last_name"),
        companies=pl.concat_list("company", "p0", "p1", "p2")
        .list.head(pl.col("n_past") + 1).list.unique(maintain_order=True),
        linkedin_slug=pl.when("has_slug").then(
            pl.col("first_name") + "-" + pl.col("last_name") + "-" + pl.col("i").cast(pl.String)),
        emails=pl.when("has_email").then(pl.concat_list(
            pl.col("first_name") + "." + pl.col("last_name") + pl.col("i").cast(pl.String)
            + "@mail.example")).otherwise(pl.lit([], dtype=pl.List(pl.String))),
        phones=pl.when("has_phone").then(pl.concat_list(
            "+1" + (2_000_000_000 + pl.col("i")).cast(pl.String))).otherwise(
            pl.lit([], dtype=pl.List(pl.String))),
    )

    n_match = int(n_ats * 0.6)
    n_other = n_ats - n_match
    src = rng.choice(m, size=n_match, replace=False)
    base = prof[src]
    k = n_match
    scen = rng.random(k)
    nick = scen < 0.10
    married = (scen >= 0.10) & (scen < 0.16)
    job = (scen >= 0.16) & (scen < 0.30)
    typo = (scen >= 0.30) & (scen < 0.36)
    new_last = lasts[_zipf_index(rng, k, len(lasts), shape["last"][1])]
    index_of = {w: i for i, w in enumerate(firsts)}
    nick_names = np.array([nick_of[index_of[f]] if n else f
                           for f, n in zip(base["first_name"].to_list(), nick)])
    last = base["last_name"].to_numpy().astype(object)
    last = np.where(married, new_last, last)
    typo_last = np.array([s[:-2] + s[-1] + s[-2] if len(s) > 4 else s for s in last])
    last = np.where(typo, typo_last, last)
    past_company = base["companies"].list.last().to_numpy()
    ats_m = base.with_columns(
        first_name=pl.Series(nick_names),
        last_name=pl.Series(last.astype(str)),
        company=pl.when(pl.Series(job)).then(pl.Series(past_company)).otherwise("company"),
        linkedin_slug=pl.when(pl.Series(rng.random(k) < 0.45)).then("linkedin_slug"),
        emails=pl.when(pl.Series(married | (rng.random(k) < 0.7))).then("emails")
        .otherwise(pl.lit([], dtype=pl.List(pl.String))),
        phones=pl.when(pl.Series(rng.random(k) < 0.4)).then("phones")
        .otherwise(pl.lit([], dtype=pl.List(pl.String))),
        title=pl.when(pl.Series(rng.random(k) < 0.6)).then("title")
        .otherwise(pl.lit(titles[0])),
        city=pl.when(pl.Series(rng.random(k) < 0.8)).then("city").otherwise(pl.lit(cities[0])),
        profile_truth=pl.col("unique_id"),
        # the earlier employers a resume dates (the profile's past), for 60 % of candidates
        resume_companies=pl.when(pl.Series(rng.random(k) < 0.6)).then(pl.col("companies").list.slice(1)),
    )
    # personal e-mails the index does not know
    ats_m = ats_m.with_columns(
        emails=pl.when(pl.Series(rng.random(k) < 0.3)).then(
            pl.col("emails").list.concat(pl.concat_list(pl.col("first_name") + "@personal.example")))
        .otherwise("emails"))

    # Not in the index: most are other people drawn from the same name distributions (common
    # names collide with profiles by chance); a quarter are deliberate namesakes of a profile
    # whose own LinkedIn slug or e-mail conflicts with it.
    o = n_other
    twin = prof[rng.choice(m, size=o, replace=True)]
    deliberate = rng.random(o) < 0.25
    own_first = firsts[_zipf_index(rng, o, len(firsts), shape["first"][1])]
    own_last = lasts[_zipf_index(rng, o, len(lasts), shape["last"][1])]
    oc = companies[_zipf_index(rng, o, len(companies), shape["company"][1])]
    ats_o = twin.with_columns(
        first_name=pl.when(pl.Series(deliberate)).then("first_name").otherwise(pl.Series(own_first)),
        last_name=pl.when(pl.Series(deliberate)).then("last_name").otherwise(pl.Series(own_last)),
        company=pl.Series(oc),
        title=pl.Series(titles[rng.integers(0, len(titles), o)]),
        city=pl.Series(cities[rng.integers(0, len(cities), o)]),
        phones=pl.lit([], dtype=pl.List(pl.String)),
        profile_truth=pl.lit(None, dtype=pl.String),
        resume_companies=pl.when(pl.Series(rng.random(o) < 0.6)).then(pl.concat_list(
            pl.Series(companies[_zipf_index(rng, o, len(companies), shape["company"][1])]),
            pl.Series(companies[_zipf_index(rng, o, len(companies), shape["company"][1])]))),
        has_slug=pl.Series(deliberate | (rng.random(o) < 0.4)),
        has_email=pl.Series(rng.random(o) < 0.6),
    ).with_columns(
        first_name_canonical=pl.col("first_name"),
        country=pl.Series(countries[rng.integers(0, len(countries), o)]),
        linkedin_slug=pl.when("has_slug").then(
            pl.col("first_name") + "-" + pl.col("last_name") + "-x" + pl.col("i").cast(pl.String)),
        emails=pl.when("has_email").then(pl.concat_list(
            pl.col("first_name") + pl.col("i").cast(pl.String) + "@other.example"))
        .otherwise(pl.lit([], dtype=pl.List(pl.String))),
    )
    ats = pl.concat([ats_m, ats_o], how="vertical_relaxed").with_columns(
        candidate_id=pl.int_range(1, n_ats + 1, dtype=pl.Int64),
        full_name=pl.col("first_name") + " " + pl.col("last_name"),
    )
    ats = ats.with_columns(
        companies=pl.concat_list("company"),
        unique_id=pl.col("candidate_id").cast(pl.String),
    )
    truth = dict(zip(ats["candidate_id"].to_list(), ats["profile_truth"].to_list()))
    truth = {c: p for c, p in truth.items() if p is not None}
    sounds = {"first_name_phonetic": phonetic_key(pl.col("first_name_canonical")),
              "last_name_phonetic": phonetic_key(pl.col("last_name"))}
    ats, prof = ats.with_columns(**sounds), prof.with_columns(**sounds)
    cols = list(FEATURE_SCHEMA)
    return (ats.select(*cols, "candidate_id", "resume_companies")
            .cast(FEATURE_SCHEMA | {"candidate_id": pl.Int64, "resume_companies": pl.List(pl.String)}),
            prof.select(cols).cast(FEATURE_SCHEMA), truth)


def main() -> None:
    # the link's progress (sizes, phases, timings) comes from the connect_pipeline loggers
    logging.basicConfig(format="  %(message)s", stream=sys.stdout)
    logging.getLogger("connect_pipeline").setLevel(logging.INFO)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ats", type=int, default=100_000)
    parser.add_argument("--profiles", type=int, default=2_000_000)
    parser.add_argument("--u-max-pairs", type=float, default=DEFAULT_U_MAX_PAIRS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--names", choices=("realistic", "synthetic"), default="realistic",
                        help="real names with real-population skew, or generated words only")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--generate-only", action="store_true", help="write the world and stop")
    parser.add_argument("--reuse", action="store_true", help="link the world already in --workdir")
    parser.add_argument("--population-only", action="store_true",
                        help="compute the profile index's population figures and key index, and stop")
    parser.add_argument("--no-index", action="store_true",
                        help="block over the whole index in the run (no key index, no first pass)")
    parser.add_argument("--bound", type=int, default=LinkConfig().first_pass_bound,
                        help="profiles per candidate the first pass keeps")
    parser.add_argument("--pairs-out", type=Path, default=None,
                        help="write every scored pair (ats_uid, profile_id, match_probability as published, "
                             "...) here, and the matches beside it, for an error analysis")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_link_"))
    work.mkdir(parents=True, exist_ok=True)
    path, ats_path, truth_path = work / "profile_features.parquet", work / "ats.parquet", work / "truth.parquet"
    if args.reuse and path.exists() and ats_path.exists():
        ats = pl.read_parquet(ats_path)
        truth = dict(pl.read_parquet(truth_path).iter_rows())
        print(f"reusing the world in {work} ({len(truth)} true matches)")
    else:
        t0 = time.perf_counter()
        ats, prof, truth = make_world(args.ats, args.profiles, args.seed, args.names)
        prof.write_parquet(path)
        ats.write_parquet(ats_path)
        pl.DataFrame({"candidate_id": list(truth), "profile_id": list(truth.values())},
                     schema={"candidate_id": pl.Int64, "profile_id": pl.String}).write_parquet(truth_path)
        del prof
        print(f"generate: {time.perf_counter() - t0:.1f}s ({len(truth)} true matches)")
    if args.generate_only:
        return

    # once per profile-index snapshot, shared by every tenant: timed apart from the link
    population = work / "population"
    if not population_is_current(path, population):
        t0 = time.perf_counter()
        build_population(path, population, work_dir=work)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"population figures (once per snapshot): {time.perf_counter() - t0:.1f}s; "
              f"peak RSS {peak:.0f} MiB", flush=True)
    index = work / "key_index"
    if not args.no_index and not key_index_is_current(path, index):
        t0 = time.perf_counter()
        build_key_index(path, index, work_dir=work)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"key index (once per snapshot): {time.perf_counter() - t0:.1f}s; "
              f"peak RSS {peak:.0f} MiB", flush=True)
    if args.population_only:
        return

    (work / "tenant.duckdb").unlink(missing_ok=True)
    t1 = time.perf_counter()
    result = link_tenant(ats, path, work / "model",
                         LinkConfig(u_max_pairs=args.u_max_pairs, seed=args.seed,
                                    first_pass_bound=args.bound),
                         db_path=work / "tenant.duckdb",
                         population_dir=population, key_index_dir=None if args.no_index else index,
                         scored_pairs_out=args.pairs_out)
    total = time.perf_counter() - t1
    if args.pairs_out is not None:
        result.matches.write_parquet(args.pairs_out.with_name(args.pairs_out.stem + ".matches.parquet"))
    got = dict(zip(result.matches["candidate_id"].to_list(), result.matches["profile_id"].to_list()))
    correct = sum(1 for c, p in got.items() if truth.get(c) == p)
    precision = correct / len(got) if got else 0.0
    recall = correct / len(truth) if truth else 0.0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"phases: {result.timings}")
    print(f"link_tenant total: {total:.1f}s; peak RSS {peak_mib:.0f} MiB")
    print(f"pairs compared {result.pairs_compared:,}; candidates scored {result.candidates_scored:,}")
    print(f"blocking: {result.blocking_counts}")
    print(f"matches {len(got):,}; precision {precision:.4f}; recall {recall:.4f}; "
          f"borderline share {result.borderline_share:.3f}")


if __name__ == "__main__":
    main()
