"""Properties every matching key in ``normalise/`` must have, whatever text it is given.

A key is compared for equality on both sides of the link, so it must not depend on how a value
happens to be typed: upper or lower case, full-width forms (East Asian input methods) or the
"styled" mathematical letters public profiles use for bold or italic names ("𝐉𝐨𝐡𝐧 𝐒𝐦𝐢𝐭𝐡"). And
keying a key again must give the same key (idempotence), or the two sides drift as soon as one
of them was already normalised.

Each property runs on a list of values at once (one Polars call per example), so the suite stays
fast.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from connect_pipeline.normalise.companies import company_key
from connect_pipeline.normalise.contacts import email_key
from connect_pipeline.normalise.linkedin import linkedin_slug
from connect_pipeline.normalise.location import country_code, location_parts
from connect_pipeline.normalise.names import (
    first_name_canonical,
    first_name_key,
    fold_text,
    last_name_key,
    name_key,
)
from connect_pipeline.normalise.titles import title_key

PROPERTY_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def keyed(builder: Callable[[pl.Expr], pl.Expr], values: list[str]) -> list[str | None]:
    frame = pl.DataFrame({"v": pl.Series(values, dtype=pl.String)})
    return frame.select(builder(pl.col("v")).alias("k")).to_series().to_list()


def keyed_together(builder: Callable[[pl.Expr], pl.Expr], *variants: list[str]) -> list[list[str | None]]:
    """``keyed`` of each list, in one frame: a key's cost is mostly building its expression
    (the place keys carry every country's names), so one evaluation per example, not three."""
    keys = keyed(builder, [v for values in variants for v in values])
    out, start = [], 0
    for values in variants:
        out.append(keys[start:start + len(values)])
        start += len(values)
    return out


def city_key(expr: pl.Expr) -> pl.Expr:
    return location_parts(expr)[0]


def country_key(expr: pl.Expr) -> pl.Expr:
    return location_parts(expr)[1]


# Text keys: names, companies, titles, places.
TEXT_KEYS: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "fold_text": fold_text,
    "name_key": name_key,
    "first_name_key": first_name_key,
    "last_name_key": last_name_key,
    "first_name_canonical": first_name_canonical,
    "company_key": company_key,
    "title_key": title_key,
    "country_code": country_code,
    "city": city_key,
    "country": country_key,
}
# Keys whose output is again a valid input of the same kind (a city key is no location text:
# "london" alone reads as a city, but "united kingdom" alone reads as a country).
IDEMPOTENT_KEYS = ("fold_text", "name_key", "first_name_key", "last_name_key", "company_key", "title_key")

# Letters as people type them: Latin with accents, the special letters the fold table knows,
# Cyrillic, Greek; separators and the punctuation names, companies and places carry.
_LETTERS = st.one_of(
    st.characters(min_codepoint=0x41, max_codepoint=0x5A),
    st.characters(min_codepoint=0x61, max_codepoint=0x7A),
    st.characters(min_codepoint=0xC0, max_codepoint=0x24F, categories=("Lu", "Ll")),
    st.characters(min_codepoint=0x400, max_codepoint=0x45F, categories=("Lu", "Ll")),
    st.characters(min_codepoint=0x391, max_codepoint=0x3C9, categories=("Lu", "Ll")),
    st.sampled_from("ßẞłŁøØæÆœŒđĐðÐþÞı’‘`´–—"),
)
_SEPARATORS = st.sampled_from(" ,.-'&()/")
TEXT = st.text(st.one_of(_LETTERS, _LETTERS, _LETTERS, _SEPARATORS, st.characters(min_codepoint=0x30, max_codepoint=0x39)), max_size=24)
ASCII_TEXT = st.text(
    st.one_of(
        st.characters(min_codepoint=0x41, max_codepoint=0x5A),
        st.characters(min_codepoint=0x61, max_codepoint=0x7A),
        st.sampled_from(" ,.-'&"),
        st.characters(min_codepoint=0x30, max_codepoint=0x39),
    ),
    max_size=24,
)
VALUES = st.lists(TEXT, min_size=1, max_size=30)
ASCII_VALUES = st.lists(ASCII_TEXT, min_size=1, max_size=30)

# Mathematical alphanumeric styles (bold, italic, bold italic, sans-serif, monospace, ...): the
# offset of capital A in each; small a follows 26 letters later. Italic small h is a hole in
# the block (it is U+210E, PLANCK CONSTANT), as are a few script and fraktur capitals.
_MATH_STYLES = (0x1D400, 0x1D434, 0x1D468, 0x1D5A0, 0x1D5D4, 0x1D608, 0x1D63C, 0x1D670)
_MATH_HOLES = {0x1D455: "\u210e"}


def styled(text: str, base: int) -> str:
    out = []
    for ch in text:
        if "A" <= ch <= "Z":
            cp = base + ord(ch) - ord("A")
        elif "a" <= ch <= "z":
            cp = base + 26 + ord(ch) - ord("a")
        elif "0" <= ch <= "9" and base == 0x1D400:
            cp = 0x1D7CE + ord(ch) - ord("0")  # mathematical bold digits
        else:
            out.append(ch)
            continue
        out.append(_MATH_HOLES.get(cp, chr(cp)))
    return "".join(out)


def full_width(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else "\u3000" if ch == " " else ch for ch in text)


def test_a_styled_name_keys_like_the_plain_one() -> None:
    """The known fault: lower-casing before compatibility folding left "𝐉𝐨𝐡𝐧 𝐒𝐦𝐢𝐭𝐡" as "John Smith"."""
    assert keyed(name_key, ["𝐉𝐨𝐡𝐧 𝐒𝐦𝐢𝐭𝐡", "𝑱𝒐𝒉𝒏 𝑺𝒎𝒊𝒕𝒉", "Ｊｏｈｎ　Ｓｍｉｔｈ", "john smith"]) == ["john smith"] * 4
    assert keyed(fold_text, ["𝐌𝐀𝐑𝐈𝐀 𝐆𝐀𝐑𝐂𝐈́𝐀"]) == ["maria garcia"]
    assert keyed(company_key, ["𝐀𝐜𝐦𝐞 𝐈𝐧𝐜."]) == ["acme"]


def test_overlapping_umlaut_digraphs_fold_in_one_pass() -> None:
    # "boeboeb": the second digraph shares its consonant with the first
    assert keyed(name_key, ["boeboeb", "bobob"]) == ["bobob", "bobob"]


@PROPERTY_SETTINGS
@given(VALUES)
def test_keys_are_insensitive_to_case(values: list[str]) -> None:
    for name, builder in TEXT_KEYS.items():
        plain, upper, lower = keyed_together(
            builder, values, [v.upper() for v in values], [v.lower() for v in values]
        )
        assert upper == plain, name
        assert lower == plain, name


@PROPERTY_SETTINGS
@given(VALUES)
def test_keys_are_idempotent(values: list[str]) -> None:
    for name in IDEMPOTENT_KEYS:
        builder = TEXT_KEYS[name]
        once = keyed(builder, values)
        assert keyed(builder, [v if v is not None else "" for v in once]) == once, name


@PROPERTY_SETTINGS
@given(ASCII_VALUES, st.sampled_from(_MATH_STYLES))
def test_keys_ignore_styled_letters_and_full_width_forms(values: list[str], style: int) -> None:
    for name, builder in TEXT_KEYS.items():
        plain, styled_keys, wide = keyed_together(
            builder, values, [styled(v, style) for v in values], [full_width(v) for v in values]
        )
        assert styled_keys == plain, name
        assert wide == plain, name


_LOCAL = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-"), min_size=1, max_size=12)
_DOMAIN = st.sampled_from(["gmail.com", "GoogleMail.com", "example.co.uk", "acme.io", "Mail.RU"])
EMAILS = st.lists(st.builds(lambda local, domain: f"{local}@{domain}", _LOCAL, _DOMAIN), min_size=1, max_size=30)
_SLUG = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"), min_size=1, max_size=20)
URLS = st.lists(
    st.builds(
        lambda host, slug, tail: f"{host}linkedin.com/in/{slug}{tail}",
        st.sampled_from(["https://www.", "http://", "", "WWW.", "https://uk."]),
        _SLUG,
        st.sampled_from(["", "/", "/en", "?trk=x"]),
    ),
    min_size=1,
    max_size=30,
)


@PROPERTY_SETTINGS
@given(EMAILS)
@example([".@gmail.com"])  # the dots were its whole local part: found by this property
@example(["a.b.c.d.e.f.g.h@gmail.com"])  # more dots than a fixed number of passes removed
def test_email_key_is_idempotent_and_ignores_case_and_width(values: list[str]) -> None:
    keys = keyed(email_key, values)
    assert keyed(email_key, [k or "" for k in keys]) == keys
    assert keyed(email_key, [v.upper() for v in values]) == keys
    assert keyed(email_key, [full_width(v) for v in values]) == keys


@PROPERTY_SETTINGS
@given(URLS)
def test_linkedin_slug_ignores_case_and_width(values: list[str]) -> None:
    slugs = keyed(linkedin_slug, values)
    assert keyed(linkedin_slug, [v.upper() for v in values]) == slugs
    assert keyed(linkedin_slug, [full_width(v) for v in values]) == slugs
    # the slug of a slug's canonical URL is the slug
    again = keyed(linkedin_slug, [f"linkedin.com/in/{s}" if s else "" for s in slugs])
    assert again == slugs
