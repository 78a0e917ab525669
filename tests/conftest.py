from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server shared by the end-to-end tests that do not restart it."""
    process = ServerProcess(tmp_path_factory.mktemp("shared-server"), lease_seconds=3)
    process.start()
    yield process
    process.stop()
    log = process.log.read_text()
    assert "Traceback" not in log and "Warning" not in log, f"the server logged:\n{log}"


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of the test's own (for crash tests and special settings)."""
    process = ServerProcess(tmp_path / "server", lease_seconds=2, reaper_interval=0.2)
    yield process
    process.stop()
