"""The outside probe of issue 8 (`tests/probe.py`) against a real server of its own."""

from __future__ import annotations

from pathlib import Path

from tests.probe import RECEIVER_HOST, probe
from tests.support.server import ServerProcess


def test_the_probe_finds_no_5xx_no_refused_connection_and_no_slow_healthz(
    tmp_path: Path,
) -> None:
    server = ServerProcess(tmp_path, webhook_allowed_networks=f'["{RECEIVER_HOST}/32"]')
    server.start()
    try:
        report = probe(server.url, server.key)
    finally:
        server.stop()
    assert report.server_errors == []
    assert report.trapped == [], "a refused destination was connected to"
    assert report.failed == []
    assert report.slowest_healthz < 0.1, f"/healthz took {report.slowest_healthz * 1000:.0f} ms"
    server.assert_clean_log()
