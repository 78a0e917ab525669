"""MCP tools inside agents, end to end: a real Bureau server, a real MCP server.

The agents (`tests/support/mcp_agents.py`) reach the test's MCP server
(`tests/support/mcp_tool_server.py`) with a bearer token from their publisher's secrets;
its `count` tool appends to a file, so the test counts the calls that reached it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.databases import database_for
from tests.support.server import ServerProcess, free_port, wait_for

AGENTS = str(Path(__file__).parents[1] / "support" / "mcp_agents.py")
TOOL_SERVER = str(Path(__file__).parents[1] / "support" / "mcp_tool_server.py")
TOKEN = "tok-7f3a9c-not-a-real-token"


@dataclass
class Setup:
    server: ServerProcess
    counter: Path
    go: Path

    def calls(self) -> int:
        return len(self.counter.read_text().splitlines()) if self.counter.exists() else 0


def _tool_server(port: int, counter: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, TOOL_SERVER, "http", str(port), TOKEN, str(counter)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if httpx.post(f"http://127.0.0.1:{port}/mcp").status_code == 401:
                return process
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the MCP test server did not start")


@pytest.fixture
def setup(backend: str, tmp_path: Path) -> Iterator[Setup]:
    port = free_port()
    counter = tmp_path / "count.txt"
    tools = _tool_server(port, counter)
    try:
        with database_for(backend) as settings:
            server = ServerProcess(
                tmp_path / "server",
                agents=AGENTS,
                lease_seconds=2,
                reaper_interval=0.2,
                webhook_allowed_networks='["127.0.0.0/8"]',
                **settings,
            )
            server.env["MCP_TEST_URL"] = f"http://127.0.0.1:{port}/mcp"
            server.env["MCP_TEST_COUNTER"] = str(tmp_path / "stdio-count.txt")
            server.env["MCP_TEST_GO"] = str(tmp_path / "go")
            server.start()
            try:
                yield Setup(server, counter, tmp_path / "go")
            finally:
                server.stop()
            server.assert_clean_log()
            assert TOKEN not in server.log.read_text(), "a secret value was logged"
    finally:
        tools.kill()
        tools.wait(10)


def _put_token(client: httpx.Client) -> None:
    put = client.put("/v1/secrets/TOOLS_TOKEN", json={"value": TOKEN})
    assert put.status_code == 200, put.text
    assert TOKEN not in put.text


def _step_done(client: httpx.Client, task_id: str, name: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = client.get(f"/v1/tasks/{task_id}/events").json()["events"]
        if any(e["type"] == "step.completed" and e["data"]["name"] == name for e in events):
            return
        time.sleep(0.05)
    raise AssertionError(f"step {name} was not journaled")


def test_tool_calls_are_journaled_across_a_park_and_a_crash(setup: Setup) -> None:
    server = setup.server
    with server.client() as client:
        _put_token(client)
        task = client.post("/v1/tasks", json={"agent": "mcp-counter", "goal": "count"}).json()
        wait_for(client, task["id"], {"input-required"})
        assert setup.calls() == 1
    server.kill()
    server.start()
    with server.client() as client:
        reply = client.post(f"/v1/tasks/{task['id']}/messages", json={"text": "yes"})
        assert reply.status_code in (200, 202), reply.text
        done = wait_for(client, task["id"], {"completed", "failed"})
        assert done["status"] == "completed", done
        deliverable = done["deliverable"]
        assert deliverable["tools"] == ["add", "count", "fail", "whoami"]
        assert deliverable["first"] == {"count": 1}
        assert deliverable["second"] == {"count": 2}, "the first call was not repeated"
        assert deliverable["sum"] == {"sum": 5}
        assert "boom: this tool always fails" in deliverable["failed"]
        assert deliverable["answer"] == "yes"
        events = client.get(f"/v1/tasks/{task['id']}/events").json()["events"]
        names = [e["data"]["name"] for e in events if e["type"] == "step.completed"]
        assert names == [
            "mcp:tools/tools/list#1",
            "mcp:tools/count#1",
            "mcp:tools/count#2",
            "mcp:tools/add#1",
            "mcp:tools/fail#1",
        ]
    assert setup.calls() == 2


def test_a_crash_while_running_does_not_repeat_a_completed_call(setup: Setup) -> None:
    server = setup.server
    with server.client() as client:
        _put_token(client)
        task = client.post("/v1/tasks", json={"agent": "mcp-crash", "goal": "count"}).json()
        _step_done(client, task["id"], "mcp:tools/count#1")
    server.kill()
    assert setup.calls() == 1
    server.start()
    setup.go.touch()
    with server.client() as client:
        done = wait_for(client, task["id"], {"completed", "failed"}, timeout=30)
        assert done["status"] == "completed", done
        assert done["deliverable"] == {"first": {"count": 1}, "second": {"count": 2}}
    assert setup.calls() == 2, "the call journaled before the crash ran again"


def test_missing_secret_refused_url_and_unreachable_server(setup: Setup) -> None:
    with setup.server.client() as client:
        _put_token(client)
        task = client.post("/v1/tasks", json={"agent": "mcp-missing", "goal": "x"}).json()
        failed = wait_for(client, task["id"], {"completed", "failed"})
        assert failed["status"] == "failed", failed
        assert "NOT_STORED" in failed["error"]["message"]
        task = client.post("/v1/tasks", json={"agent": "mcp-refused", "goal": "x"}).json()
        failed = wait_for(client, task["id"], {"completed", "failed"})
        assert failed["status"] == "failed", failed
        assert "refused" in failed["error"]["message"]
        assert "private" in failed["error"]["message"]
        task = client.post("/v1/tasks", json={"agent": "mcp-down", "goal": "x"}).json()
        failed = wait_for(client, task["id"], {"completed", "failed"}, timeout=30)
        assert failed["status"] == "failed", failed
        assert "cannot connect to MCP server 'down'" in failed["error"]["message"]
        assert failed["error"]["attempts"] == 1
    assert setup.calls() == 0


def test_the_stdio_server_gets_the_secret_in_its_environment(setup: Setup) -> None:
    with setup.server.client() as client:
        _put_token(client)
        task = client.post("/v1/tasks", json={"agent": "mcp-stdio", "goal": "x"}).json()
        done = wait_for(client, task["id"], {"completed", "failed"}, timeout=30)
        assert done["status"] == "completed", done
        assert done["deliverable"] == {
            "tools": ["add", "count", "fail", "whoami"],
            "token": TOKEN,
            "sum": {"sum": 2},
        }
        other = client.post("/v1/tenants", json={"name": "consumer"}).json()["admin_key"]
    with httpx.Client(
        base_url=setup.server.url, headers={"Authorization": f"Bearer {other['secret']}"}
    ) as consumer:
        assert consumer.put("/v1/secrets/TOOLS_TOKEN", json={"value": "consumer-value"}).is_success
        task = consumer.post("/v1/tasks", json={"agent": "mcp-stdio", "goal": "x"}).json()
        done = wait_for(consumer, task["id"], {"completed", "failed"}, timeout=30)
        assert done["deliverable"]["token"] == TOKEN, "the publisher's secret, not the consumer's"


def test_secrets_are_write_only_and_per_tenant(setup: Setup) -> None:
    server = setup.server
    with server.client() as admin:
        _put_token(admin)
        again = admin.put("/v1/secrets/TOOLS_TOKEN", json={"value": TOKEN + "-2"})
        assert again.status_code == 200 and set(again.json()) == {
            "name",
            "created_at",
            "updated_at",
        }
        listed = admin.get("/v1/secrets")
        assert listed.status_code == 200
        assert [s["name"] for s in listed.json()["secrets"]] == ["TOOLS_TOKEN"]
        assert TOKEN not in listed.text
        assert admin.put("/v1/secrets/bad name", json={"value": "x"}).status_code == 422
        too_big = admin.put("/v1/secrets/BIG", json={"value": "x" * (64 * 1024 + 1)})
        assert too_big.status_code in (413, 422), too_big.text
        viewer = admin.post("/v1/keys", json={"name": "v", "role": "viewer"}).json()["secret"]
        other = admin.post("/v1/tenants", json={"name": "B"}).json()["admin_key"]["secret"]
        audit = admin.get("/v1/audit", params={"action": "secrets.put"}).json()
        assert TOKEN not in str(audit) and "TOOLS_TOKEN" in str(audit)
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {viewer}"}
    ) as as_viewer:
        assert as_viewer.get("/v1/secrets").status_code == 403
        assert as_viewer.put("/v1/secrets/X", json={"value": "y"}).status_code == 403
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {other}"}) as b:
        assert b.get("/v1/secrets").json()["secrets"] == []
        assert b.delete("/v1/secrets/TOOLS_TOKEN").status_code == 404
    with server.client() as admin:
        assert admin.delete("/v1/secrets/TOOLS_TOKEN").json() == {
            "name": "TOOLS_TOKEN",
            "deleted": True,
        }
        assert admin.get("/v1/secrets").json()["secrets"] == []
    stored = _sealed_values(server)
    assert stored and all(v.startswith("sealed:") for v in stored)


def _sealed_values(server: ServerProcess) -> list[str]:
    """Every stored secret value, read behind Bureau's back."""
    with server.client() as admin:
        assert admin.put("/v1/secrets/PROBE", json={"value": "probe-value"}).status_code == 200
    query = "SELECT value FROM tenant_secrets"
    url = server.env.get("BUREAU_DATABASE_URL")
    if url is None:
        import sqlite3

        with sqlite3.connect(server.data_dir / "bureau.db") as conn:
            return [row[0] for row in conn.execute(query)]
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return [row[0] for row in conn.execute(query)]
