"""Fold people's names into matching keys, as Polars expressions that run on any frame.

Both sides of the link (a few thousand ATS candidates, millions of profiles) go through the same
expressions, so a key is equal on both sides exactly when the spelling differences are ones we
decided to ignore:

* case, surrounding and repeated spaces, punctuation ("O'Brien" == "OBrien", "Jean-Luc" ==
  "Jean Luc");
* accents, by Unicode decomposition (NFKD) and dropping the combining marks, plus the letters that
  do not decompose (ß -> ss, ł -> l, ø -> o, æ -> ae, œ -> oe, đ/ð -> d, þ -> th, ı -> i);
  Cyrillic is transliterated letter by letter ("Дмитрий" -> "dmitrii");
* German umlaut spellings. Müller, Mueller and Muller are the same name written three ways: the
  plain fold turns "ü" into "u", and the name key then folds the digraphs "ue", "oe", "ae" to
  "u", "o", "a" when they sit between two consonants (Mueller -> muller, Schroeder -> schroder,
  Koenig -> konig). The rule is positional rather than a word list so it generalises to names we
  have never seen; it also merges a few unrelated spellings (Samuel -> samul, Michael -> michal),
  which is harmless because the same rule runs on both sides and the keys are never shown.

Name keys are for comparison only; nothing displays them.
"""

from __future__ import annotations

from functools import lru_cache

import polars as pl

# Letters NFKD leaves alone, and Cyrillic, mapped to plain Latin before decomposition.
_SPECIAL_LETTERS: dict[str, str] = {
    "ß": "ss", "ẞ": "ss", "ł": "l", "ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ð": "d",
    "þ": "th", "ı": "i", "ŧ": "t", "ħ": "h", "ŀ": "l", "ĸ": "k", "ŉ": "n", "ſ": "s",
    "’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'", "‐": "-", "‑": "-", "–": "-", "—": "-",
    "ς": "σ",  # Greek final sigma is a position, not a letter: upper-casing makes it Σ -> σ
}
_CYRILLIC: dict[str, str] = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "і": "i",
    "ї": "yi", "є": "ye", "ґ": "g", "ў": "u", "ј": "j", "љ": "lj", "њ": "nj", "ћ": "c",
    "ђ": "dj", "џ": "dz",
}
_FOLD_TABLE: dict[str, str] = {**_SPECIAL_LETTERS, **_CYRILLIC}

_CONSONANT = "[b-df-hj-np-tv-z]"
_DIGRAPH = f"({_CONSONANT})([uoa])e({_CONSONANT})"
_HONORIFICS = r"^(?:(?:dr|mr|mrs|ms|mx|miss|prof|sir|dame|herr|frau|sra|srta|mme)\s+)+"
_GENERATIONAL = r"(?:\s+(?:jr|sr|junior|senior|ii|iii|iv|phd|md|mba|esq|cpa|pe))+$"


def fold_text(expr: pl.Expr) -> pl.Expr:
    """Lower-case, accent-folded, trimmed text with whitespace collapsed; "" becomes null.

    Compatibility forms are folded *before* case: styled mathematical letters ("𝐉𝐨𝐡𝐧", common
    in public profiles), full-width forms and ligatures have no lower case of their own, so
    lower-casing them first left "𝐉𝐨𝐡𝐧" as "John". The special letters are mapped both before
    decomposition (Cyrillic "й" must not lose its breve and become "и") and after it (a
    decomposed "ǽ" leaves "æ").

    Punctuation is kept (callers decide what it means: a company key treats "&" differently from
    a name key). Fully vectorised: NFKC, replace_many (Aho-Corasick), NFKD, one regex.
    """
    return (
        expr.cast(pl.String)
        .str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_many(_FOLD_TABLE)
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}+", "")
        .str.replace_many(_FOLD_TABLE)
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
        .pipe(null_if_empty)
    )


def null_if_empty(expr: pl.Expr) -> pl.Expr:
    """"" -> null, as a chained step.

    Every builder here is one chain that names its input once: Polars does not share a
    sub-expression used twice (in when/then/otherwise, coalesce, ...), so each reuse would
    recompute the whole chain below it, and on ten million rows that multiplies the cost.
    """
    return expr.replace("", None)


def name_key(expr: pl.Expr) -> pl.Expr:
    """A folded name: letters and digits only, words separated by one space, umlaut digraphs
    folded (see the module docstring). Parenthesised asides ("(she/her)") are dropped."""
    return (
        fold_text(expr.cast(pl.String).str.replace_all(r"\([^)]*\)|\[[^\]]*\]", " "))
        .str.replace_all("'", "")
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        # twice: a digraph sharing its consonant with the previous one ("boeboeb") is only
        # found once the first is folded, and a key must not change when keyed again
        .str.replace_all(_DIGRAPH, "${1}${2}${3}")
        .str.replace_all(_DIGRAPH, "${1}${2}${3}")
        .str.strip_chars()
        .pipe(null_if_empty)
    )


def first_name_key(expr: pl.Expr) -> pl.Expr:
    """The given name people are called by: the first word that is not an honorific or an initial.

    "J. Michael" -> "michael" (someone who goes by the middle name), "Mary Ann" -> "mary" (a
    middle name is often left out on the other side), "Dr. Ana" -> "ana". If only initials are
    there, the first initial is kept.
    """
    return (
        name_key(expr)
        .str.replace(_HONORIFICS, "")
        .str.replace(r"^(?:\S\s+)+(\S{2,})", "$1")  # leading initials before a real word
        .str.extract(r"^(\S+)", 1)
    )


def last_name_key(expr: pl.Expr) -> pl.Expr:
    """The family name with every word kept ("van der berg", "garcia lopez") and generational or
    degree suffixes dropped ("Smith Jr." -> "smith")."""
    # The suffix pattern needs a space before it, so the first word always survives.
    return name_key(expr).str.replace(_GENERATIONAL, "")


@lru_cache(maxsize=1)
def _nickname_lookup() -> tuple[list[str], list[str]]:
    """(variant key, canonical key) pairs, both passed through the same first-name key as the
    data so the lookup cannot drift from the folding rules."""
    from connect_pipeline.normalise.nicknames import nickname_pairs

    pairs = pl.DataFrame(nickname_pairs(), schema=["name", "canonical"], orient="row")
    keyed = (
        pairs.select(
            first_name_key(pl.col("name")).alias("name"),
            first_name_key(pl.col("canonical")).alias("canonical"),
        )
        .drop_nulls()
        .filter(pl.col("name") != pl.col("canonical"))
        .unique(subset="name", keep="first", maintain_order=True)
    )
    return keyed["name"].to_list(), keyed["canonical"].to_list()


def canonical_from_key(first_key: pl.Expr) -> pl.Expr:
    """Resolve an already-keyed given name to its name family (a hash lookup, no regex)."""
    names, canonical = _nickname_lookup()
    return first_key.replace(names, canonical)


def first_name_canonical(expr: pl.Expr) -> pl.Expr:
    """The name family of a given name: "Bill" -> "william", "Sasha" -> "alexander",
    "Pepe" -> "jose". Names outside the table are their own family.

    A family is not a gender: where one diminutive serves both ("Alex", "Sasha", "Chris"), the
    masculine and feminine full forms share the family, because the diminutive alone cannot say
    which one a profile means. First names still compare exactly first; the family is the fallback.
    """
    return canonical_from_key(first_name_key(expr))


def full_name_key(first_key: pl.Expr, last_key: pl.Expr) -> pl.Expr:
    """ "first last" from the two keys; whichever exists if one is missing."""
    return pl.concat_str([first_key, last_key], separator=" ", ignore_nulls=True).pipe(
        null_if_empty
    )


def phonetic_key(name_key: pl.Expr) -> pl.Expr:
    """How an already-keyed name sounds (Metaphone): "neumann", "nuemann" and "newman" -> "nmn";
    "catherine" and "katherine" -> "k0rn".

    For blocking only, never for scoring: a name mistyped, misheard or transliterated differently
    keeps its sound more often than its letters, so a key on the sounds of both names pairs
    records whose exact name keys never meet. The code is computed once per distinct name (names
    repeat a great deal across millions of profiles), in jellyfish's compiled Metaphone.
    """
    import jellyfish

    def codes(names: pl.Series) -> pl.Series:
        distinct = names.drop_nulls().unique()
        mapped = [jellyfish.metaphone(n).lower().replace(" ", "") or None for n in distinct.to_list()]
        return names.replace_strict(distinct, pl.Series(mapped, dtype=pl.String), default=None)

    return name_key.map_batches(codes, return_dtype=pl.String)
