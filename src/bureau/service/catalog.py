"""Catalog reads: the agents a caller may see, with terms and reputation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bureau.auth.caller import Caller
from bureau.errors import NotFound
from bureau.service.audit import Auditor
from bureau.store.records import AgentVersionRecord
from bureau.store.store import Store
from bureau.store.views import (
    Agent,
    AgentFailure,
    AgentRun,
    AgentSummary,
    agent_summary,
    agent_view,
)

BUILTIN_PUBLISHER = ("ten_bureau", "Bureau (built-in publisher of the demo agents)")
"""The tenant the demo agents are published by, as public agents."""


class CatalogService:
    def __init__(self, store: Store) -> None:
        self._catalog = store.catalog
        self._audit = Auditor(store.audit)

    async def publish(self, caller: Caller, entries: Sequence[Mapping[str, Any]]) -> None:
        """Publish agent versions (catalog entries) into the caller's tenant: `public` ones
        join every tenant's catalog, `private` ones only the tenant's. Raises `Forbidden`
        (no `agents:publish`), `UsageError` (a name of another tenant, a changed version)."""
        target = ", ".join(f"{e['name']}@{e['version']}" for e in entries)
        async with self._audit.record(caller, "agents.publish", target[:200]):
            await self._catalog.publish_versions(caller.tenant_id, entries)

    async def publish_builtin(self, entries: Sequence[Mapping[str, Any]], default: str) -> None:
        """Publish the demo agents as the built-in publisher (made on first use), taking
        their names over from the `default` tenant of an earlier Bureau."""
        tenant_id, name = BUILTIN_PUBLISHER
        await self._catalog.ensure_tenant(tenant_id, name)
        await self._catalog.publish_versions(tenant_id, entries, adopt_from=default)

    async def agents(
        self, caller: Caller, *, q: str | None = None, capability: str | None = None
    ) -> list[AgentSummary]:
        """The catalog visible to the caller (public agents and its tenant's own); `q`
        searches names and descriptions, `capability` matches a tag of the latest version."""
        caller.require("agents.list")
        grouped: dict[str, list[AgentVersionRecord]] = {}
        for version in await self._catalog.visible_versions(caller.tenant_id):
            grouped.setdefault(version.name, []).append(version)
        found = []
        for name, versions in grouped.items():
            latest = versions[-1]
            if capability and capability not in latest.capabilities:
                continue
            if q and q.lower() not in f"{name} {latest.description}".lower():
                continue
            found.append(agent_summary(name, versions, await self._catalog.reputation(name)))
        return found

    async def failures(self, caller: Caller, name: str, limit: int) -> list[AgentFailure]:
        """The latest failed attempts of one of the caller's tenant's own agents, with the
        traceback of each (only its publisher sees them); raises `NotFound`."""
        caller.require("agents.failures")
        return await self._catalog.failures(caller.tenant_id, name, limit)

    async def runs(
        self, caller: Caller, name: str, *, status: str | None = None, limit: int = 50
    ) -> list[AgentRun]:
        """The latest runs of one of the caller's tenant's own agents, across consumers,
        without what belongs to each consumer (goal, input, deliverable); raises
        `NotFound`."""
        caller.require("agents.runs")
        return await self._catalog.runs(caller.tenant_id, name, status, limit)

    async def agent(self, caller: Caller, name: str) -> Agent:
        """One agent with all its versions; raises `NotFound`."""
        caller.require("agents.get")
        versions = await self._catalog.visible_versions(caller.tenant_id, name)
        if not versions:
            raise NotFound(f"unknown agent {name!r}; GET /v1/agents lists the catalog")
        return agent_view(name, versions, await self._catalog.reputation(name))
