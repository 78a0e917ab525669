from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import BACKENDS, database_for
from tests.support.server import ServerProcess


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every end-to-end test runs once per database backend."""
    return str(request.param)


@pytest.fixture(scope="session")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server per backend, shared by the tests that do not restart it."""
    with database_for(backend) as settings:
        process = ServerProcess(
            tmp_path_factory.mktemp(f"shared-{backend}"), lease_seconds=3, **settings
        )
        process.start()
        yield process
        process.stop()
    log = process.log.read_text()
    assert "Traceback" not in log and "Warning" not in log, f"the server logged:\n{log}"


@pytest.fixture
def own_server(backend: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of the test's own (for crash tests and special settings)."""
    with database_for(backend) as settings:
        process = ServerProcess(
            tmp_path / "server", lease_seconds=2, reaper_interval=0.2, **settings
        )
        yield process
        process.stop()
