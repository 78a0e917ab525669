"""Catalog reads: the agents a caller may see, with terms and reputation."""

from __future__ import annotations

from bureau.auth.caller import Caller
from bureau.errors import NotFound
from bureau.store.records import AgentVersionRecord
from bureau.store.store import Store
from bureau.store.views import Agent, AgentFailure, AgentSummary, agent_summary, agent_view


class CatalogService:
    def __init__(self, store: Store) -> None:
        self._catalog = store.catalog

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

    async def agent(self, caller: Caller, name: str) -> Agent:
        """One agent with all its versions; raises `NotFound`."""
        caller.require("agents.get")
        versions = await self._catalog.visible_versions(caller.tenant_id, name)
        if not versions:
            raise NotFound(f"unknown agent {name!r}; GET /v1/agents lists the catalog")
        return agent_view(name, versions, await self._catalog.reputation(name))
