"""`bureau migrate`, and fleet roles that refuse a database at the wrong schema version."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bureau.store import migrations
from tests.support.databases import BACKENDS, database_for
from tests.support.server import ServerProcess, free_port


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    with database_for(request.param) as settings:
        yield settings


def _bureau(
    role: str, data_dir: Path, settings: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **{f"BUREAU_{k.upper()}": v for k, v in settings.items()}}
    command = [sys.executable, "-m", "bureau", role, "--data-dir", str(data_dir)]
    if role != "migrate":  # a free port: the default one may be taken on this machine
        command += ["--port", str(free_port())]
    if role == "worker":
        command += ["--no-demo-agents"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def _set_version(data_dir: Path, settings: dict[str, str], version: int) -> None:
    """Change the recorded schema version behind Bureau's back."""
    statement = f"UPDATE schema_info SET version = {int(version)}"
    if "database_url" not in settings:
        with sqlite3.connect(data_dir / "bureau.db") as conn:
            conn.execute(statement)
        return
    import psycopg

    with psycopg.connect(settings["database_url"], autocommit=True) as conn:
        conn.execute(statement)


def test_roles_refuse_an_unmigrated_database_and_say_what_to_run(
    database: dict[str, str], tmp_path: Path
) -> None:
    for role in ("api", "worker"):
        refused = _bureau(role, tmp_path, database)
        assert refused.returncode == 2, refused.stderr
        assert "schema version 0" in refused.stderr
        assert "run `bureau migrate" in refused.stderr

    first = _bureau("migrate", tmp_path, database)
    assert first.returncode == 0, first.stderr
    assert f"schema at version {migrations.LATEST} (was 0)" in first.stdout
    again = _bureau("migrate", tmp_path, database)  # idempotent
    assert again.returncode == 0 and again.stdout.strip() == (
        f"schema at version {migrations.LATEST}"
    )

    api = ServerProcess(tmp_path, "api", **database)
    api.start()
    try:
        with api.client() as client:
            assert client.get("/healthz").status_code == 200
    finally:
        api.stop()


def test_a_database_newer_than_this_bureau_is_refused_everywhere(
    database: dict[str, str], tmp_path: Path
) -> None:
    assert _bureau("migrate", tmp_path, database).returncode == 0
    _set_version(tmp_path, database, migrations.LATEST + 1)
    for role in ("api", "worker", "serve", "migrate"):
        refused = _bureau(role, tmp_path, database)
        assert refused.returncode == 2, (role, refused.stderr)
        assert "newer than this Bureau" in refused.stderr and "upgrade Bureau" in refused.stderr


V1 = [  # what versions 2 to 6 changed, undone
    "ALTER TABLE tasks DROP COLUMN webhook_options",
    "DROP TABLE tenant_secrets",
    "DROP INDEX ix_tasks_queue",
    "ALTER TABLE tasks DROP COLUMN fair_tag",
    "CREATE INDEX ix_tasks_queue ON tasks (queue_state, available_at)",
    "DROP TABLE audit",
    "ALTER TABLE api_keys DROP COLUMN expires_at",
    "ALTER TABLE api_keys DROP COLUMN previous_hash",
    "ALTER TABLE api_keys DROP COLUMN previous_until",
    "ALTER TABLE tenants DROP COLUMN suspended_at",
    "ALTER TABLE tenants DROP COLUMN limits",
    "ALTER TABLE tasks DROP COLUMN trace",
    "ALTER TABLE webhook_deliveries DROP COLUMN seq",
    "ALTER TABLE webhook_deliveries ADD COLUMN payload TEXT NOT NULL DEFAULT ''",
    "INSERT INTO webhook_deliveries (id, tenant_id, task_id, url, event_type, payload, status,"
    " attempts, created_at) VALUES ('wh_1', 't', 'task_1', 'https://example.com/', "
    """'task.completed', '{"type": "task.completed", "data": {"seq": 7, "task": {}}}', """
    "'delivered', 1, 0)",
    "UPDATE schema_info SET version = 1",
]


def _execute(data_dir: Path, settings: dict[str, str], statements: list[str]) -> list[Any]:
    """Run SQL behind Bureau's back; the rows of the last statement."""
    if "database_url" not in settings:
        with sqlite3.connect(data_dir / "bureau.db") as conn:
            return [conn.execute(s) for s in statements][-1].fetchall()
    import psycopg

    with psycopg.connect(settings["database_url"], autocommit=True) as conn:
        cursors = [conn.execute(s) for s in statements]
        return cursors[-1].fetchall() if cursors[-1].description else []


def test_a_version_1_database_is_upgraded_with_its_data(
    database: dict[str, str], tmp_path: Path
) -> None:
    assert _bureau("migrate", tmp_path, database).returncode == 0
    _execute(tmp_path, database, V1)

    upgraded = _bureau("migrate", tmp_path, database)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"schema at version {migrations.LATEST} (was 1)" in upgraded.stdout
    rows = _execute(tmp_path, database, ["SELECT id, seq FROM webhook_deliveries"])
    assert [tuple(r) for r in rows] == [("wh_1", 7)], "the delivery refers to its event"
    assert _execute(tmp_path, database, ["SELECT trace FROM tasks"]) == []
    assert _execute(tmp_path, database, ["SELECT expires_at, previous_until FROM api_keys"]) == []
    assert _execute(tmp_path, database, ["SELECT name FROM tenant_secrets"]) == []
