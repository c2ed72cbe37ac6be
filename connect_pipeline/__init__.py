"""connect-pipeline: match a tenant's Greenhouse candidates to a public profile index.

The domain library. Nothing in this package imports Dagster except the CLI entry point,
so every stage can be tested and benchmarked as plain Python.
"""

__version__ = "0.1.0"
