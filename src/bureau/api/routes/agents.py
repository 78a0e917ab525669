"""`/v1/agents`: the catalog, with reputation from real runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import Row

from bureau.api.deps import CallerDep, StoreDep
from bureau.api.responses import OrjsonResponse
from bureau.errors import NotFound
from bureau.store.codec import iso, loads

router = APIRouter(prefix="/v1", tags=["agents"])


def _version_public(row: Row[Any]) -> dict[str, Any]:
    spec = loads(row.spec)
    return {
        "version": row.version,
        "description": row.description,
        "capabilities": loads(row.capabilities),
        "input_schema": spec.get("input_schema"),
        "output_schema": spec.get("output_schema"),
        "price": spec["price"],
        "sla": spec["sla"],
        "profiles": spec["profiles"],
        "runtime": spec.get("runtime", "python"),
        "visibility": row.visibility,
        "status": row.status,
        "created_at": iso(row.created_at),
    }


async def _agent_public(store: Any, name: str, versions: list[Row[Any]]) -> dict[str, Any]:
    active = [v for v in versions if v.status == "active"] or versions
    latest = _version_public(active[-1])
    return {
        "name": name,
        "description": latest["description"],
        "capabilities": latest["capabilities"],
        "latest_version": latest["version"],
        "price": latest["price"],
        "sla": latest["sla"],
        "input_schema": latest["input_schema"],
        "profiles": latest["profiles"],
        "reputation": await store.reputation(name),
        "versions": [v.version for v in versions],
    }


@router.get("/agents", response_class=OrjsonResponse)
async def list_agents(
    caller: CallerDep, store: StoreDep, q: str | None = None, capability: str | None = None
) -> dict[str, Any]:
    """The catalog visible to the caller; `q` searches names and descriptions."""
    grouped: dict[str, list[Row[Any]]] = {}
    for row in await store.agents(caller.tenant_id):
        grouped.setdefault(row.name, []).append(row)
    found = []
    for name, versions in grouped.items():
        latest = versions[-1]
        if capability and capability not in loads(latest.capabilities):
            continue
        if q and q.lower() not in f"{name} {latest.description}".lower():
            continue
        found.append(await _agent_public(store, name, versions))
    return {"agents": found}


@router.get("/agents/{name}", response_class=OrjsonResponse)
async def get_agent(name: str, caller: CallerDep, store: StoreDep) -> dict[str, Any]:
    versions = await store.agent_versions(caller.tenant_id, name)
    if not versions:
        raise NotFound(f"unknown agent {name!r}; GET /v1/agents lists the catalog")
    agent = await _agent_public(store, name, versions)
    agent["versions"] = [_version_public(v) for v in versions]
    return agent
