"""Where each tenant's files live, and the only way code finds them.

Tenants are silos: every path a run touches for tenant A is below ``tenants/A/``. The profile
features are the one shared thing, and they are not tenant data. Nothing here assumes more than
a storage root, so the root can later become object storage.

    <root>/tenants.json                         tenant registry (no plain-text secrets)
    <root>/profile_features/<snapshot>/         normalised profile index, shared by all tenants
    <root>/tenants/<tenant_id>/
        staging/                                ATS inputs of the current run; purged after matching
            raw/<collection>.jsonl              Harvest records as read
            resumes/<attachment_id>.pdf         downloaded resume files
            resume_text.parquet                 text + signals extracted from resumes
            ats_people.parquet                  normalised ATS side of the link
            ats_records.parquet                 what enrichment needs from the ATS (candidate level)
        state/                                  what the next run needs (watermarks); no ATS records
        model/                                  Splink settings + this tenant's trained parameters
        published/                              matches.parquet, enrichment.parquet (atomic swap)
        tenant.duckdb                           the same published tables, queryable
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from connect_pipeline.errors import ConfigError

DATA_ROOT_ENV = "CONNECT_PIPELINE_HOME"
TENANT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The storage root: the argument, else $CONNECT_PIPELINE_HOME, else ./.data."""
    chosen = root or os.environ.get(DATA_ROOT_ENV) or ".data"
    return Path(chosen).expanduser().resolve()


def validate_tenant_id(tenant_id: str) -> str:
    if not TENANT_ID_RE.fullmatch(tenant_id or ""):
        raise ConfigError(
            f"tenant id {tenant_id!r} is not a slug: use lower-case letters, digits, '-' or '_' "
            "(at most 63 characters, starting with a letter or digit)"
        )
    return tenant_id


@dataclass(frozen=True)
class TenantStorage:
    """The folders of one tenant. Construct it per run; it never lists other tenants."""

    root: Path
    tenant_id: str

    def __post_init__(self) -> None:
        validate_tenant_id(self.tenant_id)

    @property
    def base(self) -> Path:
        return self.root / "tenants" / self.tenant_id

    @property
    def staging(self) -> Path:
        return self.base / "staging"

    @property
    def raw(self) -> Path:
        return self.staging / "raw"

    @property
    def resumes(self) -> Path:
        return self.staging / "resumes"

    @property
    def state(self) -> Path:
        return self.base / "state"

    @property
    def model(self) -> Path:
        return self.base / "model"

    @property
    def published(self) -> Path:
        return self.base / "published"

    @property
    def duckdb_path(self) -> Path:
        return self.base / "tenant.duckdb"

    def ensure(self) -> "TenantStorage":
        for folder in (self.staging, self.raw, self.resumes, self.state, self.model, self.published):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def staged_files(self) -> list[Path]:
        """Every file left in staging: the purge check wants this empty."""
        if not self.staging.exists():
            return []
        return sorted(p for p in self.staging.rglob("*") if p.is_file())

    def purge_staging(self) -> int:
        """Delete every staged ATS input; returns how many files were removed."""
        files = self.staged_files()
        if self.staging.exists():
            shutil.rmtree(self.staging)
        return len(files)

    def remove(self) -> None:
        """Delete everything held for this tenant (tenant removal)."""
        if self.base.exists():
            shutil.rmtree(self.base)


def profile_features_dir(root: Path, snapshot_id: str) -> Path:
    return root / "profile_features" / snapshot_id
