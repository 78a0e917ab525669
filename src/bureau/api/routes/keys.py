"""`/v1/keys` (a tenant's admins manage its API keys) and `/v1/tenants` (the operator)."""

from __future__ import annotations

from fastapi import APIRouter

from bureau.api.bodies import JsonBodyRoute
from bureau.api.deps import CallerDep, ServiceDep
from bureau.api.problems import AUTHENTICATED, problems
from bureau.api.responses import OrjsonResponse
from bureau.service.requests import KeyCreate, KeyRotate, TenantCreate, TenantLimits
from bureau.store.views import KeyIssued, KeyList, KeyView, TenantCreated, TenantList, TenantView

router = APIRouter(
    prefix="/v1",
    responses=problems(*AUTHENTICATED, 403),
    route_class=JsonBodyRoute,
)
BODY = (400, 413)


@router.post(
    "/keys", status_code=201, response_model=KeyIssued, tags=["keys"], responses=problems(*BODY)
)
async def create_key(body: KeyCreate, caller: CallerDep, service: ServiceDep) -> OrjsonResponse:
    """A new API key of the caller's tenant. Its `secret` is in this answer only."""
    return OrjsonResponse(await service.keys.create(caller, body), status_code=201)


@router.get("/keys", response_model=KeyList, tags=["keys"])
async def list_keys(caller: CallerDep, service: ServiceDep) -> OrjsonResponse:
    """The tenant's keys, revoked ones too, oldest first; never a secret."""
    return OrjsonResponse({"keys": await service.keys.list(caller)})


@router.get("/keys/{key_id}", response_model=KeyView, tags=["keys"], responses=problems(404))
async def get_key(key_id: str, caller: CallerDep, service: ServiceDep) -> OrjsonResponse:
    """One key of the tenant."""
    return OrjsonResponse(await service.keys.get(caller, key_id))


@router.post(
    "/keys/{key_id}/revoke", response_model=KeyView, tags=["keys"], responses=problems(404, 409)
)
async def revoke_key(key_id: str, caller: CallerDep, service: ServiceDep) -> OrjsonResponse:
    """Revoke the key: it stops working at once, on every replica."""
    return OrjsonResponse(await service.keys.revoke(caller, key_id))


@router.post(
    "/keys/{key_id}/rotate",
    response_model=KeyIssued,
    tags=["keys"],
    responses=problems(*BODY, 404, 409),
)
async def rotate_key(
    key_id: str, caller: CallerDep, service: ServiceDep, body: KeyRotate | None = None
) -> OrjsonResponse:
    """A new secret for the key, in this answer only; the old secret keeps working for
    `grace_seconds` (default an hour), then stops."""
    return OrjsonResponse(await service.keys.rotate(caller, key_id, body or KeyRotate()))


@router.post(
    "/tenants",
    status_code=201,
    response_model=TenantCreated,
    tags=["tenants"],
    responses=problems(*BODY),
)
async def create_tenant(
    body: TenantCreate, caller: CallerDep, service: ServiceDep
) -> OrjsonResponse:
    """A new tenant and its first admin key (in this answer only). Operator only."""
    return OrjsonResponse(await service.tenants.create(caller, body), status_code=201)


@router.get("/tenants", response_model=TenantList, tags=["tenants"])
async def list_tenants(caller: CallerDep, service: ServiceDep) -> OrjsonResponse:
    """Every tenant. Operator only."""
    return OrjsonResponse({"tenants": await service.tenants.list(caller)})


@router.post(
    "/tenants/{tenant_id}/suspend",
    response_model=TenantView,
    tags=["tenants"],
    responses=problems(404, 422),
)
async def suspend_tenant(tenant_id: str, caller: CallerDep, service: ServiceDep) -> OrjsonResponse:
    """Suspend the tenant: every key of it stops working at once. Operator only."""
    return OrjsonResponse(await service.tenants.suspend(caller, tenant_id, True))


@router.post(
    "/tenants/{tenant_id}/resume",
    response_model=TenantView,
    tags=["tenants"],
    responses=problems(404),
)
async def resume_tenant(tenant_id: str, caller: CallerDep, service: ServiceDep) -> OrjsonResponse:
    """Lift a suspension. Operator only."""
    return OrjsonResponse(await service.tenants.suspend(caller, tenant_id, False))


@router.put(
    "/tenants/{tenant_id}/limits",
    response_model=TenantView,
    tags=["tenants"],
    responses=problems(*BODY, 404),
)
async def set_tenant_limits(
    tenant_id: str, body: TenantLimits, caller: CallerDep, service: ServiceDep
) -> OrjsonResponse:
    """Override the configured limits for one tenant (e.g. `requests_per_second`). Operator
    only."""
    return OrjsonResponse(await service.tenants.set_limits(caller, tenant_id, body))
