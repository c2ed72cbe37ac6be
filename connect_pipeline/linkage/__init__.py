"""Linking a tenant's ATS people to the public profile index (Splink on DuckDB)."""

from connect_pipeline.linkage.config import DEFAULT_THRESHOLD, DEFAULT_U_MAX_PAIRS, LinkConfig
from connect_pipeline.linkage.link import (
    build_key_index,
    build_population,
    key_index_is_current,
    link_tenant,
    population_is_current,
)
from connect_pipeline.linkage.result import LinkResult
from connect_pipeline.linkage.run import LinkRun

__all__ = [
    "DEFAULT_THRESHOLD",
    "DEFAULT_U_MAX_PAIRS",
    "LinkConfig",
    "LinkResult",
    "LinkRun",
    "build_key_index",
    "build_population",
    "key_index_is_current",
    "link_tenant",
    "population_is_current",
]
