"""Harvest v3: the only code in the pipeline that talks to Greenhouse.

Import from here; the modules behind it are ``auth`` (tokens), ``ratelimit`` (the shared request
budget), ``session`` (what clients of one credential share: its token and budget), ``client``
(pagination, retries, downloads), ``verify`` (the connection check) and ``collections`` (what
the pipeline reads, declared as data).
"""

from connect_pipeline.harvest.auth import Credential, TokenProvider
from connect_pipeline.harvest.client import HarvestClient, safe_url, window_filter
from connect_pipeline.harvest.collections import BY_NAME, COLLECTIONS, Collection
from connect_pipeline.harvest.ratelimit import RateBudget
from connect_pipeline.harvest.session import DEFAULT_SESSION, HarvestSession
from connect_pipeline.harvest.verify import VerifyReport, verify_connection

__all__ = [
    "BY_NAME",
    "COLLECTIONS",
    "Collection",
    "Credential",
    "DEFAULT_SESSION",
    "HarvestClient",
    "HarvestSession",
    "RateBudget",
    "TokenProvider",
    "VerifyReport",
    "safe_url",
    "verify_connection",
    "window_filter",
]
