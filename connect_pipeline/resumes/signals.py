"""Signals found in resume text: e-mails, phone numbers, LinkedIn URLs, a name guess, places, employers.

Plain regular expressions, run per text inside the parsing child so the parent only collects
results. Everything is returned *raw, as found* (deduplicated, in order of appearance):
canonicalising (E.164, LinkedIn slug, lower-case e-mail) is the normaliser's job, and keeping
the raw string lets a reviewer see exactly what the resume said.

Phones are the hard part: resumes are full of digit runs that are not phones (dates, year ranges,
postcodes, IP addresses). A candidate run is taken only when it has 8-15 digits, uses phone-like
separators, and does not read as a date, a date range, a ZIP+4 code or a dotted quad.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "Signals", "extract_signals", "find_emails", "find_phones", "find_linkedin_urls", "find_places", "find_employers",
    "guess_name",
]

# Local part deliberately conservative (no quoted local parts): resumes do not use them, and a
# looser class glues neighbouring words onto the address.
_EMAIL_RE = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,63})@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)

# A phone candidate: optional '+' (or 00 prefix, which is just digits), digits and separators
# (space, tab, '.', '-', '/', en dash, parentheses) on ONE line, starting and ending with a digit
# (or an opening parenthesis). Newlines are excluded on purpose: a year at the end of one line and
# another at the start of the next must not fuse into a "phone".
_PHONE_CANDIDATE_RE = re.compile(
    r"(?<![\w+/.\-])(?:\+[ \t]?)?(?:\(\s?\+?\d{1,4}\s?\)[ \t.\-]?)?\d(?:[ \t.\-/\u2013]{0,2}(?:\(\d{1,5}\)|\d)){6,20}(?![\w/])(?!\.\d)"
)

_YEAR = r"(?:19|20)\d{2}"
_DATE = (
    r"(?:\d{1,2}[./\-]\d{1,2}[./\-]\d{2,4}"  # 01/02/2020, 1.2.20
    r"|" + _YEAR + r"[./\-]\d{1,2}(?:[./\-]\d{1,2})?"  # 2020-01-05, 2020/01
    r"|\d{1,2}[./\-]" + _YEAR +  # 03/2019
    r"|" + _YEAR + r")"  # 2019
)
_NOT_A_PHONE = [
    re.compile(r"^" + _DATE + r"(?:\s*[-\u2013/]\s*" + _DATE + r")?$"),  # a date or a date range
    re.compile(r"^" + _YEAR + r"(?:\s*[-\u2013/]\s*\d{2})$"),  # 2019-21
    re.compile(r"^\d{5}-\d{4}$"),  # US ZIP+4
    re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$"),  # IPv4 address
    re.compile(r"^(?:" + _YEAR + r"[\s\-\u2013/]*)+$"),  # a list of years
]
_MIN_PHONE_DIGITS = 8
_MAX_PHONE_DIGITS = 15

# linkedin.com with any subdomain (www., uk., de., mobile.), with or without scheme; /in/<slug>,
# legacy /pub/<slug>/x/y/z, and the old /profile/view?id=… form.
_LINKEDIN_RE = re.compile(
    r"(?:https?://)?(?:[a-z0-9-]{1,20}\.)?linkedin\.com/"
    r"(?:(?:in|pub)/[^\s/?#,;:()<>\"'|\[\]]+(?:/[^\s?#,;:()<>\"'|\[\]]+)*/?"
    r"|profile/view\?id=[\w-]+)",
    re.IGNORECASE,
)
_TRAILING_PUNCT = ".,;:)]}>'\""

# Name guess: 2-4 words, each a capitalised (or all-caps) alphabetic token, optionally with
# hyphen/apostrophe parts and one-letter initials ("Mary J. Blige"). Letters include diacritics.
_NAME_WORD = r"(?:[^\W\d_][.]|[^\W\d_][^\W\d_'\u2019\-]*(?:['\u2019\-][^\W\d_]+)*)"
_NAME_RE = re.compile(r"^" + _NAME_WORD + r"(?:[ \t]+" + _NAME_WORD + r"){1,3}$")
_HEADINGS = {
    "resume", "résumé", "curriculum vitae", "cv", "curriculum", "lebenslauf", "profile",
    "contact", "summary", "personal details", "personal information",
}
_NOT_NAME_WORDS = {
    "resume", "résumé", "curriculum", "vitae", "cv", "experience", "education", "skills",
    "summary", "profile", "contact", "objective", "page", "of", "and", "the", "for", "with",
}


@dataclass(frozen=True)
class Signals:
    """What one resume text yields for matching; lists are raw strings in order of appearance."""

    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    linkedin_urls: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    employers: list[str] = field(default_factory=list)


def _dedupe(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        if item and item not in seen:
            seen.add(item)
            out.append(item)
    return out


def find_emails(text: str) -> list[str]:
    """E-mail addresses as written (``mailto:`` dropped because the regex starts at the address)."""
    return _dedupe([m.group(0).rstrip(".") for m in _EMAIL_RE.finditer(text)])


def _looks_like_phone(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if not _MIN_PHONE_DIGITS <= len(digits) <= _MAX_PHONE_DIGITS:
        return False
    if any(p.match(candidate) for p in _NOT_A_PHONE):
        return False
    # Three or more '/' or mixed '/' and '.' are tables of numbers or dates, not phones.
    if candidate.count("/") > 1:
        return False
    return True


def find_phones(text: str) -> list[str]:
    """Phone numbers in international (+44 20 7946 0958, 0044…) or national formats
    ((415) 555-0132, 030/1234567, 06.12.34.56.78), as written."""
    found: list[str] = []
    for m in _PHONE_CANDIDATE_RE.finditer(text):
        candidate = m.group(0).strip(" \t.-/\u2013")
        if _looks_like_phone(candidate):
            found.append(candidate)
    return _dedupe(found)


def find_linkedin_urls(text: str) -> list[str]:
    """LinkedIn profile URLs in any spelling, as written minus trailing punctuation."""
    return _dedupe([m.group(0).rstrip(_TRAILING_PUNCT) for m in _LINKEDIN_RE.finditer(text)])


def guess_name(text: str, max_lines: int = 3) -> list[str]:
    """The first non-empty line if it reads like a person's name (best effort, at most one).

    Resumes usually open with the name; a leading heading such as "Curriculum Vitae" is skipped.
    Returns ``[]`` rather than guessing when the line carries digits, an '@', or resume words.
    """
    seen = 0
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line:
            continue
        seen += 1
        if seen > max_lines:
            break
        if line.lower().strip(":") in _HEADINGS:
            continue
        if len(line) > 60 or not _NAME_RE.match(line):
            return []
        words = line.split()
        if any(w.lower().strip(".") in _NOT_NAME_WORDS for w in words):
            return []
        # Each word must start upper-case (covers ALL CAPS); "van", "de" particles allowed inside.
        if not words[0][0].isupper() or not words[-1][0].isupper():
            return []
        if not all(w[0].isupper() or w.lower() in {"van", "von", "de", "da", "del", "der", "di", "la", "le"} for w in words):
            return []
        return [line]
    return []


# A place as a resume header writes it: two or three comma-separated parts of words only
# ("Leeds, United Kingdom", "Austin, TX", "Pune, Maharashtra, India"). Digits, '@' and '/' are
# contact details or dates, never a place.
_PLACE_PART = r"[^\W\d_][^\W\d_.'\u2019\- ]*(?:[ .'\u2019\-]+[^\W\d_]+)*\.?"
_PLACE_RE = re.compile(r"^" + _PLACE_PART + r"(?:\s*,\s*" + _PLACE_PART + r"){1,2}$")
_HEADER_SEPARATORS = re.compile(r"\s*[|\u2022\u00b7\u2013\u2014]\s*|\s{3,}")
_SECTION_WORDS = {
    "experience", "work experience", "professional experience", "employment", "education", "skills",
    "summary", "profile", "objective", "projects", "publications", "certifications", "languages",
}


def find_places(text: str, max_lines: int = 6) -> list[str]:
    """Places written in the resume's header, as written: the segments of the lines after the
    name and before the first section heading that read as "City, Region[, Country]".

    Only the header is read, because further down comma-separated words are skills lists and
    employers' offices, not where the person lives. Whether a place names a known country or
    region is the normaliser's decision (``normalise.ats``), so a header line such as
    "Python, SQL" found here is dropped there.
    """
    found: list[str] = []
    seen = 0
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line:
            if seen > 1:
                break  # the header ends at its first blank line after the name
            continue
        seen += 1
        heading = line.lower().strip(":")
        if seen > max_lines or heading in _SECTION_WORDS:
            break
        if seen == 1 or heading in _HEADINGS:
            continue  # the name, or a "Curriculum Vitae" heading
        for part in _HEADER_SEPARATORS.split(line):
            part = part.strip(" ,")
            if len(part) <= 60 and _PLACE_RE.match(part):
                found.append(part)
    return _dedupe(found)


# A dated line of a career history: a year or an open end ("2019 - present", "Mar 2018 – now").
_MONTHS = (
    "jan|january|feb|february|mar|march|apr|april|may|jun|june|jul|july|aug|august|sep|sept|september"
    "|oct|october|nov|november|dec|december"
)
_YEAR_OF = r"(?:(?:" + _MONTHS + r")\.?\s+|\d{1,2}\s*[/.]\s*)?(?:19|20)\d{2}\b"
# An open end of a job, in the languages resumes are most often written in.
_OPEN_END = (
    r"present|current|now|today|date|heute|jetzt|actualidad|actual|presente|aujourd['\u2019]hui"
    r"|oggi|hoje|heden"
)
# A job's dates as one run: "2016 - present", "Mar 2010 – Jun 2012", "since 2019", "03/2018 to now".
# Only the run is removed, so "Back to Basics" keeps its words; an open end counts only where
# the dates end (the line, a bracket, a separator), so "2015 - Now TV" keeps its employer.
_DATE_RANGE = re.compile(
    r"\b(?:since\s+|seit\s+|desde\s+|depuis\s+|from\s+)?" + _YEAR_OF
    + r"(?:\s*(?:-|\u2013|\u2014|to|until|bis|a|hasta|\u00e0)\s*(?:" + _YEAR_OF
    + r"|(?:" + _OPEN_END + r")(?=\s*$|\s*[),;|\]\u2022]|\s{2,}|\t)))?",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
# What separates an employer from its title, place and dates on one line: punctuation, wide
# spaces, and "at" / "@" (German, French, Spanish, Dutch and Italian forms only in lower case,
# since a capitalised "En" or "Bei" is more often part of a name).
_HISTORY_SEPARATORS = re.compile(
    r"\s*[,|;()\[\]\u2022\u00b7\u2013\u2014]\s*|\s+-\s+|\t|\s{2,}|\s+(?i:at|@)\s+"
    r"|\s+(?:bei|chez|en|bij|presso)\s+"
)
# Words of a heading whose section's dated lines are not jobs: schools, certificates,
# publications, skills.
_NOT_CAREER_WORDS = {
    "education", "academic", "qualifications", "skills", "certifications", "certificates",
    "courses", "publications", "awards", "honors", "honours", "languages", "interests",
    "references", "ausbildung", "bildung", "formation", "formación", "formação", "educación",
    "educação", "opleiding", "istruzione", "formazione", "studies", "studium",
}
# Words of a heading that starts (or resumes) the career; so does any other heading written in
# capitals or ending in a colon. A short line of another kind ("University of Leeds" under an
# education heading) is not a heading.
_CAREER_WORDS = {
    "experience", "employment", "career", "work", "background", "history", "positions", "jobs",
    "berufserfahrung", "erfahrung", "experiencia", "expérience", "esperienza", "ervaring",
    "experiência", "werdegang", "trayectoria", "parcours",
}
_MAX_EMPLOYERS = 20


def _heading_words(line: str) -> set[str] | None:
    """The line's words, lower-cased, when it reads as a section heading (a few words, no
    digits, no list punctuation), else None."""
    words = re.findall(r"[^\W\d_]+", line.lower())
    if not words or len(line.split()) > 5 or re.search(r"[\d,|@/]", line):
        return None
    return set(words)


def find_employers(text: str, max_found: int = _MAX_EMPLOYERS) -> list[str]:
    """The parts of a resume's dated lines, as written: where a career history names employers.

    A resume dates every job ("Analyst, Acme Ltd    2016 - 2019", "Acme — Analyst (Mar 2019 –
    present)"), and a line that carries a year is where an employer is written, whatever the
    layout. Which part of the line is the employer cannot be told from the text alone (titles,
    places and employers are all capitalised words), so every part is returned and the
    normaliser drops the ones it can tell are titles or places; the matcher only counts a part
    that equals an employer the profile names. Dated lines under a heading that is not a career
    (education, skills, publications...) are not read, up to the next heading of another kind
    (one naming experience, employment or a career, or any in capitals or ending in a colon). Parts
    with digits, an '@' or a '/' (contact details, dates) and parts longer than 80 characters
    (sentences) are not employers. At most ``max_found`` distinct parts, in order.
    """
    found: list[str] = []
    career = True
    for raw in text.splitlines():
        if not _YEAR.search(raw):
            words = _heading_words(raw)
            if words is not None:
                if words & _NOT_CAREER_WORDS:
                    career = False
                elif words & _CAREER_WORDS or raw.strip().isupper() or raw.strip().endswith(":"):
                    career = True
            continue
        if not career:
            continue
        for part in _HISTORY_SEPARATORS.split(_DATE_RANGE.sub(" ", raw)):
            part = " ".join(part.split()).strip(" .:-\u2013\u2014")
            if 2 <= len(part) <= 80 and not re.search(r"[\d@/]", part) and re.search(r"[^\W\d_]{2}", part):
                if part not in found:
                    found.append(part)
                if len(found) >= max_found:
                    return found
    return found


def extract_signals(text: str) -> Signals:
    """All signals of one text."""
    return Signals(
        emails=find_emails(text),
        phones=find_phones(text),
        linkedin_urls=find_linkedin_urls(text),
        names=guess_name(text),
        places=find_places(text),
        employers=find_employers(text),
    )
