"""The core, assembled in-process as `bureau.node.Node` does it, once per test and backend.

`core` gives each test a fresh database (SQLite in `tmp_path`; a PostgreSQL database of its
own when `BUREAU_TEST_DATABASE_URL` is set), migrated, with the default tenant, its admin
key, the test agents published, a `Service`, and workers driven in burst mode
(`Worker.drain`). No HTTP, no threads of our own, no mocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bureau import AgentDefinition
from bureau.auth.caller import Caller, Role
from bureau.auth.keys import issue_key
from bureau.engine.admission import new_task
from bureau.engine.artifacts import LocalArtifactStore
from bureau.engine.runner import Runner
from bureau.engine.worker import Worker, WorkerOptions
from bureau.notify.local import LocalNotifier
from bureau.service import Service
from bureau.service.requests import TaskCreate
from bureau.store.records import Event, NewTask, TaskRecord
from bureau.store.sealing import Sealer, new_secret_key
from bureau.store.store import Store
from tests.core import agents as core_agents
from tests.support import agents as support_agents
from tests.support.databases import database_for

LEASE_SECONDS = 5.0
DRAIN_TIMEOUT = 30.0
MAX_DEADLINE_SECONDS = 3600.0
LONG_POLL_MAX_SECONDS = 30.0


def _definitions() -> dict[str, AgentDefinition]:
    found = [
        value
        for module in (support_agents, core_agents)
        for value in vars(module).values()
        if isinstance(value, AgentDefinition)
    ]
    return {d.name: d for d in found}


DEFINITIONS = _definitions()


@dataclass
class Core:
    """One assembled core: store, service, admin caller, and workers on demand."""

    backend: str
    database_url: str | None
    sqlite_path: Path
    store: Store
    service: Service
    artifacts: LocalArtifactStore
    admin: Caller
    tenant_id: str
    definitions: dict[str, AgentDefinition]

    def caller(self, role: Role, tenant_id: str | None = None) -> Caller:
        """Another key's caller (there is no store operation that issues keys)."""
        return Caller(tenant_id=tenant_id or self.tenant_id, key_id=f"{role}-key", role=role)

    def worker(self, *names: str, lease_seconds: float = LEASE_SECONDS) -> Worker:
        """A worker for the named agents (every agent when none is named)."""
        chosen = [self.definitions[n] for n in names] if names else self.definitions.values()
        refs = [(d.name, d.version) for d in chosen]
        registry = {(d.name, d.version): d for d in self.definitions.values()}
        runner = Runner(self.store, registry, self.artifacts)
        options = WorkerOptions(lease_seconds=lease_seconds, poll_interval=0.5)
        return Worker(self.store, runner, refs, options)

    @contextlib.asynccontextmanager
    async def other_store(self) -> AsyncIterator[Store]:
        """Another `Store` on the same database, with a notifier of its own: a second
        process of the fleet (on PostgreSQL its transactions really race with ours)."""
        other = Store(self.database_url, self.sqlite_path, LocalNotifier(), self.store.sealer)
        try:
            await other.metrics.ping()  # connected: its first write is as quick as ours
            yield other
        finally:
            await other.close()

    async def drain(self, worker: Worker | None = None) -> int:
        """`worker.drain()` (a worker for every agent by default), failing fast if it hangs."""
        async with asyncio.timeout(DRAIN_TIMEOUT):
            return await (worker or self.worker()).drain()

    async def dispatch(self, agent: str, goal: str = "go", **fields: Any) -> TaskRecord:
        detail = await self.service.tasks.dispatch(
            self.admin, TaskCreate(agent=agent, goal=goal, **fields)
        )
        assert detail.created
        return detail.task

    async def task(self, task_id: str) -> TaskRecord:
        return await self.store.tasks.get(self.tenant_id, task_id)

    async def events(self, task_id: str) -> list[Event]:
        return await self.store.tasks.events_after(self.tenant_id, task_id, 0)

    async def event_types(self, task_id: str) -> list[str]:
        return [_label(e) for e in await self.events(task_id)]

    async def new_task(self, agent: str, **overrides: Any) -> NewTask:
        """What a dispatch of `agent` would store; `overrides` replace fields of it."""
        version = await self.store.catalog.resolve_version(self.tenant_id, agent)
        new = new_task(
            version,
            tenant_id=self.tenant_id,
            goal="go",
            input={},
            profile=None,
            deadline_seconds=None,
        )
        return dataclasses.replace(new, **overrides)

    async def create(self, agent: str = "noop", **overrides: Any) -> TaskRecord:
        """Store a task directly (no service), as a dispatch would."""
        task, created = await self.store.tasks.create(
            await self.new_task(agent, **overrides), None, ""
        )
        assert created
        return task


def _label(event: Event) -> str:
    """`status:<status>` for status events, else the event type."""
    if event["type"] == "status":
        return f"status:{event['data']['status']}"
    return event["type"]


async def sleep_past(timestamp: float) -> None:
    """Sleep until the wall clock (`time.time`, what the store uses) is past `timestamp`:
    for lease expiry, retry delays and deadlines there is no event to await."""
    for _ in range(1000):
        left = timestamp - time.time()
        if left < 0:
            return
        await asyncio.sleep(left + 0.005)
    raise AssertionError(f"the clock never passed {timestamp}")


@pytest.fixture
async def core(backend: str, tmp_path: Path) -> AsyncIterator[Core]:
    with database_for(backend) as settings:
        database_url = settings.get("database_url")
        sqlite_path = tmp_path / "bureau.db"
        store = Store(database_url, sqlite_path, LocalNotifier(), Sealer([new_secret_key()]))
        try:
            store.migrate()
            key = issue_key()
            assert store.catalog.ensure_default_tenant(
                key_id=key.key_id, secret_hash=key.secret_hash
            )
            tenant_id = store.catalog.default_tenant_id()
            await store.catalog.publish_versions(
                tenant_id, [d.catalog_entry() for d in DEFINITIONS.values()]
            )
            artifacts = LocalArtifactStore(tmp_path / "artifacts", 10_000_000)
            service = Service(
                store,
                artifacts,
                max_deadline_seconds=MAX_DEADLINE_SECONDS,
                long_poll_max_seconds=LONG_POLL_MAX_SECONDS,
                heartbeat_seconds=30.0,
            )
            admin = await service.auth.key(key.plaintext)
            assert admin.role == Role.ADMIN and admin.tenant_id == tenant_id
            yield Core(
                backend=backend,
                database_url=database_url,
                sqlite_path=sqlite_path,
                store=store,
                service=service,
                artifacts=artifacts,
                admin=admin,
                tenant_id=tenant_id,
                definitions=dict(DEFINITIONS),
            )
        finally:
            await store.close()
