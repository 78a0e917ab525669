"""Sessions: shared state, one task at a time in arrival order, on_busy policies."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import orjson

from tests.support.agents import assert_beacon_stops
from tests.support.server import ServerProcess, wait_for


def test_session_state_carries_over_and_tasks_run_in_order(server: ServerProcess) -> None:
    session = f"s-{uuid.uuid4()}"
    with server.client() as client:
        ids = [
            client.post(
                "/v1/tasks",
                json={
                    "agent": "session-counter",
                    "goal": f"#{i}",
                    "session_id": session,
                    "input": {"pause": 0.1},
                },
            ).json()["id"]
            for i in range(3)
        ]
        done = [wait_for(client, task_id, {"completed"}) for task_id in ids]
    assert [d["deliverable"]["count"] for d in done] == [1, 2, 3]
    assert done[0]["finished_at"] <= done[1]["started_at"]
    assert done[1]["finished_at"] <= done[2]["started_at"]


def test_on_busy_reject_and_interrupt(server: ServerProcess, tmp_path: Path) -> None:
    session, beacon = f"s-{uuid.uuid4()}", tmp_path / "beacon"
    with server.client() as client:
        running = client.post(
            "/v1/tasks",
            json={
                "agent": "beacon",
                "goal": "busy",
                "session_id": session,
                "input": {"beacon": str(beacon)},
            },
        ).json()
        wait_for(client, running["id"], {"working"})
        refused = client.post(
            "/v1/tasks",
            json={"agent": "noop", "goal": "now?", "session_id": session, "on_busy": "reject"},
        )
        assert refused.status_code == 409 and refused.json()["code"] == "session_busy"
        newer = client.post(
            "/v1/tasks",
            json={"agent": "noop", "goal": "now!", "session_id": session, "on_busy": "interrupt"},
        )
        assert newer.status_code == 202
        assert wait_for(client, running["id"], {"canceled"}, timeout=5)["status"] == "canceled"
        assert_beacon_stops(beacon)
        assert wait_for(client, newer.json()["id"], {"completed"})["deliverable"] == {"sum": 2}


def test_sse_sends_heartbeats_while_nothing_happens(own_server: ServerProcess) -> None:
    own_server.env["BUREAU_SSE_HEARTBEAT_SECONDS"] = "0.2"
    own_server.start()
    with own_server.client() as client:
        task = client.post("/v1/tasks", json={"agent": "asker", "goal": "wait"}).json()
        wait_for(client, task["id"], {"input-required"})
        lines: list[str] = []
        with client.stream(
            "GET",
            f"/v1/tasks/{task['id']}/events",
            headers={"Accept": "text/event-stream"},
            timeout=httpx.Timeout(5),
        ) as stream:
            for line in stream.iter_lines():
                lines.append(line)
                if lines.count(": ping") >= 2:
                    break
    data = [orjson.loads(line[6:]) for line in lines if line.startswith("data: ")]
    assert [e["type"] for e in data][-1] == "question"
    assert lines.count(": ping") == 2
