"""The A2A request handler: each A2A operation mapped onto one of Bureau's service calls.

It owns no state: tasks, their event logs and webhooks live in Bureau's store, reached
through `Service` with the `Caller` the door authenticated (`context.state["caller"]`), so
scopes, tenancy, quotas and audit apply exactly as over REST. A task is visible on the
endpoint of its own agent only (`context.state["agent"]`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing, contextmanager
from typing import Any
from urllib.parse import quote, unquote

from a2a.server.context import ServerCallContext
from a2a.server.events import Event
from a2a.server.request_handlers import RequestHandler, validate_request_params
from a2a.types import (
    AgentCard,
    Artifact,
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTaskPushNotificationConfigsResponse,
    ListTasksRequest,
    ListTasksResponse,
    Message,
    Part,
    SendMessageRequest,
    SubscribeToTaskRequest,
    Task,
    TaskArtifactUpdateEvent,
    TaskPushNotificationConfig,
    TaskState,
)
from a2a.utils.constants import DEFAULT_LIST_TASKS_PAGE_SIZE
from a2a.utils.errors import (
    A2AError,
    ContentTypeNotSupportedError,
    InvalidParamsError,
    InvalidRequestError,
    TaskNotCancelableError,
    TaskNotFoundError,
    UnsupportedOperationError,
)
from a2a.utils.task import apply_history_length, validate_page_size
from google.protobuf import json_format  # type: ignore[import-untyped]
from pydantic import ValidationError

from bureau.auth.caller import Caller
from bureau.errors import BureauError, InvalidRequest, InvalidState, NotFound, PayloadTooLarge
from bureau.interop import _a2a_parts as parts
from bureau.interop._a2a_cards import agent_card
from bureau.service import HEARTBEAT, Service, TaskDetail
from bureau.service.requests import MessageCreate, TaskCreate, WebhookSpec
from bureau.states import TERMINAL_STATUSES, EventType
from bureau.states import TaskStatus as Status
from bureau.store.records import TaskRecord

CONFIG_ID = "#a2a-config="
"""A task has one push-notification config, its webhook; an id the client gave the config
is kept in the webhook URL's fragment (HTTP never sends it), else the id is the task's."""

REPLY = "bureauReply"
"""Metadata key of a deliverable artifact that is the agent's `Reply`."""

INLINE_BYTES = 16 * 1024
"""Artifacts up to this size come back inline (`raw`); larger ones as a `url` to
`GET /v1/tasks/{id}/artifacts/{name}` (the same bearer key)."""


@contextmanager
def bureau_errors(missing: type[A2AError] = TaskNotFoundError) -> Iterator[None]:
    """Bureau's errors as A2A's: `NotFound` as `missing`, invalid input as invalid params,
    a finished task as an unsupported operation, anything else (a missing scope, a conflict,
    a full queue) as an invalid request whose `data.code` is Bureau's stable code."""
    try:
        yield
    except NotFound as exc:
        raise missing(exc.detail) from exc
    except (InvalidRequest, PayloadTooLarge) as exc:
        raise InvalidParamsError(exc.detail) from exc
    except InvalidState as exc:
        raise UnsupportedOperationError(exc.detail) from exc
    except BureauError as exc:
        raise InvalidRequestError(exc.detail, data={"code": exc.code}) from exc


def _checked(
    model: type[TaskCreate] | type[MessageCreate] | type[WebhookSpec], **fields: Any
) -> Any:
    """The request model, or invalid params saying what does not fit."""
    try:
        return model(**fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'message'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidParamsError(f"the request does not fit a Bureau task: {problems}") from exc


class BureauRequestHandler(RequestHandler):
    """A2A over Bureau's service layer; one instance serves every agent's endpoint."""

    def __init__(self, service: Service) -> None:
        self._service = service

    # -- reading -----------------------------------------------------------------------

    async def _owned(self, context: ServerCallContext, task_id: str) -> TaskDetail:
        """The caller's task of this endpoint's agent; `TaskNotFoundError` otherwise (also
        for another tenant's task, whose existence is not revealed)."""
        with bureau_errors():
            detail = await self._service.tasks.get(_caller(context), task_id)
        if detail.task.agent != context.state["agent"]:
            raise TaskNotFoundError(f"agent {context.state['agent']!r} has no task {task_id!r}")
        return detail

    async def _file(
        self, context: ServerCallContext, task_id: str, name: str, media_type: str, size: int
    ) -> Artifact:
        """A Bureau artifact as an A2A one: inline when small, else its download URL."""
        if size <= INLINE_BYTES:
            with bureau_errors():
                _, path = await self._service.tasks.artifact(_caller(context), task_id, name)
            part = Part(raw=await asyncio.to_thread(path.read_bytes))
        else:
            url = f"{context.state['base_url']}/v1/tasks/{task_id}/artifacts/"
            part = Part(url=url + quote(name, safe=""))
        part.filename, part.media_type = name, media_type
        return Artifact(artifact_id=name, name=name, parts=[part])

    async def _task(
        self, context: ServerCallContext, detail: TaskDetail, *, history: bool = False
    ) -> Task:
        """The A2A task; its history holds the goal, and with `history` also its questions
        and the messages sent to it."""
        files = [
            await self._file(context, a.task_id, a.name, a.media_type, a.size)
            for a in detail.artifacts
        ]
        conversation = []
        if history:
            with bureau_errors():
                conversation = await self._service.events.conversation(
                    _caller(context), detail.task.id
                )
        return parts.task_of(detail.task, files, conversation)

    async def _events(
        self, context: ServerCallContext, task: TaskRecord, after: int
    ) -> AsyncGenerator[Event]:
        """The task's log after `after` as A2A events, up to a status where the caller has
        to act or the task ended (the question of `input-required` included)."""
        with bureau_errors():
            log = await self._service.events.open_stream(_caller(context), task.id, after=after)
        async with aclosing(log) as events:  # type: ignore[type-var]
            async for event in events:
                if event is HEARTBEAT:
                    continue
                seq, kind, data = event["seq"], event["type"], event["data"]
                if kind == EventType.STATUS and data["status"] != Status.INPUT_REQUIRED:
                    status = parts.status_of(task, Status(data["status"]), data)
                elif kind == EventType.QUESTION:  # follows its `input-required` status
                    status = parts.status_of(task, Status.WORKING)
                    status.state = TaskState.TASK_STATE_INPUT_REQUIRED
                    status.message.CopyFrom(parts.question_message(task, data))
                elif kind == EventType.PROGRESS:
                    status = parts.status_of(task, Status.WORKING)
                    if data.get("message"):
                        text = [Part(text=str(data["message"]))]
                        status.message.CopyFrom(parts.agent_message(task, f"{task.id}-{seq}", text))
                elif kind == EventType.ARTIFACT:
                    file = await self._file(
                        context, task.id, data["name"], data["media_type"], data["size"]
                    )
                    yield parts.artifact_update(task, seq, file)
                    continue
                elif kind == EventType.DELIVERABLE and data.get("deliverable") is not None:
                    artifact = parts.deliverable_artifact(data["deliverable"])
                    if data.get("reply"):
                        artifact.metadata.update({REPLY: True})
                    yield parts.artifact_update(task, seq, artifact)
                    continue
                else:
                    continue
                parts.timestamp(status, parts.at_of(event))
                yield parts.status_update(task, seq, status)
                if status.state in parts.STOPS:
                    return

    # -- sending -----------------------------------------------------------------------

    async def _start(self, params: SendMessageRequest, context: ServerCallContext) -> TaskDetail:
        """Dispatch a new task, or pass the message to the task it names (the answer to
        its open question, or context for a running one)."""
        message = params.message
        text, data, files = parts.split_message(message)
        caller = _caller(context)
        if files and message.task_id:
            raise ContentTypeNotSupportedError(
                "files are taken when a task is dispatched, not in a reply; send a URL as data"
            )
        if message.task_id:
            detail = await self._owned(context, message.task_id)
            task = detail.task
            if message.context_id and message.context_id != parts.context_id_of(task):
                raise InvalidParamsError(f"task {task.id} is not in context {message.context_id}")
            if task.status in TERMINAL_STATUSES:
                raise UnsupportedOperationError(f"task {task.id} is already {task.status}")
            question = task.question_id if task.status == Status.INPUT_REQUIRED else None
            reply = _checked(
                MessageCreate,
                text=text,
                data=data[0] if len(data) == 1 else (data or None),
                question_id=question,
            )
            with bureau_errors():
                return await self._service.tasks.message(caller, task.id, reply)
        inputs = [d for d in data if isinstance(d, dict)]
        if len(inputs) != len(data) or len(inputs) > 1:
            raise InvalidParamsError("send the task's input as one data part holding an object")
        if files:
            with bureau_errors(missing=InvalidParamsError):
                agent = await self._service.catalog.agent(caller, context.state["agent"])
            latest = next(v for v in agent["versions"] if v["version"] == agent["latest_version"])
            if inputs and "files" in inputs[0]:
                raise InvalidParamsError("the input has a `files` key and the message has files")
            inputs = [
                {
                    **(inputs[0] if inputs else {}),
                    "files": parts.input_files(files, latest["accepts_files"]),
                }
            ]
        config = params.configuration
        webhook = None
        if config.HasField("task_push_notification_config"):
            webhook = _webhook(config.task_push_notification_config)
        metadata = parts.plain(json_format.MessageToDict(params.metadata))
        metadata |= parts.plain(json_format.MessageToDict(message.metadata))
        metadata["a2a"] = {
            "context_id": message.context_id or f"ctx_{message.message_id}",
            "message_id": message.message_id,
        }
        request = _checked(
            TaskCreate,
            agent=context.state["agent"],
            goal=text or "",
            input=inputs[0] if inputs else None,
            webhook=webhook,
            metadata=metadata,
        )
        with bureau_errors(missing=InvalidParamsError):
            return await self._service.tasks.dispatch(caller, request)

    @validate_request_params
    async def on_message_send(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> Task | Message:
        """Blocking by default: answers once the task needs input or ended, with the task,
        or with the agent's message when it completed with a `Reply`;
        `returnImmediately` answers with the task as dispatched."""
        detail = await self._start(params, context)
        if params.configuration.return_immediately:
            return apply_history_length(await self._task(context, detail), params.configuration)
        reply: Artifact | None = None
        async with aclosing(self._events(context, detail.task, detail.task.last_seq)) as tail:
            async for event in tail:
                if isinstance(event, TaskArtifactUpdateEvent) and REPLY in event.artifact.metadata:
                    reply = event.artifact
        detail = await self._owned(context, detail.task.id)
        if reply is not None and detail.task.status == Status.COMPLETED:
            return parts.agent_message(detail.task, f"{detail.task.id}-reply", list(reply.parts))
        task = await self._task(context, detail, history=True)
        return apply_history_length(task, params.configuration)

    @validate_request_params
    async def on_message_send_stream(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        detail = await self._start(params, context)
        yield apply_history_length(await self._task(context, detail), params.configuration)
        async with aclosing(self._events(context, detail.task, detail.task.last_seq)) as tail:
            async for event in tail:
                yield event

    @validate_request_params
    async def on_subscribe_to_task(
        self, params: SubscribeToTaskRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        """The task as it is, then its events. With a `Last-Event-ID` header (a
        `metadata.bureauSeq` seen before a cut) the events after it are replayed first, so
        nothing is lost or repeated, even when the task ended meanwhile."""
        resume = context.state["headers"].get("last-event-id")
        if resume is not None and not (resume.isascii() and resume.isdigit() and len(resume) < 19):
            raise InvalidParamsError("Last-Event-ID must be the bureauSeq of an event")
        detail = await self._owned(context, params.id)
        if resume is None and detail.task.status in TERMINAL_STATUSES:
            raise UnsupportedOperationError(f"task {params.id} is already {detail.task.status}")
        yield await self._task(context, detail)
        after = detail.task.last_seq if resume is None else int(resume)
        async with aclosing(self._events(context, detail.task, after)) as tail:
            async for event in tail:
                yield event

    # -- tasks -------------------------------------------------------------------------

    @validate_request_params
    async def on_get_task(self, params: GetTaskRequest, context: ServerCallContext) -> Task:
        detail = await self._owned(context, params.id)
        return apply_history_length(await self._task(context, detail, history=True), params)

    @validate_request_params
    async def on_list_tasks(
        self, params: ListTasksRequest, context: ServerCallContext
    ) -> ListTasksResponse:
        """The caller's tenant's tasks of this agent, newest first. `status` is filtered by
        the store; `contextId` and `statusTimestampAfter` here, reading on until a page is
        full. `totalSize` counts the tasks of this page and those before it in the scan,
        not the whole listing (Bureau does not count it)."""
        size = params.page_size if params.HasField("page_size") else DEFAULT_LIST_TASKS_PAGE_SIZE
        validate_page_size(size)
        status = Status(parts.STATUSES[params.status]) if params.status in parts.STATUSES else None
        if params.status and status is None:
            return ListTasksResponse(page_size=size)
        after = None
        if params.HasField("status_timestamp_after"):
            after = params.status_timestamp_after.ToNanoseconds() / 1e9
        found: list[TaskRecord] = []
        cursor: str | None = params.page_token or None
        while len(found) < size:
            with bureau_errors():
                page = await self._service.tasks.page(
                    _caller(context),
                    status=status,
                    agent=context.state["agent"],
                    limit=size,
                    cursor=cursor,
                )
            for task in page.tasks:
                cursor = task.id
                if params.context_id and parts.context_id_of(task) != params.context_id:
                    continue
                if after is not None and task.updated_at < after:
                    continue
                found.append(task)
                if len(found) == size:
                    break
            if page.next_cursor is None and (not page.tasks or cursor == page.tasks[-1].id):
                cursor = None
                break
        out = ListTasksResponse(page_size=size, total_size=len(found), next_page_token=cursor or "")
        for task in found:
            if params.include_artifacts:
                a2a = await self._task(context, await self._owned(context, task.id))
            else:
                a2a = parts.task_of(task, [])
                del a2a.artifacts[:]
            out.tasks.append(apply_history_length(a2a, params))
        return out

    @validate_request_params
    async def on_cancel_task(self, params: CancelTaskRequest, context: ServerCallContext) -> Task:
        await self._owned(context, params.id)
        with bureau_errors():
            try:
                detail = await self._service.tasks.cancel(_caller(context), params.id)
            except InvalidState as exc:
                raise TaskNotCancelableError(exc.detail) from exc
        return await self._task(context, detail)

    # -- push notifications: the task's webhook ----------------------------------------

    def _config(self, task: TaskRecord) -> TaskPushNotificationConfig:
        url, marked, name = (task.webhook_url or "").partition(CONFIG_ID)
        config_id = unquote(name) if marked else task.id
        return TaskPushNotificationConfig(id=config_id, task_id=task.id, url=url)

    def _named(self, task: TaskRecord, config_id: str) -> bool:
        """Whether the task has a push-notification config and `config_id` ('' for any)
        names it."""
        return task.webhook_url is not None and config_id in ("", self._config(task).id)

    @validate_request_params
    async def on_create_task_push_notification_config(
        self, params: TaskPushNotificationConfig, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        """Point the task's webhook at `url` (replacing any config); the config's id is
        the client's, else the task's."""
        await self._owned(context, params.task_id)
        webhook = _webhook(params)
        with bureau_errors():
            detail = await self._service.tasks.set_webhook(
                _caller(context), params.task_id, webhook
            )
        return self._config(detail.task)

    @validate_request_params
    async def on_get_task_push_notification_config(
        self, params: GetTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        task = (await self._owned(context, params.task_id)).task
        if not self._named(task, params.id):
            raise TaskNotFoundError(f"task {task.id} has no push-notification config {params.id!r}")
        return self._config(task)

    @validate_request_params
    async def on_list_task_push_notification_configs(
        self, params: ListTaskPushNotificationConfigsRequest, context: ServerCallContext
    ) -> ListTaskPushNotificationConfigsResponse:
        task = (await self._owned(context, params.task_id)).task
        configs = [self._config(task)] if task.webhook_url else []
        return ListTaskPushNotificationConfigsResponse(configs=configs)

    @validate_request_params
    async def on_delete_task_push_notification_config(
        self, params: DeleteTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> None:
        """Idempotent: deleting a config the task does not have is a no-op."""
        task = (await self._owned(context, params.task_id)).task
        if self._named(task, params.id):
            with bureau_errors():
                await self._service.tasks.set_webhook(_caller(context), task.id, None)

    @validate_request_params
    async def on_get_extended_agent_card(
        self, params: GetExtendedAgentCardRequest, context: ServerCallContext
    ) -> AgentCard:
        """The agent's card as the caller's key sees it: the same as the card's URL serves,
        which already needs the key."""
        with bureau_errors():
            agent = await self._service.catalog.agent(_caller(context), context.state["agent"])
        return agent_card(agent, context.state["base_url"])


def _caller(context: ServerCallContext) -> Caller:
    caller: Caller = context.state["caller"]
    return caller


def _webhook(config: TaskPushNotificationConfig) -> WebhookSpec:
    """The task's webhook for a push-notification config: A2A push notifications (a
    StreamResponse with the task) to its URL, with its credentials as `Authorization:
    <scheme> <credentials>` and its token as `X-A2A-Notification-Token` (both sealed at
    rest, never shown again), beside Bureau's Standard Webhooks signature. The config's
    own id (when the client gave one) is kept in the URL's fragment, which is never sent."""
    url = config.url
    if config.id and config.id != config.task_id:
        if "#" in config.url:
            raise InvalidParamsError("a push-notification config's url must have no fragment")
        url += CONFIG_ID + quote(config.id, safe="")
    headers = {}
    if config.HasField("authentication"):
        auth = config.authentication
        headers["Authorization"] = f"{auth.scheme or 'Bearer'} {auth.credentials}".strip()
    if config.token:
        headers["X-A2A-Notification-Token"] = config.token
    spec: WebhookSpec = _checked(WebhookSpec, url=url, headers=headers or None, format="a2a")
    return spec
