from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import BACKENDS, database_for
from tests.support.server import ServerProcess

LOOPBACK = '["127.0.0.0/8"]'
STRICT = bool(os.environ.get("BUREAU_TEST_REQUIRE_SERVICES"))
"""Set by `.ci/run`, which starts every service the suite uses: a skip is then a failure."""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if STRICT and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped where CI provides every service: {reason}"


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every end-to-end test runs once per database backend."""
    return str(request.param)


@pytest.fixture(scope="session")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server per backend, shared by the tests that do not restart it."""
    with database_for(backend) as settings:
        process = ServerProcess(
            tmp_path_factory.mktemp(f"shared-{backend}"),
            lease_seconds=3,
            webhook_allowed_networks=LOOPBACK,  # the test receivers listen on 127.0.0.1
            **settings,
        )
        process.start()
        yield process
        process.stop()
    if process.log.exists():
        process.assert_clean_log()
    process.assert_clean_log()


@pytest.fixture
def own_server(backend: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of the test's own (for crash tests and special settings)."""
    with database_for(backend) as settings:
        process = ServerProcess(
            tmp_path / "server", lease_seconds=2, reaper_interval=0.2, **settings
        )
        yield process
        process.stop()
    if process.log.exists():
        process.assert_clean_log()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Say "no current event loop" once. Otherwise the first `asyncio.get_event_loop()` (which
    pytest-asyncio calls around each async test, to restore it afterwards) creates a loop
    that nobody closes; the next `asyncio.run` of a sync test replaces it, and its socket
    pair is reported unclosed during whichever test the garbage collector runs in."""
    asyncio.set_event_loop(None)
