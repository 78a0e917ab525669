"""The A2A door on a real server, driven by the official a2a-sdk client (1.0 and its 0.3
compatibility transports), both backends."""

from __future__ import annotations

import asyncio
import email.utils
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy
from a2a.client import A2ACardResolver, Client, ClientCallContext, ClientConfig, ClientFactory
from a2a.types import (
    AuthenticationInfo,
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskPushNotificationConfig,
    TaskState,
)
from a2a.utils.errors import (
    ContentTypeNotSupportedError,
    InvalidParamsError,
    TaskNotCancelableError,
    TaskNotFoundError,
    UnsupportedOperationError,
)
from google.protobuf import json_format
from google.protobuf.json_format import MessageToDict

from tests.e2e.test_webhooks import Receiver, _expected_signature
from tests.support.server import ServerProcess, wait_for

JSONRPC, REST = "JSONRPC", "HTTP+JSON"
COMPLETED = TaskState.TASK_STATE_COMPLETED
PUSH_SECRET, PUSH_TOKEN = "push-cred-4d1f8e", "push-token-9b2c7a"


def _message(text: str, *, task: Task | None = None, context_id: str = "", **data: Any) -> Message:
    parts = [Part(text=text)]
    if data:
        parts.append(Part(data=_value(data)))
    return Message(
        message_id=f"m-{uuid.uuid4()}",
        role=Role.ROLE_USER,
        parts=parts,
        task_id=task.id if task else "",
        context_id=task.context_id if task else context_id,
    )


def _value(data: dict[str, Any]) -> Any:
    from google.protobuf import json_format, struct_pb2

    return json_format.ParseDict(data, struct_pb2.Value())


@asynccontextmanager
async def _client(
    server: ServerProcess,
    agent: str,
    *,
    key: str | None = None,
    binding: str = JSONRPC,
    version: str = "1.0",
    streaming: bool = True,
) -> AsyncIterator[Client]:
    """An SDK client for `agent`, from its card reduced to `version`'s interfaces (so the
    0.3 compatibility transports are what a 0.3-only server offer would give)."""
    headers = {"Authorization": f"Bearer {key or server.key}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        card = await A2ACardResolver(http, f"{server.url}/a2a/{agent}").get_agent_card()
        keep = [i for i in card.supported_interfaces if i.protocol_version == version]
        del card.supported_interfaces[:]
        card.supported_interfaces.extend(keep)
        config = ClientConfig(
            httpx_client=http, streaming=streaming, supported_protocol_bindings=[binding]
        )
        client = ClientFactory(config).create(card)
        yield client


async def _send(client: Client, message: Message, **config: Any) -> list[StreamResponse]:
    request = SendMessageRequest(
        message=message, configuration=SendMessageConfiguration(**config) if config else None
    )
    return [event async for event in client.send_message(request)]


def _last_task_state(events: list[StreamResponse]) -> TaskState:
    last = events[-1]
    kind = last.WhichOneof("payload")
    return last.task.status.state if kind == "task" else last.status_update.status.state


def _data_of(artifact: Any) -> Any:
    return MessageToDict(artifact.parts[0].data)


def test_cards_are_served_per_agent_and_the_platform_card_lists_them(
    server: ServerProcess,
) -> None:
    with server.client() as client, httpx.Client(base_url=server.url) as anonymous:
        card = client.get("/a2a/noop/.well-known/agent-card.json")
        assert card.status_code == 200, card.text
        body = card.json()
        assert body["name"] == "noop" and body["version"] == "1.0.0"
        assert body["description"] == "two no-op journaled steps"
        assert body["capabilities"]["streaming"] and body["capabilities"]["pushNotifications"]
        assert body["securitySchemes"]["bearer"]["httpAuthSecurityScheme"]["scheme"] == "Bearer"
        interfaces = [
            (i["protocolBinding"], i["protocolVersion"]) for i in body["supportedInterfaces"]
        ]
        assert interfaces == [(JSONRPC, "1.0"), (REST, "1.0"), (JSONRPC, "0.3"), (REST, "0.3")]
        assert body["supportedInterfaces"][0]["url"] == f"{server.url}/a2a/noop/jsonrpc"
        assert body["skills"][0]["id"] == "noop"

        refused = anonymous.get("/a2a/noop/.well-known/agent-card.json")
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert client.get("/a2a/nobody/.well-known/agent-card.json").status_code == 404

        public = anonymous.get("/.well-known/agent-card.json")
        assert public.status_code == 200 and public.json()["name"] == "Bureau"
        assert not public.json().get("skills")
        listed = client.get("/.well-known/agent-card.json").json()
        noop = next(s for s in listed["skills"] if s["id"] == "noop")
        assert f"{server.url}/a2a/noop/.well-known/agent-card.json" in noop["description"]


def test_calls_without_a_key_get_401(server: ServerProcess) -> None:
    call = {"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}}
    with httpx.Client(base_url=server.url) as anonymous:
        for path in ("/a2a/noop/jsonrpc", "/a2a/noop/rest/tasks/x"):
            answer = anonymous.post(path, json=call) if "jsonrpc" in path else anonymous.get(path)
            assert answer.status_code == 401, path
            assert answer.headers["www-authenticate"] == "Bearer"
        wrong = anonymous.post(
            "/a2a/noop/jsonrpc", json=call, headers={"Authorization": "Bearer bk_nope"}
        )
        assert wrong.status_code == 401


@pytest.mark.parametrize("binding", [JSONRPC, REST])
async def test_a_dispatch_streams_to_completion(server: ServerProcess, binding: str) -> None:
    async with _client(server, "noop", binding=binding) as client:
        events = await _send(client, _message("add"))
    kinds = [e.WhichOneof("payload") for e in events]
    assert kinds[0] == "task" and events[0].task.status.state == TaskState.TASK_STATE_SUBMITTED
    assert _last_task_state(events) == COMPLETED
    states = [e.status_update.status.state for e in events if e.HasField("status_update")]
    assert TaskState.TASK_STATE_WORKING in states
    [deliverable] = [e.artifact_update.artifact for e in events if e.HasField("artifact_update")]
    assert deliverable.name == "deliverable" and _data_of(deliverable) == {"sum": 2}
    seqs = [e.status_update.metadata["bureauSeq"] for e in events if e.HasField("status_update")]
    assert seqs == sorted(set(seqs)), "each event once, in order"


@pytest.mark.parametrize("binding", [JSONRPC, REST])
async def test_input_required_continues_with_a_message_on_the_task(
    server: ServerProcess, binding: str
) -> None:
    async with _client(server, "asker", binding=binding) as client:
        asked = await _send(client, _message("pick"))
        assert _last_task_state(asked) == TaskState.TASK_STATE_INPUT_REQUIRED
        question = asked[-1].status_update.status.message
        assert question.parts[0].text == "Which color?"
        details = MessageToDict(question.parts[1].data)
        assert details["schema"]["enum"] == ["red", "blue"]
        task = asked[0].task

        with pytest.raises(InvalidParamsError, match="red"):
            await _send(client, _message("green", task=task))  # outside the schema
        answered = await _send(client, _message("red", task=task))
        assert _last_task_state(answered) == COMPLETED
        done = await client.get_task(GetTaskRequest(id=task.id))
    assert done.status.state == COMPLETED
    [deliverable] = [a for a in done.artifacts if a.name == "deliverable"]
    assert _data_of(deliverable) == {"color": "red"}
    history = [(m.role, m.parts[0].text) for m in done.history]  # in order, both sides
    assert history == [
        (Role.ROLE_USER, "pick"),
        (Role.ROLE_AGENT, "Which color?"),
        (Role.ROLE_USER, "red"),
    ]


async def test_blocking_and_immediate_sends_and_cancel(server: ServerProcess) -> None:
    async with _client(server, "sleeper", streaming=False) as client:
        [first] = await _send(client, _message("sleep", seconds=60), return_immediately=True)
        task = first.task
        assert task.status.state in (
            TaskState.TASK_STATE_SUBMITTED,
            TaskState.TASK_STATE_WORKING,
        ), "returned at once, not after 60 s"
        with server.client() as rest:
            wait_for(rest, task.id, {"working"})
        canceled = await client.cancel_task(CancelTaskRequest(id=task.id))
        assert canceled.status.state == TaskState.TASK_STATE_CANCELED
        with pytest.raises(TaskNotCancelableError):
            await client.cancel_task(CancelTaskRequest(id=task.id))

        started = time.monotonic()
        [blocked] = await _send(client, _message("nap", seconds=0.3))
        assert blocked.task.status.state == COMPLETED, "blocking waits for the end"
        assert time.monotonic() - started >= 0.3


async def test_a_resubscription_after_a_cut_loses_and_repeats_nothing(
    server: ServerProcess,
) -> None:
    async with _client(server, "ticker") as client:
        head: list[StreamResponse] = []
        request = SendMessageRequest(message=_message("tick", count=20, interval=0.05))
        async with aclosing(client.send_message(request)) as stream:
            async for event in stream:
                head.append(event)
                if len(head) == 6:
                    break  # the connection is cut here
        task = head[0].task
        seen = int(_seq(head[-1]))
        await asyncio.to_thread(_wait_for_seq, server, task.id, seen + 4)  # missed meanwhile
        resume = ClientCallContext(service_parameters={"Last-Event-ID": str(seen)})
        tail = [
            event
            async for event in client.subscribe(SubscribeToTaskRequest(id=task.id), context=resume)
        ]
    assert tail[0].HasField("task"), "a subscription starts with the task"
    seqs = [int(_seq(e)) for e in head[1:] + tail[1:]]
    assert seqs == list(range(2, 2 + len(seqs))), f"lost or repeated: {seqs}"
    progress = [
        e
        for e in head + tail
        if e.HasField("status_update") and e.status_update.status.message.parts
    ]
    assert len(progress) == 20
    assert _last_task_state(tail) == COMPLETED


def _wait_for_seq(server: ServerProcess, task_id: str, seq: int) -> None:
    """Until the task's log holds event `seq`."""
    with server.client() as rest:
        rest.get(f"/v1/tasks/{task_id}/events", params={"after": seq - 1, "wait": 10})


def _seq(event: StreamResponse) -> float:
    kind = event.WhichOneof("payload")
    return float(getattr(event, kind).metadata["bureauSeq"])


async def test_subscribing_to_a_finished_task_without_resume_point_is_refused(
    server: ServerProcess,
) -> None:
    async with _client(server, "noop") as client:
        events = await _send(client, _message("done"))
        with pytest.raises(UnsupportedOperationError, match="already completed"):
            async for _ in client.subscribe(SubscribeToTaskRequest(id=events[0].task.id)):
                pass


async def test_list_shows_only_the_callers_tasks(server: ServerProcess) -> None:
    context = f"ctx-{uuid.uuid4()}"
    with server.client() as rest:
        other_key = rest.post("/v1/tenants", json={"name": "A2A B"}).json()["admin_key"]["secret"]
    async with _client(server, "noop", streaming=False) as client:
        ids = [
            (await _send(client, _message(f"n{i}", context_id=context)))[0].task.id
            for i in range(3)
        ]
        first = await client.list_tasks(ListTasksRequest(context_id=context, page_size=2))
        assert [t.id for t in first.tasks] == ids[::-1][:2], "newest first"
        assert first.next_page_token
        second = await client.list_tasks(
            ListTasksRequest(context_id=context, page_size=2, page_token=first.next_page_token)
        )
        assert [t.id for t in second.tasks] == ids[:1] and not second.next_page_token
        done = await client.list_tasks(
            ListTasksRequest(context_id=context, status=COMPLETED, include_artifacts=True)
        )
        assert len(done.tasks) == 3 and all(t.artifacts for t in done.tasks)
        bare = await client.list_tasks(ListTasksRequest(context_id=context))
        assert not any(t.artifacts for t in bare.tasks)
        failed = await client.list_tasks(
            ListTasksRequest(context_id=context, status=TaskState.TASK_STATE_FAILED)
        )
        assert not failed.tasks
    async with _client(server, "noop", key=other_key) as other:
        assert not (await other.list_tasks(ListTasksRequest(context_id=context))).tasks
        with pytest.raises(TaskNotFoundError):
            await other.get_task(GetTaskRequest(id=ids[0]))
        with pytest.raises(TaskNotFoundError):
            await other.cancel_task(CancelTaskRequest(id=ids[0]))
    async with _client(server, "asker") as wrong_agent:
        with pytest.raises(TaskNotFoundError):
            await wrong_agent.get_task(GetTaskRequest(id=ids[0]))


async def test_artifacts_come_back_inline_or_as_urls(server: ServerProcess) -> None:
    async with _client(server, "big-artifact", streaming=False) as client:
        small = (await _send(client, _message("s", size=10, name="small.bin")))[0].task
        big = (await _send(client, _message("b", size=40_000, name="big.bin")))[0].task
        small = await client.get_task(GetTaskRequest(id=small.id))
        big = await client.get_task(GetTaskRequest(id=big.id))
    [inline] = small.artifacts[0].parts
    assert inline.raw == b"x" * 10 and inline.filename == "small.bin"
    assert inline.media_type == "application/octet-stream"
    [linked] = big.artifacts[0].parts
    assert linked.url == f"{server.url}/v1/tasks/{big.id}/artifacts/big.bin"
    with server.client() as rest:
        assert rest.get(linked.url).content == b"x" * 40_000


async def test_push_notification_configs_are_the_tasks_webhook(server: ServerProcess) -> None:
    receiver = Receiver(failures=0)
    try:
        async with _client(server, "asker") as client:
            inline = TaskPushNotificationConfig(url=receiver.url)
            asked = await _send(client, _message("pick"), task_push_notification_config=inline)
            task = asked[0].task
            with server.client() as rest:
                assert rest.get(f"/v1/tasks/{task.id}").json()["webhook"] == {"url": receiver.url}
            listed = await client.list_task_push_notification_configs(
                ListTaskPushNotificationConfigsRequest(task_id=task.id)
            )
            assert [(c.id, c.url) for c in listed.configs] == [(task.id, receiver.url)]
            await client.delete_task_push_notification_config(
                DeleteTaskPushNotificationConfigRequest(task_id=task.id, id=task.id)
            )
            with pytest.raises(TaskNotFoundError):
                await client.get_task_push_notification_config(
                    GetTaskPushNotificationConfigRequest(task_id=task.id, id=task.id)
                )
            with pytest.raises(InvalidParamsError, match="refused"):
                await client.create_task_push_notification_config(
                    TaskPushNotificationConfig(task_id=task.id, url="http://10.1.2.3/hook")
                )
            made = await client.create_task_push_notification_config(
                TaskPushNotificationConfig(
                    task_id=task.id,
                    url=receiver.url,
                    token=PUSH_TOKEN,
                    authentication=AuthenticationInfo(scheme="Bearer", credentials=PUSH_SECRET),
                )
            )
            assert (made.id, made.url) == (task.id, receiver.url)
            assert not made.token and not made.HasField("authentication")  # never shown again
            got = await client.get_task_push_notification_config(
                GetTaskPushNotificationConfigRequest(task_id=task.id, id=task.id)
            )
            assert got.url == receiver.url
            await _send(client, _message("blue", task=task))
        headers, body = await asyncio.to_thread(_completed_delivery, receiver)
    finally:
        receiver.http.shutdown()
        receiver.http.server_close()
    # An A2A push notification: a StreamResponse with the task, the config's credentials
    # and token as headers, and Bureau's signature beside them.
    pushed = json_format.Parse(body, StreamResponse())
    assert pushed.task.id == task.id and _data_of(pushed.task.artifacts[0]) == {"color": "blue"}
    assert headers["authorization"] == f"Bearer {PUSH_SECRET}"
    assert headers["x-a2a-notification-token"] == PUSH_TOKEN
    with server.client() as rest:
        secret = rest.get("/v1/webhooks/secret").json()["secret"]
        assert headers["webhook-signature"] == _expected_signature(secret, headers, body)
        shown = (
            rest.get(f"/v1/tasks/{task.id}").text + rest.get(f"/v1/tasks/{task.id}/webhooks").text
        )
        actions = [
            r["action"] for r in rest.get("/v1/audit", params={"limit": 50}).json()["records"]
        ]
    assert "tasks.webhook" in actions
    assert PUSH_SECRET not in shown and PUSH_TOKEN not in shown
    stored = _stored_webhook_options(server, task.id)
    assert stored and PUSH_SECRET not in stored and PUSH_TOKEN not in stored  # sealed at rest


def _completed_delivery(receiver: Receiver) -> tuple[dict[str, str], bytes]:
    deadline = time.monotonic() + 10
    while True:
        for headers, body in receiver.accepted:
            if b"TASK_STATE_COMPLETED" in body:
                return headers, body
        assert time.monotonic() < deadline, "no webhook announced the completion"
        time.sleep(0.05)


def _stored_webhook_options(server: ServerProcess, task_id: str) -> str | None:
    url = server.env.get("BUREAU_DATABASE_URL") or f"sqlite:///{server.data_dir / 'bureau.db'}"
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            query = sqlalchemy.text("SELECT webhook_options FROM tasks WHERE id = :id")
            value = conn.execute(query, {"id": task_id}).scalar_one()
    finally:
        engine.dispose()
    return str(value) if value is not None else None


@pytest.mark.parametrize("binding", [JSONRPC, REST])
async def test_a_0_3_client_sends_streams_and_answers(server: ServerProcess, binding: str) -> None:
    async with _client(server, "asker", binding=binding, version="0.3") as client:
        assert "Compat" in type(client._transport).__name__  # the 0.3 wire format
        asked = await _send(client, _message("pick"))
        assert _last_task_state(asked) == TaskState.TASK_STATE_INPUT_REQUIRED
        task = asked[0].task
        answered = await _send(client, _message("blue", task=task))
        assert _last_task_state(answered) == COMPLETED
        done = await client.get_task(GetTaskRequest(id=task.id))
        assert done.status.state == COMPLETED
    async with _client(server, "noop", binding=binding, version="0.3") as client:
        assert _last_task_state(await _send(client, _message("add"))) == COMPLETED


def test_a_raw_0_3_json_rpc_call_without_version_header(server: ServerProcess) -> None:
    """What an a2a-sdk 0.3 client puts on the wire: 0.3 method names, `kind` fields, no
    `A2A-Version` header."""
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "message/send",
        "params": {
            "message": {
                "kind": "message",
                "messageId": str(uuid.uuid4()),
                "role": "user",
                "parts": [{"kind": "text", "text": "add"}],
            }
        },
    }
    with server.client() as client:
        answer = client.post("/a2a/noop/jsonrpc", json=call).json()
    assert answer["result"]["kind"] == "task", answer
    assert answer["result"]["status"]["state"] == "completed"


def test_cards_are_strict_1_0_unless_a_client_asks_for_0_3(server: ServerProcess) -> None:
    """The 1.0 schema refuses the 0.3 fields; a 0.3 client asks for them by header or path."""
    legacy = {"url", "preferredTransport", "protocolVersion", "additionalInterfaces", "security"}
    with server.client() as client:
        strict = client.get("/a2a/noop/.well-known/agent-card.json")
        assert not legacy & strict.json().keys()
        assert strict.json()["securitySchemes"]["bearer"].keys() == {"httpAuthSecurityScheme"}
        modified = email.utils.parsedate_to_datetime(strict.headers["last-modified"])
        assert modified.year >= 2026
        for old in (
            client.get("/a2a/noop/.well-known/agent-card.json", headers={"A2A-Version": "0.3"}),
            client.get("/a2a/noop/v0.3/.well-known/agent-card.json"),
        ):
            assert old.json()["url"] == f"{server.url}/a2a/noop/jsonrpc"
            assert old.json()["preferredTransport"] == "JSONRPC"
        platform = client.get("/.well-known/agent-card.json").json()
        assert not legacy & platform.keys()


async def test_a_reply_is_a_message_and_files_reach_an_agent_that_takes_them(
    server: ServerProcess,
) -> None:
    note = Part(raw=b"hello", media_type="text/plain", filename="note.txt")
    link = Part(url="https://example.com/a.csv", media_type="text/csv", filename="a.csv")
    async with _client(server, "file-taker", streaming=False) as client:
        message = _message("what did I send?")
        message.parts.extend([note, link])
        [answer] = await _send(client, message)
        assert answer.WhichOneof("payload") == "message"
        assert answer.message.parts[0].text == "note.txt (text/plain), a.csv (text/csv)"
        with server.client() as rest:
            task = rest.get(f"/v1/tasks/{answer.message.task_id}").json()
        assert task["status"] == "completed" and task["input"]["files"][0]["base64"] == "aGVsbG8="
        assert task["input"]["files"][1]["url"] == "https://example.com/a.csv"
        with server.client() as rest:
            card = rest.get("/a2a/file-taker/.well-known/agent-card.json").json()
        assert card["defaultInputModes"] == ["text/plain", "application/json", "text/*"]
        image = _message("and this?")
        image.parts.append(Part(raw=b"\x89PNG", media_type="image/png"))
        with pytest.raises(ContentTypeNotSupportedError, match="text/\\*, not a file of image/png"):
            await _send(client, image)
    async with _client(server, "noop", streaming=False) as client:
        file = _message("a file")
        file.parts.append(note)
        with pytest.raises(ContentTypeNotSupportedError, match="no files"):
            await _send(client, file)


def test_media_types_of_the_bindings(server: ServerProcess) -> None:
    """JSON-RPC refuses a body that is not JSON with ContentTypeNotSupportedError (-32005);
    HTTP+JSON answers `application/json` (A2A 1.0, section 11.1)."""
    with server.client() as client:
        wrong = client.post(
            "/a2a/noop/jsonrpc",
            content=b"{'jsonrpc': '2.0'}",
            headers={"Content-Type": "text/plain", "A2A-Version": "1.0"},
        )
        assert wrong.status_code == 200 and wrong.json()["error"]["code"] == -32005
        assert "application/json" in wrong.json()["error"]["message"]
        listed = client.get("/a2a/noop/rest/tasks", headers={"A2A-Version": "1.0"})
        assert listed.status_code == 200, listed.text
        assert listed.headers["content-type"] == "application/json"
        missing = client.get("/a2a/noop/rest/tasks/task_nope", headers={"A2A-Version": "1.0"})
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/json"
        v1 = {"A2A-Version": "1.0"}
        form = client.post(
            "/a2a/noop/rest/message:send",
            content=b"message=hi",
            headers={**v1, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert form.status_code == 415
        assert form.json()["error"]["details"][0]["reason"] == "CONTENT_TYPE_NOT_SUPPORTED"
        done = client.post("/v1/tasks", json={"agent": "noop", "goal": "add"}).json()
        wait_for(client, done["id"], {"completed"})
        late = client.post(f"/a2a/noop/rest/tasks/{done['id']}:cancel", headers=v1)
        assert late.status_code == 409, late.text  # TaskNotCancelableError (section 5.4)
        assert late.json()["error"]["code"] == 409
        assert late.headers["content-length"] == str(len(late.content))
        file = {"raw": "aGk=", "mediaType": "image/png"}
        refused = client.post(
            "/a2a/noop/rest/message:send",
            json={"message": {"role": "ROLE_USER", "messageId": "m-png", "parts": [file]}},
            headers=v1,
        )
        assert refused.status_code == 415, refused.text


async def test_the_extended_card_is_the_callers_card(server: ServerProcess) -> None:
    async with _client(server, "noop", binding=REST) as client:
        card = await client.get_extended_agent_card(GetExtendedAgentCardRequest())
    assert card.name == "noop" and card.capabilities.extended_agent_card
    assert card.supported_interfaces[0].url == f"{server.url}/a2a/noop/jsonrpc"
