"""The MCP door on the fleet: every request of one client goes to the other API replica
than the last (round robin, no session affinity), and the calls still succeed: the door
keeps no state of its own, whatever the protocol era."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.e2e.test_mcp import (
    CancelTask,
    CreatedTask,
    TaskIdParams,
    TasksClient,
    UpdateTask,
    UpdateTaskParams,
    poll,
)
from tests.fleet.conftest import Fleet


class RoundRobin(httpx2.AsyncBaseTransport):
    """Sends each request to the next replica in turn, as a plain load balancer would."""

    def __init__(self, urls: list[str]) -> None:
        self._targets = itertools.cycle([httpx2.URL(url) for url in urls])
        self._inner = httpx2.AsyncHTTPTransport()
        self.ports: list[int | None] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        target = next(self._targets)
        request.url = request.url.copy_with(host=target.host, port=target.port)
        self.ports.append(target.port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@asynccontextmanager
async def balanced(
    fleet: Fleet, mode: str = "auto", *, tasks: bool = False
) -> AsyncIterator[tuple[Client, RoundRobin]]:
    urls = [api.url for api in fleet.apis]
    spread = RoundRobin(urls)
    headers = {"Authorization": f"Bearer {fleet.apis[0].key}"}
    http = httpx2.AsyncClient(
        transport=spread, headers=headers, timeout=httpx2.Timeout(30, read=60)
    )
    transport = streamable_http_client(f"{urls[0]}/mcp", http_client=http)
    extensions = [TasksClient()] if tasks else []
    async with http, Client(transport, mode=mode, extensions=extensions) as client:
        yield client, spread


async def test_mcp_calls_succeed_across_replicas_without_affinity(healthy_fleet: Fleet) -> None:
    progress: list[str | None] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message)

    async with balanced(healthy_fleet) as (mcp, spread):
        names = {tool.name for tool in (await mcp.list_tools()).tools}
        assert {"ticker", "asker", "sleeper"} <= names
        ticked = await mcp.call_tool(
            "ticker", {"goal": "tick", "count": 3}, progress_callback=on_progress
        )
        assert ticked.structured_content is not None and not ticked.is_error
        assert ticked.structured_content["deliverable"] == {"ticks": 3}
        assert [m for m in progress if m and m.startswith("progress:")] == [
            f"progress: tick {i}" for i in range(3)
        ]
    used = set(spread.ports)

    async with balanced(healthy_fleet, tasks=True) as (mcp, spread):
        asked = await mcp.session.call_tool("asker", {"goal": "pick"}, allow_claimed=True)
        assert isinstance(asked, CreatedTask)
        waiting = await poll(mcp.session, asked.task_id, {"input_required"})
        assert waiting.input_requests is not None
        ((question_id, _),) = waiting.input_requests.items()
        answer = {question_id: {"action": "accept", "content": {"answer": "blue"}}}
        update = UpdateTaskParams(taskId=asked.task_id, inputResponses=answer)
        await mcp.session.send_request(UpdateTask(params=update), types.EmptyResult)
        done = await poll(mcp.session, asked.task_id, {"completed"})
        assert done.result is not None
        assert done.result["structuredContent"]["deliverable"] == {"color": "blue"}

        sleeping = await mcp.session.call_tool(
            "sleeper", {"goal": "sleep", "seconds": 60}, allow_claimed=True
        )
        assert isinstance(sleeping, CreatedTask)
        await poll(mcp.session, sleeping.task_id, {"working"})
        cancel = CancelTask(params=TaskIdParams(taskId=sleeping.task_id))
        await mcp.session.send_request(cancel, types.EmptyResult)
        await poll(mcp.session, sleeping.task_id, {"cancelled"})
    replicas = {httpx2.URL(api.url).port for api in healthy_fleet.apis}
    assert used == replicas and set(spread.ports) == replicas


async def test_a_legacy_mcp_client_works_across_replicas(healthy_fleet: Fleet) -> None:
    """A 2025-11-25 client's `initialize` lands on one replica and its calls on the other."""
    async with balanced(healthy_fleet, mode="legacy") as (mcp, spread):
        names = {tool.name for tool in (await mcp.list_tools()).tools}
        assert "noop" in names
        result = await mcp.call_tool("noop", {"goal": "nothing"})
        assert result.structured_content is not None
        assert result.structured_content["deliverable"] == {"sum": 2}
    assert len(set(spread.ports)) == 2
