"""API keys: `bk_<key id>_<secret>`. The id is public (it finds the key), the secret is shown
once and stored only as a SHA-256 hash (a 256-bit random secret needs no slow hash)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from bureau.errors import Unauthenticated, UsageError
from bureau.store.ids import new_id

KEY_PREFIX = "bk_"


@dataclass(frozen=True)
class IssuedKey:
    """A key as issued: `plaintext` is for the holder only and is never stored."""

    key_id: str
    secret_hash: str
    plaintext: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(preset: str | None = None, *, key_id: str | None = None) -> IssuedKey:
    """A new random key (a new secret for `key_id`, when rotating it), or `preset` (a key
    chosen by the operator, e.g. from a Kubernetes Secret) after checking its shape; raises
    `UsageError` for a malformed preset."""
    if preset is None:
        key_id, secret = key_id or new_id(), secrets.token_urlsafe(32)
    else:
        key_id, _, secret = preset.removeprefix(KEY_PREFIX).partition("_")
        if not preset.startswith(KEY_PREFIX) or not key_id.isalnum() or len(secret) < 24:
            raise UsageError(
                "BUREAU_BOOTSTRAP_ADMIN_KEY must look like bk_<letters and digits>_<secret of "
                "24+ characters>"
            )
    return IssuedKey(key_id, hash_secret(secret), f"{KEY_PREFIX}{key_id}_{secret}")


def parse_key(presented: str) -> tuple[str, str]:
    """`(key id, secret)` of a presented key; raises `Unauthenticated` when malformed."""
    key_id, _, secret = presented.removeprefix(KEY_PREFIX).partition("_")
    if not presented.startswith(KEY_PREFIX) or not key_id or not secret:
        raise Unauthenticated(
            "API key is malformed; send 'Authorization: Bearer bk_...' with a key from "
            "DATA_DIR/admin-key"
        )
    return key_id, secret


def secret_matches(secret: str, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), secret_hash)
