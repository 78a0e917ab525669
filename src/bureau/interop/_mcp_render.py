"""Bureau's tasks, questions and errors in MCP's shapes: tool results, the tasks extension's
`Task`, elicitation forms, JSON-RPC errors. Pure functions of the service's records.
"""

from __future__ import annotations

from typing import Any

import mcp_types as types
import orjson
from mcp.shared.exceptions import MCPError

from bureau.errors import (
    BureauError,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    UsageError,
)
from bureau.service import TaskDetail
from bureau.service.requests import MessageCreate
from bureau.states import TaskStatus
from bureau.store.codec import iso
from bureau.store.records import TaskRecord, money_text
from bureau.store.views import artifact_view

POLL_INTERVAL_MS = 1000
"""How often a client of the tasks extension is asked to poll `tasks/get`."""

TASK_STATUS = {
    TaskStatus.SUBMITTED: "working",
    TaskStatus.WORKING: "working",
    TaskStatus.INPUT_REQUIRED: "input_required",
    TaskStatus.COMPLETED: "completed",
    # The call ended with a tool result that says it failed (isError); MCP's `failed` is for
    # a request that ended with a JSON-RPC error instead, which a dispatched task never does.
    TaskStatus.FAILED: "completed",
    TaskStatus.REJECTED: "completed",
    TaskStatus.CANCELED: "cancelled",
}
"""Bureau's task status → the tasks extension's (`io.modelcontextprotocol/tasks`)."""

FAILURES = frozenset({TaskStatus.FAILED, TaskStatus.REJECTED, TaskStatus.CANCELED})

PROTOCOL_CODES: list[tuple[type[BureauError], int]] = [
    (InvalidRequest, types.INVALID_PARAMS),
    (PayloadTooLarge, types.INVALID_PARAMS),
    (NotFound, types.INVALID_PARAMS),
    (UsageError, types.INVALID_PARAMS),
    (Forbidden, types.INVALID_REQUEST),
    (Conflict, types.INVALID_REQUEST),
    (RateLimited, types.INVALID_REQUEST),
]
"""Bureau's errors as JSON-RPC error codes (the first match wins; anything else is an
internal error). `data.code` carries Bureau's stable code, as problem+json does over REST."""


def protocol_error(exc: BureauError) -> MCPError:
    """The JSON-RPC error a request that failed with `exc` answers, with Bureau's message
    (an unknown task id is `-32602`, as the tasks extension requires)."""
    code = next((c for cls, c in PROTOCOL_CODES if isinstance(exc, cls)), types.INTERNAL_ERROR)
    return MCPError(code, exc.detail, {"code": exc.code, **exc.extra})


def outcome(detail: TaskDetail) -> dict[str, Any]:
    """The structured content of every tool result about a task: where it is, what it
    delivered, what it asks."""
    task = detail.task
    return {
        "task_id": task.id,
        "agent": task.agent,
        "status": task.status,
        "deliverable": task.deliverable,
        "artifacts": [artifact_view(a) for a in detail.artifacts],
        "cost": money_text(task.cost),
        "error": task.error,
        "question": task.question if task.status == TaskStatus.INPUT_REQUIRED else None,
    }


def agent_result(detail: TaskDetail) -> types.CallToolResult:
    """What a call of an agent's tool returns once the task stopped: its deliverable; an
    error result (`isError`) when it failed, was rejected or canceled; what it asks, and
    how to answer, when it waits for an answer."""
    task = detail.task
    if task.status in FAILURES:
        message = (task.error or {}).get("message") or f"the task was {task.status}"
        return _result(detail, f"Task {task.id} {task.status}: {message}", is_error=True)
    return task_result(detail)


def task_result(detail: TaskDetail) -> types.CallToolResult:
    """What the `bureau_*` tools return about a task: the task as it is, with a line of
    guidance when it waits for an answer or is still running."""
    task = detail.task
    if task.status == TaskStatus.INPUT_REQUIRED and task.question is not None:
        question = task.question
        schema = question.get("schema")
        expected = f" (answer schema: {orjson.dumps(schema).decode()})" if schema else ""
        note = (
            f"Task {task.id} is waiting for an answer to: {question['text']}{expected}. "
            f"Answer with the bureau_reply tool (task_id {task.id!r}, question_id "
            f"{question['id']!r}, answer), then follow it with bureau_get_task."
        )
        return _result(detail, note)
    if task.status in (TaskStatus.SUBMITTED, TaskStatus.WORKING):
        note = f"Task {task.id} is {task.status}; follow it with bureau_get_task."
        return _result(detail, note)
    return _result(detail, None)


def _result(
    detail: TaskDetail, note: str | None, *, is_error: bool = False
) -> types.CallToolResult:
    shown = outcome(detail)
    content = [types.TextContent(type="text", text=orjson.dumps(shown).decode())]
    if note is not None:
        content.insert(0, types.TextContent(type="text", text=note))
    return types.CallToolResult(content=content, structured_content=shown, is_error=is_error)


def task_wire(task: TaskRecord) -> dict[str, Any]:
    """The task as the tasks extension's `Task`: the same id as REST's, kept as long as
    Bureau keeps the task (`ttlMs` null)."""
    updated = max(t for t in (task.created_at, task.started_at, task.finished_at) if t)
    wire: dict[str, Any] = {
        "taskId": task.id,
        "status": TASK_STATUS[task.status],
        "createdAt": iso(task.created_at),
        "lastUpdatedAt": iso(updated),
        "ttlMs": None,
        "pollIntervalMs": POLL_INTERVAL_MS,
    }
    message = _status_message(task)
    if message:
        wire["statusMessage"] = message
    return wire


def _status_message(task: TaskRecord) -> str | None:
    if task.status == TaskStatus.INPUT_REQUIRED and task.question is not None:
        return str(task.question["text"])
    if task.status in FAILURES:
        message = (task.error or {}).get("message")
        return f"{task.status}: {message}" if message else str(task.status)
    if isinstance(task.progress, dict) and task.progress.get("message"):
        return str(task.progress["message"])
    return None


def detailed_task(detail: TaskDetail) -> dict[str, Any]:
    """`tasks/get`'s answer: the task, with the open question as an elicitation form
    (keyed by Bureau's question id) while it waits, and the tool result once it ended
    (canceled: none)."""
    task = detail.task
    wire = task_wire(task)
    if task.status == TaskStatus.INPUT_REQUIRED and task.question is not None:
        form = {
            "mode": "form",
            "message": task.question["text"],
            "requestedSchema": requested_schema(task.question.get("schema")),
        }
        wire["inputRequests"] = {
            task.question["id"]: {"method": "elicitation/create", "params": form}
        }
    elif wire["status"] == "completed":
        wire["result"] = agent_result(detail).model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
    return wire


PRIMITIVES = frozenset({"string", "number", "integer", "boolean"})


def requested_schema(schema: dict[str, Any] | None) -> dict[str, Any]:
    """The elicitation form for a question's answer schema. A form is an object of
    primitive fields: an object schema of those is the form itself; any other answer is
    the form's one field `answer` (a JSON text when the schema is not primitive)."""
    kind = _answer_kind(schema)
    if kind == "object":
        assert schema is not None
        return {
            "type": "object",
            "properties": schema["properties"],
            "required": list(schema.get("required", [])),
        }
    if kind == "value":
        answer = schema
    elif kind == "text":
        answer = {"type": "string"}
    else:
        answer = {
            "type": "string",
            "description": f"JSON matching this schema: {orjson.dumps(schema).decode()}",
        }
    return {"type": "object", "properties": {"answer": answer}, "required": ["answer"]}


def reply_of(question: dict[str, Any], content: dict[str, Any] | None) -> MessageCreate:
    """The reply to `question` an accepted elicitation form (`requested_schema`) makes.
    Raises `InvalidRequest` when the form lacks the answer or its JSON is not JSON."""
    schema = question.get("schema")
    kind = _answer_kind(schema)
    content = content or {}
    if kind == "object":
        return MessageCreate(data=content, question_id=question["id"])
    if "answer" not in content:
        raise InvalidRequest("the form has no `answer`", field="inputResponses")
    answer = content["answer"]
    if kind == "text":
        return MessageCreate(text=str(answer), question_id=question["id"])
    if kind == "json":
        try:
            answer = orjson.loads(str(answer))
        except orjson.JSONDecodeError as exc:
            raise InvalidRequest(f"the answer is not JSON: {exc}", field="answer") from None
    return MessageCreate(data=answer, question_id=question["id"])


def _answer_kind(schema: dict[str, Any] | None) -> str:
    """`text` (no schema), `object` (an object of primitives), `value` (a primitive), or
    `json` (anything else)."""
    if schema is None:
        return "text"
    if schema.get("type") in PRIMITIVES:
        return "value"
    properties = schema.get("properties")
    if (
        schema.get("type") == "object"
        and isinstance(properties, dict)
        and properties
        and all(isinstance(p, dict) and p.get("type") in PRIMITIVES for p in properties.values())
    ):
        return "object"
    return "json"
