"""`make demo`: a whole product run on a generated world and the shipped local Greenhouse.

Generates (once) a world of two tenants and a profile index, starts the local Harvest v3 server,
connects both tenants exactly as a customer would (client id, secret, Site Admin `sub`), runs
every tenant through Dagster and prints what was read, matched and published, scored against the
generator's ground truth.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from connect_pipeline.quality import quality_against_labels
from connect_pipeline.secrets import from_file
from connect_pipeline.storage import TenantStorage, data_root, private_dir, write_text_atomic, write_with
from connect_pipeline.tenants import TenantConnection, TenantRegistry
from connect_pipeline.testkit.world.layout import account_dir, profiles_glob, truth_path

DEMO_TENANTS = {"acme": 3000, "globex": 2500}
DEMO_PROFILES = 40_000
SMALL_TENANTS = {"acme": 400, "globex": 300}
SMALL_PROFILES = 5_000
DEMO_SEED = 7


@dataclass
class LocalServer:
    process: subprocess.Popen
    base_url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def secret_file(root: Path, tenant_id: str) -> Path:
    """Where the demo keeps a tenant's local Greenhouse secret: a private file the registry
    references (``file:``), so no process environment is written."""
    return root / "demo" / "secrets" / tenant_id


def ensure_world(world: Path, *, small: bool) -> dict:
    tenants = SMALL_TENANTS if small else DEMO_TENANTS
    n_profiles = SMALL_PROFILES if small else DEMO_PROFILES
    meta_path = world / "world.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("n_profiles") == n_profiles and sorted(meta.get("tenants", [])) == sorted(tenants):
            return meta
        shutil.rmtree(world)
    from connect_pipeline.testkit.world.generate import TenantSpec, generate_world

    print(f"generating a world: {n_profiles} profiles, tenants {tenants} ...", flush=True)
    generate_world(
        world,
        seed=DEMO_SEED,
        n_profiles=n_profiles,
        tenants=[TenantSpec(t, n) for t, n in tenants.items()],
    )
    return json.loads(meta_path.read_text())


def start_local_greenhouse(world: Path, *, port: int = 0) -> LocalServer:
    process = subprocess.Popen(
        [sys.executable, "-m", "connect_pipeline.testkit.local_greenhouse", "--world", str(world),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline() if process.stdout else ""
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            return LocalServer(process, match.group(1).rstrip("/"))
        if process.poll() is not None:
            break
    process.kill()
    raise RuntimeError("the local Greenhouse did not start; run `python -m connect_pipeline.testkit.local_greenhouse --world ...` to see why")


def connect_tenants(root: Path, world: Path, server: LocalServer) -> list[str]:
    """Register each demo tenant as a customer would, with its secret in an environment variable."""
    registry = TenantRegistry(root)
    tenants = sorted(p.name for p in (world / "greenhouse").iterdir() if p.is_dir())
    for tenant_id in tenants:
        account = json.loads((account_dir(world, tenant_id) / "account.json").read_text())
        credential = account["credentials"][0]
        path = secret_file(root, tenant_id)
        private_dir(path.parent)
        write_text_atomic(path, credential["client_secret"])  # the demo world's own local credential
        registry.add(
            TenantConnection(
                tenant_id=tenant_id,
                greenhouse_url=server.base_url + "/",
                client_id=credential["client_id"],
                secret_ref=from_file(path).stored,
                sub=account["site_admin_user_id"],
                cadence="daily" if tenant_id == tenants[0] else "weekly",
                api_base_url=server.base_url + "/v3/",
                token_url=server.base_url + "/token",
            )
        )
        labels = pl.read_parquet(truth_path(world, tenant_id)).select("candidate_id", "profile_id")
        storage = TenantStorage(root, tenant_id).ensure()
        write_with(storage.labels, labels.write_parquet)
    return tenants


def run_demo(data_dir: str | None = None, *, small: bool = False) -> int:
    from connect_pipeline.cli.runner import run_tenant

    root = data_root(data_dir)
    world = root / "demo" / "world"
    started = time.monotonic()
    ensure_world(world, small=small)
    server = start_local_greenhouse(world)
    failures = 0
    try:
        tenants = connect_tenants(root, world, server)
        for tenant_id in tenants:
            print(f"\n=== tenant {tenant_id} ===", flush=True)
            outcome = run_tenant(
                tenant_id, data_dir=str(root), profiles_glob=profiles_glob(world), log_level="WARNING"
            )
            failures += not outcome.success
            print(summarise(root, world, tenant_id, outcome))
    finally:
        server.stop()
    print(f"\ndemo finished in {time.monotonic() - started:.0f} s")
    print("open the Dagster UI on the same data:  make ui   (then browse http://127.0.0.1:3000)")
    return 1 if failures else 0


def summarise(root: Path, world: Path, tenant_id: str, outcome) -> str:
    storage = TenantStorage(root, tenant_id)
    meta = outcome.metadata
    extract = meta.get("ats_extract", {})
    quality = _score(storage, world, tenant_id)
    lines = [
        f"run {outcome.run_id}: {'succeeded' if outcome.success else 'FAILED: ' + str(outcome.error)}",
        f"candidates read      {extract.get('rows/candidates', '?')}"
        f" (applications {extract.get('rows/applications', '?')}, resumes {extract.get('resumes_downloaded', '?')},"
        f" HTTP requests {extract.get('requests', '?')})",
        f"eligible to match    {meta.get('ats_people', {}).get('eligible', '?')}",
        f"matched              {_matched(meta.get('ats_matches', {}))}",
    ]
    if quality:
        lines.append(f"precision / recall   {quality[0]:.4f} / {quality[1]:.4f}  (against the generator's truth)")
    lines += [
        f"published            {storage.published_table('enrichment')}",
        f"                     {storage.published_table('matches')}",
        f"                     {storage.duckdb_path}",
        f"staging left         {len(storage.staged_files())} files",
        "checks               " + ", ".join(f"{k}={'pass' if v else 'FAIL'}" for k, v in outcome.checks.items()),
    ]
    return "\n".join(lines)


def _matched(figures: dict) -> object:
    """This run's matches (an incremental run's window, or the whole tenant for a full run)."""
    return next((v for k, v in figures.items() if k.endswith("candidates matched")), "?")


def _score(storage: TenantStorage, world: Path, tenant_id: str) -> tuple[float, float] | None:
    matches_path = storage.published_table("matches")
    if matches_path is None:
        return None
    truth = pl.read_parquet(truth_path(world, tenant_id))
    eligible = truth.filter(~pl.col("kind").is_in(["anonymised", "private"]))["candidate_id"]
    quality = quality_against_labels(pl.read_parquet(matches_path), truth, eligible)
    return quality.precision, quality.recall


def serve_ui(data_dir: str | None = None, *, port: int = 3000) -> int:
    """Serve the demo's Greenhouse again and open `dagster dev` on the demo's data."""
    root = data_root(data_dir)
    world = root / "demo" / "world"
    if not (world / "world.json").exists():
        print("no demo world yet: run `make demo` first", file=sys.stderr)
        return 2
    server = start_local_greenhouse(world)
    try:
        connect_tenants(root, world, server)
        env = dict(os.environ)
        env.setdefault("DAGSTER_HOME", str(root / "dagster"))
        env["CONNECT_PIPELINE_HOME"] = str(root)
        env["CONNECT_PIPELINE_PROFILES"] = profiles_glob(world)
        print(f"Dagster UI on http://127.0.0.1:{port} (Ctrl-C stops it and the local Greenhouse)")
        return subprocess.call(
            [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            env=env,
        )
    finally:
        server.stop()
