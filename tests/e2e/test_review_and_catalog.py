"""Review (accept / reject / redo / auto-accept), the catalog, artifacts and OpenAPI."""

from __future__ import annotations

import time

import httpx

from tests.support.server import ServerProcess, wait_for


def test_accept_with_rating_and_reputation(server: ServerProcess) -> None:
    with server.client() as client:
        task = client.post("/v1/tasks", json={"agent": "noop", "goal": "rate me"}).json()
        done = wait_for(client, task["id"], {"completed"})
        assert done["review"]["status"] == "pending" and done["cost"] == "0.01"
        accepted = client.post(
            f"/v1/tasks/{task['id']}/accept", json={"rating": 4, "comment": "good"}
        ).json()
        assert accepted["review"]["status"] == "accepted"
        assert accepted["review"]["rating"] == 4
        again = client.post(f"/v1/tasks/{task['id']}/accept", json={})
        assert again.status_code == 409
        noop = client.get("/v1/agents/noop").json()
    assert noop["reputation"]["acceptance_rate"] == 1.0
    assert noop["reputation"]["rating"] == 4.0
    assert noop["versions"][0]["price"] == "0.01"


def test_reject_with_redo_runs_again_with_the_feedback(server: ServerProcess) -> None:
    with server.client() as client:
        task = client.post(
            "/v1/tasks", json={"agent": "redoable", "goal": "write", "input": {"topic": "x"}}
        ).json()
        first = wait_for(client, task["id"], {"completed"})
        assert first["deliverable"]["feedback_seen"] is None
        redo = client.post(
            f"/v1/tasks/{task['id']}/reject", json={"reason": "too short", "redo": True}
        ).json()
        assert redo["status"] == "submitted" and redo["revision"] == 2
        second = wait_for(client, task["id"], {"completed"})
        assert second["deliverable"]["feedback_seen"] == "too short"
        rejected = client.post(f"/v1/tasks/{task['id']}/reject", json={"reason": "still no"})
        assert rejected.json()["review"]["status"] == "rejected"
        assert rejected.json()["status"] == "completed"


def test_unreviewed_deliverables_are_accepted_automatically(own_server: ServerProcess) -> None:
    own_server.env["BUREAU_AUTO_ACCEPT_SECONDS"] = "0.5"
    own_server.start()
    with own_server.client() as client:
        task = client.post("/v1/tasks", json={"agent": "noop", "goal": "auto"}).json()
        wait_for(client, task["id"], {"completed"})
        deadline = time.monotonic() + 10
        while client.get(f"/v1/tasks/{task['id']}").json()["review"]["status"] != "accepted":
            assert time.monotonic() < deadline, "auto-accept never happened"
            time.sleep(0.1)
        review = client.get(f"/v1/tasks/{task['id']}").json()["review"]
    assert review["auto"] is True


def test_catalog_search_and_openapi(server: ServerProcess) -> None:
    with server.client() as client:
        catalog = client.get("/v1/agents").json()["agents"]
        names = {a["name"] for a in catalog}
        assert {"noop", "asker", "crashable", "parent"} <= names
        found = client.get("/v1/agents", params={"q": "delegates"}).json()["agents"]
        assert [a["name"] for a in found] == ["parent"]
        crashable = next(a for a in catalog if a["name"] == "crashable")
        assert crashable["input_schema"]["required"] == ["counter", "release"]
        assert client.get("/v1/agents/nope").status_code == 404
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    for path in (
        "/v1/agents",
        "/v1/agents/{name}",
        "/v1/tasks",
        "/v1/tasks/{task_id}",
        "/v1/tasks/{task_id}/events",
        "/v1/tasks/{task_id}/messages",
        "/v1/tasks/{task_id}/cancel",
        "/v1/tasks/{task_id}/accept",
        "/v1/tasks/{task_id}/reject",
        "/v1/tasks/{task_id}/artifacts/{name}",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert path in spec["paths"], path


def test_list_is_newest_first_with_a_cursor(server: ServerProcess) -> None:
    with server.client() as client:
        ids = [
            client.post("/v1/tasks", json={"agent": "noop", "goal": f"page {i}"}).json()["id"]
            for i in range(3)
        ]
        page = client.get("/v1/tasks", params={"limit": 2}).json()
        assert [t["id"] for t in page["tasks"]] == ids[::-1][:2]
        rest = client.get("/v1/tasks", params={"limit": 2, "cursor": page["next_cursor"]}).json()
        assert rest["tasks"][0]["id"] == ids[0]
