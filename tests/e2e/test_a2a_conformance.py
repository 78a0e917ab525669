"""The A2A compatibility-kit agent (`examples/a2a_conformance.py`) and its key-adding proxy
(`examples/a2a_tck_proxy.py`) on a real server, without the kit: the message id prefixes
it plays still do what the kit expects."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from a2a.client import A2ACardResolver, Client, ClientConfig, ClientFactory
from a2a.types import Message, Part, Role, SendMessageRequest, Task, TaskState
from google.protobuf.json_format import MessageToDict

from tests.support.server import ServerProcess

EXAMPLES = Path(__file__).parents[2] / "examples"
AGENT = "a2a-conformance"


@pytest.fixture(scope="module")
def kit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(
        tmp_path_factory.mktemp("a2a-conformance"), agents=str(EXAMPLES / "a2a_conformance.py")
    )
    process.start()
    yield process
    process.stop()
    process.assert_clean_log()


@asynccontextmanager
async def _client(server: ServerProcess, binding: str) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {server.key}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        card = await A2ACardResolver(http, f"{server.url}/a2a/{AGENT}").get_agent_card()
        config = ClientConfig(
            httpx_client=http, streaming=False, supported_protocol_bindings=[binding]
        )
        yield ClientFactory(config).create(card)


async def _send(client: Client, prefix: str, task: Task | None = None) -> Task:
    """Send a message whose id starts with `prefix` (blocking); the task it answers with."""
    message = Message(
        message_id=f"{prefix}-{uuid.uuid4()}",
        role=Role.ROLE_USER,
        parts=[Part(text="TCK prerequisite task creation")],
        task_id=task.id if task else "",
    )
    events = [e async for e in client.send_message(SendMessageRequest(message=message))]
    assert events[-1].HasField("task"), events
    return events[-1].task


def _texts(task: Task) -> list[Any]:
    return [MessageToDict(p) for a in task.artifacts for p in a.parts]


@pytest.mark.parametrize("binding", ["JSONRPC", "HTTP+JSON"])
async def test_the_kit_prefixes_select_the_behaviour(
    kit_server: ServerProcess, binding: str
) -> None:
    async with _client(kit_server, binding) as client:
        done = await _send(client, "tck-complete-task")
        assert done.status.state == TaskState.TASK_STATE_COMPLETED
        assert {"text": "Hello from TCK"} in _texts(done)

        asked = await _send(client, "tck-input-required")
        assert asked.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
        answered = await _send(client, "tck-complete-task", task=asked)
        assert (answered.id, answered.status.state) == (asked.id, TaskState.TASK_STATE_COMPLETED)

        rejected = await _send(client, "tck-reject-task")
        assert rejected.status.state == TaskState.TASK_STATE_REJECTED
        assert rejected.status.message.parts[0].text == "rejected"
        failed = await _send(client, "tck-fail-task")
        assert failed.status.state == TaskState.TASK_STATE_FAILED

        data = await _send(client, "tck-artifact-data")
        assert {"data": {"key": "value", "count": 42}} in _texts(data)
        file = await _send(client, "tck-artifact-file")
        assert ("output.txt", "text/plain") in [
            (a.name, a.parts[0].media_type) for a in file.artifacts
        ]


def _proxy_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("a2a_tck_proxy", EXAMPLES / "a2a_tck_proxy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_proxy_adds_the_key_and_points_cards_at_itself(
    kit_server: ServerProcess,
) -> None:
    app = _proxy_module().proxy_app(kit_server.url, kit_server.key)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://proxy.test") as http,
    ):
        card = await http.get(f"/a2a/{AGENT}/.well-known/agent-card.json")
        assert card.status_code == 200, card.text
        urls = [i["url"] for i in card.json()["supportedInterfaces"]]
        assert urls and all(u.startswith(f"http://proxy.test/a2a/{AGENT}/") for u in urls)
        listed = await http.post(
            f"/a2a/{AGENT}/jsonrpc",
            headers={"A2A-Version": "1.0"},
            json={"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": {"pageSize": 1}},
        )
        assert listed.status_code == 200 and "result" in listed.json(), listed.text
