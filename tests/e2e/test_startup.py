"""Starting twice (issue 8.9): a busy port or a data directory in use is refused before
anything is created, and the CLI finds a server started with --port in its data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import ServerProcess, free_port, wait_for


def _serve(data_dir: Path, port: int) -> subprocess.CompletedProcess[str]:
    """A second `bureau serve` that must refuse to start (it would block if it started)."""
    command = [sys.executable, "-m", "bureau", "serve", "--no-demo-agents"]
    return subprocess.run(
        [*command, "--data-dir", str(data_dir), "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=30,
        env={k: v for k, v in os.environ.items() if not k.startswith("BUREAU_")},
    )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_busy_port_is_refused_before_anything_is_created(
    own_server: ServerProcess, tmp_path: Path
) -> None:
    own_server.start()
    other = tmp_path / "other"
    second = _serve(other, own_server.port)
    assert second.returncode == 2, second.stdout + second.stderr
    assert f"cannot listen on 127.0.0.1:{own_server.port}" in second.stderr
    assert "choose another --port" in second.stderr
    assert "serving" not in second.stdout and "Admin key" not in second.stdout
    assert not (other / "admin-key").exists() and not (other / "bureau.db").exists()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_one_data_directory_serves_one_embedded_server(own_server: ServerProcess) -> None:
    own_server.start()
    key = own_server.key
    second = _serve(own_server.data_dir, free_port())
    assert second.returncode == 2, second.stdout + second.stderr
    assert "is in use by `bureau serve` (pid" in second.stderr
    assert "another --data-dir" in second.stderr
    assert own_server.key == key, "the refused server touched the admin key"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_cli_finds_a_server_by_its_data_directory(own_server: ServerProcess) -> None:
    own_server.start()
    assert (own_server.data_dir / "server-url").read_text().strip() == own_server.url
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUREAU_")}
    listed = subprocess.run(
        [sys.executable, "-m", "bureau", "agents", "--data-dir", str(own_server.data_dir)],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert listed.returncode == 0, listed.stderr
    assert "noop" in listed.stdout
    own_server.stop()
    assert not (own_server.data_dir / "server-url").exists()


def test_what_the_server_creates_is_private(tmp_path: Path) -> None:
    """Issue 8.6: the data directory is created 0700, the database and artifacts 0600."""
    data_dir = tmp_path / "new" / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUREAU_")}
    migrated = subprocess.run(
        [sys.executable, "-m", "bureau", "migrate", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert migrated.returncode == 0, migrated.stderr
    assert data_dir.stat().st_mode & 0o777 == 0o700
    assert (data_dir / "bureau.db").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_artifacts_are_private(own_server: ServerProcess) -> None:
    own_server.start()
    with own_server.client() as client:
        task = client.post(
            "/v1/tasks", json={"agent": "big-artifact", "goal": "x", "input": {"size": 5}}
        ).json()
        wait_for(client, task["id"], {"completed"})
    files = [p for p in (own_server.data_dir / "artifacts").rglob("*") if p.is_file()]
    assert files and all(p.stat().st_mode & 0o777 == 0o600 for p in files)
    assert (own_server.data_dir / "bureau.db").stat().st_mode & 0o777 == 0o600
