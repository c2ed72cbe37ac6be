"""How much memory DuckDB may take, and where it spills: set from the machine, per connection.

DuckDB's default memory limit is 80 % of the machine. A link shares its machine with other
tenants' runs (and, on a developer's box, with everything else), and a large tenant against a
large index builds joins and group-bys bigger than memory. Left alone, DuckDB then either takes
most of the machine or fails with an out-of-memory error. With an explicit ``memory_limit`` and
a ``temp_directory`` its operators spill to disk instead, so a run's peak stays near the limit
whatever the tenant's size. The limit is a fraction of the memory this process may use (the
cgroup's limit in a container, the machine's RAM otherwise), or an explicit figure.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

DEFAULT_MEMORY_FRACTION = 0.4
"""Share of the available memory one DuckDB connection may take. Below one half so two runs (or
a run and the snapshot build) fit side by side; DuckDB's own figure excludes Python's objects
and Splink's, which the remainder covers."""

_CGROUP_LIMIT = Path("/sys/fs/cgroup/memory.max")


@dataclass(frozen=True)
class MemorySettings:
    """What a connection was given: its limit in bytes, its spill folder and thread count."""

    limit_bytes: int
    temp_directory: Path
    threads: int


def available_memory() -> int:
    """Bytes this process may use: the container's memory limit when one is set, else RAM."""
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        text = _CGROUP_LIMIT.read_text().strip()
    except OSError:
        return ram
    return min(ram, int(text)) if text.isdigit() else ram


def memory_limit(fraction: float = DEFAULT_MEMORY_FRACTION, limit_bytes: int | None = None) -> int:
    """The limit for one connection: ``limit_bytes`` when given, else ``fraction`` of what is
    available (never below 256 MiB, which DuckDB needs to work at all)."""
    if limit_bytes is not None:
        return max(int(limit_bytes), 256 << 20)
    if not 0 < fraction <= 1:
        raise ValueError(f"memory fraction must be within (0, 1], got {fraction}")
    return max(int(available_memory() * fraction), 256 << 20)


def apply_limits(
    con: duckdb.DuckDBPyConnection,
    spill_dir: Path,
    *,
    fraction: float = DEFAULT_MEMORY_FRACTION,
    limit_bytes: int | None = None,
    threads: int | None = None,
    keep_order: bool = True,
) -> MemorySettings:
    """Give ``con`` its memory limit, its spill folder (created) and its thread count.

    ``threads`` defaults to the CPUs this process may run on (``os.sched_getaffinity``), not the
    machine's, so a run pinned to two cores does not start eight threads. ``keep_order=False``
    lets large writes spill more freely; a tenant's run keeps insertion order, because Splink's
    seeded sampling reads tables in order and a rerun must estimate the same model.
    """
    limit = memory_limit(fraction, limit_bytes)
    spill = Path(spill_dir)
    spill.mkdir(parents=True, exist_ok=True)
    n_threads = threads or len(os.sched_getaffinity(0)) or 1
    con.execute(f"SET memory_limit = '{limit // (1 << 20)}MiB'")
    con.execute(f"SET temp_directory = '{str(spill).replace(chr(39), chr(39) * 2)}'")
    con.execute(f"SET threads = {int(n_threads)}")
    if not keep_order:
        con.execute("SET preserve_insertion_order = false")
    return MemorySettings(limit, spill, n_threads)
