"""Remote A2A agents: a second Bureau server is the remote (its agents answer A2A at
`<url>/a2a/<agent>`); the local server publishes them and runs their tasks through the A2A
client, durably, with questions, cancel and a circuit breaker."""

from __future__ import annotations

import functools
import ipaddress
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from bureau.remote.breaker import Breaker
from bureau.remote.cards import card_url_of, catalog_entry, fetch_card
from bureau.remote.outbound import auth_headers
from bureau.remote.proxy import RemoteAgent
from bureau.remote.settings import RemoteSettings
from bureau.store.records import AgentVersionRecord
from tests.conftest import LOOPBACK
from tests.e2e.test_cli_admin import bureau
from tests.support.databases import database_for
from tests.support.server import ServerProcess, wait_for

FAST = {
    "remote_refresh_seconds": 0.3,
    "remote_probe_seconds": 1,
    "remote_failure_threshold": 2,
    "remote_poll_seconds": 0.1,
    "remote_max_poll_seconds": 0.5,
}


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The remote: a Bureau server (SQLite) whose test agents answer over A2A."""
    process = ServerProcess(tmp_path_factory.mktemp("remote"), lease_seconds=2)
    process.start()
    yield process
    process.stop()
    process.assert_clean_log()


@pytest.fixture
def local(backend: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """The local Bureau (each backend), allowed to reach 127.0.0.1, restartable."""
    with database_for(backend) as settings:
        process = ServerProcess(
            tmp_path / "local",
            lease_seconds=2,
            reaper_interval=0.2,
            webhook_allowed_networks=LOOPBACK,
            **FAST,
            **settings,
        )
        process.start()
        yield process
        process.stop()
    process.assert_clean_log()


def _add(local: ServerProcess, remote: ServerProcess, agent: str, name: str) -> dict[str, Any]:
    with local.client() as client:
        response = client.post(
            "/v1/remote-agents",
            json={"url": f"{remote.url}/a2a/{agent}", "name": name, "credential": remote.key},
        )
    assert response.status_code == 201, response.text
    assert remote.key not in response.text, "the credential came back"
    return dict(response.json())


def _dispatch(client: httpx.Client, agent: str, goal: str, **input: Any) -> dict[str, Any]:
    response = client.post("/v1/tasks", json={"agent": agent, "goal": goal, "input": input})
    assert response.status_code in (200, 201, 202), response.text
    return dict(response.json())


def _remote_tasks(remote: ServerProcess, agent: str, goal: str) -> list[dict[str, Any]]:
    with remote.client() as client:
        tasks = client.get("/v1/tasks", params={"agent": agent, "limit": 200}).json()["tasks"]
    return [t for t in tasks if t["goal"] == goal]


def _wait_remote(
    remote: ServerProcess, agent: str, goal: str, statuses: set[str], timeout: float = 15
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = _remote_tasks(remote, agent, goal)
        if found and found[0]["status"] in statuses:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"remote {agent} task for {goal!r}: {found}, wanted {statuses}")


def test_remote_agent_is_published_and_completes(
    local: ServerProcess, remote: ServerProcess
) -> None:
    agent = _add(local, remote, "noop", "remote-noop")
    assert agent["versions"][0]["runtime"] == "a2a-remote"
    assert agent["versions"][0]["version"] == "1.0.0"
    with local.client() as client:
        listed = client.get("/v1/agents/remote-noop").text
        assert remote.key not in listed
        goal = f"add one and one {time.time_ns()}"
        task = _dispatch(client, "remote-noop", goal)
        done = wait_for(client, task["id"], {"completed", "failed"}, timeout=20)
    assert done["status"] == "completed", done.get("error")
    theirs = _remote_tasks(remote, "noop", goal)
    assert len(theirs) == 1 and theirs[0]["status"] == "completed"
    with remote.client() as client:
        remote_done = client.get(f"/v1/tasks/{theirs[0]['id']}").json()
    assert done["deliverable"] == remote_done["deliverable"] == {"sum": 2}


def test_questions_are_relayed_both_ways(local: ServerProcess, remote: ServerProcess) -> None:
    added = bureau(
        local,
        local.key,
        "agents",
        "add-remote",
        f"{remote.url}/a2a/asker",
        "--name",
        "remote-asker",
        "--credential",
        remote.key,
        "--json",
    )
    assert json.loads(added)["versions"][0]["runtime"] == "a2a-remote"
    assert remote.key not in added
    with local.client() as client:
        goal = f"pick a color {time.time_ns()}"
        task = _dispatch(client, "remote-asker", goal)
        asking = wait_for(client, task["id"], {"input-required", "failed"}, timeout=20)
        assert asking["status"] == "input-required", asking.get("error")
        question = asking["question"]
        assert question["text"] == "Which color?"
        answer = client.post(
            f"/v1/tasks/{task['id']}/messages",
            json={"data": "blue", "question_id": question["id"]},
        )
        assert answer.status_code < 300, answer.text
        done = wait_for(client, task["id"], {"completed", "failed"}, timeout=20)
    assert done["status"] == "completed", done.get("error")
    assert done["deliverable"] == {"color": "blue"}
    theirs = _remote_tasks(remote, "asker", goal)
    assert len(theirs) == 1 and theirs[0]["status"] == "completed"


def test_kill_9_resumes_the_remote_task_without_a_second_one(
    local: ServerProcess, remote: ServerProcess
) -> None:
    _add(local, remote, "sleeper", "remote-sleeper")
    goal = f"sleep through a crash {time.time_ns()}"
    with local.client() as client:
        task = _dispatch(client, "remote-sleeper", goal, seconds=3)
    _wait_remote(remote, "sleeper", goal, {"working"})
    local.kill()
    local.start()
    with local.client() as client:
        done = wait_for(client, task["id"], {"completed", "failed"}, timeout=30)
    assert done["status"] == "completed", done.get("error")
    assert done["deliverable"] == {"slept": 3}
    assert len(_remote_tasks(remote, "sleeper", goal)) == 1, "a second remote task was sent"


def test_cancel_is_forwarded(local: ServerProcess, remote: ServerProcess) -> None:
    _add(local, remote, "sleeper", "remote-sleeper")
    goal = f"sleep until canceled {time.time_ns()}"
    with local.client() as client:
        task = _dispatch(client, "remote-sleeper", goal, seconds=60)
        _wait_remote(remote, "sleeper", goal, {"working"})
        assert client.post(f"/v1/tasks/{task['id']}/cancel").status_code < 300
        assert wait_for(client, task["id"], {"canceled"})["status"] == "canceled"
    assert _wait_remote(remote, "sleeper", goal, {"canceled"}, timeout=10)["status"] == "canceled"


def test_cancel_of_a_task_waiting_for_an_answer_is_forwarded(
    local: ServerProcess, remote: ServerProcess
) -> None:
    """No worker runs a parked task: the cancel reaches the remote all the same."""
    _add(local, remote, "asker", "remote-asker")
    goal = f"never answered {time.time_ns()}"
    with local.client() as client:
        task = _dispatch(client, "remote-asker", goal)
        asking = wait_for(client, task["id"], {"input-required", "failed"}, timeout=20)
        assert asking["status"] == "input-required", asking.get("error")
        assert client.post(f"/v1/tasks/{task['id']}/cancel").status_code < 300
    assert _wait_remote(remote, "asker", goal, {"canceled"}, timeout=10)["status"] == "canceled"


def test_private_address_is_refused_without_an_allowed_network(
    own_server: ServerProcess, remote: ServerProcess
) -> None:
    own_server.start()
    with own_server.client() as client:
        for url in (f"{remote.url}/a2a/noop", "http://10.0.0.1/a2a/x", "http://localhost/x"):
            refused = client.post("/v1/remote-agents", json={"url": url, "name": "sneaky"})
            assert refused.status_code == 422, refused.text
            assert "address" in refused.text
        assert client.get("/v1/agents/sneaky").status_code == 404


def test_circuit_breaker_fails_fast_then_recovers(local: ServerProcess, tmp_path: Path) -> None:
    flaky = ServerProcess(tmp_path / "flaky-remote", lease_seconds=2)
    flaky.start()
    try:
        _add(local, flaky, "noop", "remote-flaky")
        flaky.stop()
        with local.client() as client:
            first = _dispatch(client, "remote-flaky", "while it is down")
            failed = wait_for(client, first["id"], {"failed", "completed"}, timeout=30)
            assert failed["status"] == "failed"
            started = time.monotonic()
            fast = _dispatch(client, "remote-flaky", "fail fast")
            fast_failed = wait_for(client, fast["id"], {"failed", "completed"}, timeout=10)
            assert fast_failed["status"] == "failed"
            assert time.monotonic() - started < 3, "the open circuit did not fail fast"
            message = fast_failed["error"]["message"]
            assert "'remote-flaky'" in message and "is unavailable (circuit open after" in message
            assert "retrying at" in message
            flaky.start()
            deadline = time.monotonic() + 20
            while True:
                again = _dispatch(client, "remote-flaky", "after the probe")
                done = wait_for(client, again["id"], {"failed", "completed"}, timeout=20)
                if done["status"] == "completed" or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
            assert done["status"] == "completed", done.get("error")
            assert done["deliverable"] == {"sum": 2}
    finally:
        flaky.stop()
    flaky.assert_clean_log()


class _Hub:
    """What a `RemoteAgent` needs of the worker's registry, for driving one directly."""

    def __init__(self, credential: str) -> None:
        self.settings = RemoteSettings(poll_seconds=0.05)
        self.allowed = [ipaddress.ip_network("127.0.0.0/8")]
        self.forwarded: set[str] = set()
        self._credential = credential

    async def credential(self, tenant_id: str, secret: str | None) -> str:
        return self._credential

    def breaker(self, card_url: str, name: str) -> Breaker:
        return Breaker(label=name, threshold=3, probe_seconds=1)

    def watch(self, breaker: Breaker) -> None:
        pass

    def cancel_requested(self, task_id: str) -> bool:
        return False


async def test_an_interrupted_send_finds_its_remote_task(remote: ServerProcess) -> None:
    """The reconcile hook of `remote.send` (a crash between sending and journaling) finds
    the remote task by the context id the send used, and sends only when there is none."""
    hub = _Hub(remote.key)
    url = f"{remote.url}/a2a/sleeper"
    card_json, card = await fetch_card(
        url,
        allowed=hub.allowed,
        headers=auth_headers(remote.key),
        timeout_seconds=5,
        max_bytes=1 << 20,
    )
    entry = catalog_entry(
        card_json,
        card,
        card_url=card_url_of(url),
        name="remote-sleeper",
        price=Decimal(0),
        visibility="private",
        credential_secret="cred",
    )
    record = AgentVersionRecord(
        name="remote-sleeper",
        version=entry["version"],
        tenant_id="ten_x",
        description="",
        capabilities=[],
        spec=entry,
        visibility="private",
        status="active",
        created_at=0.0,
    )
    agent = RemoteAgent(hub, record)  # type: ignore[arg-type]
    sent_goal, unsent_goal = f"sent {time.time_ns()}", f"unsent {time.time_ns()}"
    sent_ctx = SimpleNamespace(task_id=f"tsk_sent{time.time_ns()}")
    sent = await agent._send(sent_ctx.task_id, sent_goal, {"seconds": 0.1})
    found = await agent.reconcile(sent_ctx, "remote.send")  # type: ignore[arg-type]
    assert found["task_id"] == sent["task_id"]
    assert len(_remote_tasks(remote, "sleeper", sent_goal)) == 1
    unsent_ctx = SimpleNamespace(task_id=f"tsk_unsent{time.time_ns()}")
    agent._pending[(unsent_ctx.task_id, "remote.send")] = functools.partial(
        agent._send, unsent_ctx.task_id, unsent_goal, {"seconds": 0.1}
    )
    made = await agent.reconcile(unsent_ctx, "remote.send")  # type: ignore[arg-type]
    assert [t["id"] for t in _remote_tasks(remote, "sleeper", unsent_goal)] == [made["task_id"]]


def test_a_running_task_waits_out_a_short_remote_outage(
    local: ServerProcess, tmp_path: Path
) -> None:
    """The remote dies (kill -9) and comes back while it runs a task: the local task
    follows the same remote task to completion, without a retry."""
    blinking = ServerProcess(tmp_path / "blinking-remote", lease_seconds=2, reaper_interval=0.2)
    blinking.start()
    try:
        _add(local, blinking, "sleeper", "remote-blinking")
        goal = f"outlive an outage {time.time_ns()}"
        with local.client() as client:
            task = _dispatch(client, "remote-blinking", goal, seconds=2)
            _wait_remote(blinking, "sleeper", goal, {"working"})
            blinking.kill()
            time.sleep(1)  # the outage: nothing to wait for, it is a span of time
            blinking.start()
            done = wait_for(client, task["id"], {"completed", "failed"}, timeout=40)
            events = client.get(f"/v1/tasks/{task['id']}/events").json()["events"]
        assert done["status"] == "completed", done.get("error")
        assert [e for e in events if e["type"] == "retry"] == [], "the outage cost a retry"
        assert len(_remote_tasks(blinking, "sleeper", goal)) == 1
    finally:
        blinking.stop()
    blinking.assert_clean_log()


def test_remote_artifacts_are_copied_in(local: ServerProcess, remote: ServerProcess) -> None:
    """A small artifact comes inline, a large one by URL (downloaded with the credential,
    here a secret the tenant stored first)."""
    with local.client() as client:
        stored = client.put("/v1/secrets/remote-bureau", json={"value": remote.key})
        assert stored.status_code < 300, stored.text
        added = client.post(
            "/v1/remote-agents",
            json={
                "url": f"{remote.url}/a2a/big-artifact",
                "name": "remote-files",
                "credential_secret": "remote-bureau",
            },
        )
        assert added.status_code == 201, added.text
        for name, size in (("small.bin", 10), ("large.bin", 300_000)):
            goal = f"make {name} {time.time_ns()}"
            task = _dispatch(client, "remote-files", goal, name=name, size=size)
            done = wait_for(client, task["id"], {"completed", "failed"}, timeout=20)
            assert done["status"] == "completed", done.get("error")
            assert [a["name"] for a in done["artifacts"]] == [name]
            copied = client.get(f"/v1/tasks/{task['id']}/artifacts/{name}")
            assert copied.status_code == 200 and copied.content == b"x" * size


def test_remote_progress_is_relayed(local: ServerProcess, remote: ServerProcess) -> None:
    """The remote's progress messages (its A2A status while working) become the task's
    progress events, in order, each once."""
    _add(local, remote, "ticker", "remote-ticker")
    with local.client() as client:
        goal = f"tick {time.time_ns()}"
        task = _dispatch(client, "remote-ticker", goal, count=4, interval=0.6)
        done = wait_for(client, task["id"], {"completed", "failed"}, timeout=20)
        assert done["status"] == "completed", done.get("error")
        assert done["deliverable"] == {"ticks": 4}
        events = client.get(f"/v1/tasks/{task['id']}/events").json()["events"]
    said = [e["data"]["message"] for e in events if e["type"] == "progress"]
    assert len(said) >= 3, f"few progress messages relayed: {said}"
    assert said == sorted(set(said)), f"relayed out of order or twice: {said}"
    assert set(said) <= {f"tick {i}" for i in range(4)}
