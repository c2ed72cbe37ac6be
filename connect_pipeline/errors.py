"""One exception hierarchy for everything a user of connect-pipeline can see.

    ConnectError
    ├── ConfigError               bad tenant record, bad URL, missing env var / key
    │   └── ProfileIndexError     the profile index breaks its contract (profile_index.py)
    ├── TenantNotFound
    ├── HarvestError              anything Harvest said or failed to say
    │   ├── AuthError             token could not be minted (wrong id/secret, revoked)
    │   ├── PermissionDenied      403: a scope missing or `sub` not a Site Admin
    │   ├── InvalidQuery          422
    │   ├── RateLimitExhausted    429s beyond the retry budget
    │   └── TransientError        5xx / timeouts / resets beyond the retry budget
    ├── ResumeError               a resume could not be read (carried as a skip reason, not raised to runs)
    ├── LinkageError              the model could not be trained or applied
    └── StagingNotEmpty           the purge check found ATS inputs left behind

Every message names the tenant (where there is one), what failed and what to do next.
No message ever contains a secret or a token.
"""

from __future__ import annotations


class ConnectError(Exception):
    """Base of every error connect-pipeline raises on purpose."""


class ConfigError(ConnectError):
    pass


class ProfileIndexError(ConfigError):
    """The profile index breaks its contract: the message names the file, the column and the fix."""


class TenantNotFound(ConnectError):
    pass


class HarvestError(ConnectError):
    def __init__(self, message: str, *, status: int | None = None, tenant_id: str | None = None):
        super().__init__(message)
        self.status = status
        self.tenant_id = tenant_id


class AuthError(HarvestError):
    pass


class PermissionDenied(HarvestError):
    pass


class InvalidQuery(HarvestError):
    pass


class RateLimitExhausted(HarvestError):
    pass


class TransientError(HarvestError):
    pass


class ResumeError(ConnectError):
    pass


class LinkageError(ConnectError):
    pass


class StagingNotEmpty(ConnectError):
    pass
