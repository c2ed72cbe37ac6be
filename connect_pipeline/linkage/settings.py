"""The linkage model, defined once, and the Splink settings built from it per backend.

The model (which columns are compared, at which levels, what each level means to a recruiter,
and which m value to fall back on when a tenant's data cannot estimate one) is plain data in
``MODEL``. ``build_settings`` turns it into a Splink ``SettingsCreator`` for a given backend. Splink
translates the level creators into the backend's SQL dialect (DuckDB or Spark), so the model
itself does not change between backends. Custom SQL is written in DuckDB's dialect and marked as
such so Splink can translate it.

A trained model dict, as Splink saves it, is *not* backend-neutral: its levels carry SQL in the
dialect it was trained on, and a DuckDB-saved model does not load into a Spark linker. What does
carry across is the parameters, so ``carry_parameters`` copies m, u and the prior from a trained
dict onto settings freshly built for the target backend, matching comparisons by name and levels
by position (both come from the same ``MODEL``).

Why these comparisons:

* Names carry most of the evidence but are shared by namesakes, so exact name levels use term
  frequency adjustments (a rare surname agreeing says more than "smith" agreeing). Given and
  family names are not independent (a surname common in one country comes with that country's
  given names), so the last name's adjustment is its frequency among people with the same
  first name, never less than its frequency overall: "anh nguyen" agreeing says much less
  than "anh" times "nguyen" would suggest.
* A last name that differs is only mildly negative (married names change), but a *first* name
  that differs entirely is strongly negative: that is what lets a conflicting name veto an e-mail
  or LinkedIn agreement instead of those identifiers overriding everything.
* LinkedIn slug, e-mail and phone are near-unique identifiers: strong positive evidence when they
  agree, but ordinary Fellegi-Sunter evidence all the same (no deterministic shortcut).
* Company: the ATS usually knows a candidate's company at application time, the profile knows the
  career, so "the ATS company is in the profile's company history" is its own level.
* The jobs before that one are on the candidate's resume: the rarest employer it dates that
  the index knows, looked up in the profile's career, is a comparison of its own
  (``resume_employer``), weighed by how many profiles name that employer.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator

logger = logging.getLogger(__name__)

SUPPORTED_BACKENDS = ("duckdb", "spark")

# No level's m goes below this. EM on one tenant's training blocks can drive the m of a
# disagreement level to ~0 simply because no true match in the sample disagreed there; that is
# not proof it never happens (people change phones, keep two LinkedIn accounts), and an m of ~0
# would turn one disagreement into an absolute veto. At 1% one disagreement costs at most about
# 6.6 bits, which agreeing names and identifiers can still outweigh.
M_FLOOR = 0.01
_BASE_DIALECT = "duckdb"  # dialect of the custom SQL below

# Columns both sides hand to Splink, in this order (Splink's link_only needs identical columns).
MODEL_COLUMNS: tuple[str, ...] = (
    "unique_id",
    "first_name",
    "first_name_canonical",
    "first_name_phonetic",
    "last_name",
    "last_name_phonetic",
    "full_name",
    "name_pair",
    "name_city",
    "company",
    "history_company",
    "resume_company",
    "resume_companies",
    "companies",
    "title",
    "title_role",
    "linkedin_slug",
    "emails",
    "phones",
    "phone_tails",
    "city",
    "country",
)
LIST_COLUMNS = ("companies", "resume_companies", "emails", "phones")
# Digits of a phone number compared when the country codes disagree (see the phones comparison).
PHONE_TAIL_DIGITS = 8

# Jaro-Winkler at or above which two city names count as one place spelt differently: the
# cut-off of a name typo, loosened a little because place names are longer and often carry a
# second word that agrees ("north ryde" / "north rydee").
NEAR_CITY_JW = 0.9

# The location level for a pair that shares both its name and its city (see the location
# comparison and ``apply_namesake_city_u``).
NAMESAKE_CITY = "namesake_city"

# The condition of the title levels read after a move of employer (see ``_MOVED``).
MOVED = "moved"
# The comparison level each condition stands for: a chain read under it holds exactly the pairs
# that comparison puts at that level (``_MOVED`` is the company's "in their career history").
CONDITION_LEVELS: dict[str, tuple[str, str]] = {MOVED: ("company", "in_history")}
# Pseudo-pairs, spread as a chain's default m, added to the pairs random sampling saw in that
# chain: a chain met by a handful of sampled pairs (moves are rare between random people) must
# not read one chance agreement as the whole chain's u.
CHAIN_PSEUDO_PAIRS = 10.0

# Comparisons added after tenants' models were first saved: a saved model may lack them, and
# then carries them with no evidence until its next training (``carry_parameters``).
LATER_COMPARISONS: frozenset[str] = frozenset({"resume_employer"})

# The prior of settings nobody has trained yet (a tenant's run replaces it with its own estimate).
UNTRAINED_PRIOR = 1e-4

# Lowest u a term frequency adjustment may give the employer levels: an employer seen once
# in the index cannot outweigh a name.
TF_MIN_U = 1e-4

# Columns whose term frequencies adjust the exact-match levels (and the swapped names, by the
# given name and the family name: ``_swapped``; and the same city beside the same name, by how
# often that name's bearers live in that city: ``name_city``).
TF_COLUMNS: tuple[str, ...] = (
    "first_name", "first_name_canonical", "last_name", "name_pair", "name_city", "company", "history_company",
    "resume_company",
)


@dataclass(frozen=True)
class Level:
    """One comparison level: how it is tested, what it means, and its fallback m value.

    ``default_m`` is used only when expectation maximisation could not estimate the level for a
    tenant (typically a tiny tenant whose training blocks hold no pair at that level). The
    values are deliberately generic and rounded: the share of true matches expected at that
    level for ATS-versus-public-profile data, not a fit to any tenant.
    """

    key: str
    words: str  # recruiter-facing phrase, e.g. "first name agrees as a nickname"
    make: Callable[[], ComparisonLevelCreator]
    default_m: float
    ordinal: bool = True  # a degree of agreement: may not outweigh the levels above it
    # False for a level that is not a step on the same scale as the levels below it (a swapped
    # name is not a better or worse typo): it is still capped by the levels above, but does not
    # lower the cap of the levels that follow.
    caps_below: bool = True
    # The condition this level is read under (``MOVED``): the levels sharing one form a chain of
    # their own, ending in their own else level, whose m and u are shares among the pairs that
    # meet the condition (``apply_conditional_chains``). None: the comparison's main chain.
    given: str | None = None


@dataclass(frozen=True)
class Comparison:
    name: str  # output column name in Splink (gamma_<name>, mw_<name>, ...)
    description: str
    null_sql: str  # when the comparison has nothing to say
    levels: tuple[Level, ...]  # non-null levels, most specific first; last is the else level
    identifier: bool = False  # agreement is near-unique (u is rarely observed by sampling)
    column: str | None = None  # an identifier comparison's model column (``identifier_columns``)


def _custom(sql: str, label: str, tf_column: str | None = None) -> Callable[[], ComparisonLevelCreator]:
    """A level from SQL; ``tf_column`` adjusts it by that column's term frequency, against the
    level's own u (it is no exact match of that column)."""

    def make() -> ComparisonLevelCreator:
        level = cll.CustomLevel(sql, label_for_charts=label, base_dialect_str=_BASE_DIALECT)
        if tf_column is None:
            return level
        return level.configure(
            tf_adjustment_column=tf_column, tf_adjustment_weight=1.0,
            disable_tf_exact_match_detection=True, tf_minimum_u_value=TF_MIN_U,
        )

    return make


class _DialectFunctionsLevel(cll.CustomLevel):
    """A custom level whose SQL names a string-similarity function through ``{jw}``.

    DuckDB calls Jaro-Winkler ``jaro_winkler_similarity``, Splink's Spark UDF ``jaro_winkler``,
    and SQL translation cannot map one to the other, so the backend's own name is put in
    before the rest of the condition is translated from DuckDB's dialect.
    """

    def create_sql(self, sql_dialect: Any) -> str:
        template = self.sql_condition
        self.sql_condition = template.replace("{jw}", sql_dialect.jaro_winkler_function_name)
        try:
            return super().create_sql(sql_dialect)
        finally:
            self.sql_condition = template


def _custom_jw(sql: str, label: str) -> Callable[[], ComparisonLevelCreator]:
    return lambda: _DialectFunctionsLevel(sql, label_for_charts=label, base_dialect_str=_BASE_DIALECT)


def _swapped(tf_column: str) -> Callable[[], ComparisonLevelCreator]:
    """Names recorded the other way round, weighed by how common the name is, as the exact level
    weighs it: Splink's term frequency on a level that is no exact match (the exact level's u
    against the value's frequency, the larger of the two sides', which is the side whose name is
    in its own order). Without it a swapped "wei wang" counted as much as a name held once and
    outweighed the same name in its own order. The family name is weighed by its own frequency,
    not given the first name as the exact level does: Splink adjusts by one column, and the
    exact level's column must be the one compared. So where names cluster, a swap reaching the
    exact level's cap still weighs up to log2(P(family | given) / P(family)) bits more than the
    same names in order (about 1.5 bits for a common Chinese name in a mixed index); without
    the frequency it was the whole common-name discount more."""

    def make() -> ComparisonLevelCreator:
        level = _DialectFunctionsLevel(_SWAPPED, label_for_charts="swapped", base_dialect_str=_BASE_DIALECT)
        return level.configure(tf_adjustment_column=tf_column, tf_adjustment_weight=1.0)

    return make


def _exact(
    col: str, label: str, tf: bool = False, tf_min_u: float | None = None, tf_column: str | None = None
) -> Callable[[], ComparisonLevelCreator]:
    def make() -> ComparisonLevelCreator:
        level = cll.ExactMatchLevel(col, term_frequency_adjustments=tf)
        options: dict[str, Any] = {"label_for_charts": label}
        if tf_min_u is not None:
            options["tf_minimum_u_value"] = tf_min_u
        if tf_column is not None:  # this level is the exact one: adjust against its own u
            options["tf_adjustment_column"] = tf_column
            options["disable_tf_exact_match_detection"] = True
        return level.configure(**options)

    return make


def _jw(col: str, threshold: float, label: str) -> Callable[[], ComparisonLevelCreator]:
    return lambda: cll.JaroWinklerLevel(col, threshold).configure(label_for_charts=label)


def _intersect(col: str, label: str) -> Callable[[], ComparisonLevelCreator]:
    return lambda: cll.ArrayIntersectLevel(col, 1).configure(label_for_charts=label)


def _else(label: str) -> Callable[[], ComparisonLevelCreator]:
    return lambda: cll.ElseLevel().configure(label_for_charts=label)


# Given and family name recorded the other way round. One of the two must agree exactly; the
# other may carry a typo, a transliteration or a trailing initial ("Sokolov Michail" vs "Mikhail
# Sokolov"): a swap seldom comes alone, since the same careless form also mangles spellings. The
# condition is symmetric in l and r because either input may be on either side of a pair.
# Neither name may agree in place: a name that does already counts at its own comparison, so
# "li liu" beside "li li" (one given name equal to the other side's family name) is one agreeing
# given name and a differing family name, not that agreement counted a second time as a swap.
_SWAPPED = (
    "first_name_l <> first_name_r AND last_name_l <> last_name_r AND ("
    "(first_name_l = last_name_r AND (last_name_l = first_name_r "
    "OR {jw}(last_name_l, first_name_r) >= 0.8)) "
    "OR (last_name_l = first_name_r AND {jw}(first_name_l, last_name_r) >= 0.8))"
)

# A given name corrupted where Jaro-Winkler cannot see it: a short name mistyped or misread
# ("amy" / "may", "ian" / "yan"), or one spelt by ear with another first letter ("catherine" /
# "kathryn"). Those are a damaged name, not another person's, so they must not take the
# strongest negative level ("differs", which lets a conflicting name veto an identifier). The
# edits are bounded by a third of the shorter name, so two two-letter names ("li" / "wu") never
# count as one name mistyped.
_NAME_EDITS = (
    "first_name_phonetic_l = first_name_phonetic_r OR ("
    "damerau_levenshtein(first_name_l, first_name_r) <= 2 "
    "AND 3 * damerau_levenshtein(first_name_l, first_name_r) <= least(length(first_name_l), length(first_name_r)))"
)

# Seniority words that move over a career while the role stays. The ATS record is older than the
# profile, so "junior data engineer" there and "data engineer" or "senior data engineer" on the
# profile is the same person's progression, not a different job. Anchored prefix and suffix
# forms only (no global flag), so the SQL translates to every backend unchanged.
_SENIORITY_PREFIX = (
    "^((junior|senior|staff|lead|principal|associate|graduate|trainee|entry level|"
    "mid level|intermediate)\\s+)+"
)
_SENIORITY_SUFFIX = "\\s+(i|ii|iii|iv|v|1|2|3|4|5)$"


def role_sql(title: str) -> str:
    """SQL for a title without its seniority words. Computed once per record when the inputs
    are prepared (``title_role``), not once per scored pair: regular expressions on tens of
    millions of pairs were a measurable share of prediction time."""
    return f"nullif(regexp_replace(regexp_replace({title}, '{_SENIORITY_PREFIX}', ''), '{_SENIORITY_SUFFIX}', ''), '')"


_SAME_ROLE = "title_role_l = title_role_r"
# Jaro-Winkler at or above which two titles are "similar" and "related", in both title chains.
TITLE_SIMILAR_JW = 0.9
TITLE_RELATED_JW = 0.75

# The candidate has changed employer since applying: the employer on the ATS record is only in
# the profile's past (or the other way round), exactly the pairs the company comparison puts at
# "in its career history". A move changes what a title says: at the same employer a true match
# nearly always keeps the title, while after a move a new title is ordinary, so a title that
# differs is much weaker evidence against, and one that agrees weaker evidence for. Scoring the
# title as if it did not depend on the employer counts the move twice (see ``MOVED``).
_MOVED = (
    "coalesce(company_l <> company_r, true) AND coalesce("
    "array_contains(companies_r, company_l) OR array_contains(companies_l, company_r), false)"
)

MODEL: tuple[Comparison, ...] = (
    Comparison(
        "first_name",
        "First name: exact, nickname, swapped with last name, typo, loosely similar, sounds alike or few edits",
        "first_name_l IS NULL OR first_name_r IS NULL",
        (
            Level("exact", "first name agrees", _exact("first_name", "exact", tf=True), 0.72),
            # a nickname is not a step on the typo scale below it (it is another kind of
            # agreement): an account whose records never use one must not cap a typo's weight
            Level(
                "nickname",
                "first name agrees as a nickname",
                _exact("first_name_canonical", "canonical (nickname) match", tf=True),
                0.12,
                caps_below=False,
            ),
            Level("swapped", "first and last name swapped", _swapped("first_name"), 0.01, caps_below=False),
            Level("typo", "first name nearly agrees", _jw("first_name", 0.92, "JW >= 0.92"), 0.05),
            Level("similar", "first name is similar", _jw("first_name", 0.80, "JW >= 0.8"), 0.04),
            Level("edits", "first name sounds alike or is a few keystrokes away",
                  _custom(_NAME_EDITS, "sounds alike or few edits"), 0.02),
            Level("differs", "first name differs", _else("different"), 0.04),
        ),
    ),
    Comparison(
        "last_name",
        "Last name: exact, swapped with first name, typo, loosely similar",
        "last_name_l IS NULL OR last_name_r IS NULL",
        (
            # adjusted by how common this last name is *among people with that first name*
            # (``name_pair``, see ``population.term_frequency_tables``), not in general
            Level("exact", "last name agrees", _exact("last_name", "exact", tf=True, tf_column="name_pair"), 0.80),
            Level("swapped", "first and last name swapped", _swapped("last_name"), 0.01, caps_below=False),
            Level("typo", "last name nearly agrees", _jw("last_name", 0.92, "JW >= 0.92"), 0.04),
            Level("similar", "last name is similar", _jw("last_name", 0.80, "JW >= 0.8"), 0.03),
            # Married names: a differing last name is common among true matches.
            Level("differs", "last name differs", _else("different"), 0.12),
        ),
    ),
    Comparison(
        "company",
        "Company: same current, ATS company in profile history, shared history, similar",
        "(company_l IS NULL AND companies_l IS NULL) OR (company_r IS NULL AND companies_r IS NULL)",
        (
            # Working at a big employer together says less than at a small one: the level is
            # adjusted by how many profiles name that company (floored, so an employer seen
            # once in the index cannot outweigh a name).
            Level("same", "same company", _exact("company", "same current company", tf=True, tf_min_u=TF_MIN_U), 0.45),
            Level(
                "in_history",
                "company appears in their career history",
                _custom(
                    "array_contains(companies_r, company_l) OR array_contains(companies_l, company_r)",
                    "company in the other side's history",
                    tf_column="history_company",
                ),
                0.25,
            ),
            Level("shared_past", "worked at a common company", _intersect("companies", "shared"), 0.08),
            Level("similar", "company name is similar", _jw("company", 0.88, "JW >= 0.88"), 0.04),
            Level("differs", "company differs", _else("different"), 0.18),
        ),
    ),
    Comparison(
        "resume_employer",
        "Employer a resume dates: in the profile's career, or not",
        # the candidate's side holds the resume, the profile's the career, whichever side each
        # is on; two candidates (the unlinkables' self-comparison) have no career to compare.
        # Presence (``training.presence``) reads one side only, so this comparison never counts
        # toward the indicators that let an EM session run: it is estimated, not relied on.
        "(resume_company_l IS NULL OR companies_r IS NULL) AND (resume_company_r IS NULL OR companies_l IS NULL) "
        "OR (resume_company_l IS NOT NULL AND resume_company_r IS NOT NULL)",
        (
            # The rarest employer the candidate's resumes date besides the current one
            # (``prepare.add_resume_company``), looked up in the profile's career: another
            # fact than the current employer's (a resume lists the jobs before it), and weighed
            # by how many profiles name that employer.
            Level(
                "in_history",
                "an earlier employer on their resume appears in their career history",
                _custom(
                    "coalesce(array_contains(companies_r, resume_company_l), false) "
                    "OR coalesce(array_contains(companies_l, resume_company_r), false)",
                    "resume employer in their career",
                    tf_column="resume_company",
                ),
                0.40,
            ),
            # a commoner one: a resume's dated lines also hold titles and places, and the rarest
            # part the index knows may be one of those, while the employer is still shared
            Level(
                "any_in_history",
                "another employer on their resume appears in their career history",
                _custom(
                    "coalesce(array_length(array_intersect(resume_companies_l, companies_r)), 0) >= 1 "
                    "OR coalesce(array_length(array_intersect(companies_l, resume_companies_r)), 0) >= 1",
                    "other resume part in their career",
                ),
                0.20,
            ),
            Level("differs", "no employer on their resume is in their career history",
                  _else("different"), 0.40),
        ),
    ),
    Comparison(
        "title",
        "Job title, read apart after a move of employer: exact, same role at another seniority, similar, loosely similar",
        "title_l IS NULL OR title_r IS NULL",
        (
            # after a move: a chain of its own, its m and u shares among the pairs that moved
            Level("moved_exact", "same job title (since moved employer)",
                  _custom(f"{_MOVED} AND title_l = title_r", "moved: exact"), 0.15, given=MOVED),
            Level("moved_role", "same role at another seniority (since moved employer)",
                  _custom(f"{_MOVED} AND {_SAME_ROLE}", "moved: same role, other seniority"), 0.45,
                  ordinal=False, given=MOVED),
            Level("moved_similar", "similar job title (since moved employer)",
                  _custom_jw(f"{_MOVED} AND {{jw}}(title_l, title_r) >= {TITLE_SIMILAR_JW}", f"moved: JW >= {TITLE_SIMILAR_JW}"), 0.1, given=MOVED),
            Level("moved_loose", "related job title (since moved employer)",
                  _custom_jw(f"{_MOVED} AND {{jw}}(title_l, title_r) >= {TITLE_RELATED_JW}", f"moved: JW >= {TITLE_RELATED_JW}"), 0.1,
                  given=MOVED),
            Level("moved_differs", "job title differs (since moved employer)",
                  _custom(_MOVED, "moved: different"), 0.2, given=MOVED),
            Level("exact", "same job title", _exact("title", "exact"), 0.35),
            Level(
                "role",
                "same role at another seniority",
                _custom(_SAME_ROLE, "same role, other seniority"),
                0.15,
                ordinal=False,
            ),
            Level("similar", "similar job title", _jw("title", TITLE_SIMILAR_JW, f"JW >= {TITLE_SIMILAR_JW}"), 0.15),
            Level("loose", "related job title", _jw("title", TITLE_RELATED_JW, f"JW >= {TITLE_RELATED_JW}"), 0.15),
            Level("differs", "job title differs", _else("different"), 0.35),
        ),
    ),
    Comparison(
        "linkedin",
        "LinkedIn slug: exact",
        "linkedin_slug_l IS NULL OR linkedin_slug_r IS NULL",
        (
            Level("same", "same LinkedIn profile", _exact("linkedin_slug", "exact"), 0.92),
            Level("differs", "different LinkedIn profile", _else("different"), 0.08),
        ),
        identifier=True,
        column="linkedin_slug",
    ),
    Comparison(
        "emails",
        "E-mail addresses: at least one in common",
        "emails_l IS NULL OR emails_r IS NULL",
        (
            Level("same", "same e-mail", _intersect("emails", "at least one shared"), 0.55),
            Level("differs", "no e-mail in common", _else("none shared"), 0.45),
        ),
        identifier=True,
        column="emails",
    ),
    # A number typed without its country code gets the default region's code on normalisation,
    # which is often wrong (a Brazilian mobile saved as "+1 ..."); its last digits still agree,
    # and eight random digits agree by chance about once in a hundred million.
    Comparison(
        "phones",
        "Phone numbers: at least one in common, or in common but for the country code",
        "phones_l IS NULL OR phones_r IS NULL",
        (
            Level("same", "same phone number", _intersect("phones", "at least one shared"), 0.55),
            Level(
                "same_digits",
                "same phone number but for the country code",
                _intersect("phone_tails", f"last {PHONE_TAIL_DIGITS} digits shared"),
                0.05,
            ),
            Level("differs", "no phone number in common", _else("none shared"), 0.4),
        ),
        identifier=True,
        column="phones",
    ),
    # One comparison for where someone lives: the same city nearly always means the same country,
    # so scoring both separately would count one piece of evidence twice.
    Comparison(
        "location",
        "Location: same city (with the same name, or not), same country, different",
        "(city_l IS NULL AND country_l IS NULL) OR (city_r IS NULL AND country_r IS NULL)",
        (
            # Namesakes are not spread at random: a name common in one place is common there
            # ("srinivas singh" in Chennai), so beside a name that agrees, the same city is as
            # common among *namesakes* as the index's own namesakes show (``NAMESAKE_CITY``), not
            # as common as among random people: on average the share of namesake pairs that share
            # a city, and for each name and city how often that name's bearers live there
            # (``name_city``, ``population.name_city_frequencies``). Not a step on the same scale
            # as the plain "same city" below (its u is another population's), so it does not cap
            # it. Both levels mean "same city" to a true match: they share one m
            # (``apply_namesake_city_u``), which is why their defaults are the same and the
            # location levels' m do not sum to one.
            Level(
                NAMESAKE_CITY,
                "same city (and same name, as namesakes often are)",
                _custom(
                    "name_pair_l = name_pair_r AND city_l = city_r "
                    "AND (country_l IS NULL OR country_r IS NULL OR country_l = country_r)",
                    "same city, same name",
                    tf_column="name_city",
                ),
                0.65,
                caps_below=False,
            ),
            Level(
                "same_city",
                "same city",
                _custom(
                    "city_l = city_r AND (country_l IS NULL OR country_r IS NULL OR country_l = country_r)",
                    "same city",
                ),
                0.65,
            ),
            # A suburb or town spelt differently on the two sides ("winston hils"): when neither
            # side has an identifier or an employer, place is most of what is left besides the
            # names, and a typo in it must not read as "lives elsewhere".
            Level(
                "near_city",
                "city nearly agrees",
                _custom_jw(
                    f"{{jw}}(city_l, city_r) >= {NEAR_CITY_JW} "
                    "AND (country_l IS NULL OR country_r IS NULL OR country_l = country_r)",
                    f"city JW >= {NEAR_CITY_JW}",
                ),
                0.08,
            ),
            Level("same_country", "same country", _exact("country", "same country"), 0.19),
            Level("differs", "lives elsewhere", _else("different"), 0.08),
        ),
    ),
)


def identifier_columns(model: tuple[Comparison, ...] = MODEL) -> tuple[str, ...]:
    """The model columns the identifier comparisons read (LinkedIn slug, e-mails, phones): a
    candidate holding none of them can be found only by its names, place and employers
    (``scoring.candidate_probability_sql``)."""
    missing = [c.name for c in model if c.identifier and not c.column]
    if missing:  # its candidates would all count as holding no identifier
        raise ValueError(f"identifier comparisons {missing} name no column")
    return tuple(c.column for c in model if c.identifier and c.column)


def level_for_gamma(comparison: Comparison, gamma: int) -> Level | None:
    """The level a comparison vector value stands for (Splink counts down to 0; -1 is null)."""
    if gamma < 0:
        return None
    index = len(comparison.levels) - 1 - gamma
    if 0 <= index < len(comparison.levels):
        return comparison.levels[index]
    return None


def _splink_comparison(comparison: Comparison) -> cl.CustomComparison:
    null = cll.CustomLevel(
        comparison.null_sql, label_for_charts="null", base_dialect_str=_BASE_DIALECT
    ).configure(is_null_level=True)
    levels = [null, *(level.make() for level in comparison.levels)]
    return cl.CustomComparison(
        comparison_levels=levels,
        output_column_name=comparison.name,
        comparison_description=comparison.description,
    )


def build_settings(
    backend: str,
    blocking_rules: list[BlockingRuleCreator],
    probability_two_random_records_match: float = UNTRAINED_PRIOR,
    model: tuple[Comparison, ...] = MODEL,
) -> SettingsCreator:
    """Splink settings for one backend from the one model definition.

    Intermediate columns (gamma_, bf_, tf_) are retained because every match must say why it
    matched.
    """
    if backend not in SUPPORTED_BACKENDS:
        raise ValueError(f"backend {backend!r} is not supported (supported: {SUPPORTED_BACKENDS})")
    return SettingsCreator(
        link_type="link_only",
        comparisons=[_splink_comparison(c) for c in model],
        blocking_rules_to_generate_predictions=list(blocking_rules),
        probability_two_random_records_match=probability_two_random_records_match,
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
        unique_id_column_name="unique_id",
        em_convergence=0.001,
        max_iterations=20,
    )


def settings_dict(settings: SettingsCreator, backend: str) -> dict[str, Any]:
    """The untrained settings as a JSON-ready dict in the backend's SQL dialect."""
    return settings.create_settings_dict(backend)


def apply_fallbacks(
    model_dict: dict[str, Any],
    identifier_u: float,
    model: tuple[Comparison, ...] = MODEL,
) -> dict[str, Any]:
    """Make a tenant's trained Splink model dict safe to score with.

    * u not estimated for an identifier agreement (random sampling essentially never draws two
      different people sharing an e-mail): ``identifier_u``, the largest u consistent with having
      seen none in the sampled pairs ("rule of three"), which keeps the evidence strong but
      finite so a conflicting name can still veto. Any other level whose u was not observed
      gets u = its default m, i.e. no evidence either way.
    * m not estimated (EM saw no pair at that level): the level's documented ``default_m``.
    * the last ("differs") level: m at least ``M_FLOOR`` (see there).
    * other levels: m at least min(u, ``M_FLOOR``). EM drives m to ~0 for a level no training
      pair reached; that must mean "no evidence", not "strong evidence against".
    * a fuzzier level never weighs more than the stricter levels above it (a first-name typo
      cannot count for more than the exact first name, however rare typos are among random
      pairs); ``Level.ordinal`` marks the levels in that chain, and a chain read under a
      condition (``Level.given``) is capped apart, ending in its own else level. Only a level that is evidence
      for a match (weight above 0) caps the ones below it: one EM left empty or drove toward
      u (a tenant whose records never share a past employer) says nothing about how strong a
      fuzzier agreement is, and must not zero it. A swapped name is capped the
      same way: without term frequencies its u is an average over all names, so uncapped it
      let a swapped pair of common names ("li wang" / "wang li") outweigh the same names
      agreeing in place, which does get the common-name discount (it now gets it too).
    * a level left with no evidence (m = u: neither was estimated, or m was raised to u by the
      floor) loses its term-frequency adjustment, whichever level it is (``_no_evidence``): a
      swap no sampled pair showed, or a nickname level EM left empty, must not gain bits for a
      rare name.
    """
    by_name = {c.name: c for c in model}
    for comp in model_dict.get("comparisons", []):
        spec = by_name.get(comp.get("output_column_name"))
        if spec is None:
            continue
        non_null = [lvl for lvl in comp["comparison_levels"] if not lvl.get("is_null_level")]
        caps: dict[str | None, float] = {}  # each chain caps only its own levels
        for level_dict, level in zip(non_null, spec.levels):
            is_else = level is _chain_else(spec, level.given)
            cap = caps.get(level.given, math.inf)
            m = level_dict.get("m_probability")
            u = level_dict.get("u_probability")
            if not _known(u):
                u = identifier_u if spec.identifier and not is_else else level.default_m
                logger.info(f"u for {spec.name}/{level.key} not estimated; {u:.3g} used")
            if not _known(m):
                m = level.default_m
                logger.info(f"m for {spec.name}/{level.key} not estimated; default {m} used")
            floor = M_FLOOR if is_else else min(u, M_FLOOR)
            if m < floor:
                logger.info(f"m for {spec.name}/{level.key} estimated at {m:.2g}; raised to {floor:.2g}")
                m = floor
            if level.ordinal and not is_else:
                weight = math.log2(m / u)
                if weight > cap:
                    m = min(1.0, u * 2**cap)
                    logger.info(f"{spec.name}/{level.key} capped at the weight of stricter levels")
                weight = math.log2(m / u)
                if level.caps_below and weight > 0:  # a level with no evidence for a match caps nothing
                    caps[level.given] = min(cap, weight)
            level_dict["m_probability"] = m
            level_dict["u_probability"] = u
            _drop_frequency_without_evidence(level_dict)
    return model_dict


def _chain_else(spec: Comparison, given: str | None) -> Level:
    """The last level of a comparison's chain read under ``given``: that chain's else level."""
    return [level for level in spec.levels if level.given == given][-1]


def _chains(
    model_dict: dict[str, Any], model: tuple[Comparison, ...]
) -> Iterator[dict[str | None, list[tuple[dict[str, Any], Level]]]]:
    """Per comparison read on chains: per condition, its (level dict, level) pairs."""
    by_name = {c.name: c for c in model}
    for comp in model_dict.get("comparisons", []):
        spec = by_name.get(comp.get("output_column_name"))
        if spec is None or all(level.given is None for level in spec.levels):
            continue
        pairs = list(zip(_non_null_levels(comp), spec.levels))
        yield {given: [(d, lvl) for d, lvl in pairs if lvl.given == given]
               for given in dict.fromkeys(level.given for level in spec.levels)}


def _known(value: Any) -> bool:
    """A probability Splink estimated (it leaves one it could not out, or at 0)."""
    return isinstance(value, (int, float)) and value > 0


def _condition_share(given: str, model: tuple[Comparison, ...]) -> float:
    """How often a true match meets ``given`` beforehand: its level's documented default m."""
    comparison, key = CONDITION_LEVELS[given]
    spec = next(c for c in model if c.name == comparison)
    return next(level.default_m for level in spec.levels if level.key == key)


def prepare_chains_for_em(
    model_dict: dict[str, Any], sampled_pairs: float, model: tuple[Comparison, ...] = MODEL
) -> dict[str, Any]:
    """Give the chains read under a condition values EM can start from without counting the
    condition a second time.

    EM scores its pairs with the chains' levels as they are, shares among *all* pairs: a move
    is rare among random pairs, so every moved level would weigh the move once more beside the
    company comparison, and pull namesakes who once shared an employer toward "match" while EM
    learns the other comparisons. Each chain's u becomes its share among the sampled pairs that
    meet its condition (smoothed by ``CHAIN_PSEUDO_PAIRS`` toward the defaults; a level never
    sampled takes its default's share), times how often a match meets it
    (``_condition_share``), so the chain says what the title adds and about nothing for the
    move itself; its m starts from the defaults on the same scale. EM keeps u fixed and
    re-estimates m; ``apply_conditional_chains`` then makes both shares within each chain.
    """
    for chains in _chains(model_dict, model):
        main_share = 1.0 - sum(_condition_share(g, model) for g in chains if g is not None)
        for given, chain in chains.items():
            share = main_share if given is None else _condition_share(given, model)
            total_default = sum(lvl.default_m for _, lvl in chain)
            prior = [lvl.default_m / total_default for _, lvl in chain]
            seen = [float(d["u_probability"]) if _known(d.get("u_probability")) else 0.0 for d, _ in chain]
            n = sum(seen) * sampled_pairs
            for (d, _), u, p in zip(chain, seen, prior):
                d["u_probability"] = share * (u * sampled_pairs + CHAIN_PSEUDO_PAIRS * p) / (n + CHAIN_PSEUDO_PAIRS)
                d["m_probability"] = share * p
    return model_dict


def apply_conditional_chains(model_dict: dict[str, Any], model: tuple[Comparison, ...] = MODEL) -> dict[str, Any]:
    """Make the m and u of each chain read under a condition (``Level.given``) shares among the
    pairs that meet it, and those of the main chain shares among the pairs that do not.

    Sampling and EM estimate each level's share among *all* pairs, so a level read after a move
    of employer carries the move's own rarity: among random pairs hardly any moved, which would
    make "moved, title differs" strong evidence for a match, counting the employer a second time
    beside the company comparison. Divided by its chain's total, each level says only what the
    title adds once the company comparison has said whether the employer changed. A chain
    without an estimate keeps what it has (``apply_fallbacks`` fills it).
    """
    for chains in _chains(model_dict, model):
        for chain in chains.values():
            for key in ("m_probability", "u_probability"):
                total = sum(d[key] for d, _ in chain if _known(d.get(key)))
                if total > 0:
                    for d, _ in chain:
                        if _known(d.get(key)):
                            d[key] = min(1.0, d[key] / total)
    return model_dict


def apply_namesake_city_u(
    model_dict: dict[str, Any], share: float | None, model: tuple[Comparison, ...] = MODEL
) -> dict[str, Any]:
    """Give the "same city, same name" level the u of namesakes, not of random pairs, and both
    same-city levels one m.

    ``share`` is how often two profiles with the same name live in the same city
    (``population.namesake_city_share``). Random sampling cannot estimate it: two random
    people almost never share a name, so the sampled u would make a shared name and city count
    as if each were independent evidence, which is what let a namesake living in the
    candidate's city pass as the candidate. Never below the plain "same city" level's u (a
    shared name does not make a shared city rarer); without a share (an index with too few
    namesakes to tell) it is that u, i.e. the old independent reading.

    m: a true match lives in the same city as often whether or not its names were recorded
    alike, so the plain level takes the m estimated on pairs whose names agree (EM's session
    blocked on the names estimates exactly that); EM cannot estimate the plain level at all
    for a tenant without LinkedIn URLs, and its default would otherwise decide.
    """
    spec = next((c for c in model if any(lvl.key == NAMESAKE_CITY for lvl in c.levels)), None)
    if spec is None:
        return model_dict
    comp = next((c for c in model_dict.get("comparisons", []) if c.get("output_column_name") == spec.name), None)
    if comp is None:
        return model_dict
    keys = [lvl.key for lvl in spec.levels]
    levels = _non_null_levels(comp)
    position = keys.index(NAMESAKE_CITY)
    plain = levels[keys.index("same_city")].get("u_probability")
    known = [float(x) for x in (share, plain) if _known(x)]
    if known:
        u = min(max(known), 1.0)
        if levels[position].get("u_probability") != u:  # a run applies it before EM and after
            logger.info(f"{spec.name}/{NAMESAKE_CITY}: u {u:.3g} (namesakes' shared city; random pairs' {plain})")
        levels[position]["u_probability"] = u
    m = levels[position].get("m_probability")
    if _known(m):
        levels[keys.index("same_city")]["m_probability"] = m
    return model_dict


def _non_null_levels(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    return [lvl for lvl in comparison["comparison_levels"] if not lvl.get("is_null_level")]


# A level's term-frequency settings (Splink reads a weight of 0 from a dict as the default 1).
_TF_KEYS = ("tf_adjustment_column", "tf_adjustment_weight", "tf_minimum_u_value", "disable_tf_exact_match_detection")


def _no_evidence(level: dict[str, Any]) -> bool:
    """A level whose m is its u: evidence neither way (never estimated, raised to u by the
    floor, or defaulted by an earlier ``carry_parameters``), and so no term-frequency bits
    either: a rare value must not make a level nobody measured count for a match. Carried
    again (a carried run saves the model it scored with), such a level stays so."""
    m, u = level.get("m_probability"), level.get("u_probability")
    return m is not None and m == u


def _drop_frequency_without_evidence(level: dict[str, Any]) -> None:
    """Remove a level's term-frequency settings when it has no evidence (``_no_evidence``)."""
    if _no_evidence(level):
        for key in _TF_KEYS:
            level.pop(key, None)


def carry_parameters(
    trained: dict[str, Any],
    target: dict[str, Any],
    model: tuple[Comparison, ...] = MODEL,
) -> dict[str, Any]:
    """Copy trained m/u probabilities and the prior onto settings built for another backend.

    ``target`` is a settings dict from ``settings_dict(build_settings(backend, ...), backend)``:
    its SQL is in the target dialect, its blocking rules are the current run's. Only parameters
    move; SQL never does, which is why a DuckDB-trained model can score on Spark.

    Comparisons are matched by output column name and levels by their chart label (both come
    from ``MODEL``). A file saved by an older model version may lack a level added since (the
    model grows a level at a time, e.g. "city nearly agrees"): that level gets its documented
    ``default_m`` as both m and u, i.e. no evidence either way until the tenant's next training
    run, and a log line says so. The levels the file does have keep their trained values, so a
    tenant's model is not thrown away for one new level (a level adjusted by term frequencies
    gets no adjustment either). A comparison added since (``LATER_COMPARISONS``) is read the
    same way: every level of it no evidence until the tenant retrains. Anything else (another
    comparison missing, a trained level the model no longer has) means scoring would be
    silently wrong, so it raises ``ValueError`` instead.
    """
    by_name = {c["output_column_name"]: c for c in trained.get("comparisons", [])}
    specs = {c.name: c for c in model}
    out = dict(target)
    comparisons = []
    for comp in target["comparisons"]:
        name = comp["output_column_name"]
        source = by_name.get(name)
        if source is None:
            if name not in LATER_COMPARISONS:
                raise ValueError(f"trained parameters lack comparison {name!r}")
            source = {"comparison_levels": []}  # predates the comparison: every level neutral
        src_levels = {lvl.get("label_for_charts"): lvl for lvl in _non_null_levels(source)}
        dst_labels = {lvl.get("label_for_charts") for lvl in _non_null_levels(comp)}
        unknown = sorted(str(label) for label in set(src_levels) - dst_labels)
        if unknown:
            raise ValueError(f"comparison {name!r}: trained levels {unknown} are not in the model")
        spec = specs.get(name)
        new_comp = dict(comp)
        new_levels = []
        position = 0
        for level in comp["comparison_levels"]:
            level = dict(level)
            if not level.get("is_null_level"):
                label = level.get("label_for_charts")
                src = src_levels.get(label)
                if src is not None:
                    for key in ("m_probability", "u_probability"):
                        if key in src:
                            level[key] = src[key]
                elif spec is not None and position < len(spec.levels):
                    default = spec.levels[position].default_m
                    level["m_probability"] = level["u_probability"] = default
                    logger.warning(
                        f"trained parameters predate level {name}/{spec.levels[position].key} "
                        f"({label!r}): m = u = {default} (no evidence) until the tenant retrains"
                    )
                else:
                    raise ValueError(f"comparison {name!r}: trained parameters lack level {label!r}")
                # a level defaulted here or by an earlier carry has no evidence, nor frequency bits
                _drop_frequency_without_evidence(level)
                position += 1
            new_levels.append(level)
        new_comp["comparison_levels"] = new_levels
        comparisons.append(new_comp)
    out["comparisons"] = comparisons
    prior = trained.get("probability_two_random_records_match")
    if prior is not None:
        out["probability_two_random_records_match"] = prior
    return out
