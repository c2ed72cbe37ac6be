"""The on-disk layout of a generated world: what the generator writes, the local Greenhouse
serves, and the demo and tests score against.

    <world>/world.json                          {"seed", "reference_time", "tenants": [...], "n_profiles",
                                                 "n_candidates": {tenant: n}, "shared_people", "resumes",
                                                 the other settings of ``generate_world`` ("not_in_index",
                                                 "namesake", ..., "postal_addresses", "cultures"),
                                                 "hostile_attachments": {tenant: {kind: [attachment ids]}}}
                                                (kinds: image_only, encrypted, corrupt, oversized)
    <world>/profiles/part-00000.parquet ...     the profile index (the README's contract)
    <world>/greenhouse/<tenant_id>/account.json {"tenant_id", "credentials": [{"client_id",
                                                 "client_secret", "scopes": [...]}],
                                                 "site_admin_user_id", "non_admin_user_id"}
    <world>/greenhouse/<tenant_id>/<collection>.jsonl
                                                one Harvest v3 record per line (v3 field names);
                                                attachments carry "_file": "files/<id>.pdf" and no url
    <world>/greenhouse/<tenant_id>/files/<attachment_id>.pdf
    <world>/truth/<tenant_id>.parquet           candidate_id int64, profile_id str (null when the
                                                person is not in the index), kind str
                                                (the most specific of in_index, not_in_index,
                                                duplicate, anonymised, private, shared). profile_id is
                                                the match expected: anonymised candidates carry null
                                                (never match them); private ones carry their profile
                                                (matched only when the tenant opts in).
"""

from __future__ import annotations

from pathlib import Path


def profiles_glob(world: Path) -> str:
    return str(world / "profiles" / "*.parquet")


def account_dir(world: Path, tenant_id: str) -> Path:
    return world / "greenhouse" / tenant_id


def truth_path(world: Path, tenant_id: str) -> Path:
    return world / "truth" / f"{tenant_id}.parquet"
