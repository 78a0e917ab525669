"""One event log behind polling, long-polling and SSE (with Last-Event-ID resume)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson

from tests.support.server import ServerProcess, wait_for


def _read_sse(response: httpx.Response, stop_after: int | None = None) -> list[dict[str, Any]]:
    """Parse SSE frames until the stream ends or `stop_after` events arrived."""
    received: list[dict[str, Any]] = []
    frame: dict[str, str] = {}
    for line in response.iter_lines():
        if line == "":
            if "data" in frame:
                event = orjson.loads(frame["data"])
                assert frame["id"] == str(event["seq"]) and frame["event"] == event["type"]
                received.append(event)
                if stop_after is not None and len(received) >= stop_after:
                    return received
            frame = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(": ")
            frame[field] = value
    return received


def test_sse_resumes_with_last_event_id_without_loss_or_duplicates(server: ServerProcess) -> None:
    with server.client() as client:
        task = client.post(
            "/v1/tasks",
            json={"agent": "ticker", "goal": "tick", "input": {"count": 30, "interval": 0.03}},
        ).json()
        url = f"/v1/tasks/{task['id']}/events"
        with client.stream("GET", url, headers={"Accept": "text/event-stream"}) as first:
            assert first.headers["content-type"].startswith("text/event-stream")
            head = _read_sse(first, stop_after=8)
        resume = {"Accept": "text/event-stream", "Last-Event-ID": str(head[-1]["seq"])}
        with client.stream("GET", url, headers=resume) as second:
            tail = _read_sse(second)
    seqs = [e["seq"] for e in head + tail]
    assert seqs == list(range(1, len(seqs) + 1)), "events lost, repeated or out of order"
    assert tail[-1]["type"] == "status" and tail[-1]["data"]["status"] == "completed"
    assert sum(e["type"] == "progress" for e in head + tail) == 30


def test_polling_and_long_polling_read_the_same_log(server: ServerProcess) -> None:
    with server.client() as client:
        task = client.post("/v1/tasks", json={"agent": "asker", "goal": "poll"}).json()
        waiting = wait_for(client, task["id"], {"input-required"})
        url = f"/v1/tasks/{task['id']}/events"
        log = client.get(url).json()
        last = log["events"][-1]["seq"]
        assert log["status"] == "input-required"
        started = time.monotonic()
        empty = client.get(url, params={"after": last, "wait": 0.5}).json()
        assert empty["events"] == [] and time.monotonic() - started >= 0.45
        client.post(
            f"/v1/tasks/{task['id']}/messages",
            json={"data": "red", "question_id": waiting["question"]["id"]},
        )
        fresh = client.get(url, params={"after": last, "wait": 5}).json()["events"]
        assert fresh and fresh[0]["seq"] == last + 1 and fresh[0]["type"] == "message"
        wait_for(client, task["id"], {"completed"})
        everything = client.get(url).json()["events"]
        with client.stream("GET", url, headers={"Accept": "text/event-stream"}) as stream:
            streamed = _read_sse(stream)
    assert streamed == everything
    types = [e["type"] for e in everything]
    assert types[:2] == ["status", "status"] and types[-2:] == ["deliverable", "status"]
    assert "question" in types and "plan" in types


def test_sse_of_a_reviewed_task_ends_after_its_log(server: ServerProcess) -> None:
    with server.client() as client:
        task = client.post("/v1/tasks", json={"agent": "noop", "goal": "review then stream"}).json()
        wait_for(client, task["id"], {"completed"})
        client.post(f"/v1/tasks/{task['id']}/accept", json={"rating": 5})
        url = f"/v1/tasks/{task['id']}/events"
        with client.stream("GET", url, headers={"Accept": "text/event-stream"}) as stream:
            streamed = _read_sse(stream)
    assert [e["type"] for e in streamed][-3:] == ["deliverable", "status", "review"]


def test_shutdown_ends_open_streams_at_once(own_server: ServerProcess) -> None:
    own_server.start()
    with own_server.client() as client:
        task = client.post("/v1/tasks", json={"agent": "asker", "goal": "wait"}).json()
        wait_for(client, task["id"], {"input-required"})
        with client.stream(
            "GET", f"/v1/tasks/{task['id']}/events", headers={"Accept": "text/event-stream"}
        ) as stream:
            lines = stream.iter_lines()
            while sum(line.startswith("data: ") for line in [next(lines)]) == 0:
                pass
            started = time.monotonic()
            own_server.stop()
            rest = list(lines)
    assert time.monotonic() - started < 4, "an open stream held the shutdown"
    assert all(not line.startswith("data: ") or '"seq"' in line for line in rest)
    assert "Traceback" not in own_server.log.read_text()
