"""Linking a tenant's ATS people to the public profile index (Splink on DuckDB)."""

from connect_pipeline.linkage.link import (
    DEFAULT_THRESHOLD,
    LinkConfig,
    LinkResult,
    build_population,
    link_tenant,
    population_is_current,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "LinkConfig",
    "LinkResult",
    "build_population",
    "link_tenant",
    "population_is_current",
]
