"""`/v1/audit`: the tenant's audit log, for its admins. Read only: no route changes it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from bureau.api.deps import CallerDep, ServiceDep
from bureau.api.problems import AUTHENTICATED, problems
from bureau.api.responses import OrjsonResponse
from bureau.store.views import AuditList, audit_view

router = APIRouter(prefix="/v1", tags=["audit"], responses=problems(*AUTHENTICATED, 403))


@router.get("/audit", response_model=AuditList)
async def audit_log(
    caller: CallerDep,
    service: ServiceDep,
    action: Annotated[str | None, Query(max_length=40, description="e.g. `tasks.cancel`")] = None,
    key_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=40, description="`next_cursor` of the previous page")
    ] = None,
) -> OrjsonResponse:
    """Every state-changing call in the tenant, newest first: who (key, role, address),
    what (action, target), and how it ended."""
    records = await service.audit.page(
        caller, action=action, key_id=key_id, limit=limit, cursor=cursor
    )
    last = records[-1].id if len(records) == limit else None
    return OrjsonResponse({"records": [audit_view(r) for r in records], "next_cursor": last})
