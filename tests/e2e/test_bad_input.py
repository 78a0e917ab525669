"""Every kind of bad input gets a 4xx problem+json that says what to fix, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess, wait_for


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code
    assert len(body["detail"]) > 10, "the detail must say what is wrong"
    return body


def test_malformed_json(server: ServerProcess) -> None:
    with server.client() as client:
        response = client.post(
            "/v1/tasks",
            content=b'{"agent": "noop", "goal": ',
            headers={"content-type": "application/json"},
        )
    assert "not valid JSON" in _problem(response, 400, "malformed_json")["detail"]


def test_unknown_agent_and_unknown_version(server: ServerProcess) -> None:
    with server.client() as client:
        unknown = client.post("/v1/tasks", json={"agent": "no-such-agent", "goal": "x"})
        version = client.post("/v1/tasks", json={"agent": "noop@9.9.9", "goal": "x"})
    assert "no-such-agent" in _problem(unknown, 404, "not_found")["detail"]
    assert "known versions: 1.0.0" in _problem(version, 404, "not_found")["detail"]


def test_input_that_fails_the_agent_schema(server: ServerProcess) -> None:
    with server.client() as client:
        response = client.post(
            "/v1/tasks", json={"agent": "crashable", "goal": "x", "input": {"counter": 5}}
        )
    body = _problem(response, 422, "invalid_request")
    assert "'release' is a required property" in body["detail"]
    assert {"path": "/counter", "message": "5 is not of type 'string'"} in body["errors"]


def test_request_fields_are_checked(server: ServerProcess) -> None:
    with server.client() as client:
        typo = client.post("/v1/tasks", json={"agent": "noop", "goal": "x", "inptu": {}})
        webhook = client.post(
            "/v1/tasks", json={"agent": "noop", "goal": "x", "webhook": {"url": "not a url"}}
        )
        missing = client.post("/v1/tasks", json={"agent": "noop"})
        profile = client.post("/v1/tasks", json={"agent": "noop", "goal": "x", "profile": "max"})
    assert "/inptu" in _problem(typo, 422, "invalid_request")["detail"]
    assert "/webhook/url" in _problem(webhook, 422, "invalid_request")["detail"]
    assert "/goal" in _problem(missing, 422, "invalid_request")["detail"]
    _problem(profile, 422, "invalid_request")


def test_oversized_body(server: ServerProcess) -> None:
    huge = b'{"agent": "noop", "goal": "' + b"x" * (17 * 1024 * 1024) + b'"}'
    with server.client() as client:
        response = client.post(
            "/v1/tasks", content=huge, headers={"content-type": "application/json"}
        )
    _problem(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    "header", [None, "Bearer bk_nope_nope", "Basic abc", "Bearer x", "Bearer bk_malformed"]
)
def test_missing_or_wrong_key(server: ServerProcess, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = httpx.get(f"{server.url}/v1/tasks", headers=headers)
    _problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"


def test_health_endpoints_need_no_key(server: ServerProcess) -> None:
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server.url}/readyz").json() == {"status": "ready"}
    metrics = httpx.get(f"{server.url}/metrics").text
    assert "bureau_queue_depth" in metrics and 'bureau_tasks{status="completed"}' in metrics


def test_unknown_task_and_unknown_route(server: ServerProcess) -> None:
    with server.client() as client:
        for path in (
            "/v1/tasks/task_nope",
            "/v1/tasks/task_nope/events",
            "/v1/tasks/task_nope/artifacts/x.txt",
        ):
            assert "task_nope" in _problem(client.get(path), 404, "not_found")["detail"]
        _problem(client.post("/v1/tasks/task_nope/cancel"), 404, "not_found")
        _problem(client.get("/v1/nothing-here"), 404, "not_found")


def test_reply_to_a_task_that_is_not_waiting(server: ServerProcess) -> None:
    with server.client() as client:
        task = client.post("/v1/tasks", json={"agent": "noop", "goal": "x"}).json()
        wait_for(client, task["id"], {"completed"})
        finished = client.post(f"/v1/tasks/{task['id']}/messages", json={"text": "hi"})
        _problem(finished, 409, "invalid_state")
        asker = client.post("/v1/tasks", json={"agent": "asker", "goal": "x"}).json()
        waiting = wait_for(client, asker["id"], {"input-required"})
        wrong = client.post(
            f"/v1/tasks/{asker['id']}/messages",
            json={"data": "green", "question_id": waiting["question"]["id"]},
        )
        assert "'green' is not one of" in _problem(wrong, 422, "invalid_request")["detail"]
        stale = client.post(
            f"/v1/tasks/{asker['id']}/messages", json={"data": "red", "question_id": "q_stale"}
        )
        _problem(stale, 409, "question_answered")
        empty = client.post(f"/v1/tasks/{asker['id']}/messages", json={})
        _problem(empty, 422, "invalid_request")


def test_accept_or_reject_a_task_that_is_not_completed(server: ServerProcess) -> None:
    with server.client() as client:
        task = client.post("/v1/tasks", json={"agent": "asker", "goal": "x"}).json()
        wait_for(client, task["id"], {"input-required"})
        accept = client.post(f"/v1/tasks/{task['id']}/accept", json={"rating": 5})
        assert "input-required" in _problem(accept, 409, "invalid_state")["detail"]
        _problem(
            client.post(f"/v1/tasks/{task['id']}/reject", json={"reason": "no"}),
            409,
            "invalid_state",
        )
        rating = client.post(f"/v1/tasks/{task['id']}/accept", json={"rating": 9})
        _problem(rating, 422, "invalid_request")
        _problem(client.get("/v1/tasks", params={"status": "sleeping"}), 422, "invalid_request")
        _problem(
            client.get(f"/v1/tasks/{task['id']}/events", params={"after": -1}),
            422,
            "invalid_request",
        )
