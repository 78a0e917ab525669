"""Secrets at rest: per-tenant secrets are stored sealed (Fernet: AES-128-CBC with an
HMAC-SHA256, from `cryptography`), opened only when used.

Keys come from `BUREAU_SECRET_KEYS` (a JSON list of Fernet keys: the first seals, every
one opens, so a new key is rotated in by putting it first; `bureau serve` then reseals
every secret with it at start, and the old key can be dropped). Without that setting, a key
is made once in `DATA_DIR/secret-key` (0600). A value stored before sealing existed (plain
text) is read as is and sealed at the next start.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bureau.errors import UsageError

SEALED_PREFIX = "sealed:"


class Sealer:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise UsageError("no secret key: set BUREAU_SECRET_KEYS or let DATA_DIR hold one")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except ValueError:
            raise UsageError(
                "BUREAU_SECRET_KEYS must list Fernet keys (32 url-safe base64-encoded bytes; "
                'make one with: python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())")'
            ) from None
        self._primary = Fernet(keys[0])

    def seal(self, plaintext: str) -> str:
        return SEALED_PREFIX + self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, stored: str) -> str:
        """The plaintext of a stored value (a value stored unsealed is returned as is)."""
        if not stored.startswith(SEALED_PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored.removeprefix(SEALED_PREFIX).encode()).decode()
        except InvalidToken:
            raise UsageError(
                "a stored secret does not open with any key in BUREAU_SECRET_KEYS; put back "
                "the key it was sealed with"
            ) from None

    def reseal(self, stored: str) -> str | None:
        """`stored` sealed with the first key, or None when it already is."""
        if stored.startswith(SEALED_PREFIX):
            token = stored.removeprefix(SEALED_PREFIX).encode()
            try:
                self._primary.decrypt(token)
                return None
            except InvalidToken:
                pass
        return self.seal(self.open(stored))


def new_secret_key() -> str:
    """A new key for `BUREAU_SECRET_KEYS`."""
    return Fernet.generate_key().decode()


def local_key(data_dir: Path) -> str:
    """The data directory's own key, made on first use (0600)."""
    path = data_dir / "secret-key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(new_secret_key())
    return path.read_text().strip()
