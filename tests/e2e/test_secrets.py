"""Secrets at rest: a tenant's webhook secret is stored sealed, and survives a key rotation."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from bureau.store.sealing import new_secret_key
from tests.support.server import ServerProcess


def _stored(data_dir: Path) -> str:
    with sqlite3.connect(data_dir / "bureau.db") as conn:
        row = conn.execute("SELECT webhook_secret FROM tenants WHERE id = 'default'").fetchone()
    return str(row[0])


def _secret(data_dir: Path, keys: list[str]) -> tuple[int, str]:
    server = ServerProcess(data_dir, secret_keys=json.dumps(keys))
    server.start()
    try:
        with server.client() as client:
            answer = client.get("/v1/webhooks/secret")
            return answer.status_code, answer.json().get("secret", "")
    finally:
        server.stop()
        server.assert_clean_log()


def test_the_webhook_secret_is_sealed_at_rest_and_survives_a_key_rotation(
    tmp_path: Path,
) -> None:
    old, new = new_secret_key(), new_secret_key()
    status, secret = _secret(tmp_path, [old])
    assert status == 200 and secret.startswith("whsec_")
    sealed = _stored(tmp_path)
    assert secret not in sealed and secret.removeprefix("whsec_") not in sealed

    assert _secret(tmp_path, [new, old]) == (200, secret), "rotation: new key first"
    assert _stored(tmp_path) != sealed, "resealed with the new key at start"
    assert _secret(tmp_path, [new]) == (200, secret), "the old key can go"


def test_without_configured_keys_the_data_directory_holds_one(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path)
    server.start()
    server.stop()
    assert ((tmp_path / "secret-key").stat().st_mode & 0o777) == 0o600
    assert _stored(tmp_path).startswith("sealed:")
