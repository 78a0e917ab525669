"""`/v1/tasks`: dispatch, read, list, message, cancel, review, artifacts, webhooks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import FileResponse

from bureau.api.bodies import JsonBodyRoute
from bureau.api.deps import CallerDep, ServiceDep
from bureau.api.problems import AUTHENTICATED, problems
from bureau.api.responses import OrjsonResponse, task_response
from bureau.service.requests import AcceptBody, MessageCreate, RejectBody, TaskCreate
from bureau.states import TaskStatus
from bureau.store.records import TaskRecord
from bureau.store.views import (
    Task,
    TaskList,
    WebhookDeliveryList,
    WebhookSecret,
    delivery_view,
    task_view,
)

router = APIRouter(
    prefix="/v1", tags=["tasks"], responses=problems(*AUTHENTICATED), route_class=JsonBodyRoute
)
Limit = Annotated[int, Query(ge=1, le=200, description="Page size")]
Cursor = Annotated[
    str | None, Query(max_length=100, description="`next_cursor` of the previous page")
]
WRITE = (400, 403, 404, 409, 413)


DISPATCHED = {
    "description": "The task, committed and queued (or the earlier task, for a replayed "
    "`Idempotency-Key`)",
    "headers": {
        "Location": {
            "description": "The task's URL, `/v1/tasks/{id}`",
            "required": True,
            "schema": {"type": "string"},
        },
        "Idempotent-Replayed": {
            "description": "`true` when the `Idempotency-Key` was used before with this body "
            "and the earlier task is returned",
            "schema": {"type": "string", "enum": ["true"]},
        },
    },
}


@router.post(
    "/tasks",
    status_code=202,
    response_model=Task,
    responses={202: DISPATCHED, **problems(*WRITE)},
)
async def create_task(
    body: TaskCreate,
    caller: CallerDep,
    service: ServiceDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> OrjsonResponse:
    """Dispatch a goal to an agent. The task is committed before the 202 is sent; the same
    `Idempotency-Key` with the same body returns the same task."""
    detail = await service.tasks.dispatch(caller, body, idempotency_key=idempotency_key)
    headers = {"Location": f"/v1/tasks/{detail.task.id}"}
    if not detail.created:
        headers["Idempotent-Replayed"] = "true"
    return task_response(detail, 202, headers)


@router.get("/tasks", response_model=TaskList)
async def list_tasks(
    caller: CallerDep,
    service: ServiceDep,
    status: TaskStatus | None = None,
    agent: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> OrjsonResponse:
    """The tenant's tasks, newest first."""
    page = await service.tasks.page(caller, status=status, agent=agent, limit=limit, cursor=cursor)
    return _page(page.tasks, page.next_cursor)


@router.get("/dead-letters", response_model=TaskList)
async def dead_letters(
    caller: CallerDep, service: ServiceDep, limit: Limit = 50, cursor: Cursor = None
) -> OrjsonResponse:
    """Tasks that failed after exhausting their attempts."""
    page = await service.tasks.page(caller, dead_letter=True, limit=limit, cursor=cursor)
    return _page(page.tasks, page.next_cursor)


def _page(tasks: list[TaskRecord], next_cursor: str | None) -> OrjsonResponse:
    return OrjsonResponse({"tasks": [task_view(t) for t in tasks], "next_cursor": next_cursor})


@router.get("/tasks/{task_id}", response_model=Task, responses=problems(404))
async def get_task(task_id: str, caller: CallerDep, service: ServiceDep) -> OrjsonResponse:
    return task_response(await service.tasks.get(caller, task_id))


@router.post("/tasks/{task_id}/messages", response_model=Task, responses=problems(*WRITE))
async def add_message(
    task_id: str, body: MessageCreate, caller: CallerDep, service: ServiceDep
) -> OrjsonResponse:
    """Answer the open question (compare-and-set on `question_id`) or add context."""
    return task_response(await service.tasks.message(caller, task_id, body))


@router.post(
    "/tasks/{task_id}/cancel", status_code=202, response_model=Task, responses=problems(*WRITE)
)
async def cancel_task(task_id: str, caller: CallerDep, service: ServiceDep) -> OrjsonResponse:
    """Cancel durably (children too); a running task stops within seconds."""
    return task_response(await service.tasks.cancel(caller, task_id), 202)


@router.post("/tasks/{task_id}/accept", response_model=Task, responses=problems(*WRITE))
async def accept_task(
    task_id: str, caller: CallerDep, service: ServiceDep, body: AcceptBody | None = None
) -> OrjsonResponse:
    """Accept the deliverable; its cost is settled."""
    return task_response(await service.tasks.accept(caller, task_id, body or AcceptBody()))


@router.post("/tasks/{task_id}/reject", response_model=Task, responses=problems(*WRITE))
async def reject_task(
    task_id: str, body: RejectBody, caller: CallerDep, service: ServiceDep
) -> OrjsonResponse:
    """Reject the deliverable; `redo` runs the task again with the reason as feedback."""
    return task_response(await service.tasks.reject(caller, task_id, body))


@router.get(
    "/tasks/{task_id}/artifacts/{name}",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The file, as the media type it was saved with (`media_type` of "
            "the task's artifact)",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        },
        **problems(404),
    },
)
async def download_artifact(
    task_id: str, name: str, caller: CallerDep, service: ServiceDep
) -> FileResponse:
    record, path = await service.tasks.artifact(caller, task_id, name)
    return FileResponse(
        path,
        media_type=record.media_type,
        filename=name,
        content_disposition_type="attachment",
        # An HTML or SVG artifact opened anyway runs no script on Bureau's origin.
        headers={"Content-Security-Policy": "default-src 'none'; sandbox"},
    )


@router.get(
    "/tasks/{task_id}/webhooks", response_model=WebhookDeliveryList, responses=problems(404)
)
async def webhook_deliveries(
    task_id: str, caller: CallerDep, service: ServiceDep
) -> OrjsonResponse:
    """Every webhook delivery for the task, with each attempt's outcome."""
    deliveries = await service.tasks.webhook_deliveries(caller, task_id)
    return OrjsonResponse({"deliveries": [delivery_view(d) for d in deliveries]})


@router.get(
    "/webhooks/secret", response_model=WebhookSecret, tags=["webhooks"], responses=problems(403)
)
async def webhook_secret(caller: CallerDep, service: ServiceDep) -> OrjsonResponse:
    """The tenant's signing secret for Standard Webhooks verification (admin only)."""
    secret = await service.tasks.webhook_secret(caller)
    return OrjsonResponse({"secret": secret, "scheme": "standard-webhooks v1 (HMAC-SHA256)"})
