"""How an ATS record drifts from the person's up-to-date profile.

Each function takes the person (a row of the people frame, as a dict) and a ``random.Random`` and
returns what a recruiter, a form or an import once typed. The ATS record is older than the
profile, so it can carry a maiden name, a past employer and a junior title as well as typos.
These run per candidate (a few thousand), so plain Python is fine here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache

from unidecode import unidecode

from connect_pipeline.testkit.world.catalog import ascii_token, catalog
from connect_pipeline.testkit.world.phones import format_phone, templates_for
from connect_pipeline.testkit.world.pools import (
    COUNTRIES,
    CULTURES,
    FORMAL_OF,
    GERMAN_FOLD,
    PERSONAL_DOMAINS,
    SENIORITY,
    TITLE_ABBREVIATIONS,
    nicknames_for,
)

LINKEDIN_HOSTS = (
    ("www.linkedin.com", 0.55), ("linkedin.com", 0.2), ("uk.linkedin.com", 0.05), ("de.linkedin.com", 0.04),
    ("fr.linkedin.com", 0.03), ("br.linkedin.com", 0.03), ("in.linkedin.com", 0.04), ("ca.linkedin.com", 0.03),
    ("es.linkedin.com", 0.03),
)
LINKEDIN_QUERIES = (
    "?trk=profile-badge", "?originalSubdomain=uk", "?utm_source=share&utm_campaign=share_via&utm_medium=member_desktop",
    "?trk=nav_responsive_tab_profile",
)

ATS_LINKEDIN = 0.55  # chance a candidate with a LinkedIn profile has its URL in Greenhouse


def pick(r: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return r.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


@dataclass
class EraPerson:
    """Who the person was when the ATS record was made (what a resume of the time says)."""

    first: str
    last: str
    company: str | None  # canonical name of the employer then
    company_id: int | None
    title: str | None
    past: list[str] = field(default_factory=list)
    married_name_change: bool = False
    job_change: bool = False


def era_of(person: dict, r: random.Random) -> EraPerson:
    cat = catalog()
    first = person["first_name"]
    last = person["last_name"]
    married = r.random() < 0.04
    if married:
        ids = cat.last.culture_entries[person["_culture"]]
        entry = int(r.choice(ids))
        if entry == person["_last_entry"]:
            entry = int(ids[(list(ids).index(entry) + 1) % len(ids)])
        last = cat.last.groups(entry)[0]
    past_ids = person["_past_ids"] or []
    job_change = bool(past_ids) and r.random() < 0.35
    if job_change:
        company_id = int(past_ids[0])
        company = str(cat.company_canonical[company_id])
        title = older_title(person, r)
        past = [str(cat.company_canonical[i]) for i in past_ids[1:]]
    else:
        company_id = person["_company"] if person["_company"] >= 0 else None
        company = person["current_company"]
        title = person["current_title"]
        past = list(person["past_companies"] or [])
    return EraPerson(first, last, company, company_id, title, past, married, job_change)


def older_title(person: dict, r: random.Random) -> str | None:
    """A step down the ladder, or the same job: what the title was a job ago."""
    cat = catalog()
    base = str(cat.title_base[person["_title_base"]])
    seniority = person["_seniority"]
    if r.random() < 0.2:
        base = str(cat.title_base[r.randrange(len(cat.title_base))])
    step = {1: 0, 3: 1, 4: 1, 5: 4, 0: 2, 2: 2}.get(seniority, 0)
    return (SENIORITY[step] + base).strip()


@dataclass
class AtsName:
    first: str
    last: str
    preferred: str | None
    tags: list[str]


@lru_cache(maxsize=1)
def _first_name_groups() -> dict[str, tuple[str, ...]]:
    table = catalog().first
    groups: dict[str, tuple[str, ...]] = {}
    for start, count in zip(table.entry_start, table.entry_count):
        group = tuple(str(s) for s in table.spelling[start:start + count])
        for spelling in group:
            groups.setdefault(spelling, group)
    return groups


def _other_spelling(name: str, r: random.Random) -> str:
    """Another transliteration of the same given name (Aleksandr -> Alexander), if there is one."""
    others = [g for g in _first_name_groups().get(name, ()) if g != name]
    return r.choice(others) if others else name


def transliterate(name: str, r: random.Random) -> str:
    """Accents as a US keyboard or an old import leaves them: dropped, or German-style folded."""
    if name == unidecode(name):
        return name
    german = name.translate(GERMAN_FOLD)
    return r.choice([unidecode(name), german if german != name else unidecode(name)])


def typo(text: str, r: random.Random) -> str:
    if len(text) < 4:
        return text
    i = r.randrange(1, len(text) - 1)
    kind = r.randrange(3)
    if kind == 0:
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]  # swap
    if kind == 1:
        return text[:i] + text[i + 1:]  # drop
    return text[:i] + text[i] + text[i:]  # double


def ats_name(person: dict, era: EraPerson, r: random.Random) -> AtsName:
    """The name as typed into the ATS. A typo touches at most one field, and a typo in the last
    name leaves the first name alone, so one of them always survives as on the resume."""
    first, last, preferred, tags = era.first, era.last, None, []
    typo_field = None
    roll = r.random()
    if roll < 0.03:
        typo_field = r.choice(("first", "last"))
    if typo_field != "last":
        nicks = nicknames_for(first)
        if nicks and r.random() < 0.18:
            nick = r.choice(nicks)
            if r.random() < 0.5:
                first = nick
            else:
                preferred = nick
            tags.append("nickname")
        elif first in FORMAL_OF and r.random() < 0.4:
            first = FORMAL_OF[first]
            tags.append("formal_name")
        elif r.random() < 0.25:
            other = _other_spelling(first, r)
            if other != first:
                first = other
                tags.append("spelling")
    if r.random() < 0.3:
        folded_first, folded_last = transliterate(first, r), transliterate(last, r)
        if (folded_first, folded_last) != (first, last):
            first, last = folded_first, folded_last
            tags.append("accents")
    if typo_field == "first":
        first = typo(first, r)
        tags.append("typo")
    elif typo_field == "last":
        last = typo(last, r)
        tags.append("typo")
    if r.random() < 0.05:
        first = f"{first} {chr(65 + r.randrange(26))}."
        tags.append("middle_initial")
    if r.random() < CULTURES[person["_culture"]].swap_rate:
        first, last = last, first
        tags.append("swapped")
    if r.random() < 0.04:
        case = r.choice((str.upper, str.lower))
        first, last = case(first), case(last)
        tags.append("case")
    return AtsName(first, last, preferred, tags)


def company_as_typed(era: EraPerson, r: random.Random) -> str | None:
    if era.company is None or era.company_id is None:
        return era.company
    if r.random() < 0.4:
        variants = catalog().companies[era.company_id].variants()
        if variants:
            return r.choice(variants)
    return era.company


def title_as_typed(title: str | None, r: random.Random) -> str | None:
    if title and r.random() < 0.12:
        for long, short in TITLE_ABBREVIATIONS:
            if long in title:
                return title.replace(long, short, 1)
    if title and r.random() < 0.03:
        return title.lower()
    return title


def linkedin_variant(slug: str, r: random.Random) -> str:
    """One of the many ways a profile URL gets pasted."""
    scheme = pick(r, (("https://", 0.6), ("http://", 0.2), ("", 0.2)))
    host = pick(r, LINKEDIN_HOSTS)
    path = "/pub/" if r.random() < 0.12 else "/in/"
    url = f"{scheme}{host}{path}{slug}"
    if r.random() < 0.3:
        url += "/"
    if r.random() < 0.15:
        url += r.choice(LINKEDIN_QUERIES)
    roll = r.random()
    if roll < 0.07:
        url = url.upper()
    elif roll < 0.12:
        url = url.replace(slug, slug.title())
    return url


def slug_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def phone_variant(person: dict, r: random.Random) -> str | None:
    """The person's number written another way (or a number the profile does not have)."""
    country = COUNTRIES[person["_country"]]
    nsn, spec = person["_phone_nsn"], person["_phone_spec"]
    if nsn is None:
        spec = r.randrange(len(country.numbers))
        prefix, n_random, _ = country.numbers[spec]
        nsn = prefix + str(r.randrange(2, 10)) + "".join(str(r.randrange(10)) for _ in range(n_random - 1))
    grouping = country.numbers[spec][2]
    return format_phone(country, nsn, grouping, r.choice(templates_for(country)))


def fresh_email(person: dict, r: random.Random, used: set[str]) -> str:
    """A personal address the profile lacks; three-digit numbers never occur in the index."""
    domains = PERSONAL_DOMAINS.get(person["_country"], PERSONAL_DOMAINS["default"])
    f, l = ascii_token(person["first_name"]) or "x", ascii_token(person["last_name"]) or "y"
    while True:
        local = r.choice((f"{f}.{l}", f"{f}{l}", f"{f[0]}{l}", f"{f}_{l}", f"{l}.{f}"))
        address = f"{local}{r.randrange(100, 1000)}@{r.choice(domains)}"
        if address not in used:
            used.add(address)
            return address
