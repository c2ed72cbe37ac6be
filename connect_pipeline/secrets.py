"""Client secrets by reference, never in plain text.

The tenant registry is a file on disk that gets copied, backed up and read by people debugging a
run, so it holds only a *reference* to each client secret:

    env:VARNAME        the secret lives in an environment variable of the process that runs;
                       the registry stores just the variable's name
    enc:<fernet token> the secret is encrypted with the Fernet key in $CONNECT_PIPELINE_SECRET_KEY;
                       without that key the registry is useless to whoever copies it
    file:/abs/path     the secret is the content of a file only the service's user can read (a
                       mounted Kubernetes or Docker secret, the demo's local credentials); the
                       registry stores just the path

A ``SecretRef`` never shows its value (repr, str, f-strings); ``resolve`` is the one place a
plain secret comes back, and only the Harvest token exchange should call it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from connect_pipeline.errors import ConfigError

SECRET_KEY_ENV = "CONNECT_PIPELINE_SECRET_KEY"
ENV_PREFIX = "env:"
ENC_PREFIX = "enc:"
FILE_PREFIX = "file:"
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_GENERATE_KEY_HINT = (
    'generate one with `python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"`, keep it in your secret store and export it as '
    f"{SECRET_KEY_ENV}"
)


@dataclass(frozen=True)
class SecretRef:
    """What the registry stores instead of a secret: ``env:VAR`` or ``enc:<token>``."""

    stored: str = field(repr=False)

    def __post_init__(self) -> None:
        if self.stored.startswith(ENV_PREFIX):
            name = self.stored[len(ENV_PREFIX) :]
            if not _ENV_NAME_RE.match(name):
                raise ConfigError(
                    f"secret reference names environment variable {name!r}, which is not a valid "
                    "variable name: use letters, digits and '_' (e.g. env:ACME_GREENHOUSE_SECRET)"
                )
        elif self.stored.startswith(ENC_PREFIX):
            if len(self.stored) <= len(ENC_PREFIX):
                raise ConfigError("secret reference 'enc:' holds no encrypted value: add the tenant again")
        elif self.stored.startswith(FILE_PREFIX):
            if not os.path.isabs(self.stored[len(FILE_PREFIX) :]):
                raise ConfigError(
                    "secret reference 'file:' must name an absolute path (e.g. file:/run/secrets/acme), "
                    "so it means the same file wherever the pipeline runs"
                )
        else:
            # Do not echo the value: it may be a plain secret pasted by mistake.
            raise ConfigError(
                "a secret reference must start with 'env:' (name of an environment variable), "
                "'file:' (absolute path of a file holding it) or 'enc:' (encrypted with "
                "CONNECT_PIPELINE_SECRET_KEY); plain-text secrets are not accepted: use `tenants add "
                "--secret-env VAR`, `--secret-file PATH` or `--secret-stdin`"
            )

    @property
    def kind(self) -> str:
        if self.stored.startswith(ENV_PREFIX):
            return "env"
        return "file" if self.stored.startswith(FILE_PREFIX) else "encrypted"

    @property
    def env_var(self) -> str | None:
        return self.stored[len(ENV_PREFIX) :] if self.kind == "env" else None

    def describe(self) -> str:
        """Safe to print: ``env:VAR``, ``file:/path`` or ``encrypted``."""
        return self.stored if self.kind in ("env", "file") else "encrypted"

    def __repr__(self) -> str:
        return f"SecretRef({self.describe()})"

    __str__ = __repr__


def from_env(var_name: str) -> SecretRef:
    return SecretRef(ENV_PREFIX + var_name)


def from_file(path: str | os.PathLike) -> SecretRef:
    return SecretRef(FILE_PREFIX + os.path.abspath(path))


def encrypt(secret: str) -> SecretRef:
    """Encrypt a secret read from a person (stdin) so the registry can hold it."""
    if not secret:
        raise ConfigError("the client secret is empty: paste the secret Greenhouse showed when the credential was created")
    token = _fernet().encrypt(secret.encode("utf-8")).decode("ascii")
    return SecretRef(ENC_PREFIX + token)


def resolve(ref: SecretRef | str, *, tenant_id: str | None = None) -> str:
    """The plain secret, at run time. Errors name the tenant and the fix, never the value."""
    ref = ref if isinstance(ref, SecretRef) else SecretRef(ref)
    who = f" of tenant {tenant_id}" if tenant_id else ""
    if ref.kind == "env":
        name = ref.env_var or ""
        value = os.environ.get(name)
        if not value:
            raise ConfigError(
                f"the client secret{who} is read from environment variable {name}, which is not set "
                f"(or empty) in this process: export {name} where the pipeline runs"
            )
        return value
    if ref.kind == "file":
        path = ref.stored[len(FILE_PREFIX) :]
        try:
            value = open(path, encoding="utf-8").read().strip()
        except OSError as exc:
            raise ConfigError(
                f"the client secret{who} is read from the file {path}, which cannot be read "
                f"({type(exc).__name__}): mount or write it there, readable by the service's user"
            ) from None
        if not value:
            raise ConfigError(f"the client secret{who} file {path} is empty: write the secret Greenhouse showed into it")
        return value
    from cryptography.fernet import InvalidToken

    try:
        return _fernet().decrypt(ref.stored[len(ENC_PREFIX) :].encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError, UnicodeError):
        raise ConfigError(
            f"the encrypted client secret{who} cannot be decrypted with the key in {SECRET_KEY_ENV}: "
            "the key changed or the registry entry is damaged; restore the original key or run "
            "`connect-pipeline tenants add ... --secret-stdin` again"
        ) from None


def _fernet():  # -> cryptography.fernet.Fernet
    from cryptography.fernet import Fernet

    key = os.environ.get(SECRET_KEY_ENV)
    if not key:
        raise ConfigError(f"{SECRET_KEY_ENV} is not set, so secrets cannot be encrypted or decrypted: {_GENERATE_KEY_HINT}")
    try:
        return Fernet(key.encode("ascii"))
    except (ValueError, UnicodeError):
        raise ConfigError(f"{SECRET_KEY_ENV} is not a valid Fernet key (32 url-safe base64 bytes): {_GENERATE_KEY_HINT}") from None
