"""The knobs of a link and their defaults, each default defined here once.

Callers that expose a knob (the Dagster resource, the benchmarks) read the default from here
rather than repeating the number, so a changed default cannot leave a copy behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from connect_pipeline.linkage.first_pass import DEFAULT_BOUND
from connect_pipeline.linkage.memory import DEFAULT_MEMORY_FRACTION
from connect_pipeline.linkage.scoring import PAIRS_PER_CHUNK
from connect_pipeline.linkage.spark import DEFAULT_MASTER, DEFAULT_SHUFFLE_PARTITIONS

DEFAULT_THRESHOLD: float = 0.9
"""A match needs posterior odds of at least 9:1. A wrong link shows one person's ATS history on
another person's profile, which costs a recruiter (and the person) more than a missed link, so
the bar sits well above a coin flip. The posterior already carries the namesake risk: names are
discounted by how common the whole name is (not first and last name as if independent) and
employers by their size, so a common name needs an identifier or several agreeing details and
a common name alone never passes; and a candidate's other profiles count against each one
(``scoring.candidate_probability_sql``), so two namesakes that both look right never pass.
(At a threshold below 0.5 two tied namesakes could both reach it; ``scoring.choose_best``
then drops them as a tie.) For a candidate with no identifier the posterior is the full one of
"at most one profile" (the same function), so the 9:1 holds there too rather than being a
stricter bar in disguise. Measured in bench/bench_accuracy.py: on the three default-settings
development worlds the matches above 0.9 were right 999 times in 1,000 (precision 0.9989 to
0.9994); their [0.9, 0.99) bands were right 0.95 to 1.0 of the time."""

DEFAULT_U_MAX_PAIRS: float = 2e6
"""Pairs random sampling draws for u (and EM looks at in a large training block): Splink's
largest fixed cost, and enough to observe every non-identifier level's u."""

DEFAULT_SEED: int = 42
"""Seed of the tenant's u sampling, so a rerun on the same data estimates the same model."""


@dataclass(frozen=True)
class LinkConfig:
    """Knobs of one run.

    ``u_max_pairs`` bounds random sampling for u (Splink's largest fixed cost) and, for
    large training blocks, the pairs EM looks at. A blocking rule is trimmed (its largest
    blocks left out, see ``blocking``) when it would make more than ``max_pairs_per_rule``
    pairs *and* more than ``max_pairs_per_candidate`` per candidate on average: an absolute
    bound alone would cut the name rules of every large tenant on a large index, a
    per-candidate bound alone would let a small tenant's rule on a placeholder value ("n/a")
    compare it with millions of profiles. The left-out blocks are the largest, i.e. the
    least telling per pair (see ``blocking``).
    """

    threshold: float = DEFAULT_THRESHOLD
    u_max_pairs: float = DEFAULT_U_MAX_PAIRS
    seed: int = DEFAULT_SEED
    max_pairs_per_rule: int = 20_000_000
    max_pairs_per_candidate: int = 200
    """Both bounds were set from bench/bench_link_growth.py: a rule trimmed at 1,000 pairs per
    candidate instead kept 93M more pairs at 100k x 2M for 0.2 points of recall, because the
    blocks trimming leaves out are the commonest names at the largest employers, where a name
    and an employer alone cannot carry a match anyway."""
    pairs_per_chunk: int = PAIRS_PER_CHUNK
    """Blocked pairs scored at once; prediction memory grows with it, not with the tenant."""
    backend: str = "duckdb"
    """"duckdb" (one machine) or "spark" (Splink's SparkAPI; needs the ``spark`` extra)."""
    trained_params: Path | None = None
    """A params.json of an earlier run *for the same tenant*, from either backend: estimation is
    skipped and its m and u score this run, with the prior set from the share of the tenant's
    candidates in the index saved beside it over this index's size (tenants never share
    parameters)."""
    spark_master: str = DEFAULT_MASTER
    spark_shuffle_partitions: int = DEFAULT_SHUFFLE_PARTITIONS
    first_pass_bound: int = DEFAULT_BOUND
    """Profiles per candidate the model scores when the snapshot's key index is used (the
    first pass, ``first_pass``). Chosen from measured recall on realistic names
    (bench/bench_link.py, 100k candidates x 1M profiles): a bound of 3 scored 181k pairs for
    recall 0.9957, 10 scored 392k for 0.9958, blocking over the whole index scored 4.6M for
    0.9958, precision 0.9990 in all three. 10 keeps headroom for a larger index, where a
    common name has more namesakes sharing the same keys, at about 4 pairs per candidate."""
    memory_fraction: float = DEFAULT_MEMORY_FRACTION
    """Share of the machine's (or container's) memory the run's DuckDB may take before it
    spills (``memory``)."""
    memory_limit_bytes: int | None = None
    """An explicit DuckDB memory limit, instead of ``memory_fraction``."""
    spill_dir: Path | None = None
    """Where DuckDB spills; by default beside the run's database file (or a private temporary
    folder), removed when the run ends: what spills is the tenant's data."""

    def rule_limit(self, n_ats: int) -> int:
        """Pairs a blocking rule may generate for ``n_ats`` candidates before it is trimmed."""
        return max(self.max_pairs_per_rule, self.max_pairs_per_candidate * n_ats)
