"""The names of one run's working relations, owned in one place.

A run passes its tables from step to step inside one DuckDB connection: preparation makes the
candidate side that blocking reads, blocking makes the profile subset that training reads,
scoring makes the winners that the explanation reads. When each module spelled those names as
string literals, a module's inputs were whatever another module happened to call its outputs,
and renaming one table silently broke a step two modules away. Here every name is defined once;
the steps are handed a ``Tables`` and read the names from it, and ``tests/test_linkage.py``
checks that no other module under ``linkage/`` spells one.

The values are part of behaviour, not just of style: ``profiles`` appears in the SQL the
population figures' fingerprint covers (renaming it makes every snapshot's figures stale), and
the Splink dataset labels appear in ``source_dataset`` of every prediction.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from connect_pipeline.linkage.blocking import BlockingKey


@dataclass(frozen=True)
class Tables:
    """Every working relation of a run, and the dataset labels Splink gives its inputs.

    Grouped by the step that creates them; a later step only reads what an earlier one made.
    """

    # prepare: both sides in model columns
    ats_input: str = "ats_input"
    """The caller's candidate frame, registered only while ``ats`` is built from it."""
    ats: str = "ats_features"
    """Candidates in model columns (the left side of every pair)."""
    ats_ids: str = "ats_ids"
    """Splink's string ``unique_id`` back to the integer ``candidate_id``."""
    profiles: str = "profiles_all"
    """View over the Parquet profile index in model columns (never materialised)."""

    # block: the profiles that share a blocking key with a candidate
    subset: str = "profiles_subset"
    ats_slice: str = "ats_slice"
    """A slice of the candidates, while the key index is probed for them."""
    key_hashes: str = "ats_key_hashes"
    """One key's hashed values on the candidate side, while the key index is probed."""
    blocked_pairs: str = "blocked_pairs"
    """Every pair the key index returned (one row per shared key), until the first pass."""
    kept_pairs: str = "kept_pairs"
    """The pairs the first pass keeps: the only ones the model scores."""

    # population: the snapshot's figures restricted to this run
    u_sample: str = "profiles_u_sample"
    """The snapshot's uniform profile sample, with this run's block columns, for u."""

    # train: the candidates scored once more to estimate the share of them in the index
    share_sample: str = "ats_share_sample"
    """A deterministic sample of ``ats`` (``training.SHARE_SAMPLE`` candidates at most)."""

    # predict: what each chunk leaves behind
    scored_chunk: str = "scored_chunk"
    """One chunk's pairs with the candidate-level probability, while its figures are taken."""
    identifier_free: str = "identifier_free"
    """Candidates holding no identifier, read on the full posterior."""
    top_pairs: str = "top_pairs"
    tied_candidates: str = "tied_candidates"
    """Candidates whose best profile ties with another at a probability that alone would pass."""
    scored_counts: str = "scored_counts"
    scored_candidates: str = "scored_candidates"
    review_pairs: str = "review_pairs"
    """Every scored pair's levels, only when a review file was asked for."""
    spark_predictions: str = "spark_predictions"
    spark_predictions_arrow: str = "spark_predictions_arrow"
    """A Spark prediction copied back into DuckDB (and the Arrow it arrives as)."""

    # choose and explain
    ranked: str = "ranked"
    winners: str = "winners"
    winners_ats: str = "winners_ats"
    winners_profiles: str = "winners_profiles"

    # Splink dataset labels (``source_dataset`` values), one per registered input
    ats_source: str = "ats"
    profile_source: str = "profiles"
    sample_source: str = "profiles_sample"
    share_sample_source: str = "ats_share_sample"
    chosen_ats_source: str = "ats_chosen"
    chosen_profiles_source: str = "profiles_chosen"

    def population(self, statistic: str) -> str:
        """The relation holding one of the snapshot's population statistics."""
        return f"pop_{statistic}"

    def term_frequencies(self, column: str) -> str:
        """A column's population term frequencies, restricted to this run's values."""
        return f"tf_pop_{column}"

    def term_frequency_source(self, column: str) -> str:
        """The Splink dataset label of a term frequency lookup."""
        return f"{self.term_frequencies(column)}_lookup"

    def left_out(self, key: "BlockingKey") -> str:
        """The key values whose blocks a trimmed blocking key leaves out."""
        return f"left_out_{key.slug}"

    def relations(self) -> tuple[str, ...]:
        """Every fixed relation name (not the dataset labels, not the per-column families)."""
        return tuple(
            getattr(self, f.name) for f in fields(self) if not f.name.endswith("_source")
        )


TABLES = Tables()
"""The run's namespace; a run with other names would pass its own ``Tables``."""
