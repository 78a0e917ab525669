"""Catalog reads: the agents a caller may see, with terms and reputation."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, SecretStr

from bureau.auth.caller import Caller
from bureau.errors import InvalidRequest, NotFound
from bureau.remote.cards import (
    CardUnavailable,
    agent_name_of,
    card_url_of,
    catalog_entry,
    chosen_interface,
    fetch_card,
)
from bureau.remote.outbound import auth_headers, check_url
from bureau.service.audit import Auditor
from bureau.service.requests import _Body
from bureau.store.records import AgentVersionRecord
from bureau.store.store import Store
from bureau.store.views import (
    Agent,
    AgentFailure,
    AgentRun,
    AgentSummary,
    ModelNeeds,
    agent_summary,
    agent_view,
    latest_of,
)
from bureau.webhooks.destinations import Network, RefusedDestination

BUILTIN_PUBLISHER = ("ten_bureau", "Bureau (built-in publisher of the demo agents)")
"""The tenant the demo agents are published by, as public agents."""


CARD_TIMEOUT_SECONDS = 10.0
CARD_MAX_BYTES = 256 * 1024


class RemoteAgentCreate(_Body):
    """A remote A2A agent to publish: its URL (or its card's URL) and Bureau's terms."""

    url: str = Field(
        min_length=1,
        max_length=2000,
        description="The agent's A2A URL (its card is at URL/.well-known/agent-card.json) "
        "or the card's URL",
    )
    name: str | None = Field(
        None,
        pattern=r"^[a-z][a-z0-9-]{0,62}$",
        description="The catalog name (default: from the card's name)",
    )
    price: Decimal = Field(Decimal("0"), ge=0, max_digits=12, decimal_places=6)
    visibility: Literal["public", "private"] = "private"
    credential: SecretStr | None = Field(
        None,
        max_length=64 * 1024,
        description="What authenticates Bureau to the remote: a bearer token, or a whole "
        "`Authorization` value (`Basic ...`); stored as the tenant's secret "
        "`a2a-remote.<name>`, never returned",
    )
    credential_secret: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.-]{1,100}$",
        description="The name of a tenant secret holding the credential instead",
    )


def _named(names: Sequence[str]) -> str:
    return " or ".join(repr(name) for name in names)


def model_needs(spec: Mapping[str, Any], configured: Collection[str]) -> ModelNeeds | None:
    """What an agent version (its catalog `spec`) needs of models, and whether the
    `configured` model names give it: None for an agent that calls none.

    A task runs with one profile and tries that profile's models in order, so the agent is
    ready when every profile that names models has at least one of them configured. An
    agent whose entry says `"models_required": false` runs without them (its `why` says
    so); any other fails its tasks with "no model provider is configured" until it is
    ready.
    """
    declared: Mapping[str, Sequence[str]] = spec.get("models") or {}
    if not declared:
        return None
    needs = list(dict.fromkeys(name for names in declared.values() for name in names))
    per_profile = [declared.get(p) or declared.get("*") or () for p in spec.get("profiles") or ()]
    missing = [
        list(names)
        for names in dict.fromkeys(tuple(n) for n in per_profile or declared.values())
        if names and not set(names) & set(configured)
    ]
    required = bool(spec.get("models_required", True))
    if not missing:
        return {"needs": needs, "required": required, "ready": True, "why": None}
    wanted = ", and one named ".join(_named(names) for names in missing)
    if not required:
        why = (
            "runs without a model; set BUREAU_LLM_MODELS with a model named "
            f"{wanted} for what it does with one"
        )
    elif not configured:
        why = f"needs a model provider: set BUREAU_LLM_MODELS with a model named {wanted}"
    else:
        have = ", ".join(repr(name) for name in sorted(configured))
        why = f"needs a model named {wanted} in BUREAU_LLM_MODELS, which configures only {have}"
    return {"needs": needs, "required": required, "ready": False, "why": why}


class CatalogService:
    def __init__(
        self,
        store: Store,
        allowed_networks: Sequence[Network] = (),
        models: Collection[str] = (),
    ) -> None:
        """`allowed_networks`: private networks a remote agent's URL may be on anyway.
        `models`: the model names this deployment configures (`BUREAU_LLM_MODELS`), which
        say whether an agent that calls models is ready to run here."""
        self._allowed_networks = list(allowed_networks)
        self._models = frozenset(models)
        self._store = store
        self._catalog = store.catalog
        self._audit = Auditor(store.audit)

    async def publish(self, caller: Caller, entries: Sequence[Mapping[str, Any]]) -> None:
        """Publish agent versions (catalog entries) into the caller's tenant: `public` ones
        join every tenant's catalog, `private` ones only the tenant's. Raises `Forbidden`
        (no `agents:publish`), `UsageError` (a name of another tenant, a changed version)."""
        target = ", ".join(f"{e['name']}@{e['version']}" for e in entries)
        async with self._audit.record(caller, "agents.publish", target[:200]):
            await self._catalog.publish_versions(caller.tenant_id, entries)

    async def publish_remote(self, caller: Caller, body: RemoteAgentCreate) -> Agent:
        """Read a remote A2A agent's card and publish it into the caller's tenant with
        runtime `a2a-remote` (its version is the card's). Every URL obeys the outbound
        (SSRF) rules. Raises `InvalidRequest` (URL refused, card unreadable), `Forbidden`,
        `UsageError` (a name of another tenant, the version published differently)."""
        caller.require("agents.publish_remote")
        async with self._audit.record(caller, "agents.publish", f"remote {body.url}"[:200]):
            allowed = self._allowed_networks
            credential = body.credential.get_secret_value() if body.credential else None
            if credential is None and body.credential_secret is not None:
                found = await self._store.secrets.values(caller.tenant_id, [body.credential_secret])
                if body.credential_secret not in found:
                    raise NotFound(
                        f"no secret {body.credential_secret!r}; PUT /v1/secrets/NAME stores one",
                        field="credential_secret",
                    )
                credential = found[body.credential_secret]
            card_url = card_url_of(body.url)
            try:
                await check_url(card_url, allowed)
                card_json, card = await fetch_card(
                    card_url,
                    allowed=allowed,
                    headers=auth_headers(credential),
                    timeout_seconds=CARD_TIMEOUT_SECONDS,
                    max_bytes=CARD_MAX_BYTES,
                )
                await check_url(chosen_interface(card).url, allowed)
            except RefusedDestination as exc:
                raise InvalidRequest(f"Bureau does not connect there: {exc}", field="url") from None
            except CardUnavailable as exc:
                raise InvalidRequest(str(exc), field="url") from None
            name = body.name or agent_name_of(card)
            secret = f"a2a-remote.{name}" if body.credential else body.credential_secret
            entry = catalog_entry(
                card_json,
                card,
                card_url=card_url,
                name=name,
                price=body.price,
                visibility=body.visibility,
                credential_secret=secret,
            )
            await self._catalog.publish_versions(caller.tenant_id, [entry])
            if body.credential is not None and secret is not None:
                # after publishing: a name of another tenant leaves no secret behind, and
                # adding the same remote again replaces (rotates) its credential
                await self._store.secrets.put(caller.tenant_id, secret, credential or "")
        versions = await self._catalog.visible_versions(caller.tenant_id, name)
        return await self._view(name, versions)

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
            needs = model_needs(latest_of(versions).spec, self._models)
            reputation = await self._catalog.reputation(name)
            found.append(agent_summary(name, versions, reputation, needs))
        return found

    async def _view(self, name: str, versions: list[AgentVersionRecord]) -> Agent:
        needs = model_needs(latest_of(versions).spec, self._models)
        return agent_view(name, versions, await self._catalog.reputation(name), needs)

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
        return await self._view(name, versions)
