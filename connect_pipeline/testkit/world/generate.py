"""Generate a whole world: the profile index, every tenant's Greenhouse account and the truth.

Deterministic from the seed alone (a fixed reference time, seeded generators, no wall clock), so
a test or a benchmark can regenerate the same world and a score means the same thing twice.
The truth is per candidate: which profile it should match (null: none should) and the most
specific kind of case it is.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from connect_pipeline.storage import validate_tenant_id
from connect_pipeline.testkit.world.greenhouse import Slot, write_tenant
from connect_pipeline.testkit.world.layout import account_dir, truth_path
from connect_pipeline.testkit.world import noise
from connect_pipeline.testkit.world.noise import slug_of
from connect_pipeline.testkit.world.people import REFERENCE_TIME, make_people, profile_frame

PART_ROWS = 250_000
KINDS = ("in_index", "not_in_index", "duplicate", "anonymised", "private", "shared")
TRUTH_SCHEMA = {"candidate_id": pl.Int64(), "profile_id": pl.String(), "kind": pl.String()}

NOT_IN_INDEX = 0.25
ANONYMISED = 0.01
PRIVATE = 0.02
DUPLICATED = 0.015  # share of candidates whose person appears twice
NAMESAKE = 0.6  # share of outsiders who carry the name of someone in the index
NAMESAKE_CITY = 0.25  # share of those who live in that person's city too
NAMESAKE_EMPLOYER = 0.04  # share of those who work for that person's employer too


@dataclass(frozen=True)
class TenantSpec:
    tenant_id: str
    n_candidates: int


@dataclass(frozen=True)
class Plan:
    """How many candidates of each kind one tenant gets."""

    anonymised: int
    private: int
    duplicate_people: int
    shared: int
    not_in_index: int
    in_index: int


def plan_tenant(n: int, shared: int, not_in_index: float = NOT_IN_INDEX) -> Plan:
    anonymised = round(ANONYMISED * n)
    private = round(PRIVATE * n)
    dup = round(DUPLICATED * n) if n >= 20 else 0
    not_in = round(not_in_index * n)
    in_index = n - anonymised - private - 2 * dup - shared - not_in
    if in_index < 0:
        raise ValueError(f"{n} candidates cannot hold {shared} shared people; lower shared_people")
    return Plan(anonymised, private, dup, shared, not_in, in_index)


def shared_counts(tenants: Sequence[TenantSpec], fraction: float) -> list[tuple[int, int, int]]:
    """(tenant a, tenant b, how many people) for each neighbouring pair of tenants."""
    if len(tenants) < 2 or fraction <= 0:
        return []
    pairs = [(i, i + 1) for i in range(len(tenants) - 1)]
    if len(tenants) > 2:
        pairs.append((len(tenants) - 1, 0))
    per_pair = 1 if len(tenants) == 2 else 2
    return [(a, b, round(fraction * min(tenants[a].n_candidates, tenants[b].n_candidates) / per_pair))
            for a, b in pairs]


def write_profiles(people: pl.DataFrame, folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    profiles = profile_frame(people)
    parts = 0
    for start in range(0, max(profiles.height, 1), PART_ROWS):
        profiles.slice(start, PART_ROWS).write_parquet(
            folder / f"part-{parts:05d}.parquet", compression="zstd", statistics=True
        )
        parts += 1
    return parts


def _namesake(outsider: dict, donor: dict, r: random.Random, used_emails: set[str],
              city: float = NAMESAKE_CITY, employer: float = NAMESAKE_EMPLOYER) -> dict:
    """An outsider who shares a name (sometimes a city, rarely an employer) with an index person."""
    person = dict(outsider)
    for key in ("first_name", "last_name", "_first_entry", "_first_spell", "_last_entry", "_last_spell",
                "_culture", "_f", "_l", "_fs", "_ls", "_native_first", "_nick", "_use_nick", "full_name"):
        person[key] = donor[key]
    if r.random() < city:
        for key in ("location", "_country", "_city", "_place"):
            person[key] = donor[key]
        person["_phone_nsn"] = person["_phone"] = None
    if r.random() < employer and donor["_company"] >= 0:
        for key in ("_company", "current_company", "_company_domain"):
            person[key] = donor[key]
    f, l = person["_f"] or "x", person["_l"] or "y"
    person["_personal"] = _unique(f"{f}.{l}{r.randrange(100, 1000)}@{person['_domain']}", used_emails, r) \
        if person["_personal"] else None
    person["_work"] = _unique(f"{f}.{l}{r.randrange(100, 1000)}@{person['_company_domain']}", used_emails, r) \
        if person["_work"] else None
    if person["linkedin_url"]:
        person["linkedin_url"] = "https://www.linkedin.com/in/" + "-".join(
            [person["_fs"], person["_ls"], "".join(r.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=7))])
    return person


def _unique(address: str, used: set[str], r: random.Random) -> str:
    while address in used:
        local, _, domain = address.partition("@")
        address = f"{local}{r.randrange(10)}@{domain}"
    used.add(address)
    return address


def generate_world(
    out_dir: Path,
    *,
    seed: int = 7,
    n_profiles: int = 20_000,
    tenants: Sequence[TenantSpec] = (TenantSpec("acme", 2000), TenantSpec("globex", 2000)),
    shared_people: float = 0.05,
    resumes: bool = True,
    not_in_index: float = NOT_IN_INDEX,
    namesake: float = NAMESAKE,
    namesake_city: float = NAMESAKE_CITY,
    namesake_employer: float = NAMESAKE_EMPLOYER,
    ats_identifiers: float = 1.0,
    ats_linkedin: float = noise.ATS_LINKEDIN,
    postal_addresses: float = 0.0,
    cultures: Mapping[str, float] | None = None,
) -> Path:
    """Write a world under out_dir (replacing what a previous generation left) and return it.

    The knobs after ``resumes`` change who is in the accounts and what the ATS knows; their
    defaults are the worlds the model is developed on, and other values make worlds it was not
    (``bench/bench_accuracy.py``'s test worlds):

    * ``not_in_index``: share of a tenant's candidates who are not in the index;
    * ``namesake``: share of those who carry the name of someone in the index;
    * ``namesake_city``, ``namesake_employer``: share of those namesakes who also live in that
      person's city, and who also work for that person's employer (the defaults, 0.25 and 0.04,
      are far above how often the index's own namesakes share either: a stress no index
      statistic can see);
    * ``ats_identifiers``: share of candidates whose Greenhouse record and resume keep the
      e-mail, phone and LinkedIn they would otherwise carry (0: names, employer, title and
      place only);
    * ``ats_linkedin``: chance a candidate who has a LinkedIn profile has its URL in Greenhouse;
    * ``postal_addresses``: share of the candidates' addresses written as a full postal address
      in their country's own format, by Faker's locale providers (the test extra), rather
      than as a place ("Berlin, Germany"); 0 draws exactly what it always drew;
    * ``cultures``: the mix of name cultures (name -> weight) for everyone, indexed or not
      (``people.culture_weights``); None keeps the default mix.
    """
    out_dir = Path(out_dir)
    tenants = list(tenants)
    for spec in tenants:
        validate_tenant_id(spec.tenant_id)
    if len({t.tenant_id for t in tenants}) != len(tenants):
        raise ValueError("tenant ids must be distinct")
    shares = {"shared_people": shared_people, "not_in_index": not_in_index, "namesake": namesake,
              "namesake_city": namesake_city, "namesake_employer": namesake_employer,
              "ats_identifiers": ats_identifiers, "ats_linkedin": ats_linkedin, "postal_addresses": postal_addresses}
    outside = {name: value for name, value in shares.items() if not 0.0 <= value <= 1.0}
    if outside:
        raise ValueError(f"shares must lie between 0 and 1: {outside}")
    for sub in ("profiles", "greenhouse", "truth"):
        if (out_dir / sub).exists():
            shutil.rmtree(out_dir / sub)
    out_dir.mkdir(parents=True, exist_ok=True)

    people = make_people(np.random.default_rng([seed, 1]), n_profiles, cultures=cultures)
    write_profiles(people, out_dir / "profiles")

    pairs = shared_counts(tenants, shared_people)
    shared_of = [0] * len(tenants)
    for a, b, k in pairs:
        shared_of[a] += k
        shared_of[b] += k
    plans = [plan_tenant(t.n_candidates, shared_of[i], not_in_index) for i, t in enumerate(tenants)]

    # Index people: every tenant's in-index people are distinct, except the shared ones.
    own_needed = [p.anonymised + p.private + p.duplicate_people + p.in_index for p in plans]
    total_index = sum(own_needed) + sum(k for _, _, k in pairs)
    if total_index > n_profiles:
        raise ValueError(f"{n_profiles} profiles are too few for {total_index} ATS people; raise n_profiles")
    plan_rng = np.random.default_rng([seed, 2])
    chosen = plan_rng.choice(n_profiles, size=total_index, replace=False)
    index_rows = people[chosen.tolist()].to_dicts()
    donors = people[plan_rng.integers(0, max(n_profiles, 1), size=sum(p.not_in_index for p in plans)).tolist()].to_dicts()
    outsiders = make_people(np.random.default_rng([seed, 3]), sum(p.not_in_index for p in plans), outsiders=True,
                            cultures=cultures)
    outsider_rows = outsiders.to_dicts()
    used_emails: set[str] = {e for row in outsider_rows for e in (row["_personal"], row["_work"]) if e}

    r = random.Random(f"{seed}:plan")
    cursor = 0

    def take(count: int) -> list[dict]:
        nonlocal cursor
        rows = index_rows[cursor:cursor + count]
        cursor += count
        return rows

    def index_slot(person: dict, kind: str, profile: bool = True) -> Slot:
        url = person["linkedin_url"]
        return Slot(person, kind, person["profile_id"] if profile else None, slug_of(url) if url else None)

    slots: list[list[Slot]] = [[] for _ in tenants]
    for a, b, k in pairs:
        for person in take(k):
            slots[a].append(index_slot(person, "shared"))
            slots[b].append(index_slot(person, "shared"))
    out_cursor = 0
    for i, plan in enumerate(plans):
        own = slots[i]
        own += [index_slot(p, "anonymised", profile=False) for p in take(plan.anonymised)]
        own += [index_slot(p, "private") for p in take(plan.private)]
        for p in take(plan.duplicate_people):
            own += [index_slot(p, "duplicate"), index_slot(p, "duplicate")]
        own += [index_slot(p, "in_index") for p in take(plan.in_index)]
        for j in range(plan.not_in_index):
            person = outsider_rows[out_cursor + j]
            if r.random() < namesake:
                person = _namesake(person, donors[out_cursor + j], r, used_emails,
                                   namesake_city, namesake_employer)
            url = person["linkedin_url"]
            own.append(Slot(person, "not_in_index", None, slug_of(url) if url else None))
        out_cursor += plan.not_in_index
        r.shuffle(own)

    hostile: dict[str, dict[str, list[int]]] = {}
    (out_dir / "truth").mkdir(parents=True, exist_ok=True)
    for i, spec in enumerate(tenants):
        result = write_tenant(account_dir(out_dir, spec.tenant_id), spec.tenant_id, i, slots[i], seed=seed,
                              resumes=resumes, used_emails=used_emails, identifiers=ats_identifiers,
                              linkedin_share=ats_linkedin, postal_addresses=postal_addresses)
        hostile[spec.tenant_id] = result.hostile
        truth = pl.DataFrame(result.truth, schema=TRUTH_SCHEMA, orient="row").sort("candidate_id")
        truth.write_parquet(truth_path(out_dir, spec.tenant_id), compression="zstd")

    meta = {
        "seed": seed,
        "reference_time": REFERENCE_TIME.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tenants": [t.tenant_id for t in tenants],
        "n_profiles": n_profiles,
        "n_candidates": {t.tenant_id: t.n_candidates for t in tenants},
        "shared_people": shared_people,
        "resumes": resumes,
        "not_in_index": not_in_index,
        "namesake": namesake,
        "namesake_city": namesake_city,
        "namesake_employer": namesake_employer,
        "ats_identifiers": ats_identifiers,
        "ats_linkedin": ats_linkedin,
        "postal_addresses": postal_addresses,
        "cultures": dict(cultures) if cultures is not None else None,
        "hostile_attachments": hostile,
    }
    (out_dir / "world.json").write_text(json.dumps(meta, indent=2) + "\n")
    return out_dir


__all__ = ["KINDS", "TenantSpec", "generate_world"]
