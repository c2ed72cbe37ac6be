"""HMAC signatures for everything the server hands out and must later trust again.

Cursors and file links travel through the client; signing them with a key that lives only in
this server instance means a client can neither forge a cursor that widens its filters nor
guess a download link, and a restarted server invalidates both, as a real one would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets


class Signer:
    """Signs byte strings per purpose, so a cursor signature is never a valid file signature."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)

    def sign(self, purpose: str, message: str) -> str:
        mac = hmac.new(self._key, f"{purpose}\x00{message}".encode(), hashlib.sha256)
        return mac.hexdigest()

    def verify(self, purpose: str, message: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(purpose, message), signature)


def encode_cursor(signer: Signer, state: dict) -> str:
    """Pack the filter state and the last id seen into an opaque, tamper-proof string."""
    payload = base64.urlsafe_b64encode(
        json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    ).decode().rstrip("=")
    return f"{payload}.{signer.sign('cursor', payload)}"


def decode_cursor(signer: Signer, cursor: str) -> dict:
    """Raise ValueError for anything this server did not issue."""
    payload, _, signature = cursor.partition(".")
    if not payload or not signature or not signer.verify("cursor", payload, signature):
        raise ValueError("cursor is not valid")
    padded = payload + "=" * (-len(payload) % 4)
    state = json.loads(base64.urlsafe_b64decode(padded.encode()))
    if not isinstance(state, dict):
        raise ValueError("cursor is not valid")
    return state
