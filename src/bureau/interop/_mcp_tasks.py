"""The MCP tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) over Bureau's tasks.

The mcp SDK has no support for it, so this module speaks its wire format: `tasks/get`,
`tasks/update` and `tasks/cancel`, for 2026-07-28 clients that declare the extension (others
get `-32021`). The task id is Bureau's: the same task REST, A2A and the `bureau_*` tools
show, scoped to the caller's tenant (another tenant's id is unknown: `-32602`). A question
is an elicitation form keyed by Bureau's question id; answering it is a reply to it.
"""

from __future__ import annotations

import contextlib
from typing import Any

import mcp_types as types
from mcp.server import ServerRequestContext
from mcp.server.mcpserver import require_client_extension
from pydantic import Field

from bureau.errors import InvalidState, QuestionAlreadyAnswered
from bureau.interop._auth import current_caller
from bureau.interop._mcp_render import detailed_task, reply_of
from bureau.interop._mcp_tools import TASKS_EXTENSION
from bureau.service import Service
from bureau.states import TaskStatus


class TaskIdParams(types.RequestParams):
    task_id: str = Field(alias="taskId")


class UpdateTaskParams(TaskIdParams):
    input_responses: dict[str, types.ElicitResult] = Field(alias="inputResponses")


class TaskMethods:
    """The extension's three methods; each answers from the task as stored (any replica
    may serve any of them)."""

    def __init__(self, service: Service) -> None:
        self._tasks = service.tasks

    async def get(
        self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams
    ) -> dict[str, Any]:
        """The task: `working`, `input_required` with its question, `completed` with the
        tool result (an error result when it failed or was rejected), or `cancelled`."""
        require_client_extension(ctx, TASKS_EXTENSION)
        return detailed_task(await self._tasks.get(current_caller(), params.task_id))

    async def update(
        self, ctx: ServerRequestContext[Any, Any], params: UpdateTaskParams
    ) -> dict[str, Any]:
        """Answer the open question: an accepted form is the reply; a declined or dismissed
        one cancels the task, which cannot go on without it. Responses to other keys (an
        answered question, a key never asked) are ignored, as the extension requires."""
        require_client_extension(ctx, TASKS_EXTENSION)
        caller = current_caller()
        task = (await self._tasks.get(caller, params.task_id)).task
        response = params.input_responses.get(task.question_id or "")
        if task.status != TaskStatus.INPUT_REQUIRED or task.question is None or response is None:
            return {}
        # answered or ended meanwhile: tasks/get tells how
        with contextlib.suppress(QuestionAlreadyAnswered, InvalidState):
            if response.action == "accept":
                reply = reply_of(task.question, response.content)
                await self._tasks.message(caller, task.id, reply)
            else:
                await self._tasks.cancel(caller, task.id)
        return {}

    async def cancel(
        self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams
    ) -> dict[str, Any]:
        """Cancel the task and its children, durably; a task that already ended stays as
        it ended (terminal states never change)."""
        require_client_extension(ctx, TASKS_EXTENSION)
        with contextlib.suppress(InvalidState):
            await self._tasks.cancel(current_caller(), params.task_id)
        return {}
