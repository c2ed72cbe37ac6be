"""One tenant's Greenhouse account as Harvest v3 would return it, written as JSONL plus files.

The caller decides *who* is in the account (the slots: a person, the kind of truth and the
profile they should match); this module decides *how the ATS shows them*: ids in creation order,
users and jobs, applications and prospect pools, noisy contact data and resume files.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from connect_pipeline.harvest.collections import ALL_KNOWN_SCOPES
from connect_pipeline.testkit.faker_addresses import postal_address
from connect_pipeline.testkit.world import noise, pdfs
from connect_pipeline.testkit.world.catalog import ascii_token, catalog
from connect_pipeline.testkit.world.people import REFERENCE_TIME
from connect_pipeline.testkit.world.pools import COUNTRIES, TITLE_BASES

EPOCH_START = int(datetime(2019, 1, 1, tzinfo=timezone.utc).timestamp())
REF = int(REFERENCE_TIME.timestamp())
DAY = 86_400
OVERSIZED_BYTES = 10_500_000  # above the 10 MB a resume reader should accept
HOSTILE_COUNTS = {"image_only": 2, "encrypted": 2, "corrupt": 2, "oversized": 1}
ENCRYPTED_PASSWORD = "resume-2026"

STAGES = ("Application Review", "Recruiter Screen", "Hiring Manager Screen", "Take Home Test",
          "Onsite Interview", "Reference Check", "Offer")
POOLS = ("Engineering Talent", "Silver Medalists", "Sales Pipeline", "Events 2025", "Referrals")
POOL_STAGES = ("Identified", "Contacted", "Engaged", "Nurturing")
CLOSE_REASONS = ("Hire - New Headcount", "Hire - Backfill", "Position Cancelled", "Filled Internally",
                 "Budget Freeze")
SOURCES = ("LinkedIn", "Referral", "Company website", "Job board", "Conference", "Agency")
TAGS = ("Referral", "Sourced", "Silver Medalist", "Boomerang", "Diversity Event", "Python", "Sales")
UNIVERSITIES = ("University of Michigan", "Technische Universität München", "Universidad de Buenos Aires",
                "Sorbonne Université", "IIT Bombay", "Tsinghua University", "Uniwersytet Warszawski",
                "Lomonosov Moscow State University", "University of Toronto", "Cairo University")


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Slot:
    """One ATS candidate to create: the person behind it and what the truth says about it."""

    person: dict[str, Any]
    kind: str  # in_index, not_in_index, duplicate, anonymised, private, shared
    profile_id: str | None  # the profile it should be matched to (None: no match expected)
    linkedin_slug: str | None  # the person's real slug, if they have a LinkedIn profile


@dataclass
class TenantResult:
    truth: list[tuple[int, str | None, str]] = field(default_factory=list)
    hostile: dict[str, list[int]] = field(default_factory=dict)
    site_admin_user_id: int = 0
    non_admin_user_id: int = 0


class Ids:
    """Greenhouse-like ids: per collection, increasing with creation time, with gaps."""

    BASES = {"users": 4_100_000, "jobs": 4_300_000, "job_interview_stages": 5_100_000,
             "prospect_pools": 4_500_000, "prospect_pool_stages": 4_600_000, "close_reasons": 4_700_000,
             "openings": 4_800_000, "job_posts": 4_900_000,
             "candidates": 40_000_000, "applications": 60_000_000, "attachments": 80_000_000}

    def __init__(self, r: random.Random, tenant_index: int) -> None:
        self.r = r
        self.next = {k: v + tenant_index * 1_000_000 * (10 if v >= 40_000_000 else 1) + r.randrange(1000)
                     for k, v in self.BASES.items()}

    def take(self, collection: str) -> int:
        value = self.next[collection]
        self.next[collection] = value + 1 + self.r.randrange(0, 7)
        return value


def _stamp(r: random.Random, created: int, *, last_activity: bool = False) -> dict[str, str]:
    updated = r.randrange(created, REF - DAY)
    out = {"created_at": iso(created), "updated_at": iso(updated)}
    if last_activity:
        out["last_activity_at"] = iso(r.randrange(created, updated + 1))
    return out


def _person_name(r: random.Random) -> tuple[str, str]:
    cat = catalog()
    culture = r.randrange(len(cat.cultures))
    first = cat.first.groups(int(r.choice(cat.first.culture_entries[culture])))[0]
    last = cat.last.groups(int(r.choice(cat.last.culture_entries[culture])))[0]
    return first, last


def _users(r: random.Random, ids: Ids, tenant_id: str, n_candidates: int) -> tuple[list[dict], dict]:
    roles = (["site_admin"] + ["recruiter"] * (4 + n_candidates // 500) + ["coordinator"] * (2 + n_candidates // 1000)
             + ["hiring_manager", "deactivated_recruiter"])
    users, by_role = [], {}
    for role in roles:
        first, last = _person_name(r)
        created = r.randrange(EPOCH_START - 400 * DAY, EPOCH_START + 300 * DAY)
        record = {
            "id": ids.take("users"), "first_name": first, "last_name": last, "name": f"{first} {last}",
            "primary_email": f"{ascii_token(first)}.{ascii_token(last)}@{tenant_id}.example.com",
            "site_admin": role == "site_admin", "deactivated": role == "deactivated_recruiter",
            "employee_id": None, **_stamp(r, created),
        }
        users.append(record)
        by_role.setdefault(role, []).append(record["id"])
    return users, by_role


def _jobs(r: random.Random, ids: Ids, n_candidates: int) -> tuple[list[dict], list[dict], dict[int, list[dict]],
                                                                  list[dict], list[dict]]:
    cat = catalog()
    jobs, stages, stages_of, openings, posts = [], [], {}, [], []
    for _ in range(max(4, n_candidates // 80)):
        place = r.randrange(len(cat.city))
        created = r.randrange(EPOCH_START, REF - 60 * DAY)
        status = r.choices(("open", "closed", "draft"), weights=(6, 3, 1))[0]
        job = {
            "id": ids.take("jobs"), "name": f"{r.choice(('', 'Senior ', 'Staff ', ''))}{r.choice(TITLE_BASES)} "
                                                f"({cat.city[place]})",
            "requisition_id": f"REQ-{r.randrange(1000, 9999)}", "status": status, "confidential": r.random() < 0.05,
            "opened_at": iso(created), "closed_at": iso(r.randrange(created, REF - DAY)) if status == "closed" else None,
            **_stamp(r, created),
        }
        jobs.append(job)
        for order, name in enumerate(STAGES):
            if name == "Take Home Test" and r.random() < 0.5:
                continue
            stage = {"id": ids.take("job_interview_stages"), "job_id": job["id"], "name": name,
                     "sort_order": order, "active": not (name == "Reference Check" and r.random() < 0.2),
                     **_stamp(r, created)}
            stages.append(stage)
            stages_of.setdefault(job["id"], []).append(stage)
        for k in range(r.choice((1, 1, 2, 3))):
            closed = status == "closed" or r.random() < 0.2
            openings.append({"id": ids.take("openings"), "job_id": job["id"], "opening_id": f"{job['requisition_id']}-{k + 1}",
                             "status": "closed" if closed else "open", "opened_at": iso(created),
                             "closed_at": iso(r.randrange(created, REF - DAY)) if closed else None,
                             **_stamp(r, created)})
        posts.append({"id": ids.take("job_posts"), "job_id": job["id"], "title": job["name"].rsplit(" (", 1)[0],
                      "location": {"name": str(cat.location[place])}, "live": status == "open",
                      "internal": r.random() < 0.2, **_stamp(r, created)})
    return jobs, stages, stages_of, openings, posts


def _pools(r: random.Random, ids: Ids) -> tuple[list[dict], list[dict], dict[int, list[dict]]]:
    pools, pool_stages, stages_of = [], [], {}
    for name in POOLS:
        created = r.randrange(EPOCH_START, EPOCH_START + 700 * DAY)
        pool = {"id": ids.take("prospect_pools"), "name": name, "active": name != "Events 2025", **_stamp(r, created)}
        pools.append(pool)
        for order, stage_name in enumerate(POOL_STAGES):
            stage = {"id": ids.take("prospect_pool_stages"), "prospect_pool_id": pool["id"], "name": stage_name,
                     "sort_order": order, **_stamp(r, created)}
            pool_stages.append(stage)
            stages_of.setdefault(pool["id"], []).append(stage)
    return pools, pool_stages, stages_of


def _close_reasons(r: random.Random, ids: Ids) -> list[dict]:
    return [{"id": ids.take("close_reasons"), "name": name, **_stamp(r, r.randrange(EPOCH_START, REF - 400 * DAY))}
            for name in CLOSE_REASONS]


@dataclass
class Draft:
    """A candidate before ids are known (ids follow creation time)."""

    slot: Slot
    created: int
    era: noise.EraPerson
    name: noise.AtsName
    record: dict[str, Any]
    linkedin_url: str | None
    linkedin_place: str | None
    email: str | None
    phone: str | None
    identifiers: bool = True  # False: the record and resume carry no e-mail, phone or LinkedIn


def _draft(slot: Slot, r: random.Random, used_emails: set[str], keep_identifiers: bool = True,
           linkedin_share: float = noise.ATS_LINKEDIN, postal: random.Random | None = None,
           postal_share: float = 0.0) -> Draft:
    person = slot.person
    era = noise.era_of(person, r)
    name = noise.ats_name(person, era, r)
    created = r.randrange(EPOCH_START, REF - 2 * DAY)

    emails: list[dict[str, str]] = []
    own = [(person.get("_personal"), "personal"), (person.get("_work"), "work")]
    roll = r.random()
    if roll < 0.45 and own[0][0]:
        emails.append({"value": own[0][0], "type": "personal"})
    elif roll < 0.6 and own[1][0]:
        emails.append({"value": own[1][0], "type": "work"})
    elif roll < 0.9:
        emails.append({"value": noise.fresh_email(person, r, used_emails), "type": "personal"})
    if emails and r.random() < 0.12:
        extra = own[1][0] if own[1][0] and own[1][0] != emails[0]["value"] else noise.fresh_email(person, r, used_emails)
        emails.append({"value": extra, "type": r.choice(("work", "other"))})
    for e in emails:
        if r.random() < 0.05:
            local, _, domain = e["value"].partition("@")
            e["value"] = f"{local.title()}@{domain.title()}"

    phones: list[dict[str, str]] = []
    if person.get("_phone_nsn") and r.random() < 0.55:
        phones.append({"value": noise.phone_variant(person, r), "type": r.choice(("mobile", "mobile", "home", "work"))})
    elif r.random() < 0.25:
        phones.append({"value": noise.phone_variant({**person, "_phone_nsn": None}, r), "type": "mobile"})

    linkedin_url = linkedin_place = None
    if slot.linkedin_slug and r.random() < linkedin_share:
        linkedin_url = noise.linkedin_variant(slot.linkedin_slug, r)
        linkedin_place = r.choices(("social", "website", "answer", "custom_field"), weights=(45, 20, 20, 15))[0]

    if not keep_identifiers:
        emails, phones, linkedin_url, linkedin_place = [], [], None, None

    addresses = []
    if r.random() < 0.45:
        country = COUNTRIES[person["_country"]]
        city = person["_city"]
        region = next((reg for c, reg in country.cities if c == city), "")
        value = r.choice((f"{city}, {country.name}", f"{city}, {region}", f"{city}, {region}, {country.iso}",
                          f"{noise.transliterate(city, r)}, {country.name}"))
        if postal is not None and postal.random() < postal_share:  # its own stream: 0 changes nothing
            value = postal_address(country.iso, city, postal.randrange(2**31)) or value
        addresses.append({"value": value, "type": "home"})
    websites = []
    if r.random() < 0.08:
        websites.append({"value": f"https://{ascii_token(person['first_name'])}{ascii_token(person['last_name'])}.dev",
                         "type": "personal"})
    social, custom = [], {}
    if linkedin_place == "social":
        social.append({"value": linkedin_url})
    elif linkedin_place == "website":
        websites.append({"value": linkedin_url, "type": r.choice(("personal", "portfolio", "other"))})
    elif linkedin_place == "custom_field":
        custom["linkedin_profile"] = {"name": "LinkedIn Profile", "type": "url", "value": linkedin_url}
    if r.random() < 0.05:
        social.append({"value": f"https://twitter.com/{ascii_token(person['first_name'])}{r.randrange(10, 99)}"})
    if r.random() < 0.2:
        custom["desired_salary"] = {"name": "Desired Salary", "type": "short_text",
                                    "value": f"{r.randrange(60, 220)}k"}
    record = {
        "first_name": name.first, "last_name": name.last, "preferred_name": name.preferred,
        "company": noise.company_as_typed(era, r), "title": noise.title_as_typed(era.title, r),
        **_stamp(r, created, last_activity=True),
        "private": slot.kind == "private", "can_email": r.random() < 0.93,
        "tags": sorted(r.sample(TAGS, r.choice((0, 0, 1, 2)))),
        "email_addresses": emails, "phone_numbers": phones, "addresses": addresses,
        "website_addresses": websites, "social_media_addresses": social, "custom_fields": custom,
    }
    return Draft(slot, created, era, name, record, linkedin_url, linkedin_place,
                 emails[0]["value"] if emails else None, phones[0]["value"] if phones else None,
                 keep_identifiers)


def resume_lines(draft: Draft, r: random.Random) -> list[str]:
    """What the person's resume of the time says: their own spelling of their name, contact
    lines, the employer and title of the day, and earlier jobs."""
    person, era = draft.slot.person, draft.era
    lines = [f"{era.first} {era.last}"]
    contact = [c for c in (draft.email or person.get("_personal"), draft.phone or person.get("_phone")) if c]
    if contact and draft.identifiers:
        lines.append("  |  ".join(contact))
    if person.get("location"):
        lines.append(person["location"])
    if draft.slot.linkedin_slug and r.random() < 0.6 and draft.identifiers:
        lines.append(draft.linkedin_url or noise.linkedin_variant(draft.slot.linkedin_slug, r))
    lines += ["", "EXPERIENCE"]
    year = datetime.fromtimestamp(draft.created, tz=timezone.utc).year
    if era.company:
        lines.append(f"{era.title or 'Employee'}, {era.company}    {year - r.randrange(1, 4)} - present")
    for i, company in enumerate(era.past):
        end = year - 2 * (i + 1)
        lines.append(f"{r.choice(TITLE_BASES)}, {company}    {end - r.randrange(1, 4)} - {end}")
    lines += ["", "EDUCATION", f"{r.choice(UNIVERSITIES)}    {year - r.randrange(8, 20)}", "",
              "SKILLS", ", ".join(r.sample(("Python", "SQL", "Excel", "Negotiation", "Kubernetes", "Figma",
                                              "Salesforce", "Java", "Public speaking", "Go", "Spark"), 4))]
    return lines


def _cover_letter(draft: Draft, company_name: str) -> list[str]:
    era = draft.era
    return [f"{era.first} {era.last}", "", f"Dear {company_name} hiring team,", "",
            "I am writing to apply for the open position. My experience"
            + (f" at {era.company}" if era.company else "") + " has prepared me well.", "",
            "Kind regards,", f"{era.first} {era.last}"]


def _filename(draft: Draft, r: random.Random, kind: str) -> str:
    first, last = draft.era.first, draft.era.last
    if kind == "cover_letter":
        return r.choice((f"Cover Letter - {first} {last}.pdf", "cover_letter.pdf", f"{last}_CoverLetter.pdf"))
    return r.choice((f"{first}_{last}_Resume.pdf", f"{first} {last} CV.pdf", "Resume.pdf", f"CV_{last}.pdf",
                     "resume (1).pdf", f"{last.upper()}_{first}_CV_{2020 + r.randrange(7)}.pdf"))


@dataclass
class _Organisation:
    """What every account has besides its candidates: users, jobs with their stages, openings and
    posts, prospect pools, close reasons. Drawn in one fixed order, so a seed gives one account."""

    users: list[dict]
    by_role: dict[str, list[int]]
    jobs: list[dict]
    job_stages: list[dict]
    stages_of: dict[int, list[dict]]
    openings: list[dict]
    job_posts: list[dict]
    pools: list[dict]
    pool_stages: list[dict]
    pool_stages_of: dict[int, list[dict]]
    close_reasons: list[dict]

    def collections(self) -> dict[str, list[dict]]:
        return {
            "users": self.users, "jobs": self.jobs, "job_interview_stages": self.job_stages,
            "prospect_pools": self.pools, "prospect_pool_stages": self.pool_stages,
            "close_reasons": self.close_reasons, "openings": self.openings, "job_posts": self.job_posts,
        }


def _organisation(r: random.Random, ids: Ids, tenant_id: str, n_candidates: int) -> _Organisation:
    users, by_role = _users(r, ids, tenant_id, n_candidates)
    jobs, job_stages, stages_of, openings, job_posts = _jobs(r, ids, n_candidates)
    pools, pool_stages, pool_stages_of = _pools(r, ids)
    return _Organisation(users, by_role, jobs, job_stages, stages_of, openings, job_posts,
                         pools, pool_stages, pool_stages_of, _close_reasons(r, ids))


def write_tenant(account: Path, tenant_id: str, tenant_index: int, slots: list[Slot], *, seed: int,
                 resumes: bool, used_emails: set[str], identifiers: float = 1.0,
                 linkedin_share: float = noise.ATS_LINKEDIN, postal_addresses: float = 0.0) -> TenantResult:
    """Write account.json, every collection's JSONL and the attachment files for one tenant.

    ``identifiers`` is the share of candidates whose record and resume keep their e-mail, phone
    and LinkedIn (drawn from its own generator, so 1.0 writes exactly what it always wrote);
    ``postal_addresses`` the share of written addresses given as a full postal address in
    their country's own format (``faker_addresses.postal_address``; its own generator too).
    """
    r = random.Random(f"{seed}:{tenant_id}:greenhouse")
    keep = random.Random(f"{seed}:{tenant_id}:identifiers")
    postal = random.Random(f"{seed}:{tenant_id}:postal") if postal_addresses > 0 else None
    ids = Ids(r, tenant_index)
    account.mkdir(parents=True, exist_ok=True)
    org = _organisation(r, ids, tenant_id, len(slots))

    drafts = sorted((_draft(slot, r, used_emails, identifiers >= 1.0 or keep.random() < identifiers, linkedin_share,
                            postal, postal_addresses)
                     for slot in slots), key=lambda d: d.created)
    recruiters = org.by_role["recruiter"] + org.by_role["deactivated_recruiter"]
    coordinators = org.by_role["coordinator"]
    candidates, applications, details, attachments = [], [], [], []
    files: list[tuple[int, Draft, str]] = []
    result = TenantResult(site_admin_user_id=org.by_role["site_admin"][0], non_admin_user_id=org.by_role["hiring_manager"][0])
    company_name = tenant_id.replace("-", " ").title()

    for draft in drafts:
        cid = ids.take("candidates")
        record = {"id": cid, **draft.record}
        anonymised = draft.slot.kind == "anonymised"
        if anonymised:
            record.update(first_name="Anonymized", last_name=str(cid), preferred_name=None, company=None,
                          title=None, tags=[], custom_fields={}, email_addresses=[], phone_numbers=[],
                          addresses=[], website_addresses=[], social_media_addresses=[])
        candidates.append(record)
        result.truth.append((cid, draft.slot.profile_id, draft.slot.kind))

        n_apps = r.choices((1, 2, 3), weights=(75, 18, 7))[0]
        app_created = draft.created
        hired = False
        for k in range(n_apps):
            app_created = min(app_created + (r.randrange(0, 200 * DAY) if k else 0), REF - 2 * DAY)
            prospect = r.random() < 0.3
            job = r.choice(org.jobs)
            job_id = None if prospect and r.random() < 0.5 else job["id"]
            if prospect:
                status = r.choices(("in_process", "converted", "rejected"), weights=(80, 15, 5))[0]
                stage = None
            else:
                status = r.choices(("in_process", "rejected", "hired"), weights=(45, 45, 0 if hired else 10))[0]
                hired = hired or status == "hired"
                job_stages_list = org.stages_of[job["id"]]
                stage = job_stages_list[-1] if status == "hired" else r.choice(job_stages_list)
            stamp = _stamp(r, app_created, last_activity=True)
            answers = []
            if not prospect and not anonymised and r.random() < 0.6:
                answers = [{"question": "How did you hear about us?", "answer": r.choice(SOURCES)},
                           {"question": "Are you legally authorized to work in this country?",
                            "answer": r.choice(("Yes", "Yes", "No"))}]
            if k == 0 and draft.linkedin_place == "answer" and not anonymised:
                answers.append({"question": "LinkedIn Profile", "answer": draft.linkedin_url})
            app = {
                "id": ids.take("applications"), "candidate_id": cid, "prospect": prospect, "job_id": job_id,
                "status": status, "stage_id": stage["id"] if stage else None,
                "stage_name": stage["name"] if stage else None,
                "recruiter_id": r.choice(recruiters) if r.random() < 0.9 else None,
                "coordinator_id": r.choice(coordinators) if r.random() < 0.6 else None,
                **stamp,
                "rejected_at": iso(r.randrange(app_created, REF - DAY)) if status == "rejected" else None,
                "source": {"public_name": r.choice(SOURCES)}, "answers": answers, "custom_fields": {},
            }
            applications.append(app)
            if prospect:
                pool = r.choice(org.pools)
                details.append({"id": app["id"], "application_id": app["id"], "pool_id": pool["id"],
                                "pool_stage_id": r.choice(org.pool_stages_of[pool["id"]])["id"],
                                "prospect_owner_id": r.choice(recruiters + [org.by_role["hiring_manager"][0]]),
                                "created_at": stamp["created_at"], "updated_at": stamp["updated_at"]})
            if resumes and not anonymised and (k == 0 and r.random() < 0.78 or k > 0 and r.random() < 0.12):
                for kind in ("resume",) + (("cover_letter",) if r.random() < 0.1 else ()):
                    aid = ids.take("attachments")
                    attachments.append({"id": aid, "candidate_id": cid, "application_id": app["id"], "type": kind,
                                        "filename": _filename(draft, r, kind), "created_at": stamp["created_at"],
                                        "_file": f"files/{aid}.pdf"})
                    files.append((aid, draft, kind))

    result.hostile = _write_files(account, files, r, seed, company_name) if resumes else {}
    collections = {
        **org.collections(), "candidates": candidates, "applications": applications,
        "prospect_details": details, "attachments": attachments,
    }
    _write_account(account, collections, tenant_id, seed,
                   site_admin=result.site_admin_user_id, non_admin=result.non_admin_user_id)
    return result


def _write_files(account: Path, files: list[tuple[int, Draft, str]], r: random.Random, seed: int,
                 company_name: str) -> dict[str, list[int]]:
    folder = account / "files"
    folder.mkdir(exist_ok=True)
    resume_ids = [aid for aid, _, kind in files if kind == "resume"]
    # Round-robin over the kinds, and never more than a quarter of a small tenant's resumes.
    order = [kind for round_ in range(max(HOSTILE_COUNTS.values()))
             for kind, count in HOSTILE_COUNTS.items() if round_ < count]
    order = order[: min(len(order), len(resume_ids) // 4)]
    chosen = r.sample(resume_ids, len(order))
    hostile: dict[str, list[int]] = {kind: [] for kind in HOSTILE_COUNTS}
    for kind, aid in zip(order, chosen):
        hostile[kind].append(aid)
    for ids_ in hostile.values():
        ids_.sort()
    kind_of = {aid: kind for kind, ids_ in hostile.items() for aid in ids_}
    for aid, draft, kind in files:
        lines = resume_lines(draft, r) if kind == "resume" else _cover_letter(draft, company_name)
        hostile_kind = kind_of.get(aid)
        if hostile_kind == "image_only":
            data = pdfs.image_only_pdf(seed * 1_000_003 + aid)
        elif hostile_kind == "encrypted":
            data = pdfs.encrypted_pdf(lines, ENCRYPTED_PASSWORD)
        elif hostile_kind == "corrupt":
            data = pdfs.corrupt_pdf(lines, seed + aid, hostile[hostile_kind].index(aid) % 2)
        elif hostile_kind == "oversized":
            data = pdfs.oversized_pdf(lines, OVERSIZED_BYTES, seed + aid)
        else:
            data = pdfs.text_pdf(lines)
        (folder / f"{aid}.pdf").write_bytes(data)
    return hostile


def write_plain_account(account: Path, tenant_id: str, tenant_index: int, people: list[dict[str, Any]], *,
                        seed: int) -> list[int]:
    """An account holding exactly the given candidates, as they are (no noise, no resumes).

    For worlds written from someone else's data (a public benchmark file): each entry of
    ``people`` holds the v3 candidate fields to serve (``first_name``, ``last_name``,
    ``addresses``, ...); ids, time stamps, one application per candidate, users, jobs and pools
    are added as ``write_tenant`` adds them. Returns the candidate ids in the order of
    ``people``.
    """
    r = random.Random(f"{seed}:{tenant_id}:plain")
    ids = Ids(r, tenant_index)
    account.mkdir(parents=True, exist_ok=True)
    org = _organisation(r, ids, tenant_id, len(people))
    created = sorted(r.randrange(EPOCH_START, REF - 2 * DAY) for _ in people)
    candidates, applications, candidate_ids = [], [], []
    empty = {"preferred_name": None, "company": None, "title": None, "private": False, "can_email": True,
             "tags": [], "email_addresses": [], "phone_numbers": [], "addresses": [], "website_addresses": [],
             "social_media_addresses": [], "custom_fields": {}}
    for fields, when in zip(people, created):
        cid = ids.take("candidates")
        candidate_ids.append(cid)
        candidates.append({"id": cid, **empty, **fields, **_stamp(r, when, last_activity=True)})
        job = r.choice(org.jobs)
        stage = r.choice(org.stages_of[job["id"]])
        applications.append({
            "id": ids.take("applications"), "candidate_id": cid, "prospect": False, "job_id": job["id"],
            "status": "in_process", "stage_id": stage["id"], "stage_name": stage["name"],
            "recruiter_id": r.choice(org.by_role["recruiter"]), "coordinator_id": None,
            **_stamp(r, when, last_activity=True), "rejected_at": None,
            "source": {"public_name": r.choice(SOURCES)}, "answers": [], "custom_fields": {},
        })
    collections = {
        **org.collections(), "candidates": candidates, "applications": applications,
        "prospect_details": [], "attachments": [],
    }
    _write_account(account, collections, tenant_id, seed,
                   site_admin=org.by_role["site_admin"][0], non_admin=org.by_role["hiring_manager"][0])
    return candidate_ids


def _write_account(account: Path, collections: dict[str, list[dict]], tenant_id: str, seed: int, *,
                   site_admin: int, non_admin: int) -> None:
    """The account as the local Greenhouse serves it: one JSONL per collection, and its credential."""
    for name, records in collections.items():
        with (account / f"{name}.jsonl").open("w", encoding="utf-8") as out:
            for record in sorted(records, key=lambda rec: rec["id"]):
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    secret = hashlib.sha256(f"connect-world:{seed}:{tenant_id}".encode()).hexdigest()[:40]
    client_id = hashlib.sha256(f"client:{seed}:{tenant_id}".encode()).hexdigest()[:24]
    (account / "account.json").write_text(json.dumps({
        "tenant_id": tenant_id,
        "credentials": [{"client_id": client_id, "client_secret": secret, "scopes": list(ALL_KNOWN_SCOPES)}],
        "site_admin_user_id": site_admin,
        "non_admin_user_id": non_admin,
    }, indent=2) + "\n")
