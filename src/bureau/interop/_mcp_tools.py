"""The MCP door's tools: one per agent the caller's catalog shows, and the `bureau_*` tools
for clients without the tasks extension.

Calling an agent's tool dispatches a task. A client that declared the tasks extension gets
the task at once (`_mcp_tasks` answers the rest); any other waits while the task's event
log streams to it as progress notifications, and gets the deliverable, the failure, or the
question the task waits on (answered with `bureau_reply`: a blocking call never waits for
a person). A call that is cut off leaves the task running: the first progress notification
names it.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, cast

import mcp_types as types
from mcp.server import ServerRequestContext
from mcp.server.context import HandlerResult
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from bureau.auth.caller import Caller
from bureau.errors import BureauError, InvalidRequest, NotFound
from bureau.interop._auth import current_caller
from bureau.interop._mcp_render import agent_result, task_result, task_wire
from bureau.service import HEARTBEAT, Service, TaskDetail
from bureau.service.requests import MessageCreate, TaskCreate
from bureau.states import STOP_STATUSES
from bureau.store.records import Event
from bureau.store.views import AgentSummary

TASKS_EXTENSION = "io.modelcontextprotocol/tasks"

GOAL = {"type": "string", "description": "What the agent should achieve, in plain words"}
TASK_ID = {"type": "string", "description": "The task's id (`task_id` of a result)"}
PROFILES = {"type": "string", "enum": ["fast", "balanced", "thorough"]}


def _tool(name: str, description: str, properties: dict[str, Any], *required: str) -> types.Tool:
    schema = {"type": "object", "properties": properties, "required": list(required)}
    return types.Tool(name=name, description=description, input_schema=schema)


BUREAU_TOOLS = [
    _tool(
        "bureau_dispatch",
        "Dispatch a goal to an agent and return its task at once (follow it with "
        "bureau_get_task). For long work with clients that cannot use MCP tasks.",
        {
            "agent": {"type": "string", "description": "The agent's name (a tool's name)"},
            "goal": GOAL,
            "input": {"type": "object", "description": "The agent's input (its tool's schema)"},
            "profile": PROFILES,
            "deadline_seconds": {"type": "number", "exclusiveMinimum": 0},
        },
        "agent",
        "goal",
    ),
    _tool(
        "bureau_get_task",
        "A task as it is now: status, the question it waits on, deliverable, error.",
        {"task_id": TASK_ID},
        "task_id",
    ),
    _tool(
        "bureau_reply",
        "Answer the question a task waits on (input-required).",
        {
            "task_id": TASK_ID,
            "question_id": {"type": "string", "description": "The question's `id`"},
            "answer": {"description": "Text, or JSON matching the question's schema"},
        },
        "task_id",
        "question_id",
        "answer",
    ),
    _tool("bureau_cancel", "Cancel a task (and its children).", {"task_id": TASK_ID}, "task_id"),
]
"""Names with an underscore, which no agent name has (`^[a-z0-9][a-z0-9-]*$`)."""


def agent_tool(agent: AgentSummary) -> types.Tool:
    """The tool of an agent: its latest version's input schema plus the required `goal`."""
    schema = copy.deepcopy(agent["input_schema"] or {})
    schema.setdefault("type", "object")
    schema["properties"] = {**schema.get("properties", {}), "goal": GOAL}
    schema["required"] = ["goal", *(r for r in schema.get("required", []) if r != "goal")]
    return types.Tool(
        name=agent["name"],
        title=agent["name"],
        description=(
            f"{agent['description'] or 'A Bureau agent'} (version {agent['latest_version']}, "
            f"price {agent['price']} per task)"
        ),
        input_schema=schema,
        annotations=types.ToolAnnotations(read_only_hint=False, open_world_hint=True),
    )


def declares_tasks(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Whether this request's client declared the tasks extension (2026-07-28 only: a
    legacy client's capabilities are not kept across stateless requests)."""
    capabilities = ctx.session.client_capabilities
    return bool(
        capabilities and capabilities.extensions and TASKS_EXTENSION in capabilities.extensions
    )


BureauTool = Callable[[Caller, dict[str, Any]], Awaitable[TaskDetail]]


class Tools:
    """`tools/list` and `tools/call` over the service."""

    def __init__(self, service: Service) -> None:
        self._service = service
        self._bureau_tools: dict[str, BureauTool] = {
            "bureau_dispatch": self._dispatch,
            "bureau_get_task": self._get,
            "bureau_reply": self._reply,
            "bureau_cancel": self._cancel,
        }

    async def list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        """The agents the caller's catalog shows (by name), then the `bureau_*` tools; the
        list is private to the caller and never cached (`ttlMs` 0)."""
        agents = await self._service.catalog.agents(current_caller())
        tools = [agent_tool(a) for a in sorted(agents, key=lambda a: a["name"])]
        return types.ListToolsResult(tools=[*tools, *BUREAU_TOOLS])

    async def call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> HandlerResult:
        """Run a tool. What the service refuses (a missing scope, input that does not fit
        the schema, an unknown task) is an error result the model can read; an unknown
        tool is a JSON-RPC error."""
        caller = current_caller()
        arguments = dict(params.arguments or {})
        bureau_tool = self._bureau_tools.get(params.name)
        try:
            if bureau_tool is not None:
                return task_result(await bureau_tool(caller, arguments))
            goal = arguments.pop("goal", None)
            request = TaskCreate(agent=params.name, goal=goal, input=arguments or None)
            if not declares_tasks(ctx):
                caller.require("tasks.events")  # refused before dispatching, not after
            detail = await self._service.tasks.dispatch(caller, request)
        except NotFound as exc:
            if bureau_tool is not None:
                return _error_result(exc.detail)
            raise MCPError(
                types.INVALID_PARAMS, f"unknown tool {params.name!r}: tools/list lists them"
            ) from None
        except BureauError as exc:
            return _error_result(exc.detail)
        except ValidationError as exc:
            return _error_result(_invalid_arguments(exc))
        if declares_tasks(ctx):
            return {"resultType": "task", **task_wire(detail.task)}
        return agent_result(await self._wait(ctx, caller, detail))

    async def _wait(
        self, ctx: ServerRequestContext[Any, Any], caller: Caller, detail: TaskDetail
    ) -> TaskDetail:
        """Follow the task's event log until it stops (ends, or waits for an answer),
        reporting each event as progress (its `seq`, so progress only grows)."""
        task = detail.task
        await ctx.session.report_progress(0, None, f"task {task.id} dispatched to {task.agent}")
        # `follow` is an async generator: closing it when the wait ends unsubscribes it now
        events = cast(
            "AsyncGenerator[Event | None, None]",
            await self._service.events.open_stream(caller, task.id),
        )
        async with contextlib.aclosing(events):
            async for event in events:
                if event is HEARTBEAT:
                    continue
                await ctx.session.report_progress(event["seq"], None, _summary(event))
                data = event["data"] if isinstance(event["data"], dict) else {}
                if event["type"] == "status" and data.get("status") in STOP_STATUSES:
                    break
        return await self._service.tasks.get(caller, task.id)

    async def _dispatch(self, caller: Caller, arguments: dict[str, Any]) -> TaskDetail:
        return await self._service.tasks.dispatch(caller, TaskCreate.model_validate(arguments))

    async def _get(self, caller: Caller, arguments: dict[str, Any]) -> TaskDetail:
        return await self._service.tasks.get(caller, _task_id(arguments))

    async def _reply(self, caller: Caller, arguments: dict[str, Any]) -> TaskDetail:
        answer = arguments.get("answer")
        text, data = (answer, None) if isinstance(answer, str) else (None, answer)
        message = MessageCreate(text=text, data=data, question_id=arguments.get("question_id"))
        return await self._service.tasks.message(caller, _task_id(arguments), message)

    async def _cancel(self, caller: Caller, arguments: dict[str, Any]) -> TaskDetail:
        return await self._service.tasks.cancel(caller, _task_id(arguments))


def _task_id(arguments: dict[str, Any]) -> str:
    task_id = arguments.get("task_id")
    if not isinstance(task_id, str) or not task_id:
        raise InvalidRequest("send `task_id`, the id of a task", field="task_id")
    return task_id


def _summary(event: Event) -> str:
    """A progress notification's message: the event's type and what it says."""
    data = event["data"] if isinstance(event["data"], dict) else {}
    said = data.get("message") or data.get("status") or data.get("text") or data.get("name")
    return f"{event['type']}: {said}" if said else str(event["type"])


def _invalid_arguments(exc: ValidationError) -> str:
    fields = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()
    )
    return f"invalid arguments: {fields}"


def _error_result(message: str) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=message)], is_error=True
    )
