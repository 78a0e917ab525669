"""`/v1/tasks`: dispatch, read, list, message, cancel, review, artifacts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import FileResponse

from bureau.api.deps import CallerDep, NodeDep, StoreDep
from bureau.api.responses import OrjsonResponse
from bureau.api.schemas import AcceptBody, MessageCreate, RejectBody, TaskCreate
from bureau.engine.dispatch import check_reply, dispatch
from bureau.errors import InvalidRequest
from bureau.store.codec import now
from bureau.store.sql.schema import STATUSES

router = APIRouter(prefix="/v1", tags=["tasks"])


@router.post("/tasks", status_code=202, response_class=OrjsonResponse)
async def create_task(
    body: TaskCreate,
    caller: CallerDep,
    node: NodeDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> OrjsonResponse:
    """Dispatch a goal to an agent. The task is committed before the 202 is sent."""
    caller.require_write()
    task, created = await dispatch(
        node.store,
        caller.tenant_id,
        body.model_dump(mode="json", exclude_none=True),
        idempotency_key=idempotency_key,
        max_deadline_seconds=node.settings.max_deadline_seconds,
    )
    headers = {"Location": f"/v1/tasks/{task['id']}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return OrjsonResponse(task, status_code=202, headers=headers)


@router.get("/tasks", response_class=OrjsonResponse)
async def list_tasks(
    caller: CallerDep,
    store: StoreDep,
    status: str | None = None,
    agent: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    if status is not None and status not in STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}", field="status")
    found, next_cursor = await store.tasks(
        caller.tenant_id, status=status, agent=agent, limit=limit, cursor=cursor
    )
    return {"tasks": found, "next_cursor": next_cursor}


@router.get("/dead-letters", response_class=OrjsonResponse)
async def dead_letters(
    caller: CallerDep,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Tasks that failed after exhausting their attempts."""
    found, next_cursor = await store.tasks(
        caller.tenant_id, dead_letter=True, limit=limit, cursor=cursor
    )
    return {"tasks": found, "next_cursor": next_cursor}


@router.get("/tasks/{task_id}", response_class=OrjsonResponse)
async def get_task(task_id: str, caller: CallerDep, store: StoreDep) -> dict[str, Any]:
    return await store.task(caller.tenant_id, task_id)


@router.post("/tasks/{task_id}/messages", response_class=OrjsonResponse)
async def add_message(
    task_id: str, body: MessageCreate, caller: CallerDep, store: StoreDep
) -> dict[str, Any]:
    """Answer the open question (compare-and-set on `question_id`) or add context."""
    caller.require_write()
    if body.text is None and body.data is None:
        raise InvalidRequest("send `text` or `data`")
    data = await check_reply(
        store, caller.tenant_id, task_id, body.data, body.text, body.question_id
    )
    return await store.add_message(
        caller.tenant_id, task_id, text=body.text, data=data, question_id=body.question_id
    )


@router.post("/tasks/{task_id}/cancel", status_code=202, response_class=OrjsonResponse)
async def cancel_task(task_id: str, caller: CallerDep, store: StoreDep) -> dict[str, Any]:
    caller.require_write()
    return await store.cancel(caller.tenant_id, task_id, f"canceled by key {caller.key_id}")


@router.post("/tasks/{task_id}/accept", response_class=OrjsonResponse)
async def accept_task(
    task_id: str, caller: CallerDep, store: StoreDep, body: AcceptBody | None = None
) -> dict[str, Any]:
    caller.require_write()
    review = (body or AcceptBody()).model_dump()
    return await store.review(
        caller.tenant_id, task_id, accept=True, review={**review, "at": now()}, redo=False
    )


@router.post("/tasks/{task_id}/reject", response_class=OrjsonResponse)
async def reject_task(
    task_id: str, body: RejectBody, caller: CallerDep, store: StoreDep
) -> dict[str, Any]:
    caller.require_write()
    return await store.review(
        caller.tenant_id,
        task_id,
        accept=False,
        review={"reason": body.reason, "redo": body.redo, "at": now()},
        redo=body.redo,
    )


@router.get("/tasks/{task_id}/artifacts/{name}")
async def download_artifact(
    task_id: str, name: str, caller: CallerDep, node: NodeDep
) -> FileResponse:
    row = await node.store.artifact(caller.tenant_id, task_id, name)
    path = node.artifact_store.path(caller.tenant_id, task_id, name)
    return FileResponse(
        path, media_type=row.media_type, filename=name, content_disposition_type="attachment"
    )


@router.get("/tasks/{task_id}/webhooks", response_class=OrjsonResponse)
async def webhook_deliveries(task_id: str, caller: CallerDep, store: StoreDep) -> dict[str, Any]:
    """Every webhook delivery for the task, with each attempt's outcome."""
    return {"deliveries": await store.webhook_deliveries(caller.tenant_id, task_id)}


@router.get("/webhooks/secret", response_class=OrjsonResponse, tags=["webhooks"])
async def webhook_secret(caller: CallerDep, store: StoreDep) -> dict[str, Any]:
    """The tenant's signing secret for Standard Webhooks verification (admin only)."""
    caller.require_admin()
    return {
        "secret": await store.webhook_secret(caller.tenant_id),
        "scheme": "standard-webhooks v1 (HMAC-SHA256)",
    }
