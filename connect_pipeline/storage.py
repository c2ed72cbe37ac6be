"""Where each tenant's files live, and the only way code finds them.

Tenants are silos: every path a run touches for tenant A is below ``tenants/A/``. The profile
features are the one shared thing, and they are not tenant data. Nothing here assumes more than
a storage root, so the root can later become object storage.

    <root>/tenants.json                         tenant registry (no plain-text secrets)
    <root>/leases/<tenant_id>.lock              the run lease (an OS lock; see ``lease.py``)
    <root>/profile_features/<snapshot>/         normalised profile index, shared by all tenants
    <root>/tenants/<tenant_id>/
        staging/                                ATS inputs of the current run; purged after matching
            raw/<collection>.jsonl              Harvest records as read
            resumes/<attachment_id>.pdf         downloaded resume files
            resume_text.parquet                 text + signals extracted from resumes
            ats_people.parquet                  normalised ATS side of the link
            matches.parquet                     this run's matches, until published
            extract_manifest.json               the window being read (``run_state.py``)
        state/                                  what the next run needs; ids and figures, no ATS records
        model/                                  Splink settings + this tenant's trained parameters
        labels.parquet                          the tenant's confirmed / rejected matches (optional)
        published/
            generations/<generation>/           matches, enrichment, ids (.parquet), tenant.duckdb
            current -> generations/<generation> the one atomic switch a publish makes
        tenant.duckdb -> published/current/tenant.duckdb

Everything below a tenant's folder is private to the service's user (folders 0700, files 0600)
whatever the process umask: ``private_dir`` and ``atomic_write`` enforce it for what this package
writes, and the run lease sets a private umask for what libraries write on our behalf.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from connect_pipeline.errors import ConfigError

DATA_ROOT_ENV = "CONNECT_PIPELINE_HOME"
TENANT_ID_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The storage root: the argument, else $CONNECT_PIPELINE_HOME, else ./.data."""
    chosen = root or os.environ.get(DATA_ROOT_ENV) or ".data"
    return Path(chosen).expanduser().resolve()


def validate_tenant_id(tenant_id: str) -> str:
    """A tenant id is a slug, matched whole: ``'acme\\n'`` and ``'../evil'`` are refused."""
    if not isinstance(tenant_id, str) or not TENANT_ID_RE.fullmatch(tenant_id):
        raise ConfigError(
            f"tenant id {tenant_id!r} is not a slug: use lower-case letters, digits, '-' or '_' "
            "(at most 63 characters, starting with a letter or digit)"
        )
    return tenant_id


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as folders only the service's user can open."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        os.chmod(folder, PRIVATE_DIR)
    if not missing:
        os.chmod(path, PRIVATE_DIR)
    return path


@contextmanager
def atomic_write(target: Path, *, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` whole.

    Why: a reader (or the next run after a kill -9) sees the old file or the new one, never half
    of one. The file is made private before the rename. ``durable`` also fsyncs it first, so
    even a power loss cannot leave an empty file under the real name; staged inputs that a rerun
    re-reads anyway (pages, resume files) skip that cost, since a killed process loses nothing
    the kernel already holds.
    """
    target = Path(target)
    if not target.parent.is_dir():
        private_dir(target.parent)
    # one writer per target (the run lease), so a fixed name: a rerun after a kill overwrites it
    tmp = target.with_name(f".{target.name}.part")
    try:
        yield tmp
        os.chmod(tmp, PRIVATE_FILE)
        if durable:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes_atomic(target: Path, data: bytes, *, durable: bool = True) -> None:
    with atomic_write(target, durable=durable) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(target: Path, text: str) -> None:
    write_bytes_atomic(target, text.encode("utf-8"))


def write_with(target: Path, writer: Callable[[Path], object]) -> None:
    """``writer(tmp)`` writes the file (e.g. ``frame.write_parquet``); it lands atomically."""
    with atomic_write(target) as tmp:
        writer(tmp)


def make_private(base: Path) -> None:
    """Tighten every folder and file under ``base`` (files written by libraries, old layouts)."""
    if not base.exists():
        return
    os.chmod(base, PRIVATE_DIR)
    for folder, dirs, files in os.walk(base):
        for name in dirs:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, PRIVATE_DIR)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, PRIVATE_FILE)


@dataclass(frozen=True)
class TenantStorage:
    """Every path of one tenant. Construct it per run; it never lists other tenants."""

    root: Path
    tenant_id: str

    def __post_init__(self) -> None:
        validate_tenant_id(self.tenant_id)

    # -- the tenant's folders -------------------------------------------------------------
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

    # -- staged files (purged after every match attempt) ------------------------------------
    def raw_collection(self, name: str) -> Path:
        return self.raw / f"{name}.jsonl"

    def resume_file(self, attachment_id: int) -> Path:
        return self.resumes / f"{int(attachment_id)}.pdf"

    @property
    def resume_text(self) -> Path:
        return self.staging / "resume_text.parquet"

    @property
    def people(self) -> Path:
        return self.staging / "ats_people.parquet"

    @property
    def staged_matches(self) -> Path:
        return self.staging / "matches.parquet"

    @property
    def link_db(self) -> Path:
        """The linker's working tables: under staging so the purge removes them with the rest."""
        return self.staging / "link.duckdb"

    @property
    def manifest(self) -> Path:
        return self.staging / "extract_manifest.json"

    @property
    def deleted_ids(self) -> Path:
        return self.staging / "deleted_candidates.json"

    # -- state (no ATS records) ---------------------------------------------------------------
    @property
    def watermarks(self) -> Path:
        return self.state / "watermarks.json"

    @property
    def publish_history(self) -> Path:
        """One line per passed publish: the figures the usual match-rate band is built from."""
        return self.state / "publish_history.jsonl"

    @property
    def last_gate(self) -> Path:
        """The figures and verdict of the last run that reached the quality gate."""
        return self.state / "last_gate.json"

    @property
    def trained_params(self) -> Path:
        return self.model / "params.json"

    @property
    def labels(self) -> Path:
        """A tenant's confirmed matches (candidate_id, profile_id), when it has any."""
        return self.base / "labels.parquet"

    def charts(self, run_id: str) -> Path:
        """One run's charts (model parameters and score counts, no records): kept per run."""
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", run_id):
            raise ConfigError(f"not a run id: {run_id!r}")
        return self.charts_root / run_id

    @property
    def charts_root(self) -> Path:
        return self.base / "charts"

    # -- published generations ------------------------------------------------------------------
    @property
    def generations(self) -> Path:
        return self.published / "generations"

    @property
    def current(self) -> Path:
        """The pointer a publish switches; readers resolve it once and read that generation."""
        return self.published / "current"

    @property
    def duckdb_path(self) -> Path:
        """Where a person opens the tenant's tables: a link to the current generation's file."""
        return self.base / "tenant.duckdb"

    def generation(self, generation_id: str) -> Path:
        return self.generations / generation_id

    def current_generation(self) -> Path | None:
        """The folder of the published generation now current, or None before the first publish."""
        try:
            target = os.readlink(self.current)
        except (FileNotFoundError, OSError):
            return None
        folder = (self.published / target).resolve()
        return folder if folder.is_dir() else None

    def published_table(self, table: str) -> Path | None:
        """The current generation's file of ``table`` (``matches`` or ``enrichment``)."""
        folder = self.current_generation()
        if folder is None:
            return None
        path = folder / f"{table}.parquet"
        return path if path.exists() else None

    # -- life cycle ---------------------------------------------------------------------------
    def ensure(self) -> "TenantStorage":
        for folder in (self.base, self.staging, self.raw, self.resumes, self.state, self.model, self.published):
            private_dir(folder)
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


def removal_marker(root: Path, tenant_id: str) -> Path:
    """Written by `tenants remove` before the tenant leaves the registry, deleted once its files
    are: only a marked tenant's files are ever deleted for want of a registry entry (a registry
    lost or restored from an old backup must never read as "remove them all")."""
    return root / "removals" / validate_tenant_id(tenant_id)


def lease_path(root: Path, tenant_id: str) -> Path:
    """Outside the tenant's folder, so removing the tenant never removes a lock someone holds."""
    return root / "leases" / f"{validate_tenant_id(tenant_id)}.lock"
