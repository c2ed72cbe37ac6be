"""Job titles as matching keys: "Sr. SWE" == "Senior Software Engineer".

Titles are free text on both sides; the key folds case, accents and punctuation and expands the
abbreviations recruiters and profiles use, word by word, so a Jaro-Winkler comparison sees the
same words. Ambiguous short forms ("pm": product or project?) are left as they are.
"""

from __future__ import annotations

import polars as pl

from connect_pipeline.normalise.names import fold_text, null_if_empty

TITLE_ABBREVIATIONS: dict[str, str] = {
    "sr": "senior", "snr": "senior", "jr": "junior", "jnr": "junior",
    "eng": "engineer", "engr": "engineer", "engg": "engineering",
    "mgr": "manager", "mngr": "manager", "mgmt": "management",
    "vp": "vice president", "svp": "senior vice president", "evp": "executive vice president",
    "avp": "assistant vice president",
    "swe": "software engineer", "sde": "software engineer", "sw": "software", "hw": "hardware",
    "dev": "developer", "devs": "developers", "ops": "operations",
    "dir": "director", "assoc": "associate", "asst": "assistant", "admin": "administrator",
    "exec": "executive", "acct": "account", "rep": "representative", "coord": "coordinator",
    "spec": "specialist", "tech": "technical", "mktg": "marketing", "hr": "human resources",
    "qa": "quality assurance", "ux": "user experience", "ui": "user interface",
    "ml": "machine learning", "ds": "data scientist", "sre": "site reliability engineer",
    "ceo": "chief executive officer", "cto": "chief technology officer",
    "cfo": "chief financial officer", "coo": "chief operating officer",
    "cmo": "chief marketing officer", "cio": "chief information officer",
    "cpo": "chief product officer", "ciso": "chief information security officer",
    "hd": "head", "intl": "international", "natl": "national", "mgt": "management",
}


# The last word of a job title ("senior data *analyst*"): a resume part ending in one is a
# title, not an employer (``normalise.ats``). Words that also end employers' names ("Principal",
# "The Economist") and modifiers ("lead", "head") are left out.
JOB_TITLE_NOUNS: frozenset[str] = frozenset({
    "engineer", "manager", "analyst", "developer", "director", "consultant", "scientist",
    "designer", "intern", "assistant", "specialist", "officer", "architect",
    "administrator", "coordinator", "associate", "executive", "president",
    "representative", "accountant", "recruiter", "advisor", "adviser", "technician",
    "researcher", "professor", "lecturer", "teacher", "nurse", "editor", "writer", "founder",
    "cofounder", "supervisor", "trainee", "apprentice", "programmer", "strategist",
    "producer", "presenter", "planner", "operator", "clerk", "agent", "secretary", "controller",
    "auditor", "attorney", "lawyer", "counsel", "paralegal", "physician", "pharmacist",
    "therapist", "marketer", "buyer", "tester", "trader", "statistician",
    "employee", "volunteer", "freelancer", "contractor",
})


def title_key(expr: pl.Expr) -> pl.Expr:
    """Folded title, punctuation removed, abbreviations expanded word by word; null if empty."""
    return (
        fold_text(expr)
        .str.replace_all(r"\s*&\s*", " and ")
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
        .str.split(" ")
        .list.eval(pl.element().replace(TITLE_ABBREVIATIONS))
        .list.join(" ")
        .pipe(null_if_empty)
    )
