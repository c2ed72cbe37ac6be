"""Tenant connections, secret references and the `tenants` commands.

The CLI tests drive ``connect_pipeline.cli.tenants`` through argparse, and `verify` runs against
the local Greenhouse over real HTTP; one test runs the installed command in a subprocess.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from connect_pipeline import secrets
from connect_pipeline.cli.tenants import add_tenant_commands
from connect_pipeline.errors import ConfigError, TenantNotFound
from connect_pipeline.harvest.collections import BY_NAME, REQUIRED_SCOPES
from connect_pipeline.testkit.local_greenhouse import LocalGreenhouse
from connect_pipeline.storage import TenantStorage
from connect_pipeline.tenants import TenantConnection, TenantRegistry
from connect_pipeline.testkit.world.layout import account_dir

REPO = Path(__file__).resolve().parents[1]
PLAIN_SECRET = "plain-secret-" + uuid.uuid4().hex


def connection(**overrides) -> TenantConnection:
    values = dict(
        tenant_id="acme",
        greenhouse_url="https://app.greenhouse.io/",
        client_id="client-1",
        secret_ref="env:ACME_GH_SECRET",
        sub=42,
    )
    values.update(overrides)
    return TenantConnection(**values)


@pytest.fixture()
def fernet_key(monkeypatch: pytest.MonkeyPatch) -> str:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv(secrets.SECRET_KEY_ENV, key)
    return key


# -- secrets ------------------------------------------------------------------------------------


def test_env_reference_resolves_at_run_time(monkeypatch: pytest.MonkeyPatch) -> None:
    ref = secrets.from_env("ACME_GH_SECRET")
    monkeypatch.setenv("ACME_GH_SECRET", PLAIN_SECRET)
    assert secrets.resolve(ref) == PLAIN_SECRET
    assert PLAIN_SECRET not in repr(ref) and repr(ref) == "SecretRef(env:ACME_GH_SECRET)"
    monkeypatch.delenv("ACME_GH_SECRET")
    with pytest.raises(ConfigError, match="ACME_GH_SECRET") as caught:
        secrets.resolve(ref, tenant_id="acme")
    assert "acme" in str(caught.value)


def test_file_reference_reads_a_private_file_at_run_time(tmp_path: Path) -> None:
    path = tmp_path / "acme.secret"
    path.write_text(PLAIN_SECRET + "\n")
    ref = secrets.from_file(path)
    assert secrets.resolve(ref) == PLAIN_SECRET
    assert PLAIN_SECRET not in repr(ref) and repr(ref) == f"SecretRef(file:{path})"
    path.unlink()
    with pytest.raises(ConfigError, match="cannot be read") as caught:
        secrets.resolve(ref, tenant_id="acme")
    assert "acme" in str(caught.value) and str(path) in str(caught.value)
    path.write_text("  \n")
    with pytest.raises(ConfigError, match="is empty"):
        secrets.resolve(ref)
    with pytest.raises(ConfigError, match="absolute path"):
        secrets.SecretRef("file:relative/secret")


def test_cli_add_with_a_secret_file(tmp_path: Path) -> None:
    argv = ["tenants", "add", "acme", "--greenhouse-url", "https://app.greenhouse.io/", "--client-id", "x",
            "--secret-file", str(tmp_path / "missing"), "--data-dir", str(tmp_path)]  # fmt: skip
    code, out, err = run(argv)
    assert code == 2 and "cannot be read" in err  # refused now, not at the first run
    (tmp_path / "acme.secret").write_text(PLAIN_SECRET)
    argv[argv.index(str(tmp_path / "missing"))] = str(tmp_path / "acme.secret")
    code, out, err = run(argv)
    assert code == 0 and PLAIN_SECRET not in out + err
    assert PLAIN_SECRET not in (tmp_path / "tenants.json").read_text()
    assert f"file:{tmp_path / 'acme.secret'}" in (tmp_path / "tenants.json").read_text()


def test_encrypted_reference_round_trip(fernet_key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = secrets.encrypt(PLAIN_SECRET)
    assert ref.stored.startswith("enc:") and PLAIN_SECRET not in ref.stored
    assert str(ref) == "SecretRef(encrypted)" and f"{ref}" == "SecretRef(encrypted)"
    assert secrets.resolve(ref.stored) == PLAIN_SECRET
    monkeypatch.setenv(secrets.SECRET_KEY_ENV, Fernet.generate_key().decode())
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        secrets.resolve(ref, tenant_id="acme")
    monkeypatch.delenv(secrets.SECRET_KEY_ENV)
    with pytest.raises(ConfigError, match="Fernet.generate_key"):
        secrets.resolve(ref)
    monkeypatch.setenv(secrets.SECRET_KEY_ENV, "not-a-key")
    with pytest.raises(ConfigError, match="not a valid Fernet key"):
        secrets.encrypt(PLAIN_SECRET)


def test_plain_secret_is_refused_without_being_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        secrets.SecretRef(PLAIN_SECRET)
    assert PLAIN_SECRET not in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        connection(secret_ref=PLAIN_SECRET)
    assert PLAIN_SECRET not in str(caught.value)


# -- connections ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, ok",
    [
        ("https://app.greenhouse.io/", True),
        ("https://acme.greenhouse.io/", True),
        ("http://127.0.0.1:8123/", True),
        ("http://localhost:8123/", True),
        ("https://app.greenhouse.io", False),  # no trailing slash
        ("app.greenhouse.io/", False),  # no protocol
        ("http://app.greenhouse.io/", False),  # plain http off loopback
        ("ftp://app.greenhouse.io/", False),
        ("https:///", False),
        ("https://user:pw@app.greenhouse.io/", False),
        ("https://app.greenhouse.io/?x=1", False),
    ],
)
def test_greenhouse_url_validation(url: str, ok: bool) -> None:
    if ok:
        assert connection(greenhouse_url=url).greenhouse_url == url
    else:
        with pytest.raises(ConfigError) as caught:
            connection(greenhouse_url=url)
        assert "include the protocol (https://) and the trailing slash, e.g. https://app.greenhouse.io/" in str(caught.value)


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"api_base_url": "https://harvest.greenhouse.io/v3"}, "does not end with '/'"),
        ({"api_base_url": "http://harvest.greenhouse.io/v3/"}, "only https://"),
        ({"token_url": "auth.greenhouse.io/token"}, "no protocol"),
        ({"cadence": "hourly"}, "cadence"),
        ({"tenant_id": "Acme Corp"}, "not a slug"),
        ({"sub": 0}, "positive"),
        ({"client_id": ""}, "client id"),
    ],
)
def test_other_validation(overrides: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        connection(**overrides)


def test_candidate_url_and_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = connection()
    assert conn.candidate_url(123) == "https://app.greenhouse.io/people/123"
    monkeypatch.setenv("ACME_GH_SECRET", PLAIN_SECRET)
    credential = conn.credential()
    assert credential.client_secret == PLAIN_SECRET and credential.sub == 42
    assert credential.token_url == "https://auth.greenhouse.io/token"
    assert PLAIN_SECRET not in repr(credential) and PLAIN_SECRET not in repr(conn)


# -- registry ------------------------------------------------------------------------------------


def test_registry_add_get_list_replace_remove(tmp_path: Path, fernet_key: str) -> None:
    registry = TenantRegistry(tmp_path)
    encrypted = secrets.encrypt(PLAIN_SECRET).stored
    registry.add(connection(secret_ref=encrypted))
    registry.add(connection(tenant_id="globex", cadence="weekly"))
    assert [c.tenant_id for c in registry.list()] == ["acme", "globex"]
    assert registry.get("acme").credential().client_secret == PLAIN_SECRET
    assert registry.has("acme") and not registry.has("initech")

    registry.add(connection(secret_ref=encrypted, sub=7))  # same id replaces
    assert registry.get("acme").sub == 7 and len(registry.list()) == 2

    text = registry.path.read_text()
    assert PLAIN_SECRET not in text
    assert json.loads(text)["tenants"][0]["secret_ref"].startswith("enc:")
    assert stat.S_IMODE(registry.path.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".tenants.*.tmp"))

    storage = TenantStorage(tmp_path, "acme").ensure()
    (storage.published / "matches.parquet").write_bytes(b"x")
    registry.remove("acme")
    assert not storage.base.exists()
    assert [c.tenant_id for c in registry.list()] == ["globex"]
    with pytest.raises(TenantNotFound, match="tenants list"):
        registry.get("acme")
    with pytest.raises(TenantNotFound):
        registry.remove("acme")


def test_a_removal_a_run_outlasts_says_so_and_the_files_never_come_back(tmp_path: Path) -> None:
    """The removal disconnects the tenant at once but deletes its files only under the run
    lease. When a run holds it past the wait, the user learns the tenant is disconnected and
    when its files go; connecting the same id again later deletes whatever the unfinished
    removal left, so the old tenant's tables and watermarks are not the new connection's."""
    from connect_pipeline.extract import plan_extract
    from connect_pipeline.lease import LeaseHolder, TenantLease
    from connect_pipeline.tenants import RemovalPending

    registry = TenantRegistry(tmp_path)
    registry.add(connection())
    storage = TenantStorage(tmp_path, "acme").ensure()
    (storage.published / "matches.parquet").write_bytes(b"the old tenant's matches")
    (storage.state).mkdir(exist_ok=True)
    storage.watermarks.write_text(json.dumps({"until": "2026-11-30T00:00:00Z"}))
    run = TenantLease(tmp_path, "acme", LeaseHolder.this_process("run-1", "schedule")).acquire()
    try:
        with pytest.raises(RemovalPending, match="acme is disconnected.*run-1 .schedule.*deleted when that run ends"):
            registry.remove("acme", wait_seconds=0.2)
        assert not registry.has("acme") and storage.base.exists()
    finally:
        run.release()
    registry.add(connection(client_id="another-client"))  # connected again, the run long gone
    assert not (storage.published / "matches.parquet").exists() and not storage.watermarks.exists()
    assert plan_extract(storage).mode == "full"
    storage.ensure()
    (storage.published / "matches.parquet").write_bytes(b"the new connection's matches")
    registry.add(connection(client_id="a-third-client"))  # replacing a registered one deletes nothing
    assert registry.get("acme").client_id == "a-third-client"
    assert (storage.published / "matches.parquet").read_bytes() == b"the new connection's matches"


def test_a_tenant_missing_from_a_lost_registry_keeps_its_files_when_added_again(tmp_path: Path) -> None:
    """Only a tenant `tenants remove` marked has its files deleted for want of a registry entry:
    a registry moved aside after damage, or restored from an old backup, and the tenant added
    again, reconnects its published tables, watermarks and labels rather than wiping them."""
    registry = TenantRegistry(tmp_path)
    registry.add(connection())
    storage = TenantStorage(tmp_path, "acme").ensure()
    (storage.published / "matches.parquet").write_bytes(b"published")
    storage.labels.write_bytes(b"labels")
    registry.path.rename(tmp_path / "tenants.json.damaged")  # as the damaged-registry error advises
    registry.add(connection())
    assert (storage.published / "matches.parquet").read_bytes() == b"published"
    assert storage.labels.read_bytes() == b"labels"


def test_damaged_registry_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "tenants.json").write_text("{not json")
    with pytest.raises(ConfigError, match="damaged"):
        TenantRegistry(tmp_path).list()


# -- CLI -------------------------------------------------------------------------------------------


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="connect-pipeline")
    add_tenant_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def run(argv: list[str], **streams) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    args = parse(argv)
    code = args.func(args, out=out, err=err, **streams)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture()
def greenhouse_server(tmp_path: Path):
    world = tmp_path / "world"
    acc = account_dir(world, "acme")
    acc.mkdir(parents=True)
    (acc / "account.json").write_text(json.dumps({"tenant_id": "acme", "credentials": []}))
    (acc / "users.jsonl").write_text(
        json.dumps({"id": 11, "first_name": "A", "last_name": "B", "site_admin": True, "deactivated": False}) + "\n"
    )
    (acc / "candidates.jsonl").write_text(json.dumps({"id": 1, "first_name": "C", "last_name": "D"}) + "\n")
    with LocalGreenhouse(world) as server:
        yield server


def test_cli_add_list_verify_remove(
    tmp_path: Path, greenhouse_server: LocalGreenhouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    server = greenhouse_server
    full_id, partial_id = f"full-{uuid.uuid4().hex[:8]}", f"partial-{uuid.uuid4().hex[:8]}"
    server.add_credential("acme", full_id, PLAIN_SECRET, REQUIRED_SCOPES)
    server.add_credential("acme", partial_id, PLAIN_SECRET, [s for s in REQUIRED_SCOPES if s != "harvest:candidates:list"])
    monkeypatch.setenv("ACME_GH_SECRET", PLAIN_SECRET)
    common = [
        "--greenhouse-url", server.base_url + "/",
        "--secret-env", "ACME_GH_SECRET",
        "--sub", "11",
        "--api-base-url", server.api_base_url,
        "--token-url", server.token_url,
        "--data-dir", str(data),
    ]  # fmt: skip

    code, out, err = run(["tenants", "add", "acme", "--client-id", full_id, *common])
    assert code == 0, err
    code, out, err = run(["tenants", "list", "--data-dir", str(data)])
    assert code == 0 and "acme" in out and "env:ACME_GH_SECRET" in out and PLAIN_SECRET not in out

    code, out, err = run(["tenants", "verify", "acme", "--data-dir", str(data)])
    assert code == 0, out + err
    assert "connection OK" in out and PLAIN_SECRET not in out

    code, out, err = run(["tenants", "add", "acme", "--client-id", partial_id, *common])
    assert code == 0
    code, out, err = run(["tenants", "verify", "acme", "--data-dir", str(data)])
    assert code == 1
    assert BY_NAME["candidates"].permission in out and "harvest:candidates:list" in out
    assert "harvest:users:list" not in out.split("Missing permissions")[1]

    code, out, err = run(["tenants", "remove", "acme", "--data-dir", str(data)])
    assert code == 0
    code, out, err = run(["tenants", "verify", "acme", "--data-dir", str(data)])
    assert code == 2 and "tenants list" in err
    assert PLAIN_SECRET not in (data / "tenants.json").read_text()


def test_cli_rejects_a_bad_url(tmp_path: Path) -> None:
    code, out, err = run(
        ["tenants", "add", "acme", "--greenhouse-url", "app.greenhouse.io", "--client-id", "x",
         "--secret-env", "V", "--data-dir", str(tmp_path)]
    )  # fmt: skip
    assert code == 2 and "trailing slash" in err
    assert not (tmp_path / "tenants.json").exists()


def test_cli_secret_stdin_needs_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(secrets.SECRET_KEY_ENV, raising=False)
    argv = ["tenants", "add", "acme", "--greenhouse-url", "https://app.greenhouse.io/", "--client-id", "x",
            "--secret-stdin", "--data-dir", str(tmp_path)]  # fmt: skip
    code, out, err = run(argv, stdin=io.StringIO(PLAIN_SECRET + "\n"))
    assert code == 2 and "Fernet.generate_key" in err and PLAIN_SECRET not in err


@pytest.mark.slow  # a whole CLI process: `make test-fast` leaves it out
def test_cli_subprocess_secret_stdin(tmp_path: Path, fernet_key: str) -> None:
    """The real command, as an operator types it: the secret arrives on stdin only."""
    env = {**os.environ, "PYTHONPATH": str(REPO), secrets.SECRET_KEY_ENV: fernet_key}
    data = tmp_path / "data"
    add = subprocess.run(
        [sys.executable, "-m", "connect_pipeline.cli", "tenants", "add", "acme",
         "--greenhouse-url", "https://acme.greenhouse.io/", "--client-id", "client-9",
         "--secret-stdin", "--cadence", "weekly", "--data-dir", str(data)],
        input=PLAIN_SECRET + "\n", capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    listing = subprocess.run(
        [sys.executable, "-m", "connect_pipeline.cli", "tenants", "list", "--data-dir", str(data)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert listing.returncode == 0 and "encrypted" in listing.stdout and "weekly" in listing.stdout
    for text in (add.stdout, add.stderr, listing.stdout, (data / "tenants.json").read_text()):
        assert PLAIN_SECRET not in text
    assert TenantRegistry(data).get("acme").credential().client_secret == PLAIN_SECRET
