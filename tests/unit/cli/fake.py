"""An in-memory fake of Bureau's REST API, served through `httpx.MockTransport`.

It keeps tasks and their event logs, answers JSON and SSE like the real API (an SSE response
carries the events after `Last-Event-ID` and then ends, so clients resume), and replays a
csv-analyst-like run: plan, a step, a question with an enum, and after the reply the rest of
the work, an artifact and the deliverable. It also manages API keys and tenants (secrets
in the answers that issue them only) and lists one failed attempt of csv-analyst.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import orjson

from bureau.cli.main import main

API_KEY = "test-key"
URL = "http://bureau.test"
QUESTION = {
    "id": "q_1",
    "text": "Which column should I analyse?",
    "schema": {"type": "string", "enum": ["revenue", "units"]},
}
DELIVERABLE = {"answer": "North grows fastest (+50%).", "target": "revenue", "rows": 6}
REPORT = b"# Report\n\nNorth grows fastest.\n"
AGENT = {
    "name": "csv-analyst",
    "description": "CSV statistics and a report",
    "capabilities": ["data-analysis", "csv"],
    "latest_version": "1.0.0",
    "versions": ["1.0.0"],
    "price": "0.02",
    "sla": {"expected_seconds": 5, "max_seconds": 120},
    "input_schema": {"type": "object", "properties": {"csv": {"type": "string"}}},
    "reputation": {"tasks": 0},
}

FAILURE = {
    "task_id": "task_9",
    "agent_version": "1.0.0",
    "status": "failed",
    "attempt": 2,
    "error": {"code": "agent_error", "message": "no column 'x'", "type": "KeyError"},
    "traceback": "Traceback (most recent call last):\n  File \"agent.py\", line 3\nKeyError: 'x'\n",
    "at": "2025-01-01T00:00:00Z",
}
ROLE_SCOPES = {
    "viewer": ["agents:read", "tasks:read"],
    "member": ["agents:read", "tasks:read", "tasks:write"],
}


def bureau(fake: FakeBureau, *argv: str) -> int:
    """Run the `bureau` command against `fake`; returns its exit code."""
    return main(["--url", URL, "--api-key", API_KEY, *argv], transport=fake.transport)


def problem(status: int, code: str, detail: str) -> httpx.Response:
    body = {"type": f"https://bureau.dev/problems/{code}", "title": code, "status": status}
    return httpx.Response(
        status,
        content=orjson.dumps({**body, "detail": detail, "code": code}),
        headers={"content-type": "application/problem+json"},
    )


def sse_frame(event: dict[str, Any]) -> bytes:
    head = f"id: {event['seq']}\nevent: {event['type']}\ndata: ".encode()
    return head + orjson.dumps(event) + b"\n\n"


class FakeBureau:
    """The API's state and handler; `requests` records every request received."""

    def __init__(self) -> None:
        self.tasks: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[httpx.Request] = []
        self.keys: dict[str, dict[str, Any]] = {}
        self.tenants: dict[str, dict[str, Any]] = {}
        self.transport = httpx.MockTransport(self.handle)

    def bodies(self, method: str, path: str) -> list[Any]:
        """The JSON bodies of the requests to `method path`."""
        found = [r for r in self.requests if r.method == method and r.url.path == path]
        return [orjson.loads(r.content) for r in found]

    def add_event(self, task_id: str, kind: str, data: Any) -> None:
        log = self.events[task_id]
        log.append({"seq": len(log) + 1, "type": kind, "at": "2025-01-01T00:00:00Z", "data": data})
        if kind == "status":
            self.tasks[task_id]["status"] = data["status"]

    def create_task(self, body: dict[str, Any]) -> dict[str, Any]:
        task_id = f"task_{len(self.tasks) + 1}"
        self.tasks[task_id] = {
            "id": task_id,
            "agent": body["agent"].split("@")[0],
            "agent_version": "1.0.0",
            "status": "submitted",
            "review": {"status": None},
            "goal": body["goal"],
            "input": body.get("input"),
            "plan": None,
            "progress": None,
            "question": None,
            "deliverable": None,
            "artifacts": [],
            "usage": {},
            "cost": "0",
            "error": None,
            "attempt": 1,
            "revision": 1,
            "created_at": "2025-01-01T00:00:00Z",
            "started_at": None,
            "finished_at": None,
        }
        self.events[task_id] = []
        self.add_event(task_id, "status", {"status": "submitted"})
        self.run_until_question(task_id)
        return self.tasks[task_id]

    def run_until_question(self, task_id: str) -> None:
        plan = ["load the CSV", "answer the goal"]
        self.tasks[task_id].update(plan=plan, question=QUESTION)
        self.add_event(task_id, "status", {"status": "working"})
        self.add_event(task_id, "plan", plan)
        self.add_event(task_id, "step.started", {"name": "load"})
        self.add_event(task_id, "step.completed", {"name": "load", "result": {"rows": 6}})
        self.add_event(task_id, "progress", {"fraction": 0.25, "message": "loaded 6 rows"})
        self.add_event(task_id, "status", {"status": "input-required"})
        self.add_event(task_id, "question", QUESTION)

    def finish(self, task_id: str, reply: dict[str, Any]) -> None:
        artifact = {
            "name": "report.md",
            "size": len(REPORT),
            "media_type": "text/markdown",
            "url": f"/v1/tasks/{task_id}/artifacts/report.md",
        }
        self.tasks[task_id].update(question=None, deliverable=DELIVERABLE, artifacts=[artifact])
        self.add_event(task_id, "message", reply)
        self.add_event(task_id, "status", {"status": "working"})
        self.add_event(task_id, "artifact", artifact)
        self.add_event(task_id, "deliverable", {"deliverable": DELIVERABLE})
        self.add_event(task_id, "status", {"status": "completed"})
        self.tasks[task_id].update(cost="0.02", review={"status": "pending"})

    def reply(self, task_id: str, body: dict[str, Any]) -> httpx.Response:
        task = self.tasks[task_id]
        if task["status"] != "input-required":
            return problem(
                409,
                "question_answered",
                f"question is not open: task {task_id} is {task['status']}",
            )
        if body.get("data") not in QUESTION["schema"]["enum"]:
            return problem(
                422,
                "invalid_request",
                f"the reply: {body.get('data')!r} is not one of ['revenue', 'units']",
            )
        self.finish(task_id, body)
        return httpx.Response(200, json=task)

    def issue_key(self, body: dict[str, Any]) -> dict[str, Any]:
        """A new key (the view the fake keeps) with its secret (the answer only)."""
        key_id = f"key_{len(self.keys) + 1}"
        role = body.get("role", "member")
        self.keys[key_id] = {
            "id": key_id,
            "name": body["name"],
            "role": role,
            "scopes": body.get("scopes", ROLE_SCOPES.get(role, [])),
            "created_at": "2025-01-01T00:00:00Z",
            "expires_at": "2999-01-01T00:00:00Z" if body.get("expires_in_seconds") else None,
            "revoked_at": None,
            "previous_secret_until": None,
        }
        return {**self.keys[key_id], "secret": f"bk_{key_id}_s{len(self.requests)}"}

    def key_action(self, key_id: str, action: str | None, body: Any) -> httpx.Response:
        if key_id not in self.keys:
            return problem(404, "not_found", f"no key {key_id!r} in this tenant")
        key = self.keys[key_id]
        if action == "revoke":
            key["revoked_at"] = "2025-01-02T00:00:00Z"
        if action == "rotate":
            grace = (body or {}).get("grace_seconds", 3600.0)
            key["previous_secret_until"] = f"+{grace:g}s" if grace else None
            return httpx.Response(200, json={**key, "secret": f"bk_{key_id}_new"})
        return httpx.Response(200, json=key)

    def tenant_action(self, path: str, method: str, body: Any) -> httpx.Response:
        if path == "/v1/tenants" and method == "POST":
            tenant_id = f"ten_{len(self.tenants) + 1}"
            tenant = {
                "id": tenant_id,
                "name": body["name"],
                "created_at": "2025",
                "suspended": False,
            }
            self.tenants[tenant_id] = tenant
            admin = self.issue_key({"name": "admin", "role": "admin"})
            return httpx.Response(201, json={**tenant, "admin_key": admin})
        if path == "/v1/tenants":
            return httpx.Response(200, json={"tenants": list(self.tenants.values())})
        tenant_id, _, action = path.removeprefix("/v1/tenants/").rpartition("/")
        if tenant_id not in self.tenants:
            return problem(404, "not_found", f"no tenant {tenant_id!r}")
        self.tenants[tenant_id]["suspended"] = action == "suspend"
        return httpx.Response(200, json=self.tenants[tenant_id])

    def stream(self, request: httpx.Request, task_id: str) -> httpx.Response:
        after = int(request.headers.get("last-event-id") or 0)
        frames = [b"retry: 1\n\n", b": ping\n\n"]
        frames += [sse_frame(e) for e in self.events[task_id] if e["seq"] > after]
        return httpx.Response(
            200, content=iter(frames), headers={"content-type": "text/event-stream"}
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return problem(401, "unauthenticated", "missing or invalid API key")
        path, method = request.url.path, request.method
        params = request.url.params
        body = orjson.loads(request.content) if request.content else None
        if path == "/v1/agents":
            return httpx.Response(200, json={"agents": [AGENT]})
        if path == "/v1/agents/csv-analyst/failures":
            return httpx.Response(200, json={"failures": [FAILURE][: int(params["limit"])]})
        if path == "/v1/keys" and method == "POST":
            return httpx.Response(201, json=self.issue_key(body))
        if path == "/v1/keys":
            return httpx.Response(200, json={"keys": list(self.keys.values())})
        if key := re.fullmatch(r"/v1/keys/([^/]+)(?:/(\w+))?", path):
            return self.key_action(key[1], key[2], body)
        if path.startswith("/v1/tenants"):
            return self.tenant_action(path, method, body)
        if path == "/v1/tasks" and method == "POST":
            return httpx.Response(202, json=self.create_task(orjson.loads(request.content)))
        if path == "/v1/tasks":
            return httpx.Response(
                200, json={"tasks": list(self.tasks.values()), "next_cursor": None}
            )
        match = re.fullmatch(r"/v1/tasks/([^/]+)(?:/(\w+))?(?:/(.+))?", path)
        if not match or match[1] not in self.tasks:
            return problem(404, "not_found", f"no task {path.split('/')[3]!r} in this tenant")
        task_id, action = match[1], match[2]
        if action is None:
            return httpx.Response(200, json=self.tasks[task_id])
        if action == "events" and "text/event-stream" in request.headers.get("accept", ""):
            return self.stream(request, task_id)
        if action == "events":
            after = int(params.get("after", 0))
            found = [e for e in self.events[task_id] if e["seq"] > after]
            return httpx.Response(
                200, json={"events": found, "status": self.tasks[task_id]["status"]}
            )
        if action == "messages":
            return self.reply(task_id, orjson.loads(request.content))
        if action in ("accept", "reject"):
            review = {"status": f"{action}ed", **orjson.loads(request.content or b"{}")}
            self.tasks[task_id]["review"] = review
            return httpx.Response(200, json=self.tasks[task_id])
        if action == "artifacts" and match[3] == "report.md":
            return httpx.Response(200, content=REPORT, headers={"content-type": "text/markdown"})
        return problem(404, "not_found", "no such endpoint")
