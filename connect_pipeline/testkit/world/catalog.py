"""The pools flattened into arrays, so a million people are drawn with index arithmetic.

A name is an *entry* (one name, popularity by rank) with one or more *spellings*. People draw an
entry by Zipf weight, then a spelling: mostly the native one. The ATS side later picks another
spelling of the same entry as noise, which is why the entry id is kept next to the spelling id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from unidecode import unidecode

from connect_pipeline.testkit.world.pools import (
    COMPANY_PREFIXES,
    COMPANY_SUFFIXES,
    COUNTRIES,
    CULTURES,
    GENERATED_FORMS,
    LEGAL_FORMS,
    MOBILITY,
    MOBILITY_RATE,
    NAMED_COMPANIES,
    SENIORITY,
    TITLE_BASES,
    spellings,
)


def zipf_weights(n: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** s
    return w / w.sum()


def ascii_token(text: str, joiner: str = "") -> str:
    """Lower-case ASCII for e-mail local parts and URL slugs ("O'Brien" -> "obrien")."""
    folded = unidecode(text).lower().replace("'", "")
    return re.sub(r"[^a-z0-9]+", joiner, folded).strip(joiner)


@dataclass(frozen=True)
class NameTable:
    """All spellings of one kind of name (first or last) across cultures."""

    spelling: np.ndarray  # str, every spelling
    email_part: np.ndarray  # str, ascii token of each spelling
    slug_part: np.ndarray  # str, ascii token with hyphens
    entry_of: np.ndarray  # int, entry id of each spelling
    entry_start: np.ndarray  # int, first spelling id of each entry
    entry_count: np.ndarray  # int, spellings per entry
    culture_entries: tuple[np.ndarray, ...]  # entry ids per culture, by popularity

    def groups(self, entry: int) -> list[str]:
        start = int(self.entry_start[entry])
        return [str(s) for s in self.spelling[start:start + int(self.entry_count[entry])]]


def _name_table(lists: list[tuple[str, ...]]) -> NameTable:
    spell, entry_of, starts, counts, per_culture = [], [], [], [], []
    entry = 0
    for names in lists:
        ids = []
        for item in names:
            variants = spellings(item)
            starts.append(len(spell))
            counts.append(len(variants))
            spell.extend(variants)
            entry_of.extend([entry] * len(variants))
            ids.append(entry)
            entry += 1
        per_culture.append(np.array(ids, dtype=np.int64))
    return NameTable(
        spelling=np.array(spell, dtype=object),
        email_part=np.array([ascii_token(s) for s in spell], dtype=object),
        slug_part=np.array([ascii_token(s, "-") for s in spell], dtype=object),
        entry_of=np.array(entry_of, dtype=np.int64),
        entry_start=np.array(starts, dtype=np.int64),
        entry_count=np.array(counts, dtype=np.int64),
        culture_entries=tuple(per_culture),
    )


@dataclass(frozen=True)
class Company:
    base: str
    form: str  # canonical legal suffix key of LEGAL_FORMS
    domain: str

    @property
    def canonical(self) -> str:
        return f"{self.base} {self.form}".strip()

    def variants(self) -> list[str]:
        """How else the same employer gets written: legal forms, upper case, no suffix."""
        out = [self.base, self.base.upper() + (" " + self.form if self.form else "")]
        for alt in LEGAL_FORMS.get(self.form, ()):
            if alt.startswith(","):
                out.append(self.base + alt)
            elif alt:
                out.append(f"{self.base} {alt}")
        if unidecode(self.base) != self.base:
            out.append(unidecode(self.canonical))
        return [v for v in dict.fromkeys(out) if v != self.canonical]


def _companies() -> tuple[Company, ...]:
    out = [Company(b, f, f"{ascii_token(b)}.{tld}") for b, f, tld in NAMED_COMPANIES]
    i = 0
    for suffix in COMPANY_SUFFIXES:
        for prefix in COMPANY_PREFIXES:
            base = f"{prefix} {suffix}" if i % 3 else f"{prefix}{suffix.lower()}"
            form = GENERATED_FORMS[i % len(GENERATED_FORMS)]
            out.append(Company(base, form, f"{ascii_token(base)}.{('com', 'io', 'co')[i % 3]}"))
            i += 1
    # Interleave so named companies are among the big employers but not all of them.
    named, generated = out[: len(NAMED_COMPANIES)], out[len(NAMED_COMPANIES):]
    mixed: list[Company] = []
    for k in range(max(len(named), len(generated))):
        if k < len(generated):
            mixed.append(generated[k])
        if k < len(named):
            mixed.append(named[k])
    return tuple(mixed)


@dataclass(frozen=True)
class Catalog:
    cultures: tuple[str, ...]
    culture_weights: np.ndarray
    first: NameTable
    last: NameTable
    country_iso: np.ndarray  # str, per country id
    city: np.ndarray  # str, per place id
    location: np.ndarray  # str "City, Region, Country", per place id
    place_country: np.ndarray  # int country id per place id
    country_places: tuple[np.ndarray, ...]  # place ids per country id
    culture_country_p: np.ndarray  # (cultures, countries) probability of living there
    companies: tuple[Company, ...]
    company_canonical: np.ndarray
    company_variant: np.ndarray  # one alternative spelling per company (for the index side)
    company_domain: np.ndarray
    title_base: np.ndarray
    seniority: np.ndarray


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    countries = list(COUNTRIES.values())
    iso_index = {c.iso: i for i, c in enumerate(countries)}
    city, location, place_country, country_places = [], [], [], []
    for ci, country in enumerate(countries):
        ids = []
        for name, region in country.cities:
            ids.append(len(city))
            city.append(name)
            location.append(f"{name}, {region}, {country.name}")
            place_country.append(ci)
        country_places.append(np.array(ids, dtype=np.int64))
    p = np.zeros((len(CULTURES), len(countries)))
    for k, culture in enumerate(CULTURES):
        for iso, w in culture.countries:
            p[k, iso_index[iso]] += w * (1 - MOBILITY_RATE)
        for iso, w in MOBILITY:
            p[k, iso_index[iso]] += w * MOBILITY_RATE
        p[k] /= p[k].sum()
    companies = _companies()
    weights = np.array([c.weight for c in CULTURES])
    return Catalog(
        cultures=tuple(c.name for c in CULTURES),
        culture_weights=weights / weights.sum(),
        first=_name_table([c.first_names for c in CULTURES]),
        last=_name_table([c.last_names for c in CULTURES]),
        country_iso=np.array([c.iso for c in countries], dtype=object),
        city=np.array(city, dtype=object),
        location=np.array(location, dtype=object),
        place_country=np.array(place_country, dtype=np.int64),
        country_places=tuple(country_places),
        culture_country_p=p,
        companies=companies,
        company_canonical=np.array([c.canonical for c in companies], dtype=object),
        company_variant=np.array([(c.variants() or [c.canonical])[0] for c in companies], dtype=object),
        company_domain=np.array([c.domain for c in companies], dtype=object),
        title_base=np.array(TITLE_BASES, dtype=object),
        seniority=np.array(SENIORITY, dtype=object),
    )
