"""Tenancy on the protocol doors: tenant B's key can neither see nor touch tenant A's tasks
through A2A or MCP, and a key without a scope is told which scope it lacks.

As `test_tenancy.py` derives REST's routes from the OpenAPI document, the operations here
come from what the doors mount: every JSON-RPC method the a2a-sdk dispatcher registers (1.0
and its 0.3 adapter), every HTTP+JSON route under `/a2a/{agent}` (the `/{tenant}/` ones
too), the MCP server's request handlers and its `bureau_*` tools. An operation added
without a case here fails.

Each operation is tried on three tasks of tenant A, parked on a question with a webhook:
dispatched over REST, over A2A and over MCP. Tenant B's answer must be the answer for a
task that does not exist (the id aside), A's viewer key proves the same request reaches A's
task (it reads it, or is refused for `tasks:write` after finding it), a key with no scope
is told which scope it lacks, no key gets 401, and A's tasks (their fields, their event logs,
their webhooks) read back the same afterwards. Both backends; a server of the module's own,
whose log must stay free of tracebacks.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest.mock import Mock

import httpx
import pytest
from a2a.server.routes.jsonrpc_dispatcher import JsonRpcDispatcher
from fastapi import FastAPI
from starlette.routing import BaseRoute, Mount

from bureau.interop import a2a as a2a_door
from bureau.interop._mcp_tools import BUREAU_TOOLS
from bureau.interop.mcp import build_server
from tests.conftest import LOOPBACK
from tests.e2e.test_webhooks import Receiver
from tests.support.databases import database_for
from tests.support.server import ServerProcess, wait_for
from tests.support.wire import LEGACY, MODERN, Answer, LogWindow, mcp_request, send

INTEROP_AGENTS = str(Path(__file__).parents[1] / "support" / "interop_publisher_agents.py")
PRIVATE, GHOST_AGENT = "it-private", "it-nobody"
GHOST_TASK = "task_" + "0" * 26
ELSEWHERE = "https://example.com/b-hook"
"""A webhook URL any tenant may set (public): a refusal is never about the URL."""


# -- the world: tenants A and B, A's keys, A's tasks ------------------------------------


@dataclass(frozen=True)
class TaskOfA:
    door: str
    id: str
    config_id: str
    question_id: str


@dataclass
class World:
    server: ServerProcess
    tenant_a: str
    admin_a: str
    viewer_a: str
    bare_a: str
    admin_b: str
    tasks: list[TaskOfA]

    def client(self, key: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.server.url, headers=headers, timeout=15)

    def snapshot(self) -> list[Any]:
        """What A sees of its tasks: every field, the event log, the webhook."""
        with self.client(self.admin_a) as a:
            return [
                (a.get(f"/v1/tasks/{t.id}").json(), a.get(f"/v1/tasks/{t.id}/events").json())
                for t in self.tasks
            ]


@pytest.fixture(scope="module")
def world(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    receiver = Receiver(failures=0)
    with database_for(backend) as settings:
        server = ServerProcess(
            tmp_path_factory.mktemp(f"interop-tenancy-{backend}"),
            lease_seconds=3,
            webhook_allowed_networks=LOOPBACK,
            **settings,
        )
        server.start()
        worker: ServerProcess | None = None
        try:
            with server.client() as operator:
                a, b = (
                    operator.post("/v1/tenants", json={"name": n}).json()
                    for n in ("interop A", "interop B")
                )
            admin_a = a["admin_key"]["secret"]
            with _client(server, admin_a) as rest:
                keys = {
                    name: rest.post("/v1/keys", json={"name": name, **body}).json()["secret"]
                    for name, body in {
                        "viewer": {"role": "viewer"},
                        "bare": {"role": "admin", "scopes": []},
                        "worker": {"role": "publisher"},
                    }.items()
                }
            worker = ServerProcess(
                server.data_dir,
                "worker",
                agents=INTEROP_AGENTS,
                publisher_key=keys["worker"],
                **settings,
            )
            worker.start()
            tasks = _tasks_of_a(server, admin_a, receiver.url)
            yield World(
                server=server,
                tenant_a=a["id"],
                admin_a=admin_a,
                viewer_a=keys["viewer"],
                bare_a=keys["bare"],
                admin_b=b["admin_key"]["secret"],
                tasks=tasks,
            )
            with _client(server, admin_a) as rest:
                for task in tasks:  # no webhook first: the cancel then notifies nobody
                    unhook = _rpc_call("DeleteTaskPushNotificationConfig", _push_id(task))
                    rest.post("/a2a/asker/jsonrpc", json=unhook, headers={"A2A-Version": "1.0"})
                    rest.post(f"/v1/tasks/{task.id}/cancel")
        finally:
            if worker is not None:
                worker.stop()
            server.stop()
            receiver.http.shutdown()
            receiver.http.server_close()


def _client(server: ServerProcess, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=15)


def _push_id(task: TaskOfA) -> dict[str, str]:
    return {"taskId": task.id, "id": task.config_id}


def _rpc_call(method: str, params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}


def _a2a_rpc(client: httpx.Client, agent: str, method: str, params: Any) -> Any:
    """An A2A 1.0 JSON-RPC call that must succeed; its result."""
    call = _rpc_call(method, params)
    answer = client.post(f"/a2a/{agent}/jsonrpc", json=call, headers={"A2A-Version": "1.0"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "result" in body, body
    return body["result"]


def _tasks_of_a(server: ServerProcess, key: str, hook: str) -> list[TaskOfA]:
    """Three `asker` tasks of A, one per door, each waiting for its answer, each with a
    push-notification config (a webhook) of its own id."""
    with _client(server, key) as rest:
        by_rest = rest.post(
            "/v1/tasks", json={"agent": "asker", "goal": "A's, over REST", "webhook": {"url": hook}}
        ).json()["id"]
        message = {
            "messageId": f"m-{uuid.uuid4()}",
            "role": "ROLE_USER",
            "parts": [{"text": "A's, over A2A"}],
        }
        configuration = {
            "returnImmediately": True,
            "taskPushNotificationConfig": {"url": hook, "id": "cfg-a2a"},
        }
        sent = _a2a_rpc(
            rest, "asker", "SendMessage", {"message": message, "configuration": configuration}
        )
        by_a2a = sent["task"]["id"]
        created = mcp_request(
            server,
            key,
            "tools/call",
            {"name": "asker", "arguments": {"goal": "A's, over MCP"}},
            extension=True,
        )
        by_mcp = created.payload["result"]["taskId"]
        config = {"taskId": by_mcp, "url": hook, "id": "cfg-mcp"}
        _a2a_rpc(rest, "asker", "CreateTaskPushNotificationConfig", config)
        tasks = []
        for door, task_id, config_id in (
            ("REST", by_rest, by_rest),
            ("A2A", by_a2a, "cfg-a2a"),
            ("MCP", by_mcp, "cfg-mcp"),
        ):
            waiting = wait_for(rest, task_id, {"input-required"})
            assert waiting["webhook"]["url"].startswith(hook), waiting
            tasks.append(TaskOfA(door, task_id, config_id, waiting["question"]["id"]))
    return tasks


# -- the A2A door's operations, derived from what it mounts ---------------------------------


def _routes(app: Any) -> list[BaseRoute]:
    """The route table under an ASGI wrapper chain (auth, media types, ...)."""
    while not hasattr(app, "routes"):
        app = app.app
    return list(app.routes)


def _flatten(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    for route in routes:
        if isinstance(route, Mount):
            yield from _flatten(route.routes, prefix + route.path)
        else:
            yield prefix + route.path, route  # type: ignore[attr-defined]


def a2a_operations() -> list[str]:
    """`POST /jsonrpc GetTask`, `GET /rest/tasks/{id}`, ...: every JSON-RPC method on every
    JSON-RPC route and every HTTP+JSON route the door mounts under `/a2a/{agent}`."""
    app = FastAPI()
    a2a_door.install(app, Mock())
    (mount,) = [r for r in app.router.routes if isinstance(r, Mount) and r.path == "/a2a/{agent}"]
    operations = []
    for path, route in _flatten(_routes(mount.app)):
        endpoint = getattr(route, "endpoint", None)
        dispatcher = getattr(endpoint, "__self__", None)
        if isinstance(dispatcher, JsonRpcDispatcher):
            methods = list(dispatcher.METHOD_TO_MODEL)
            if dispatcher._v03_adapter is not None:
                methods += list(dispatcher._v03_adapter.METHOD_TO_MODEL)
            operations += [f"POST {path} {m}" for m in methods]
        else:
            operations += [f"{m} {path}" for m in sorted(route.methods or ()) if m != "HEAD"]  # type: ignore[attr-defined]
    return operations


@dataclass(frozen=True)
class Case:
    """How one operation is called and what it may answer."""

    on: str
    """`task` (one of A's tasks), `list` (the agent's tasks), `agent` (A's private agent)."""
    body: Callable[[TaskOfA, str], Any] | None = None
    """The JSON-RPC params or the HTTP body, of A's task and A's tenant id."""
    write: bool = False
    """Needs `tasks:write` (a viewer is refused); else a viewer succeeds."""
    version: str = "1.0"
    """The `A2A-Version` header ('' for 0.3: none)."""
    scoped: bool = True
    """Needs a scope at all (a key without scopes is refused)."""
    visible: bool = True
    """`agent` only: A's viewer gets a success (else everyone gets the same refusal)."""


def _message(task: TaskOfA, tenant: str) -> dict[str, Any]:
    message = {"messageId": "m-tenancy", "role": "ROLE_USER", "parts": [{"text": "red"}]}
    return {
        "message": {**message, "taskId": task.id},
        "configuration": {"returnImmediately": True},
        "tenant": tenant,
    }


def _message_0_3(task: TaskOfA, tenant: str) -> dict[str, Any]:
    parts = [{"kind": "text", "text": "red"}]
    message = {"kind": "message", "messageId": "m-tenancy", "role": "user", "parts": parts}
    return {"message": {**message, "taskId": task.id}, "configuration": {"blocking": False}}


def _id(task: TaskOfA, tenant: str) -> dict[str, str]:
    return {"id": task.id, "tenant": tenant}


def _push(task: TaskOfA, tenant: str) -> dict[str, str]:
    return {"taskId": task.id, "id": task.config_id, "tenant": tenant}


def _new_push(task: TaskOfA, tenant: str) -> dict[str, str]:
    return {"taskId": task.id, "id": task.config_id, "url": ELSEWHERE, "tenant": tenant}


def _push_0_3(task: TaskOfA, tenant: str) -> dict[str, str]:
    return {"id": task.id, "pushNotificationConfigId": task.config_id}


JSONRPC: dict[str, Case] = {
    "SendMessage": Case("task", _message, write=True),
    "SendStreamingMessage": Case("task", _message, write=True),
    "GetTask": Case("task", _id),
    "ListTasks": Case("list", lambda t, tenant: {"tenant": tenant}),
    "CancelTask": Case("task", _id, write=True),
    "CreateTaskPushNotificationConfig": Case("task", _new_push, write=True),
    "GetTaskPushNotificationConfig": Case("task", _push),
    "ListTaskPushNotificationConfigs": Case("task", lambda t, tenant: {"taskId": t.id}),
    "DeleteTaskPushNotificationConfig": Case("task", _push, write=True),
    "SubscribeToTask": Case("task", _id),
    "GetExtendedAgentCard": Case("agent", lambda t, tenant: {}, scoped=False, visible=False),
    "message/send": Case("task", _message_0_3, write=True, version=""),
    "message/stream": Case("task", _message_0_3, write=True, version=""),
    "tasks/get": Case("task", lambda t, tenant: {"id": t.id}, version=""),
    "tasks/cancel": Case("task", lambda t, tenant: {"id": t.id}, write=True, version=""),
    "tasks/pushNotificationConfig/set": Case(
        "task",
        lambda t, tenant: {
            "taskId": t.id,
            "pushNotificationConfig": {"id": t.config_id, "url": ELSEWHERE},
        },
        write=True,
        version="",
    ),
    "tasks/pushNotificationConfig/get": Case("task", _push_0_3, version=""),
    "tasks/pushNotificationConfig/list": Case("task", lambda t, tenant: {"id": t.id}, version=""),
    "tasks/pushNotificationConfig/delete": Case("task", _push_0_3, write=True, version=""),
    "tasks/resubscribe": Case("task", lambda t, tenant: {"id": t.id}, version=""),
    "agent/getAuthenticatedExtendedCard": Case(
        "agent", lambda t, tenant: {}, version="", scoped=False, visible=False
    ),
}
"""Every JSON-RPC method (1.0 names, then 0.3's), as B would call it on A's task."""

HTTP: dict[str, Case] = {
    "GET /.well-known/agent-card.json": Case("agent", version=""),
    "GET /v0.3/.well-known/agent-card.json": Case("agent", version=""),
    "POST /rest/message:send": Case("task", _message, write=True),
    "POST /rest/message:stream": Case("task", _message, write=True),
    "POST /rest/tasks/{id}:cancel": Case("task", write=True),
    "GET /rest/tasks/{id}:subscribe": Case("task"),
    "POST /rest/tasks/{id}:subscribe": Case("task"),
    "GET /rest/tasks/{id}": Case("task"),
    "GET /rest/tasks/{id}/pushNotificationConfigs/{push_id}": Case("task"),
    "DELETE /rest/tasks/{id}/pushNotificationConfigs/{push_id}": Case("task", write=True),
    "POST /rest/tasks/{id}/pushNotificationConfigs": Case(
        "task", lambda t, tenant: {"id": t.config_id, "url": ELSEWHERE}, write=True
    ),
    "GET /rest/tasks/{id}/pushNotificationConfigs": Case("task"),
    "GET /rest/tasks": Case("list"),
    "GET /rest/extendedAgentCard": Case("agent", scoped=False, visible=False),
    "POST /rest/v1/message:send": Case(
        "task",
        lambda t, tenant: {
            "message": {
                "messageId": "m-tenancy",
                "taskId": t.id,
                "role": "ROLE_USER",
                "content": [{"text": "red"}],
            },
            "configuration": {"blocking": False},
        },
        write=True,
        version="",
    ),
    "POST /rest/v1/message:stream": Case(
        "task",
        lambda t, tenant: {
            "message": {
                "messageId": "m-tenancy",
                "taskId": t.id,
                "role": "ROLE_USER",
                "content": [{"text": "red"}],
            }
        },
        write=True,
        version="",
    ),
    "POST /rest/v1/tasks/{id}:cancel": Case("task", write=True, version=""),
    "GET /rest/v1/tasks/{id}:subscribe": Case("task", version=""),
    "POST /rest/v1/tasks/{id}:subscribe": Case("task", version=""),
    "GET /rest/v1/tasks/{id}": Case("task", version=""),
    "GET /rest/v1/tasks/{id}/pushNotificationConfigs/{push_id}": Case("task", version=""),
    "POST /rest/v1/tasks/{id}/pushNotificationConfigs": Case(
        "task",
        lambda t, tenant: {
            "parent": f"tasks/{t.id}",
            "configId": t.config_id,
            "config": {
                "name": f"tasks/{t.id}/pushNotificationConfigs/{t.config_id}",
                "pushNotificationConfig": {"id": t.config_id, "url": ELSEWHERE},
            },
        },
        write=True,
        version="",
    ),
    "GET /rest/v1/tasks/{id}/pushNotificationConfigs": Case("task", version=""),
    "GET /rest/v1/card": Case("agent", version="", scoped=False, visible=False),
}
"""Every HTTP+JSON route (the 1.0 ones, also under `/{tenant}/`, and 0.3's under `/rest/v1`)."""


def _case_of(operation: str) -> Case | None:
    method, path, *rpc = operation.split(" ")
    if rpc:
        return JSONRPC.get(rpc[0])
    return HTTP.get(f"{method} {path.removeprefix('/{tenant}')}")


def _a2a_params() -> list[Any]:
    return [pytest.param(operation, id=operation) for operation in a2a_operations()]


def test_every_operation_of_the_doors_has_a_case() -> None:
    """The derived operations and the tables agree both ways (a new operation needs a case;
    a case of an operation the door no longer has is stale)."""
    operations = a2a_operations()
    assert len(operations) >= 50, operations
    missing = [op for op in operations if _case_of(op) is None]
    assert not missing, f"add a tenancy case to JSONRPC or HTTP for: {missing}"
    rpc = {op.split(" ")[2] for op in operations if op.startswith("POST /jsonrpc ")}
    http = {op.replace("/{tenant}", "") for op in operations if " /jsonrpc" not in op}
    assert rpc == set(JSONRPC) and http == set(HTTP), "stale cases"
    assert {op for op, _ in MCP_OPERATIONS} == _mcp_operations(), "add (or drop) an MCP case"


def _a2a_call(world: World, operation: str, key: str | None, task: TaskOfA, agent: str) -> Answer:
    case = _case_of(operation)
    assert case is not None
    method, path, *rpc = operation.split(" ")
    body = case.body(task, world.tenant_a) if case.body else None
    headers = {"A2A-Version": case.version} if case.version else {}
    filled = path.format(id=task.id, push_id=task.config_id, tenant=world.tenant_a)
    with world.client(key) as client:
        if rpc:
            call = _rpc_call(rpc[0], body)
            return send(client, method, f"/a2a/{agent}{filled}", json=call, headers=headers)
        return send(client, method, f"/a2a/{agent}{filled}", json=body, headers=headers)


def _ghost(task: TaskOfA) -> TaskOfA:
    return TaskOfA(task.door, GHOST_TASK, task.config_id.replace(task.id, GHOST_TASK), "q_ghost")


def _not_found(answer: Answer, operation: str) -> bool:
    if " /jsonrpc" in operation:
        return answer.rpc_code() == -32001  # TaskNotFoundError, 1.0 and 0.3
    return answer.status == 404


@pytest.mark.parametrize("operation", _a2a_params())
def test_a2a_operation_keeps_to_the_callers_tenant(world: World, operation: str) -> None:
    case = _case_of(operation)
    assert case is not None, f"{operation}: add a tenancy case (JSONRPC or HTTP)"
    before, log = world.snapshot(), LogWindow(world.server)
    a_ids = [t.id for t in world.tasks]
    for task in world.tasks if case.on != "agent" else world.tasks[:1]:
        where = f"{operation} on A's task over {task.door}"
        agent = PRIVATE if case.on == "agent" else "asker"

        for key in (None, "bk_wrong"):
            refused = _a2a_call(world, operation, key, task, agent)
            assert refused.status == 401, f"{where}, key {key}: {refused.describe()}"

        other = _a2a_call(world, operation, world.admin_b, task, agent)
        viewer = _a2a_call(world, operation, world.viewer_a, task, agent)
        bare = _a2a_call(world, operation, world.bare_a, task, agent)
        if case.on == "task":
            ghost = _a2a_call(world, operation, world.admin_b, _ghost(task), agent)
            assert _not_found(other, operation), f"{where}, B: {other.describe()}"
            assert "no task" in other.error(), f"{where}, B: {other.describe()}"
            same = other.body.replace(task.id, GHOST_TASK)
            assert (other.status, same) == (ghost.status, ghost.body), (
                f"{where}: B's answer tells A's task from a missing one"
            )
        elif case.on == "list":
            assert other.succeeded(), f"{where}, B: {other.describe()}"
            assert not any(i in other.body for i in a_ids), f"{where}: B sees A's tasks"
            assert all(i in viewer.body for i in a_ids), (
                f"{where}: A's own list: {viewer.describe()}"
            )
        else:
            ghost = _a2a_call(world, operation, world.admin_b, task, GHOST_AGENT)
            same = other.body.replace(PRIVATE, GHOST_AGENT)
            assert (other.status, same) == (ghost.status, ghost.body), (
                f"{where}: B's answer tells A's private agent from a missing one"
            )
            assert not other.succeeded() or not case.visible, f"{where}, B: {other.describe()}"
        if case.on == "task" and case.write:
            assert "needs the scope 'tasks:write'" in viewer.error(), (
                f"{where}, viewer: {viewer.describe()}"
            )
            assert 400 <= viewer.status < 500 or viewer.rpc_code(), where
        elif case.visible:
            assert viewer.succeeded(), f"{where}, viewer: {viewer.describe()}"
            if case.on == "task":
                assert task.id in viewer.body, f"{where}, viewer: {viewer.describe()}"
        if case.scoped:
            assert "needs the scope" in bare.error(), f"{where}, no scope: {bare.describe()}"
    assert world.snapshot() == before, f"{operation} changed A's tasks"
    log.assert_clean(operation)


# -- A's private agent --------------------------------------------------------------------


def test_a_private_agent_is_invisible_to_another_tenant(world: World) -> None:
    """B can neither see A's private agent nor dispatch to it, through either door; each
    refusal is the one a missing agent gets (the name aside). A sees and uses it."""
    log = LogWindow(world.server)
    message = {
        "message": {"messageId": "m-private", "role": "ROLE_USER", "parts": [{"text": "hi"}]},
        "configuration": {"returnImmediately": True},
    }
    message_0_3 = {
        "message": {
            "kind": "message",
            "messageId": "m-private",
            "role": "user",
            "parts": [{"kind": "text", "text": "hi"}],
        },
        "configuration": {"blocking": False},
    }
    sends = [
        ("/jsonrpc", _rpc_call("SendMessage", message), "1.0"),
        ("/jsonrpc", _rpc_call("message/send", message_0_3), ""),
        ("/rest/message:send", message, "1.0"),
    ]
    for path, body, version in sends:
        headers = {"A2A-Version": version} if version else {}
        answers = {}
        for key, agent in (
            (world.admin_b, PRIVATE),
            (world.admin_b, GHOST_AGENT),
            (world.admin_a, PRIVATE),
        ):
            with world.client(key) as client:
                answers[key, agent] = send(
                    client, "POST", f"/a2a/{agent}{path}", json=body, headers=headers
                )
        other, ghost = answers[world.admin_b, PRIVATE], answers[world.admin_b, GHOST_AGENT]
        assert not other.succeeded() and PRIVATE in other.error(), f"{path}: {other.describe()}"
        assert (other.status, other.body.replace(PRIVATE, GHOST_AGENT)) == (
            ghost.status,
            ghost.body,
        ), f"{path}: B's answer tells A's private agent from a missing one"
        own = answers[world.admin_a, PRIVATE]
        assert own.succeeded(), f"{path}, A: {own.describe()}"

    with world.client(world.admin_b) as b, world.client(world.admin_a) as a:
        assert PRIVATE not in b.get("/.well-known/agent-card.json").text
        assert PRIVATE in a.get("/.well-known/agent-card.json").text
        assert PRIVATE not in b.get("/v1/agents").text, "REST agrees"
    log.assert_clean("dispatching to a private agent")


# -- the MCP door's operations, derived from its server ------------------------------------


def _mcp_operations() -> set[str]:
    """Every request method the MCP server answers, `tools/call` once per kind of tool."""
    methods = set(build_server(Mock())._request_handlers) - {"tools/call"}
    tools = {f"tools/call {tool.name}" for tool in BUREAU_TOOLS} | {"tools/call <agent>"}
    return methods | tools


@dataclass(frozen=True)
class McpCase:
    method: str
    params: Callable[[TaskOfA], dict[str, Any]]
    on: str
    """`task` (A's task), `agent` (A's private agent), `catalog` (tools/list), `none`."""
    write: bool = False
    eras: tuple[str, ...] = (MODERN, LEGACY)
    extension: bool = False
    scoped: bool = True


def _tool(name: str, **arguments: Any) -> Callable[[TaskOfA], dict[str, Any]]:
    def params(task: TaskOfA) -> dict[str, Any]:
        filled = {k: v(task) if callable(v) else v for k, v in arguments.items()}
        return {"name": name, "arguments": filled}

    return params


def _task_id(task: TaskOfA) -> str:
    return task.id


MCP_OPERATIONS: list[tuple[str, McpCase]] = [
    ("ping", McpCase("ping", lambda t: {}, "none", eras=(LEGACY,), scoped=False)),
    (
        "server/discover",
        McpCase("server/discover", lambda t: {}, "none", eras=(MODERN,), scoped=False),
    ),
    ("tools/list", McpCase("tools/list", lambda t: {}, "catalog")),
    (
        "tools/call <agent>",
        McpCase("tools/call", lambda t: {"name": PRIVATE, "arguments": {"goal": "x"}}, "agent"),
    ),
    (
        "tools/call bureau_dispatch",
        McpCase("tools/call", _tool("bureau_dispatch", agent=PRIVATE, goal="x"), "agent"),
    ),
    (
        "tools/call bureau_get_task",
        McpCase("tools/call", _tool("bureau_get_task", task_id=_task_id), "task"),
    ),
    (
        "tools/call bureau_reply",
        McpCase(
            "tools/call",
            _tool(
                "bureau_reply",
                task_id=_task_id,
                question_id=lambda t: t.question_id,
                answer="red",
            ),
            "task",
            write=True,
        ),
    ),
    (
        "tools/call bureau_cancel",
        McpCase("tools/call", _tool("bureau_cancel", task_id=_task_id), "task", write=True),
    ),
    (
        "tasks/get",
        McpCase("tasks/get", lambda t: {"taskId": t.id}, "task", eras=(MODERN,), extension=True),
    ),
    (
        "tasks/update",
        McpCase(
            "tasks/update",
            lambda t: {
                "taskId": t.id,
                "inputResponses": {
                    t.question_id: {"action": "accept", "content": {"answer": "red"}}
                },
            },
            "task",
            write=True,
            eras=(MODERN,),
            extension=True,
        ),
    ),
    (
        "tasks/cancel",
        McpCase(
            "tasks/cancel",
            lambda t: {"taskId": t.id},
            "task",
            write=True,
            eras=(MODERN,),
            extension=True,
        ),
    ),
]
"""Every MCP operation, as B would call it on A's task or A's private agent."""


def _mcp_params() -> list[Any]:
    return [
        pytest.param(name, case, era, id=f"{name} {era}")
        for name, case in MCP_OPERATIONS
        for era in case.eras
    ]


def _ghost_params(case: McpCase, task: TaskOfA) -> dict[str, Any]:
    text = json.dumps(case.params(task)).replace(task.id, GHOST_TASK)
    return dict(json.loads(text.replace(PRIVATE, GHOST_AGENT)))


@pytest.mark.parametrize(("name", "case", "era"), _mcp_params())
def test_mcp_operation_keeps_to_the_callers_tenant(
    world: World, name: str, case: McpCase, era: str
) -> None:
    before, log = world.snapshot(), LogWindow(world.server)
    a_ids = [t.id for t in world.tasks]
    for task in world.tasks if case.on == "task" else world.tasks[:1]:
        where = f"{name} ({era}) on A's task over {task.door}"
        params = case.params(task)

        def call(key: str | None, params: dict[str, Any] = params) -> Answer:
            return mcp_request(
                world.server, key, case.method, params, era=era, extension=case.extension
            )

        for key in (None, "bk_wrong"):
            refused = call(key)
            assert refused.status == 401, f"{where}, key {key}: {refused.describe()}"
        other, viewer, bare = call(world.admin_b), call(world.viewer_a), call(world.bare_a)
        if case.on in ("task", "agent"):
            ghost = call(world.admin_b, _ghost_params(case, task))
            same = other.body.replace(task.id, GHOST_TASK).replace(PRIVATE, GHOST_AGENT)
            assert (other.status, same) == (ghost.status, ghost.body), (
                f"{where}: B's answer tells A's {case.on} from a missing one: "
                f"{other.body} / {ghost.body}"
            )
            assert not other.succeeded(), f"{where}, B: {other.describe()}"
            refusal = other.error()
            assert ("no task" if case.on == "task" else PRIVATE) in refusal, f"{where}: {refusal}"
        elif case.on == "catalog":
            names = [t["name"] for t in other.payload["result"]["tools"]]
            assert "asker" in names and PRIVATE not in names, f"{where}, B: {names}"
            assert PRIVATE in [t["name"] for t in viewer.payload["result"]["tools"]], where
        else:
            assert not any(i in other.body for i in [*a_ids, PRIVATE]), (
                f"{where}: {other.describe()}"
            )
        if case.on == "task" and case.write:
            assert "needs the scope 'tasks:write'" in viewer.error(), (
                f"{where}: {viewer.describe()}"
            )
        elif case.on == "task":
            assert viewer.succeeded() and task.id in viewer.body, f"{where}: {viewer.describe()}"
        elif case.on == "agent":
            # with the tasks extension, so that the call does not wait for the task
            own = mcp_request(world.server, world.admin_a, case.method, params, extension=True)
            assert own.succeeded(), f"{where}, A: {own.describe()}"
        if case.scoped:
            assert "needs the scope" in bare.error(), f"{where}, no scope: {bare.describe()}"
    assert world.snapshot() == before, f"{name} changed A's tasks"
    log.assert_clean(f"{name} ({era})")
