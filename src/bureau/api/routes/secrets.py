"""`/v1/secrets`: a tenant's admins manage the secrets its agents' MCP servers use."""

from __future__ import annotations

from fastapi import APIRouter
from typing_extensions import TypedDict

from bureau.api.bodies import JsonBodyRoute
from bureau.api.deps import CallerDep, ServiceDep
from bureau.api.problems import AUTHENTICATED, problems
from bureau.api.responses import OrjsonResponse
from bureau.service.secrets import SecretPut
from bureau.store.secrets import SecretView

router = APIRouter(
    prefix="/v1",
    responses=problems(*AUTHENTICATED, 403),
    route_class=JsonBodyRoute,
    tags=["secrets"],
)


class SecretList(TypedDict):
    secrets: list[SecretView]


class SecretDeleted(TypedDict):
    name: str
    deleted: bool


@router.put("/secrets/{name}", response_model=SecretView, responses=problems(400, 404, 413, 422))
async def put_secret(
    name: str, body: SecretPut, caller: CallerDep, service: ServiceDep
) -> OrjsonResponse:
    """Store (or replace) a secret of the tenant. Write-only: its value is never returned.
    An agent's MCP server declaration refers to it as `${secret:NAME}`."""
    return OrjsonResponse(await service.secrets.put(caller, name, body))


@router.get("/secrets", response_model=SecretList)
async def list_secrets(caller: CallerDep, service: ServiceDep) -> OrjsonResponse:
    """The tenant's secrets: names and times, never values."""
    return OrjsonResponse({"secrets": await service.secrets.list(caller)})


@router.delete("/secrets/{name}", response_model=SecretDeleted, responses=problems(404, 422))
async def delete_secret(name: str, caller: CallerDep, service: ServiceDep) -> OrjsonResponse:
    """Delete a secret of the tenant; agents referring to it fail until it is put back."""
    await service.secrets.delete(caller, name)
    return OrjsonResponse({"name": name, "deleted": True})
