"""The console script, as a user types it, against a Harvest v3 server at a given URL."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from connect_pipeline.storage import TenantStorage
from tests.conftest import account, connect_tenant

CLI = str(Path(sys.executable).parent / "connect-pipeline")


def _cli(*args: str, env: dict, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], env=env, input=stdin, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_add_verify_run_lookup_remove(world, world_profiles, greenhouse, tmp_path):
    acc = account(world, "globex")
    secret = acc["credentials"][0]["client_secret"]
    env = dict(os.environ, CONNECT_PIPELINE_HOME=str(tmp_path / "data"), DAGSTER_HOME=str(tmp_path / "dh"),
               GLOBEX_SECRET=secret, CONNECT_PIPELINE_PROFILES=world_profiles)
    (tmp_path / "dh").mkdir()
    added = _cli("tenants", "add", "globex", "--greenhouse-url", greenhouse.base_url + "/",
                 "--client-id", acc["credentials"][0]["client_id"], "--secret-env", "GLOBEX_SECRET",
                 "--sub", str(acc["site_admin_user_id"]), "--cadence", "weekly",
                 "--api-base-url", greenhouse.api_base_url, "--token-url", greenhouse.token_url, env=env)
    assert added.returncode == 0, added.stderr
    registry_text = (tmp_path / "data" / "tenants.json").read_text()
    assert secret not in registry_text and "GLOBEX_SECRET" in registry_text

    verified = _cli("tenants", "verify", "globex", env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    listed = _cli("tenants", "list", env=env)
    assert "globex" in listed.stdout and secret not in listed.stdout

    ran = _cli("run", "globex", env=env)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert secret not in ran.stdout + ran.stderr
    # the terminal shows figures, one per line; charts and tables stay in the UI
    assert "data:image" not in ran.stdout and "TableSchema" not in ran.stdout
    assert "  this run: candidates matched: " in ran.stdout and "charts or tables: the asset's page" in ran.stdout
    assert max(len(line) for line in ran.stdout.splitlines()) < 300
    published = TenantStorage(tmp_path / "data", "globex")
    enrichment = pl.read_parquet(published.published_table("enrichment"))
    assert pl.read_parquet(published.published_table("matches")).height > 0
    assert enrichment.height > 0

    some = enrichment["profile_id"][0]
    looked = _cli("lookup", "globex", some, "no-such-profile", env=env)
    assert looked.returncode == 0, looked.stderr
    assert "no-such-profile: not in your ATS" in looked.stdout
    assert "open in Greenhouse: " + greenhouse.base_url + "/people/" in looked.stdout

    removed = _cli("tenants", "remove", "globex", env=env)
    assert removed.returncode == 0, removed.stderr
    assert not (tmp_path / "data" / "tenants" / "globex").exists()


@pytest.mark.slow  # two whole CLI processes: `make test-fast` leaves it out
def test_wrong_secret_fails_with_the_fix_and_no_secret(world, greenhouse, tmp_path):
    acc = account(world, "acme")
    env = dict(os.environ, CONNECT_PIPELINE_HOME=str(tmp_path / "data"), DAGSTER_HOME=str(tmp_path / "dh"),
               ACME_SECRET="not-the-secret-xyz123")
    added = _cli("tenants", "add", "acme", "--greenhouse-url", greenhouse.base_url + "/",
                 "--client-id", acc["credentials"][0]["client_id"], "--secret-env", "ACME_SECRET",
                 "--api-base-url", greenhouse.api_base_url, "--token-url", greenhouse.token_url, env=env)
    assert added.returncode == 0, added.stderr
    verified = _cli("tenants", "verify", "acme", env=env)
    assert verified.returncode != 0
    out = verified.stdout + verified.stderr
    assert "acme" in out and "not-the-secret-xyz123" not in out


def test_the_dagster_instance_folder_is_private(tmp_path, monkeypatch):
    """It keeps every tenant's run logs and metadata: under the usual umask 022 Dagster's files
    in it would be readable by any user, so the folder itself is opened to the service's only."""
    from connect_pipeline.cli.runner import default_dagster_home

    old = os.umask(0o022)
    try:
        monkeypatch.delenv("DAGSTER_HOME", raising=False)
        made = default_dagster_home(tmp_path / "data")
        assert made == tmp_path / "data" / "dagster" and stat.S_IMODE(made.stat().st_mode) == 0o700
        given = tmp_path / "given"
        given.mkdir(mode=0o755)
        monkeypatch.setenv("DAGSTER_HOME", str(given))
        assert default_dagster_home(tmp_path / "data") == given and stat.S_IMODE(given.stat().st_mode) == 0o700
    finally:
        os.umask(old)


@pytest.mark.slow  # a whole CLI process: `make test-fast` leaves it out
def test_greenhouse_url_must_be_https_with_trailing_slash(tmp_path):
    env = dict(os.environ, CONNECT_PIPELINE_HOME=str(tmp_path / "data"), X="s")
    bad = _cli("tenants", "add", "acme", "--greenhouse-url", "https://app.greenhouse.io",
               "--client-id", "c", "--secret-env", "X", env=env)
    assert bad.returncode != 0
    assert "trailing slash" in bad.stderr


def _dagster_untouched(home: Path) -> None:
    """Nothing written under $DAGSTER_HOME, and an instance opened there has no run and no partition."""
    from dagster import DagsterInstance

    from assets.partitions import TENANTS_PARTITION

    assert list(home.iterdir()) == []
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_runs() == []
        assert instance.get_dynamic_partitions(TENANTS_PARTITION) == []


@pytest.mark.slow  # four whole CLI processes: `make test-fast` leaves it out
def test_run_refuses_an_unknown_or_malformed_tenant_before_dagster(data_dir, world_profiles):
    env = dict(os.environ, CONNECT_PIPELINE_PROFILES=world_profiles)
    for tenant_id in ("nobody", "../evil", "nl\n"):
        ran = _cli("run", tenant_id, env=env)
        assert ran.returncode == 2, (tenant_id, ran.stdout[-2000:], ran.stderr[-2000:])
        assert repr(tenant_id) in ran.stderr and "connect-pipeline tenants list" in ran.stderr
        assert "Traceback" not in ran.stderr
    backfilled = _cli("backfill", "nobody", env=env)
    assert backfilled.returncode == 2 and "'nobody'" in backfilled.stderr
    _dagster_untouched(Path(os.environ["DAGSTER_HOME"]))


@pytest.mark.slow  # three whole CLI processes reading the index: `make test-fast` leaves it out
def test_run_with_a_broken_index_stops_before_any_greenhouse_request(
    world, world_profiles, greenhouse, data_dir, monkeypatch, tmp_path
):
    connect_tenant(data_dir, world, greenhouse, "acme", monkeypatch=monkeypatch)
    broken = tmp_path / "broken"
    broken.mkdir()
    good = pl.read_parquet(world_profiles)
    good.write_parquet(broken / "part-00000.parquet")
    good.head(100).with_columns(pl.concat_list("first_name").alias("first_name")).write_parquet(
        broken / "part-00001.parquet"
    )
    env = dict(os.environ)
    ran = _cli("run", "acme", "--profiles", str(broken / "*.parquet"), env=env)
    assert ran.returncode == 2, ran.stdout[-2000:] + ran.stderr[-2000:]
    assert str(broken / "part-00001.parquet") in ran.stderr and "'first_name'" in ran.stderr
    assert "plain strings" in ran.stderr

    # a truncated file, given through the environment as a run by the scheduler would
    (broken / "part-00001.parquet").write_bytes((broken / "part-00000.parquet").read_bytes()[:5000])
    ran = _cli("run", "acme", env=dict(env, CONNECT_PIPELINE_PROFILES=str(broken)))
    assert ran.returncode == 2 and str(broken / "part-00001.parquet") in ran.stderr and "truncated" in ran.stderr

    # duplicated ids: the data engineer's case, caught by the row scan rather than the footers
    good.head(40).write_parquet(broken / "part-00001.parquet")
    ran = _cli("backfill", "acme", "--profiles", str(broken / "*.parquet"), env=env)
    assert ran.returncode == 2 and "40 ids occur more than once" in ran.stderr

    acme = greenhouse.stats["acme"]
    assert acme["requests"] == 0 and acme["tokens_minted"] == 0 and acme["downloads"] == 0
    _dagster_untouched(Path(os.environ["DAGSTER_HOME"]))


@pytest.mark.slow  # a whole CLI process: `make test-fast` leaves it out
def test_tenants_add_refuses_an_id_with_a_trailing_newline(data_dir):
    env = dict(os.environ, X="s")
    added = _cli("tenants", "add", "nl\n", "--greenhouse-url", "https://app.greenhouse.io/",
                 "--client-id", "c", "--secret-env", "X", env=env)
    assert added.returncode == 2 and "not a slug" in added.stderr
    assert not (data_dir / "tenants.json").exists()


def test_the_demo_keeps_local_secrets_in_private_files_not_the_environment(world, greenhouse, tmp_path):
    import os
    import stat

    from connect_pipeline.cli.demo import connect_tenants
    from connect_pipeline.tenants import TenantRegistry

    before = dict(os.environ)
    tenants = connect_tenants(tmp_path, world, greenhouse)
    assert dict(os.environ) == before  # nothing written to the process environment
    for tenant in TenantRegistry(tmp_path).list():
        assert tenant.secret.kind == "file"
        path = tenant.secret.stored.removeprefix("file:")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert tenant.credential().client_secret  # resolves where any run of this machine runs
    assert sorted(t.tenant_id for t in TenantRegistry(tmp_path).list()) == tenants
