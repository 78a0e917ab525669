"""The demo agent doc-digest reads documents from a tool of an MCP server named in its input.

A real Bureau server (`bureau serve` with the demo agents) and a real MCP server
(`tests/support/mcp_tool_server.py docs`, no auth, on 127.0.0.1, which the Bureau server
allows through `BUREAU_WEBHOOK_ALLOWED_NETWORKS`). The tool server's `search` appends
`search <query>` to a file, so the test counts the calls that reached it; with
`"hold": true` it answers only once the test creates the go file.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LOOPBACK
from tests.support.databases import database_for
from tests.support.server import ServerProcess, free_port, wait_for

TOOL_SERVER = str(Path(__file__).parents[1] / "support" / "mcp_tool_server.py")
DONE = {"completed", "failed", "rejected", "input-required"}


@dataclass
class Setup:
    server: ServerProcess
    url: str
    counter: Path
    go: Path
    tmp_path: Path

    def searches(self) -> list[str]:
        """The queries of the `search` calls that reached the MCP server, in order."""
        if not self.counter.exists():
            return []
        lines = self.counter.read_text().splitlines()
        return [line.removeprefix("search ") for line in lines if line.startswith("search ")]

    def journal_name(self, what: str) -> str:
        digest = hashlib.sha256(self.url.encode()).hexdigest()[:12]
        return f"mcp:127.0.0.1~{digest}/{what}"


def _tool_server(port: int, counter: Path, go: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, TOOL_SERVER, "docs", str(port), str(counter), str(go)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.post(f"http://127.0.0.1:{port}/mcp")
            return process
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the MCP test server did not start")


@pytest.fixture
def setup(backend: str, tmp_path: Path) -> Iterator[Setup]:
    port = free_port()
    counter, go = tmp_path / "calls.txt", tmp_path / "go"
    tools = _tool_server(port, counter, go)
    try:
        with database_for(backend) as settings:
            server = ServerProcess(
                tmp_path / "server",
                demo_agents=True,
                lease_seconds=2,
                reaper_interval=0.2,
                webhook_allowed_networks=LOOPBACK,
                **settings,
            )
            server.start()
            try:
                yield Setup(server, f"http://127.0.0.1:{port}/mcp", counter, go, tmp_path)
            finally:
                server.stop()
            server.assert_clean_log()
    finally:
        tools.kill()
        tools.wait(10)


def _source(url: str, tool: str = "search", **arguments: Any) -> dict[str, Any]:
    return {"mcp": {"url": url, "tool": tool, "arguments": arguments}}


def _dispatch(client: httpx.Client, *sources: dict[str, Any]) -> str:
    body = {"agent": "doc-digest", "goal": "Summarise it", "input": {"sources": list(sources)}}
    sent = client.post("/v1/tasks", json=body)
    assert sent.status_code == 202, sent.text
    return str(sent.json()["id"])


def _completed_steps(client: httpx.Client, task_id: str) -> list[str]:
    events = client.get(f"/v1/tasks/{task_id}/events").json()["events"]
    return [e["data"]["name"] for e in events if e["type"] == "step.completed"]


def _wait_until(check: Any, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_doc_digest_digests_what_an_mcp_tool_returns(setup: Setup) -> None:
    with setup.server.client() as client:
        task_id = _dispatch(client, _source(setup.url, query="heat pumps"))
        done = wait_for(client, task_id, DONE)
        assert done["status"] == "completed", done
        deliverable = done["deliverable"]
        cited = {s["document"]: s["text"] for s in deliverable["sentences"]}
        assert set(cited) == {"search-1", "search-2", "field-note.md"}
        assert cited["search-1"].startswith("Passage one about heat pumps: the Lillehammer")
        assert "Tromsø" in deliverable["summary"]
        assert "twelve villages" in deliverable["summary"]  # the embedded resource
        assert deliverable["sources"] == [
            {
                "url": setup.url,
                "tool": "search",
                "documents": ["search-1", "search-2", "field-note.md"],
            }
        ]
        assert _completed_steps(client, task_id)[:2] == [
            setup.journal_name("tools/list#1"),
            setup.journal_name("search#1"),
        ]
        report = client.get(f"/v1/tasks/{task_id}/artifacts/digest.md").text
        assert f"tool `search` of {setup.url}" in report
    assert setup.searches() == ["heat pumps"], "the tool was called exactly once"


def test_a_crash_after_the_tool_call_does_not_repeat_it(setup: Setup) -> None:
    server = setup.server
    with server.client() as client:
        task_id = _dispatch(
            client,
            _source(setup.url, query="heat pumps"),
            _source(setup.url, query="grid", hold=True),  # answers once the go file exists
        )
        _wait_until(lambda: setup.searches() == ["heat pumps", "grid"], "the second call")
        assert setup.journal_name("search#1") in _completed_steps(client, task_id)
    server.kill()  # kill -9 while the second call is in flight
    server.start()
    setup.go.touch()
    with server.client() as client:
        done = wait_for(client, task_id, DONE, timeout=30)
        assert done["status"] == "completed", done
        steps = _completed_steps(client, task_id)
        assert steps.count(setup.journal_name("search#1")) == 1
        assert steps.count(setup.journal_name("tools/list#1")) == 1
        assert [s["documents"] for s in done["deliverable"]["sources"]] == [
            ["search-1", "search-2", "field-note.md"],
            ["search-3", "search-4", "field-note-2.md"],
        ]
    searches = setup.searches()
    assert searches.count("heat pumps") == 1, "the call journaled before the crash ran again"
    assert searches.count("grid") == 2, "the call in flight at the crash runs again"


def test_an_unknown_tool_or_a_tool_error_is_declined(setup: Setup) -> None:
    with setup.server.client() as client:
        task_id = _dispatch(client, _source(setup.url, tool="lookup", query="heat pumps"))
        declined = wait_for(client, task_id, DONE)
        assert declined["status"] == "rejected", declined
        assert declined["error"]["code"] == "declined"
        message = declined["error"]["message"]
        assert "no tool 'lookup'" in message and "search" in message, message
        assert declined["cost"] == "0"
        assert setup.searches() == []
        task_id = _dispatch(client, _source(setup.url, query="broken"))
        declined = wait_for(client, task_id, DONE)
        assert declined["status"] == "rejected", declined
        assert "the index is being rebuilt" in declined["error"]["message"]
    assert setup.searches() == ["broken"]


def test_internal_addresses_are_refused_before_any_call(setup: Setup, backend: str) -> None:
    refused = {
        "http://169.254.169.254/mcp": "link-local",
        "http://10.1.2.3:8080/mcp": "private",
        "http://reader:pw-a81f@169.254.169.254/latest?token=tk-5521": "credentials",
    }
    with setup.server.client() as client:
        for url, reason in refused.items():
            task_id = _dispatch(client, _source(url, query="heat pumps"))
            declined = wait_for(client, task_id, DONE)
            assert declined["status"] == "rejected", declined
            message = declined["error"]["message"]
            assert "refused" in message and reason in message, message
            assert "pw-a81f" not in message and "tk-5521" not in message
        bad = client.post(
            "/v1/tasks",
            json={"agent": "doc-digest", "goal": "x", "input": {"sources": [_source("ftp://x")]}},
        )
        assert bad.status_code == 422, bad.text
    log = setup.server.log.read_text()
    assert "pw-a81f" not in log and "tk-5521" not in log
    # the same loopback server that the tests reach, from a Bureau that does not allow it
    with database_for(backend) as settings:
        strict = ServerProcess(setup.tmp_path / "strict", demo_agents=True, **settings)
        strict.start()
        try:
            with strict.client() as client:
                task_id = _dispatch(client, _source(setup.url, query="heat pumps"))
                declined = wait_for(client, task_id, DONE)
                assert declined["status"] == "rejected", declined
                assert "loopback" in declined["error"]["message"], declined
        finally:
            strict.stop()
        strict.assert_clean_log()
    assert setup.searches() == []
