"""Cancel is durable and bounded: queued, running, and down the delegation tree."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx

from tests.support.agents import assert_beacon_stops
from tests.support.server import ServerProcess, wait_for


def test_cancel_a_queued_task(server: ServerProcess) -> None:
    session = f"s-{uuid.uuid4()}"
    with server.client() as client:
        blocker = client.post(
            "/v1/tasks",
            json={
                "agent": "sleeper",
                "goal": "hold the session",
                "input": {"seconds": 60},
                "session_id": session,
            },
        ).json()
        wait_for(client, blocker["id"], {"working"})
        queued = client.post(
            "/v1/tasks", json={"agent": "noop", "goal": "wait my turn", "session_id": session}
        ).json()
        time.sleep(0.3)
        assert client.get(f"/v1/tasks/{queued['id']}").json()["status"] == "submitted"
        started = time.monotonic()
        assert client.post(f"/v1/tasks/{queued['id']}/cancel").status_code == 202
        wait_for(client, queued["id"], {"canceled"}, timeout=5)
        assert time.monotonic() - started < 5
        client.post(f"/v1/tasks/{blocker['id']}/cancel")
        wait_for(client, blocker["id"], {"canceled"}, timeout=5)


def test_cancel_a_running_task_and_its_children(server: ServerProcess) -> None:
    with server.client() as client:
        parent = client.post(
            "/v1/tasks", json={"agent": "parent", "goal": "delegate", "input": {"seconds": 60}}
        ).json()
        deadline = time.monotonic() + 30  # setup only; the 5 s bound is on the cancel
        children: list[str] = []
        while len(children) < 2:
            assert time.monotonic() < deadline, "the parent never delegated"
            events = client.get(f"/v1/tasks/{parent['id']}/events").json()["events"]
            children = [e["data"]["task_id"] for e in events if e["type"] == "delegated"]
            time.sleep(0.05)
        sleeper = next(
            c for c in children if client.get(f"/v1/tasks/{c}").json()["agent"] == "sleeper"
        )
        wait_for(client, sleeper, {"working"})
        started = time.monotonic()
        assert client.post(f"/v1/tasks/{parent['id']}/cancel").status_code == 202
        assert wait_for(client, parent["id"], {"canceled"}, timeout=5)["status"] == "canceled"
        assert wait_for(client, sleeper, {"canceled"}, timeout=5)["status"] == "canceled"
        assert time.monotonic() - started < 5
        again = client.post(f"/v1/tasks/{parent['id']}/cancel")
        assert again.status_code == 409


def test_cancel_a_running_task_directly(server: ServerProcess, tmp_path: Path) -> None:
    beacon = tmp_path / "beacon"
    with server.client() as client:
        task = client.post(
            "/v1/tasks", json={"agent": "beacon", "goal": "beam", "input": {"beacon": str(beacon)}}
        ).json()
        _wait_for_event(client, task["id"], "progress")  # then the progress is durable
        client.post(f"/v1/tasks/{task['id']}/cancel")
        canceled = wait_for(client, task["id"], {"canceled"}, timeout=5)
    assert canceled["error"]["code"] == "canceled"
    assert canceled["progress"] == {"fraction": 0.0, "message": "beaming"}
    assert_beacon_stops(beacon)


def _wait_for_event(client: httpx.Client, task_id: str, kind: str) -> None:
    """Long-poll the task's log until an event of type `kind` is in it."""
    after, deadline = 0, time.monotonic() + 30
    while time.monotonic() < deadline:
        page = client.get(f"/v1/tasks/{task_id}/events", params={"after": after, "wait": 5})
        for event in page.json()["events"]:
            if event["type"] == kind:
                return
            after = event["seq"]
    raise AssertionError(f"task {task_id} logged no {kind!r} event")
