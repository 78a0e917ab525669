"""Translation between A2A 1.0 messages and Bureau's records, both ways, with no I/O.

A2A → Bureau: a message's text parts are the goal (or the reply's text), its data parts
the input (or the reply's data). Bureau → A2A: a task is a `Task` whose status message
carries the open question (text, plus a data part with its id and schema) or the error,
whose artifacts are Bureau's files (as `url` or `raw` parts, built by the caller) and the
deliverable (a data part); the event log becomes status and artifact update events, each
with its `seq` in `metadata.bureauSeq` (the resume point of `Last-Event-ID`).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from typing import Any

from a2a.types import (
    Artifact,
    Message,
    Part,
    Role,
    StreamResponse,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from a2a.utils.errors import ContentTypeNotSupportedError
from google.protobuf import json_format, struct_pb2  # type: ignore[import-untyped]

from bureau.states import EventType
from bureau.states import TaskStatus as Status
from bureau.store.records import DeliveryContent, Event, TaskRecord, WebhookDelivery

STATES: dict[Status, TaskState] = {
    Status.SUBMITTED: TaskState.TASK_STATE_SUBMITTED,
    Status.WORKING: TaskState.TASK_STATE_WORKING,
    Status.INPUT_REQUIRED: TaskState.TASK_STATE_INPUT_REQUIRED,
    Status.COMPLETED: TaskState.TASK_STATE_COMPLETED,
    Status.FAILED: TaskState.TASK_STATE_FAILED,
    Status.CANCELED: TaskState.TASK_STATE_CANCELED,
    Status.REJECTED: TaskState.TASK_STATE_REJECTED,
}
STATUSES = {state: status for status, state in STATES.items()}
STOPS = frozenset(
    {
        TaskState.TASK_STATE_INPUT_REQUIRED,
        TaskState.TASK_STATE_COMPLETED,
        TaskState.TASK_STATE_FAILED,
        TaskState.TASK_STATE_CANCELED,
        TaskState.TASK_STATE_REJECTED,
    }
)
"""States at which a send or a subscription stops streaming: the caller has to act, or
the task is over."""

DELIVERABLE = "deliverable"
"""The artifact id of a task's deliverable (Bureau's files keep their own names)."""


def plain(value: Any) -> Any:
    """A protobuf `Value` decoded, with integral numbers back as ints (protobuf keeps every
    number as a double: a `count` of 3 arrives as 3.0)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def data_part(value: Any) -> Part:
    return Part(data=json_format.ParseDict(value, struct_pb2.Value()))


def split_message(message: Message) -> tuple[str | None, list[Any], list[Part]]:
    """The message's text (its text parts joined, None without any), its data parts'
    values, and its file parts (`raw` or `url`)."""
    texts: list[str] = []
    data: list[Any] = []
    files: list[Part] = []
    for part in message.parts:
        kind = part.WhichOneof("content")
        if kind == "text":
            texts.append(part.text)
        elif kind == "data":
            data.append(plain(json_format.MessageToDict(part.data)))
        else:
            files.append(part)
    return ("\n".join(texts) if texts else None), data, files


def accepted(media_type: str, patterns: list[str]) -> bool:
    """Whether `media_type` matches one of `patterns` (`*/*`, `image/*`, `image/png`)."""
    kind = media_type.partition(";")[0].strip().lower()
    major = kind.partition("/")[0]
    return any(p in ("*/*", kind) or p == f"{major}/*" for p in patterns)


def input_files(files: list[Part], patterns: list[str]) -> list[dict[str, str]]:
    """File parts as an agent's `input["files"]`: name, media type, and `url` or `base64`.
    `ContentTypeNotSupportedError` for one whose media type the agent does not take."""
    out = []
    for n, part in enumerate(files, 1):
        media_type = part.media_type or "application/octet-stream"
        if not accepted(media_type, patterns):
            takes = ", ".join(patterns) if patterns else "no files"
            raise ContentTypeNotSupportedError(
                f"this agent takes text, JSON data and {takes}, not a file of {media_type}"
            )
        file = {"name": part.filename or f"file-{n}", "media_type": media_type}
        if part.WhichOneof("content") == "url":
            file["url"] = part.url
        else:
            file["base64"] = base64.b64encode(part.raw).decode()
        out.append(file)
    return out


def context_id_of(task: TaskRecord) -> str:
    """The A2A context of a task: the one its dispatching message named, else its session,
    else the task itself (a task dispatched over REST)."""
    a2a = task.metadata.get("a2a")
    context_id = a2a.get("context_id") if isinstance(a2a, dict) else None
    return context_id if isinstance(context_id, str) else task.session_id or task.id


def timestamp(status: TaskStatus, at: float | None) -> None:
    if at is not None:
        status.timestamp.FromDatetime(dt.datetime.fromtimestamp(at, dt.UTC))


def agent_message(task: TaskRecord, message_id: str, parts: list[Part]) -> Message:
    return Message(
        message_id=message_id,
        role=Role.ROLE_AGENT,
        task_id=task.id,
        context_id=context_id_of(task),
        parts=parts,
    )


def question_message(task: TaskRecord, question: dict[str, Any]) -> Message:
    """The agent's question: its text, and a data part with its id and answer schema."""
    details = {"question_id": question["id"], "schema": question.get("schema")}
    return agent_message(task, question["id"], [Part(text=question["text"]), data_part(details)])


def status_of(task: TaskRecord, status: Status, data: dict[str, Any] | None = None) -> TaskStatus:
    """The A2A status for `status` of `task`: the question of an `input-required` one, the
    error of a failed or rejected one (`data`: the status event's, else the task's)."""
    out = TaskStatus(state=STATES[status])
    error = (data or {}).get("error") or (task.error if data is None else None)
    if status == Status.INPUT_REQUIRED and task.question is not None:
        out.message.CopyFrom(question_message(task, task.question))
    elif error and status in (Status.FAILED, Status.REJECTED):
        message = str(error.get("message") or error.get("code") or "failed")
        out.message.CopyFrom(agent_message(task, f"{task.id}-error", [Part(text=message)]))
    return out


def deliverable_artifact(value: Any) -> Artifact:
    part = Part(text=value) if isinstance(value, str) else data_part(value)
    return Artifact(artifact_id=DELIVERABLE, name=DELIVERABLE, parts=[part])


def goal_message(task: TaskRecord) -> Message:
    """The dispatching message as Bureau keeps it: the goal, and the input as data."""
    a2a = task.metadata.get("a2a")
    message_id = a2a.get("message_id") if isinstance(a2a, dict) else None
    parts = [Part(text=task.goal)]
    if task.input:
        parts.append(data_part(task.input))
    return Message(
        message_id=str(message_id or f"{task.id}-goal"),
        role=Role.ROLE_USER,
        task_id=task.id,
        context_id=context_id_of(task),
        parts=parts,
    )


def history_of(task: TaskRecord, conversation: Sequence[Event]) -> list[Message]:
    """The task's messages in order: the goal, then each question (the agent's) and each
    message sent to the task (the user's), from its `question` and `message` events."""
    history = [goal_message(task)]
    for event in conversation:
        data = event["data"]
        if event["type"] == EventType.QUESTION:
            history.append(question_message(task, data))
            continue
        said = [Part(text=data["text"])] if data.get("text") is not None else []
        if data.get("data") is not None:
            said.append(data_part(data["data"]))
        message = agent_message(task, f"{task.id}-{event['seq']}", said)
        message.role = Role.ROLE_USER
        history.append(message)
    return history


def task_of(task: TaskRecord, files: list[Artifact], conversation: Sequence[Event] = ()) -> Task:
    """The A2A task for a Bureau task; `files` are its artifacts as A2A artifacts, its
    history the goal and `conversation` (its `question` and `message` events). Its
    `metadata.bureauSeq` is the last event it reflects."""
    status = status_of(task, task.status)
    progress = task.progress.get("message") if isinstance(task.progress, dict) else None
    if task.status == Status.WORKING and progress:  # the latest progress, as the stream said
        text = [Part(text=str(progress))]
        status.message.CopyFrom(agent_message(task, f"{task.id}-progress", text))
    timestamp(status, task.updated_at)
    out = Task(
        id=task.id,
        context_id=context_id_of(task),
        status=status,
        history=history_of(task, conversation),
        artifacts=files,
        metadata={"bureauSeq": task.last_seq, "agentVersion": task.agent_version},
    )
    if task.deliverable is not None:
        out.artifacts.append(deliverable_artifact(task.deliverable))
    return out


def status_update(task: TaskRecord, seq: int, status: TaskStatus) -> TaskStatusUpdateEvent:
    return TaskStatusUpdateEvent(
        task_id=task.id,
        context_id=context_id_of(task),
        status=status,
        metadata={"bureauSeq": seq},
    )


def artifact_update(task: TaskRecord, seq: int, artifact: Artifact) -> TaskArtifactUpdateEvent:
    return TaskArtifactUpdateEvent(
        task_id=task.id,
        context_id=context_id_of(task),
        artifact=artifact,
        last_chunk=True,
        metadata={"bureauSeq": seq},
    )


def at_of(event: Event) -> float | None:
    """When a logged event happened, as epoch seconds."""
    text = event["at"]
    return dt.datetime.fromisoformat(text).timestamp() if text is not None else None


def push_body(delivery: WebhookDelivery, content: DeliveryContent) -> bytes:
    """An A2A push notification (the webhook format `a2a`): a StreamResponse holding the
    task as it is now, its deliverable included; its files are listed by GetTask."""
    task = task_of(content.task, [])
    text: str = json_format.MessageToJson(StreamResponse(task=task), indent=None)
    return text.encode()
