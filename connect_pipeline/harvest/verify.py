"""The connection check a customer runs after connecting: does every read the pipeline needs work?

A 200 from one collection says little: Greenhouse grants scopes one by one, and list endpoints
also depend on who the token acts as (``sub``, a Site Admin). So the check mints a token, asks the
introspection endpoint what it grants (when there is one), then reads one record of every
collection the pipeline uses, and names each failure in the customer's vocabulary: the guide's
permission to tick and the v3 scope behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from connect_pipeline.errors import ConnectError, PermissionDenied
from connect_pipeline.harvest.client import HarvestClient, safe_url
from connect_pipeline.harvest.collections import COLLECTIONS, GUIDE_WRITE_SCOPES


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class VerifyReport:
    tenant_id: str
    checks: list[Check] = field(default_factory=list)
    missing_scopes: list[tuple[str, str]] = field(default_factory=list)  # (scope, guide permission)
    site_admin_problem: str | None = None
    introspection: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)  # informational, never fail the check

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks) and not self.missing_scopes and not self.site_admin_problem

    def lines(self) -> list[str]:
        out = [f"Connection check for tenant {self.tenant_id}:"]
        for check in self.checks:
            mark = "ok  " if check.ok else "FAIL"
            out.append(f"  [{mark}] {check.name}" + (f": {check.detail}" if check.detail else ""))
        if self.missing_scopes:
            out.append("Missing permissions: in Greenhouse > Configure > Dev Center > API Credential Management, tick:")
            for scope, permission in self.missing_scopes:
                out.append(f"  - {permission}  (v3 scope {scope})")
        if self.site_admin_problem:
            out.append(f"Site Admin: {self.site_admin_problem}")
        out.extend(f"Note: {note}" for note in self.notes)
        out.append("Result: " + ("connection OK" if self.ok else "connection NOT ready"))
        return out


def introspect_url_for(token_url: str) -> str | None:
    """``…/token`` -> ``…/introspect``; None when the token URL does not end in /token."""
    trimmed = token_url.rstrip("/")
    if not trimmed.endswith("/token"):
        return None
    return trimmed[: -len("/token")] + "/introspect"


def verify_connection(client: HarvestClient) -> VerifyReport:
    """Run every check; never raises for a problem the report can describe."""
    report = VerifyReport(tenant_id=client.tenant_id)
    try:
        token = client.tokens.token()
    except ConnectError as exc:
        report.checks.append(Check("mint a token", False, str(exc)))
        return report
    report.checks.append(Check("mint a token", True, f"client id {client.credential.client_id}"))

    _introspect(client, token, report)

    site_admin_collections: list[str] = []
    for collection in COLLECTIONS:
        name = f"list {collection.name}"
        try:
            for _page in client.iter_pages(collection.name, per_page=1):
                break
        except PermissionDenied as exc:
            if exc.reason == "scope":
                pair = (collection.scope, collection.permission)
                if pair not in report.missing_scopes:
                    report.missing_scopes.append(pair)
                report.checks.append(Check(name, False, f"scope {collection.scope} missing ('{collection.permission}')"))
            elif exc.reason == "site_admin":
                site_admin_collections.append(collection.name)
                report.checks.append(Check(name, False, "the token's user is not a Site Admin"))
            else:
                report.checks.append(Check(name, False, str(exc)))
        except ConnectError as exc:
            report.checks.append(Check(name, False, str(exc)))
        else:
            report.checks.append(Check(name, True))

    if site_admin_collections:
        sub = client.credential.sub
        who = f"user {sub} (the sub)" if sub is not None else "the credential's service user (no sub given)"
        report.site_admin_problem = (
            f"{who} is not a Site Admin, so Greenhouse refuses to list "
            f"{', '.join(site_admin_collections)}: make that user a Site Admin in Greenhouse, or run "
            f"`connect-pipeline tenants add {client.tenant_id} ... --sub <id of a Site Admin user>`"
        )
    return report


def _introspect(client: HarvestClient, token: str, report: VerifyReport) -> None:
    """Ask what the token grants; a missing endpoint is a note, not a failure."""
    url = introspect_url_for(client.credential.token_url)
    if url is None:
        report.notes.append("token URL does not end in /token, so introspection was skipped")
        return
    cred = client.credential
    try:
        response = client.http.post(
            url,
            data={"token": token},
            auth=(cred.client_id, cred.client_secret),
            timeout=client.timeout_s,
        )
    except httpx.TransportError as exc:
        report.notes.append(f"introspection endpoint {safe_url(url)} unreachable ({type(exc).__name__}); skipped")
        return
    if response.status_code in (404, 405, 501):
        report.notes.append(f"no introspection endpoint at {safe_url(url)}; skipped")
        return
    if response.status_code != 200:
        report.checks.append(Check("introspect the token", False, f"HTTP {response.status_code} from {safe_url(url)}"))
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        report.notes.append("introspection answered something that is not a JSON object; skipped")
        return
    scopes = _scopes(body.get("scope", body.get("scopes")))
    report.introspection = {"active": body.get("active"), "sub": body.get("sub"), "scopes": sorted(scopes)}
    if body.get("active") is False:
        report.checks.append(Check("introspect the token", False, "Greenhouse says the new token is not active"))
        return
    detail = f"{len(scopes)} scopes"
    if body.get("sub") is not None:
        detail += f", acting as user {body.get('sub')}"
    report.checks.append(Check("introspect the token", True, detail))
    if cred.sub is not None and body.get("sub") is not None and str(body.get("sub")) != str(cred.sub):
        report.notes.append(f"the token acts as user {body.get('sub')}, not the configured sub {cred.sub}")
    if scopes:
        not_ticked = [f"{perm} ({scope})" for scope, perm in GUIDE_WRITE_SCOPES.items() if scope not in scopes]
        if not_ticked:
            report.notes.append(
                "the guide's write permissions are not granted (not needed by the pipeline): " + "; ".join(not_ticked)
            )


def _scopes(value: Any) -> set[str]:
    if isinstance(value, str):
        return {s for s in value.replace(",", " ").split() if s}
    if isinstance(value, (list, tuple)):
        return {str(s) for s in value}
    return set()


__all__ = ["Check", "VerifyReport", "verify_connection", "introspect_url_for"]
