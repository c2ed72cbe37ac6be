"""One exception hierarchy for everything a user of connect-pipeline can see.

    ConnectError
    ├── ConfigError               bad tenant record, bad URL, missing env var / key
    │   └── ProfileIndexError     the profile index breaks its contract (profile_index.py)
    ├── TenantNotFound
    ├── HarvestError              anything Harvest said or failed to say (.status, .tenant_id)
    │   ├── AuthError             token could not be minted (wrong id/secret, revoked)
    │   ├── PermissionDenied      403: .reason "scope" (.scope/.permission missing), "site_admin"
    │   │                         (the token's user is not a Site Admin) or "other"; .collection
    │   ├── InvalidQuery          422
    │   ├── RateLimitExhausted    429s beyond the retry budget
    │   ├── TransientError        5xx / timeouts / resets beyond the retry budget
    │   ├── ResponseTooLarge      a page over the size cap (.limit)
    │   └── DownloadFailed        an attachment was not fetched: .reason slug, .attachment_id,
    │       │                     .candidate_id; the run goes on and counts it by .reason
    │       └── AttachmentTooLarge  .reason "too_large", .limit
    ├── ResumeError               a resume could not be read (carried as a skip reason, not raised to runs)
    ├── LinkageError              the model could not be trained or applied
    └── StagingNotEmpty           the purge check found ATS inputs left behind

Callers decide by type and attributes, never by a message's wording. Every message names the
tenant (where there is one), what failed and what to do next. No message ever contains a secret,
a token or a URL of Greenhouse's (a signed download link is a credential, in its path as much as
in its query string).
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
    """A 403 on a listing, with what the customer has to change as data (verify.py reports it)."""

    REASONS = ("scope", "site_admin", "other")

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        collection: str,
        scope: str | None = None,
        permission: str | None = None,
        status: int | None = 403,
        tenant_id: str | None = None,
    ):
        if reason not in self.REASONS:
            raise ValueError(f"PermissionDenied reason must be one of {self.REASONS}, got {reason!r}")
        super().__init__(message, status=status, tenant_id=tenant_id)
        self.reason = reason
        self.collection = collection
        self.scope = scope
        self.permission = permission


class InvalidQuery(HarvestError):
    pass


class RateLimitExhausted(HarvestError):
    pass


class TransientError(HarvestError):
    pass


class ResponseTooLarge(HarvestError):
    def __init__(self, message: str, *, limit: int, status: int | None = None, tenant_id: str | None = None):
        super().__init__(message, status=status, tenant_id=tenant_id)
        self.limit = limit


class DownloadFailed(HarvestError):
    """One attachment could not be fetched; ``reason`` is the slug a run counts skips by.

    Kept apart from TransientError and RateLimitExhausted on purpose: a missing resume costs one
    candidate's enrichment, not the run, so callers catch this type and carry on.
    """

    REASONS = ("too_large", "expired", "not_found", "refused", "unavailable", "throttled", "not_http", "closed")

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        attachment_id: int | None,
        candidate_id: int | None = None,
        status: int | None = None,
        tenant_id: str | None = None,
    ):
        if reason not in self.REASONS:
            raise ValueError(f"DownloadFailed reason must be one of {self.REASONS}, got {reason!r}")
        super().__init__(message, status=status, tenant_id=tenant_id)
        self.reason = reason
        self.attachment_id = attachment_id
        self.candidate_id = candidate_id


class AttachmentTooLarge(DownloadFailed):
    def __init__(
        self,
        message: str,
        *,
        limit: int,
        attachment_id: int | None,
        candidate_id: int | None = None,
        tenant_id: str | None = None,
    ):
        super().__init__(
            message, reason="too_large", attachment_id=attachment_id, candidate_id=candidate_id, tenant_id=tenant_id
        )
        self.limit = limit


class ResumeError(ConnectError):
    pass


class LinkageError(ConnectError):
    pass


class StagingNotEmpty(ConnectError):
    pass


class MassDeletionRefused(ConnectError):
    """Greenhouse's candidate list lacks most of the published candidates: more likely a list
    cut short than a purge, so the run stops before anything is dropped."""

    def __init__(self, tenant_id: str, missing: int, published: int) -> None:
        super().__init__(
            f"tenant {tenant_id}: Greenhouse's candidate list lacks {missing:,} of the {published:,} candidates "
            f"published ({100 * missing / published:.0f}%). A list cut short (a server whose paging this "
            "client does not follow, a filter the server applied) would unpublish them all, so this run "
            "stopped and dropped nothing; the last published tables stay current. If they really were "
            f"deleted in Greenhouse, run once with `connect-pipeline run {tenant_id} --allow-mass-deletion` "
            "(in the Dagster UI: ats_extract's config allow_mass_deletion: true)."
        )


class StagedExtractGone(ConnectError):
    """A later stage found no finished extract in staging: every run purges what it staged when
    it ends, so re-executing a run from a failed step, or materialising a later stage alone,
    has nothing to read and must not publish that nothing."""

    def __init__(self, tenant_id: str) -> None:
        super().__init__(
            f"tenant {tenant_id}: no finished Greenhouse extract is staged. The run that staged one "
            "purged it when it ended, as every run does, so re-executing a run from a failed step or "
            "materialising a later stage alone has nothing to read; nothing was published and the "
            f"last published tables stay current. Start a whole run instead: `connect-pipeline run "
            f"{tenant_id}`, or in the Dagster UI launch tenant_job (Materialize all) for partition {tenant_id}."
        )
