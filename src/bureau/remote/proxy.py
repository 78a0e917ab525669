"""The agent function of a remote A2A agent: one Bureau task drives one remote task.

Every remote effect is a journaled step, so a resumed run (after a crash, a retry, or an
answered question) repeats none of them:

- `remote.send` sends the task as a message whose id and context id derive from the Bureau
  task id, and journals the remote task id. Interrupted mid-send, the reconcile hook looks
  the remote task up by that context id before sending again: one remote task per task.
- `remote.wait-N` follows the remote task (polling, less often as it runs longer) until it
  completes, fails or asks.
- a remote question becomes `ctx.ask`; `remote.reply-N` sends the consumer's answer.
- on completion the remote artifacts are copied in (`ctx.artifact`) and the remote
  deliverable (the `deliverable` artifact's data, else the agent's final message) returned.

A cancel of the Bureau task is forwarded to the remote task (best effort, bounded). A
refused or failing remote feeds the circuit breaker; while it is open new tasks fail fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx
import orjson
from a2a.client import Client, ClientConfig, ClientFactory
from a2a.client.card_resolver import parse_agent_card
from a2a.client.errors import A2AClientError, A2AClientTimeoutError
from a2a.helpers import new_data_part
from a2a.types import (
    Artifact,
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    Task,
    TaskState,
)
from a2a.utils.errors import (
    A2AError,
    TaskNotCancelableError,
    TaskNotFoundError,
    UnsupportedOperationError,
)
from google.protobuf import json_format  # type: ignore[import-untyped]

from bureau.remote.breaker import Breaker
from bureau.remote.cards import BINDINGS
from bureau.remote.outbound import auth_headers, http_client, read_capped
from bureau.sdk.context import Context
from bureau.sdk.decorator import SLA, AgentDefinition, RetryPolicy
from bureau.sdk.signals import Fatal, Retry
from bureau.store.records import AgentVersionRecord
from bureau.webhooks.destinations import RefusedDestination

if TYPE_CHECKING:
    from bureau.remote.registry import RemoteAgents

log = logging.getLogger("bureau.remote")

_STATES = {
    TaskState.TASK_STATE_COMPLETED: "completed",
    TaskState.TASK_STATE_FAILED: "failed",
    TaskState.TASK_STATE_CANCELED: "canceled",
    TaskState.TASK_STATE_REJECTED: "rejected",
    TaskState.TASK_STATE_INPUT_REQUIRED: "input-required",
    TaskState.TASK_STATE_AUTH_REQUIRED: "auth-required",
}
"""The remote states that end a wait, by Bureau's name."""
CANCEL_TIMEOUT = 5.0
MAX_RELAYED_PROGRESS = 100
"""A remote task's progress messages relayed as the task's progress, at most (each is a
journaled wait and an event); later ones are not relayed."""
DELIVERABLE = "deliverable"


class RemoteAgent:
    """One published version of a remote agent, and the proxy that runs its tasks."""

    def __init__(self, hub: RemoteAgents, record: AgentVersionRecord) -> None:
        remote = record.spec["remote"]
        self.hub = hub
        self.record = record
        self.card_url: str = remote["card_url"]
        self.card = parse_agent_card(copy.deepcopy(remote["card"]))
        self.binding: str = remote["interface"]["binding"]
        self.secret: str | None = remote.get("credential_secret")
        self.breaker: Breaker = hub.breaker(self.card_url, record.name)
        self._pending: dict[tuple[str, str], Callable[[], Awaitable[Any]]] = {}

    def definition(self) -> AgentDefinition:
        spec = self.record.spec
        return AgentDefinition(
            name=self.record.name,
            version=self.record.version,
            fn=self.run,
            description=self.record.description,
            capabilities=tuple(self.record.capabilities),
            price=self.record.price,
            sla=SLA(**spec["sla"]),
            retry=RetryPolicy(max_attempts=int(spec.get("max_attempts", 3)), initial_delay=1.0),
            idle_timeout_seconds=float(spec.get("idle_timeout_seconds", 3600.0)),
            visibility=self.record.visibility,
            reconcile=self.reconcile,
        )

    # -- the run ------------------------------------------------------------------------

    async def run(self, ctx: Context) -> Any:
        sent = await self._durable(
            ctx,
            "remote.send",
            self._send,
            ctx.task_id,
            ctx.goal,
            ctx.raw_input,
            idempotent=False,
        )
        if "message" in sent:  # a message-only answer: no remote task
            return sent["message"]
        remote_id: str = sent["task_id"]
        try:
            return await self._follow(ctx, remote_id, sent["context_id"])
        except asyncio.CancelledError:
            if self.hub.cancel_requested(ctx.task_id):
                await self.forward_cancel(ctx.task_id, remote_id)
            raise

    async def _follow(self, ctx: Context, remote_id: str, context_id: str) -> Any:
        round_ = relayed = 0
        said = ""
        while True:
            round_ += 1
            news = said if relayed < MAX_RELAYED_PROGRESS else None
            state = await self._durable(ctx, f"remote.wait-{round_}", self._wait, remote_id, news)
            if state["state"] == "working":  # the remote said how it is going
                said, relayed = state["text"], relayed + 1
                await ctx.progress(message=said)
                continue
            if state["state"] != "input-required":
                break
            schema = state.get("schema")
            answer = await ctx.ask(state["text"] or "The remote agent needs input.", schema)
            await self._durable(
                ctx,
                f"remote.reply-{round_}",
                self._reply,
                remote_id,
                context_id,
                answer,
                schema is not None,
            )
        if state["state"] != "completed":
            detail = f": {state['text']}" if state.get("text") else ""
            raise Fatal(f"the remote task {remote_id} ended {state['state']}{detail}")
        final = await self._guarded(lambda client: client.get_task(GetTaskRequest(id=remote_id)))
        deliverable: Any = None
        for artifact in final.artifacts:
            name = artifact.name or artifact.artifact_id
            if name == DELIVERABLE and artifact.parts and artifact.parts[0].HasField("data"):
                deliverable = _plain(json_format.MessageToDict(artifact.parts[0].data))
                continue
            for index, part in enumerate(artifact.parts):
                content, media_type, file_name = await self._content(artifact, part, index)
                await ctx.artifact(file_name, content, media_type)
        if deliverable is None:
            deliverable = _message_value(final.status.message) if final.status.message else None
        return deliverable

    async def reconcile(self, ctx: Context, name: str) -> Any:
        """An interrupted step: `remote.send` finds the remote task it may have made before
        sending again; the others (reads, and answers a remote refuses twice) run again."""
        pending = self._pending.pop((ctx.task_id, name), None)
        if name == "remote.send":
            context_id = _context_id(ctx.task_id)
            found = await self._guarded(
                lambda client: client.list_tasks(
                    ListTasksRequest(context_id=context_id, page_size=10)
                )
            )
            if found.tasks:
                log.info("task %s: found its remote task after a crash", ctx.task_id)
                return {"task_id": found.tasks[0].id, "context_id": context_id}
        if pending is None:
            raise Fatal(f"step {name!r} of a remote agent cannot be reconciled")
        return await pending()

    async def _durable(
        self,
        ctx: Context,
        name: str,
        fn: Callable[..., Awaitable[Any]],
        *args: Any,
        idempotent: bool = True,
    ) -> Any:
        """`ctx.step`, remembering the call for `reconcile`."""
        key = (ctx.task_id, name)
        self._pending[key] = functools.partial(fn, *args)
        try:
            return await ctx.step(name, fn, *args, idempotent=idempotent)
        finally:
            self._pending.pop(key, None)

    # -- remote calls -------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _client(self) -> AsyncIterator[Client]:
        credential = await self.hub.credential(self.record.tenant_id, self.secret)
        settings = self.hub.settings
        http = http_client(
            self.hub.allowed, auth_headers(credential), settings.call_timeout_seconds
        )
        bindings = [self.binding, *(b for b in BINDINGS if b != self.binding)]
        config = ClientConfig(
            httpx_client=http, streaming=False, supported_protocol_bindings=bindings
        )
        client = ClientFactory(config).create(self.card)
        try:
            yield client
        finally:
            await client.close()
            await http.aclose()

    async def _guarded(self, call: Callable[[Client], Awaitable[Any]]) -> Any:
        """One remote call: an outage feeds the breaker and asks for a retry; a refused
        destination or a protocol error fails the task."""
        try:
            async with self._client() as client:
                result = await call(client)
        except RefusedDestination as exc:
            raise Fatal(f"Bureau does not connect to remote agent {self.label}: {exc}") from None
        except Exception as exc:
            if not _is_outage(exc):
                if isinstance(exc, A2AError):
                    self.breaker.succeeded()  # it answered
                    raise Fatal(f"remote agent {self.label} refused: {exc}") from None
                raise
            self.breaker.failed(f"{type(exc).__name__}: {exc}")
            self.hub.watch(self.breaker)
            refusal = self.breaker.refusal()
            if refusal is not None:
                raise Retry(
                    refusal, after=max(1.0, self.breaker.next_probe_at - time.time())
                ) from None
            raise Retry(f"remote agent {self.label} failed: {exc}", after=1.0) from None
        self.breaker.succeeded()
        return result

    @property
    def label(self) -> str:
        return f"{self.record.name!r} at {self.card_url}"

    async def _send(self, task_id: str, goal: str, input: dict[str, Any]) -> dict[str, Any]:
        refusal = self.breaker.refusal()
        if refusal is not None:
            raise Fatal(refusal)
        parts = [Part(text=goal)] if goal else []
        if input:
            parts.append(new_data_part(input))
        message = Message(
            message_id=f"bureau-{task_id}",
            context_id=_context_id(task_id),
            role=Role.ROLE_USER,
            parts=parts or [Part(text="")],
        )
        request = SendMessageRequest(
            message=message, configuration=SendMessageConfiguration(return_immediately=True)
        )

        async def send(client: Client) -> dict[str, Any]:
            async for event in client.send_message(request):
                kind = event.WhichOneof("payload")
                if kind == "task":
                    return {"task_id": event.task.id, "context_id": event.task.context_id}
                if kind == "message":
                    return {"message": _message_value(event.message)}
            raise Retry(f"remote agent {self.label} answered nothing")

        result: dict[str, Any] = await self._guarded(send)
        return result

    async def _wait(self, remote_id: str, said: str | None) -> dict[str, Any]:
        """Poll the remote task until it stops: completed, failed, canceled, rejected, or
        asking (its question's text and, when it sent one, its answer schema); or, unless
        `said` is None, until it is working with a status message other than `said` (its
        progress, state `working` and the message's text). An outage
        shorter than `outage_grace_seconds` is waited out (the remote task goes on without
        us); a longer one asks for a retry."""
        settings = self.hub.settings
        outage_since: float | None = None
        delay = settings.poll_seconds
        while True:
            try:
                task: Task = await self._guarded(
                    lambda client: client.get_task(GetTaskRequest(id=remote_id, history_length=0))
                )
            except Retry:
                now = time.time()
                outage_since = outage_since or now
                if now - outage_since >= settings.outage_grace_seconds:
                    raise
                await asyncio.sleep(min(settings.probe_seconds, 2.0))
                continue
            outage_since = None
            state = _STATES.get(task.status.state)
            if state is not None:
                return {"state": state, **_question(task.status.message)}
            if said is not None and task.status.state == TaskState.TASK_STATE_WORKING:
                text = _question(task.status.message)["text"]
                if text and text != said:
                    return {"state": "working", "text": text}
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, max(settings.poll_seconds, settings.max_poll_seconds))

    async def _reply(
        self, remote_id: str, context_id: str, answer: Any, structured: bool
    ) -> dict[str, Any]:
        part = new_data_part(answer) if structured else Part(text=str(answer))
        message = Message(
            message_id=f"bureau-{remote_id}-{time.time_ns()}",
            task_id=remote_id,
            context_id=context_id,
            role=Role.ROLE_USER,
            parts=[part],
        )
        request = SendMessageRequest(
            message=message, configuration=SendMessageConfiguration(return_immediately=True)
        )

        async def send(client: Client) -> dict[str, Any]:
            try:
                async for _ in client.send_message(request):
                    pass
            except UnsupportedOperationError:  # already answered (a resent reply)
                return {"sent": False}
            return {"sent": True}

        result: dict[str, Any] = await self._guarded(send)
        return result

    async def forward_cancel(self, task_id: str, remote_id: str) -> None:
        """Cancel the remote task (best effort, bounded); once per task in this process."""
        if task_id in self.hub.forwarded:
            return
        self.hub.forwarded.add(task_id)

        async def cancel(client: Client) -> None:
            with contextlib.suppress(TaskNotCancelableError, TaskNotFoundError):
                await client.cancel_task(CancelTaskRequest(id=remote_id))

        try:
            async with asyncio.timeout(CANCEL_TIMEOUT):
                await self._guarded(cancel)
        except (Exception, TimeoutError) as exc:
            log.warning("forwarding the cancel to remote task %s failed: %s", remote_id, exc)

    async def _content(self, artifact: Artifact, part: Part, index: int) -> tuple[bytes, str, str]:
        """A remote artifact part as (content, media type, file name)."""
        name = _file_name(part.filename or artifact.name or artifact.artifact_id or "artifact")
        if index:
            name = f"{index}-{name}"
        media_type = part.media_type or ""
        kind = part.WhichOneof("content")
        if kind == "raw":
            return part.raw, media_type or "application/octet-stream", name
        if kind == "text":
            return part.text.encode(), media_type or "text/plain", name
        if kind == "data":
            value = _plain(json_format.MessageToDict(part.data))
            return orjson.dumps(value), media_type or "application/json", name
        return await self._download(part.url), media_type or "application/octet-stream", name

    async def _download(self, url: str) -> bytes:
        credential = await self.hub.credential(self.record.tenant_id, self.secret)
        settings = self.hub.settings
        limit = settings.artifact_max_bytes
        try:
            async with (
                http_client(
                    self.hub.allowed, auth_headers(credential), settings.call_timeout_seconds
                ) as http,
                http.stream("GET", url) as response,
            ):
                if response.status_code >= 500:
                    raise Retry(f"downloading {url} answered HTTP {response.status_code}")
                if response.status_code != 200:
                    raise Fatal(f"downloading {url} answered HTTP {response.status_code}")
                body = await read_capped(response, limit)
                if body is None:
                    raise Fatal(f"the remote artifact at {url} is over {limit} bytes")
                return body
        except RefusedDestination as exc:
            raise Fatal(f"Bureau does not download {url}: {exc}") from None
        except httpx.HTTPError as exc:
            raise Retry(f"downloading {url} failed: {exc}") from None


def _context_id(task_id: str) -> str:
    return f"bureau-{task_id}"


def _is_outage(exc: BaseException) -> bool:
    """A failure of the remote (down, timing out, 5xx), not an answer from it."""
    if isinstance(exc, A2AClientTimeoutError | httpx.TimeoutException | OSError):
        return True
    if isinstance(exc, A2AClientError):
        cause = exc.__cause__
        if isinstance(cause, httpx.HTTPStatusError):
            return cause.response.status_code >= 500
        return isinstance(cause, httpx.RequestError) or cause is None
    return isinstance(exc, httpx.TransportError)


def _question(message: Message) -> dict[str, Any]:
    """The text of an agent message, and the answer schema of a data part holding one."""
    texts = [p.text for p in message.parts if p.WhichOneof("content") == "text"]
    found: dict[str, Any] = {"text": "\n".join(texts)}
    for part in message.parts:
        if part.WhichOneof("content") == "data":
            value = _plain(json_format.MessageToDict(part.data))
            if isinstance(value, dict) and isinstance(value.get("schema"), dict):
                found["schema"] = value["schema"]
    return found


def _message_value(message: Message) -> Any:
    """An agent's final message as a deliverable: its one data part, else its text."""
    data = [
        _plain(json_format.MessageToDict(p.data))
        for p in message.parts
        if p.WhichOneof("content") == "data"
    ]
    if len(data) == 1:
        return data[0]
    texts = [p.text for p in message.parts if p.WhichOneof("content") == "text"]
    if data:
        return {"data": data, "text": "\n".join(texts)}
    return {"text": "\n".join(texts)} if texts else None


def _plain(value: Any) -> Any:
    """JSON from protobuf: whole floats back to ints (a `Struct` holds only doubles)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _file_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".")
    return cleaned[:200] or "artifact"
