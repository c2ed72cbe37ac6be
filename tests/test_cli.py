"""The console script, as a user types it, against a Harvest v3 server at a given URL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from connect_pipeline.storage import TenantStorage

from tests.conftest import account

CLI = str(Path(sys.executable).parent / "connect-pipeline")


def _cli(*args: str, env: dict, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], env=env, input=stdin, capture_output=True, text=True, timeout=600)


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


def test_greenhouse_url_must_be_https_with_trailing_slash(tmp_path):
    env = dict(os.environ, CONNECT_PIPELINE_HOME=str(tmp_path / "data"), X="s")
    bad = _cli("tenants", "add", "acme", "--greenhouse-url", "https://app.greenhouse.io",
               "--client-id", "c", "--secret-env", "X", env=env)
    assert bad.returncode != 0
    assert "trailing slash" in bad.stderr
