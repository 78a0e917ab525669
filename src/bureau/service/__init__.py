"""The operations every door calls (REST today; A2A, MCP and the console next).

Each operation takes the `Caller` (tenant, key, role) as its first argument, checks what the
role allows, scopes everything to the caller's tenant, and knows nothing of HTTP. Doors
parse their protocol, call one operation and render its result.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from bureau.auth.authenticator import Authenticator
from bureau.auth.caller import Caller
from bureau.engine.artifacts import LocalArtifactStore
from bureau.errors import PayloadTooLarge
from bureau.service.audit import AuditService
from bureau.service.catalog import CatalogService
from bureau.service.events import HEARTBEAT, EventPage, EventService
from bureau.service.keys import KeyService, TenantService
from bureau.service.limits import RequestRate
from bureau.service.secrets import SecretService
from bureau.service.tasks import TaskDetail, TaskService
from bureau.store.limits import LimitBook, Limits
from bureau.store.records import Gauges
from bureau.store.store import Store
from bureau.webhooks.destinations import Network

__all__ = ["HEARTBEAT", "EventPage", "Service", "TaskDetail"]


class Service:
    """`tasks`, `events`, `catalog`, `keys`, `tenants`, `audit`, `secrets`, and `auth`
    (credentials to a `Caller`)."""

    def __init__(
        self,
        store: Store,
        artifacts: LocalArtifactStore,
        *,
        max_deadline_seconds: float,
        long_poll_max_seconds: float,
        heartbeat_seconds: float,
        webhook_allowed_networks: Sequence[Network] = (),
        limits: LimitBook | None = None,
        redis_url: str | None = None,
        models: Collection[str] = (),
    ) -> None:
        """`models`: the model names the deployment configures (the catalog says whether
        an agent that calls models has them)."""
        self.store = store
        self.limits = limits or LimitBook(store.catalog, Limits())
        self.auth = Authenticator(store)
        self.rate = RequestRate(self.limits, redis_url)
        self.tasks = TaskService(
            store,
            artifacts,
            self.limits,
            max_deadline_seconds=max_deadline_seconds,
            webhook_allowed_networks=webhook_allowed_networks,
        )
        self.events = EventService(
            store,
            long_poll_max_seconds=long_poll_max_seconds,
            heartbeat_seconds=heartbeat_seconds,
        )
        self.catalog = CatalogService(store, webhook_allowed_networks, models)
        self.keys = KeyService(store)
        self.tenants = TenantService(store, self.limits)
        self.audit = AuditService(store)
        self.secrets = SecretService(store)

    async def caller(self, authorization: str | None, body_bytes: int = 0) -> Caller:
        """The caller of a request's `Authorization` header, its request counted against
        its tenant's rate and its body (`body_bytes` long) against its tenant's size limit:
        what every door calls first. Raises `Unauthenticated`, `Forbidden` (a suspended
        tenant), `RateLimited`, `PayloadTooLarge`."""
        caller = await self.auth.bearer(authorization)
        await self.rate.count(caller)
        limit = (await self.limits.of(caller.tenant_id)).body_bytes
        if limit and body_bytes > limit:
            raise PayloadTooLarge(
                f"the request body is {body_bytes} bytes; this tenant's limit is {limit}",
                limit=limit,
            )
        return caller

    async def ready(self) -> None:
        """Raises unless the database answers."""
        await self.store.metrics.ping()

    async def gauges(self) -> Gauges:
        """Counts for the Prometheus gauges (every tenant: an operator's view)."""
        return await self.store.metrics.gauges()
