"""The MCP door (`/mcp`) through the official `mcp` client, on a real server, both backends.

Clients of both eras: 2026-07-28 (stateless, with and without the tasks extension
`io.modelcontextprotocol/tasks`) and 2025-11-25 (`mode="legacy"`). What they see is
checked against REST: the same tasks, ids, catalog, tenancy and scopes.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx
import httpx2
import mcp_types as types
import pytest
from mcp import Client, MCPError
from mcp.client import ClaimContext, ClientExtension, ResultClaim
from mcp.client.streamable_http import streamable_http_client
from pydantic import Field

from tests.support.server import ServerProcess, wait_for

TASKS = "io.modelcontextprotocol/tasks"
BUREAU_TOOLS = {"bureau_dispatch", "bureau_get_task", "bureau_reply", "bureau_cancel"}
PUBLISHER_AGENTS = str(Path(__file__).parents[1] / "support" / "mcp_publisher_agents.py")


class TaskIdParams(types.RequestParams):
    task_id: str = Field(alias="taskId")


class UpdateTaskParams(TaskIdParams):
    input_responses: dict[str, Any] = Field(alias="inputResponses")


class GetTask(types.Request[TaskIdParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    params: TaskIdParams
    name_param = "taskId"


class UpdateTask(types.Request[UpdateTaskParams, Literal["tasks/update"]]):
    method: Literal["tasks/update"] = "tasks/update"
    params: UpdateTaskParams
    name_param = "taskId"


class CancelTask(types.Request[TaskIdParams, Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"
    params: TaskIdParams
    name_param = "taskId"


class TaskFields(types.Result):
    """The extension's `Task`, as a task-augmented `tools/call` returns it."""

    model_config = {"extra": "allow"}
    task_id: str
    status: str
    created_at: str
    last_updated_at: str
    ttl_ms: int | None
    poll_interval_ms: int | None = None
    status_message: str | None = None


class CreatedTask(TaskFields):
    result_type: Literal["task"] = "task"


class TaskState(TaskFields):
    """`tasks/get`'s answer: the task, with its questions or its result."""

    input_requests: dict[str, Any] | None = None
    result: dict[str, Any] | None = None


class TasksClient(ClientExtension):
    """The tasks extension, client side: a task a call returns is polled to its end."""

    identifier = TASKS

    def claims(self) -> Sequence[ResultClaim[Any]]:
        return [ResultClaim(result_type="task", model=CreatedTask, resolve=self._resolve)]

    async def _resolve(self, created: CreatedTask, context: ClaimContext) -> types.CallToolResult:
        task = await poll(context.session, created.task_id, {"completed", "cancelled"})
        return types.CallToolResult.model_validate(task.result)


async def get_task(session: Any, task_id: str) -> TaskState:
    state: TaskState = await session.send_request(
        GetTask(params=TaskIdParams(taskId=task_id)), TaskState
    )
    return state


async def poll(session: Any, task_id: str, statuses: set[str], seconds: float = 15) -> TaskState:
    deadline = time.monotonic() + seconds
    while True:
        task = await get_task(session, task_id)
        if task.status in statuses or time.monotonic() > deadline:
            assert task.status in statuses, f"task {task_id} stayed {task.status}"
            return task
        await anyio.sleep(0.05)


@asynccontextmanager
async def connect(
    server: ServerProcess,
    key: str | None = None,
    *,
    mode: str = "auto",
    extensions: Sequence[ClientExtension] = (),
) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {key or server.key}"}
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=60))
    transport = streamable_http_client(f"{server.url}/mcp", http_client=http)
    async with http, Client(transport, mode=mode, extensions=list(extensions)) as client:
        yield client


def rest(server: ServerProcess, key: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key or server.key}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


def texts(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


@dataclass
class Keys:
    member: str
    viewer: str
    no_scope: str
    other_tenant: str


@pytest.fixture
def keys(server: ServerProcess) -> Keys:
    with server.client() as operator:
        member = operator.post("/v1/keys", json={"name": "mcp member", "role": "member"})
        viewer = operator.post("/v1/keys", json={"name": "mcp viewer", "role": "viewer"})
        bare = operator.post("/v1/keys", json={"name": "mcp bare", "role": "admin", "scopes": []})
        other = operator.post("/v1/tenants", json={"name": "mcp tenant B"}).json()
    return Keys(
        member=member.json()["secret"],
        viewer=viewer.json()["secret"],
        no_scope=bare.json()["secret"],
        other_tenant=other["admin_key"]["secret"],
    )


async def test_each_agent_of_the_callers_catalog_is_a_tool(server: ServerProcess) -> None:
    with rest(server) as client:
        catalog = {a["name"] for a in client.get("/v1/agents").json()["agents"]}
    async with connect(server) as mcp:
        assert mcp.protocol_version == "2026-07-28"
        assert TASKS in (mcp.server_capabilities.extensions or {})
        tools = {t.name: t for t in (await mcp.list_tools()).tools}
    assert set(tools) == catalog | BUREAU_TOOLS
    noop = tools["noop"]
    assert noop.input_schema["properties"]["goal"]["type"] == "string"
    assert noop.input_schema["required"] == ["goal"]
    assert noop.description is not None and "two no-op journaled steps" in noop.description
    crashable = tools["crashable"].input_schema
    assert set(crashable["properties"]) == {"counter", "release", "goal"}
    assert set(crashable["required"]) == {"counter", "release", "goal"}


async def test_a_tenant_sees_only_what_its_catalog_shows(server: ServerProcess) -> None:
    """Tenant P's private agent is a tool for P only; tenant C sees P's public one."""
    with server.client() as operator:
        p, c = (operator.post("/v1/tenants", json={"name": n}).json() for n in ("MCP P", "MCP C"))
    with rest(server, p["admin_key"]["secret"]) as publisher:
        worker_key = publisher.post("/v1/keys", json={"name": "w", "role": "publisher"}).json()
    database = server.env.get("BUREAU_DATABASE_URL")
    worker = ServerProcess(
        server.data_dir,
        "worker",
        agents=PUBLISHER_AGENTS,
        publisher_key=worker_key["secret"],
        **({"database_url": database} if database else {}),
    )
    worker.start()
    try:
        async with connect(server, p["admin_key"]["secret"]) as mcp:
            own = {t.name for t in (await mcp.list_tools()).tools}
        async with connect(server, c["admin_key"]["secret"]) as mcp:
            seen = {t.name for t in (await mcp.list_tools()).tools}
            with pytest.raises(MCPError) as refused:
                await mcp.call_tool("m-private", {"goal": "x"})
    finally:
        worker.stop()
    worker.assert_clean_log()
    assert {"m-public", "m-private"} <= own
    assert "m-public" in seen and "m-private" not in seen
    assert refused.value.code == types.INVALID_PARAMS
    assert "unknown tool 'm-private'" in refused.value.message


async def test_a_call_waits_for_the_deliverable_and_sends_progress(
    server: ServerProcess, keys: Keys
) -> None:
    progress: list[tuple[float, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message))

    async with connect(server, keys.member) as mcp:
        ticked = await mcp.call_tool(
            "ticker", {"goal": "tick", "count": 3}, progress_callback=on_progress
        )
        noop = await mcp.call_tool("noop", {"goal": "nothing"})
        refused = await mcp.call_tool("refuser", {"goal": "impossible"})
    shown = ticked.structured_content
    assert shown is not None and not ticked.is_error
    assert shown["status"] == "completed" and shown["deliverable"] == {"ticks": 3}
    assert shown["task_id"] in progress[0][1], "the first notification names the task"
    assert [m for _, m in progress if m and m.startswith("progress:")] == [
        f"progress: tick {i}" for i in range(3)
    ]
    values = [v for v, _ in progress]
    assert values == sorted(set(values)), "progress must grow"
    assert noop.structured_content is not None
    assert noop.structured_content["deliverable"] == {"sum": 2}
    assert noop.structured_content["cost"] == "0.01"
    assert refused.is_error and "cannot do this goal" in texts(refused)
    with rest(server) as client:
        task = client.get(f"/v1/tasks/{shown['task_id']}").json()
    assert task["status"] == "completed" and task["deliverable"] == {"ticks": 3}


async def test_a_legacy_client_lists_and_calls(server: ServerProcess) -> None:
    progress: list[str | None] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message)

    async with connect(server, mode="legacy") as mcp:
        assert mcp.protocol_version == "2025-11-25"
        names = {t.name for t in (await mcp.list_tools()).tools}
        ticked = await mcp.call_tool(
            "ticker", {"goal": "tick", "count": 3}, progress_callback=on_progress
        )
    assert {"noop", "ticker", "asker"} | BUREAU_TOOLS <= names
    assert ticked.structured_content is not None
    assert ticked.structured_content["deliverable"] == {"ticks": 3}
    assert "progress: tick 2" in progress


async def test_a_question_in_a_blocking_call_is_answered_with_bureau_reply(
    server: ServerProcess,
) -> None:
    async with connect(server) as mcp:
        waiting = await mcp.call_tool("asker", {"goal": "pick a color"})
        shown = waiting.structured_content
        assert shown is not None and not waiting.is_error
        assert shown["status"] == "input-required"
        question = shown["question"]
        assert question["text"] == "Which color?"
        assert "bureau_reply" in texts(waiting) and question["id"] in texts(waiting)
        replied = await mcp.call_tool(
            "bureau_reply",
            {"task_id": shown["task_id"], "question_id": question["id"], "answer": "blue"},
        )
        assert not replied.is_error, texts(replied)
        deadline = time.monotonic() + 15
        while True:
            got = await mcp.call_tool("bureau_get_task", {"task_id": shown["task_id"]})
            assert got.structured_content is not None
            if got.structured_content["status"] == "completed" or time.monotonic() > deadline:
                break
            await anyio.sleep(0.05)
    assert got.structured_content["deliverable"] == {"color": "blue"}


async def test_the_tasks_extension_answers_a_question(server: ServerProcess) -> None:
    async with connect(server, extensions=[TasksClient()]) as mcp:
        created = await mcp.session.call_tool("asker", {"goal": "pick"}, allow_claimed=True)
        assert isinstance(created, CreatedTask), created
        assert created.status == "working" and created.ttl_ms is None
        waiting = await poll(mcp.session, created.task_id, {"input_required"})
        assert waiting.input_requests is not None and waiting.status_message == "Which color?"
        ((question_id, request),) = waiting.input_requests.items()
        assert request["method"] == "elicitation/create"
        form = request["params"]
        assert form["mode"] == "form" and form["message"] == "Which color?"
        answer = form["requestedSchema"]["properties"]["answer"]
        assert answer["enum"] == ["red", "blue"]
        responses = {question_id: {"action": "accept", "content": {"answer": "red"}}}
        params = UpdateTaskParams(taskId=created.task_id, inputResponses=responses)
        await mcp.session.send_request(UpdateTask(params=params), types.EmptyResult)
        done = await poll(mcp.session, created.task_id, {"completed"})
        # without allow_claimed, the client resolves the task itself (TasksClient)
        resolved = await mcp.call_tool("noop", {"goal": "through the claim"})
    assert done.result is not None and done.result.get("isError") is False
    assert done.result["structuredContent"]["deliverable"] == {"color": "red"}
    assert resolved.structured_content is not None
    assert resolved.structured_content["deliverable"] == {"sum": 2}
    with rest(server) as client:
        task = client.get(f"/v1/tasks/{created.task_id}").json()
        events = client.get(f"/v1/tasks/{created.task_id}/events").json()["events"]
    assert task["status"] == "completed"
    (reply,) = [e["data"] for e in events if e["type"] == "message"]
    assert reply["question_id"] == question_id and reply["data"] == "red"


async def test_tasks_cancel_stops_a_running_task(server: ServerProcess) -> None:
    async with connect(server, extensions=[TasksClient()]) as mcp:
        created = await mcp.session.call_tool(
            "sleeper", {"goal": "sleep", "seconds": 60}, allow_claimed=True
        )
        assert isinstance(created, CreatedTask)
        with rest(server) as client:
            wait_for(client, created.task_id, {"working"})
        await mcp.session.send_request(
            CancelTask(params=TaskIdParams(taskId=created.task_id)), types.EmptyResult
        )
        cancelled = await poll(mcp.session, created.task_id, {"cancelled"})
    assert cancelled.result is None
    with rest(server) as client:
        assert client.get(f"/v1/tasks/{created.task_id}").json()["status"] == "canceled"


async def test_the_bureau_tools_dispatch_get_and_cancel(server: ServerProcess) -> None:
    async with connect(server, mode="legacy") as mcp:
        sent = await mcp.call_tool(
            "bureau_dispatch", {"agent": "sleeper", "goal": "nap", "input": {"seconds": 60}}
        )
        assert sent.structured_content is not None, texts(sent)
        task_id = sent.structured_content["task_id"]
        assert sent.structured_content["status"] in ("submitted", "working")
        got = await mcp.call_tool("bureau_get_task", {"task_id": task_id})
        assert got.structured_content is not None
        assert got.structured_content["task_id"] == task_id
        assert got.structured_content["agent"] == "sleeper"
        canceled = await mcp.call_tool("bureau_cancel", {"task_id": task_id})
        unknown = await mcp.call_tool("bureau_dispatch", {"agent": "no-such", "goal": "x"})
        no_goal = await mcp.call_tool("noop", {})
    assert canceled.structured_content is not None
    assert canceled.structured_content["status"] == "canceled"
    assert unknown.is_error and "unknown agent 'no-such'" in texts(unknown)
    assert no_goal.is_error and "goal" in texts(no_goal)
    with rest(server) as client:
        assert client.get(f"/v1/tasks/{task_id}").json()["status"] == "canceled"


async def test_another_tenants_task_is_not_found(server: ServerProcess, keys: Keys) -> None:
    with rest(server) as client:
        task = client.post("/v1/tasks", json={"agent": "asker", "goal": "mine"}).json()
        wait_for(client, task["id"], {"input-required"})
    async with connect(server, keys.other_tenant, extensions=[TasksClient()]) as mcp:
        with pytest.raises(MCPError) as got:
            await get_task(mcp.session, task["id"])
        with pytest.raises(MCPError) as canceled:
            await mcp.session.send_request(
                CancelTask(params=TaskIdParams(taskId=task["id"])), types.EmptyResult
            )
        read = await mcp.call_tool("bureau_get_task", {"task_id": task["id"]})
    assert got.value.code == types.INVALID_PARAMS and "no task" in got.value.message
    assert canceled.value.code == types.INVALID_PARAMS
    assert read.is_error and "no task" in texts(read)
    async with connect(server) as mcp:  # the owner, without the extension: -32021
        with pytest.raises(MCPError) as undeclared:
            await get_task(mcp.session, task["id"])
    assert undeclared.value.code == types.MISSING_REQUIRED_CLIENT_CAPABILITY
    with rest(server) as client:
        assert client.get(f"/v1/tasks/{task['id']}").json()["status"] == "input-required"
        client.post(f"/v1/tasks/{task['id']}/cancel")


async def test_a_key_without_the_scope_is_told_which_scope(
    server: ServerProcess, keys: Keys
) -> None:
    async with connect(server, keys.no_scope) as mcp:
        with pytest.raises(MCPError) as listing:
            await mcp.list_tools()
    assert "needs the scope 'agents:read'" in listing.value.message
    async with connect(server, keys.viewer) as mcp:
        tools = {t.name for t in (await mcp.list_tools()).tools}
        refused = await mcp.call_tool("noop", {"goal": "not allowed"})
    assert "noop" in tools
    assert refused.is_error and "needs the scope 'tasks:write'" in texts(refused)


def test_a_request_without_a_valid_key_gets_401(server: ServerProcess) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    accept = {"Accept": "application/json, text/event-stream"}
    missing = httpx.post(f"{server.url}/mcp", json=body, headers=accept)
    wrong = httpx.post(
        f"{server.url}/mcp", json=body, headers={**accept, "Authorization": "Bearer bk_wrong"}
    )
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert wrong.json()["code"] == "unauthenticated"
