"""Match quality on a generated world with the full noise model, against a naive exact-key join.

Generates a world (profile index + one tenant), serves it with the local Greenhouse, runs the
real stages without Dagster (extract over HTTP, normalise with resumes, Splink link) and scores
the matches against the generator's truth. The naive baseline joins the same normalised ATS
people to the profile features on an exact LinkedIn slug or any shared e-mail, as a
hand-written integration would.

    .venv/bin/python bench/bench_accuracy.py [--profiles 200000] [--candidates 5000] [--seed 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl

from connect_pipeline.extract import extract_tenant
from connect_pipeline.harvest.auth import Credential
from connect_pipeline.harvest.client import HarvestClient
from connect_pipeline.linkage import DEFAULT_THRESHOLD, LinkConfig
from connect_pipeline.testkit.local_greenhouse import LocalGreenhouse
from connect_pipeline.pipeline import (
    eligible_people,
    ensure_profile_features,
    link_people,
    normalise_tenant,
    people_path,
)
from connect_pipeline.storage import TenantStorage
from connect_pipeline.testkit.world.generate import TenantSpec, generate_world
from connect_pipeline.testkit.world.layout import account_dir, profiles_glob, truth_path


def score(pairs: pl.DataFrame, truth: pl.DataFrame, eligible_ids: list[int]) -> tuple[float, float, int]:
    truth = truth.filter(pl.col("candidate_id").is_in(eligible_ids))
    joined = pairs.join(truth.select("candidate_id", pl.col("profile_id").alias("true")), on="candidate_id")
    tp = joined.filter(pl.col("profile_id") == pl.col("true")).height
    in_index = truth.filter(pl.col("profile_id").is_not_null()).height
    return (tp / pairs.height if pairs.height else 1.0, tp / in_index if in_index else 1.0, pairs.height)


def naive_join(people: pl.DataFrame, features: Path) -> pl.DataFrame:
    """Exact LinkedIn slug, else any shared e-mail; ambiguous keys (several profiles) dropped."""
    prof = pl.scan_parquet(features).select("unique_id", "linkedin_slug", "emails")
    by_slug = (
        people.lazy().select("candidate_id", "linkedin_slug").drop_nulls()
        .join(prof.select("unique_id", "linkedin_slug").drop_nulls(), on="linkedin_slug")
        .select("candidate_id", pl.col("unique_id").alias("profile_id"))
    )
    by_email = (
        people.lazy().select("candidate_id", "emails").explode("emails").drop_nulls()
        .join(prof.select("unique_id", "emails").explode("emails").drop_nulls(), on="emails")
        .select("candidate_id", pl.col("unique_id").alias("profile_id"))
    )
    pairs = pl.concat([by_slug, by_email]).unique().collect()
    single = pairs.group_by("candidate_id").agg(pl.col("profile_id").n_unique().alias("n"), pl.first("profile_id"))
    return single.filter(pl.col("n") == 1).select("candidate_id", "profile_id")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", type=int, default=200_000)
    parser.add_argument("--candidates", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--show-wrong", type=int, default=0, help="print this many wrong matches")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        world = generate_world(root / "world", seed=args.seed, n_profiles=args.profiles,
                               tenants=[TenantSpec("bench", args.candidates)])
        print(f"world: {args.profiles:,} profiles, {args.candidates:,} candidates in {time.perf_counter() - t0:.1f} s")
        import json
        account = json.loads((account_dir(world, "bench") / "account.json").read_text())
        cred = account["credentials"][0]
        storage = TenantStorage(root / "data", "bench").ensure()
        with LocalGreenhouse(world, rate_limit=100_000) as server:
            client = HarvestClient(server.api_base_url, Credential(cred["client_id"], cred["client_secret"],
                                   server.token_url, account["site_admin_user_id"]), tenant_id="bench")
            with client:
                t0 = time.perf_counter()
                extract_tenant(client, storage, mode="full")
                print(f"extract: {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        summary = normalise_tenant(storage)
        print(f"normalise (incl. {summary.resumes_read} resumes): {time.perf_counter() - t0:.1f} s; "
              f"resumes skipped {summary.resumes_skipped}")
        t0 = time.perf_counter()
        features = ensure_profile_features(root / "data", profiles_glob(world))
        print(f"profile features: {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        result = link_people(storage, features, config=LinkConfig(threshold=args.threshold))
        print(f"link: {time.perf_counter() - t0:.1f} s ({result.pairs_compared:,} pairs scored)")

        truth = pl.read_parquet(truth_path(world, "bench"))
        people = eligible_people(pl.read_parquet(people_path(storage)), include_private=False)
        eligible = people["candidate_id"].to_list()
        p, r, n = score(result.matches.select("candidate_id", "profile_id"), truth, eligible)
        np_, nr, nn = score(naive_join(people, features), truth, eligible)
        print(f"\n{'':24}{'precision':>10}{'recall':>10}{'matches':>10}")
        print(f"{'Splink model':24}{p:>10.4f}{r:>10.4f}{n:>10,}")
        print(f"{'naive exact-key join':24}{np_:>10.4f}{nr:>10.4f}{nn:>10,}")
        # where the model errs, by the truth's kind of candidate
        m = result.matches.join(truth, on="candidate_id", how="left", suffix="_true")
        wrong = m.filter(pl.col("profile_id") != pl.col("profile_id_true").fill_null(""))
        missed = truth.filter(pl.col("candidate_id").is_in(eligible) & pl.col("profile_id").is_not_null()
                              & ~pl.col("candidate_id").is_in(m["candidate_id"].implode()))
        print(f"\nwrong matches by kind: {dict(wrong.group_by('kind').len().iter_rows())}")
        print(f"missed by kind: {dict(missed.group_by('kind').len().iter_rows())}")
        for row in wrong.sort("match_probability").head(args.show_wrong).iter_rows(named=True):
            print(f"  wrong ({row['kind']}, p={row['match_probability']:.3f}): {row['explanation']}")


if __name__ == "__main__":
    main()
