"""`Store`: the asynchronous face of the SQL store, used by the API and the engine.

Each method runs one operation from `bureau.store.sql` through the `Database` (one
transaction, group-committed where the backend does so) and, only after it committed,
publishes what changed on the `Notifier`. Every method that takes a `tenant_id` scopes its
queries to that tenant.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection, Row, select

from bureau.errors import InvalidState, NotFound
from bureau.notify.base import Notifier
from bureau.store.base import Database
from bureau.store.codec import iso, loads
from bureau.store.sql import catalog, queue, sweeps
from bureau.store.sql import tasks as task_ops
from bureau.store.sql.common import Changes
from bureau.store.sql.schema import (
    TERMINAL_STATUSES,
    artifacts,
    webhook_attempts,
    webhook_deliveries,
)
from bureau.store.views import event_public, task_public

T = TypeVar("T")
CATALOG_TTL = 2.0
ClaimOperation = Callable[..., list[queue.Claimed]]


class Store:
    def __init__(self, db: Database, notifier: Notifier, claim: ClaimOperation) -> None:
        self.db = db
        self.notifier = notifier
        self._claim = claim
        self._versions: dict[tuple[str, str], tuple[float, Row[Any]]] = {}

    async def write(
        self, op: Callable[[Connection, Changes], T], *, interactive: bool = False
    ) -> T:
        """Run a write operation and publish its changes once committed; `interactive` for
        the API's writes (see `Database.write`)."""
        committed: list[Changes] = []

        def attempt(conn: Connection) -> T:
            changes = Changes()  # fresh on every attempt: a batch may be re-run
            result = op(conn, changes)
            committed[:] = [changes]
            return result

        result = await self.db.write(attempt, interactive=interactive)
        self._publish(committed[0])
        return result

    async def read(self, op: Callable[[Connection], T]) -> T:
        return await self.db.read(op)

    def _publish(self, changes: Changes) -> None:
        for task_id, new_events in changes.events.items():
            self.notifier.publish(f"task:{task_id}", new_events)
        if changes.wake_queue:
            self.notifier.publish("queue", None)
        for task_id in changes.cancel:
            self.notifier.publish("cancel", task_id)
        if changes.webhooks:
            self.notifier.publish("webhooks", None)

    # -- consumers ----------------------------------------------------------------------

    async def create_task(
        self, new: task_ops.NewTask, idempotency_key: str | None, request_hash: str
    ) -> tuple[dict[str, Any], bool]:
        row, created = await self.write(
            lambda conn, ch: task_ops.create_task(conn, ch, new, idempotency_key, request_hash),
            interactive=True,
        )
        return task_public(row._mapping), created

    async def task(self, tenant_id: str, task_id: str) -> dict[str, Any]:
        row, found = await self.read(
            partial(task_ops.task_with_artifacts, tenant_id=tenant_id, task_id=task_id)
        )
        return task_public(row._mapping, found)

    async def task_row(self, tenant_id: str, task_id: str) -> Row[Any]:
        return await self.read(partial(task_ops.get_task, tenant_id=tenant_id, task_id=task_id))

    async def tasks(
        self, tenant_id: str, **filters: Any
    ) -> tuple[list[dict[str, Any]], str | None]:
        rows, cursor = await self.read(lambda conn: task_ops.list_tasks(conn, tenant_id, **filters))
        return [task_public(r._mapping) for r in rows], cursor

    async def events_after(
        self, tenant_id: str, task_id: str, after: int, limit: int = 1000
    ) -> list[dict[str, Any]]:
        rows = await self.read(
            lambda conn: task_ops.events_after(conn, tenant_id, task_id, after, limit)
        )
        return [event_public(r._mapping) for r in rows]

    async def add_message(self, tenant_id: str, task_id: str, **message: Any) -> dict[str, Any]:
        await self.write(
            lambda conn, ch: task_ops.add_message(conn, ch, tenant_id, task_id, **message),
            interactive=True,
        )
        return await self.task(tenant_id, task_id)

    async def cancel(self, tenant_id: str, task_id: str, reason: str) -> dict[str, Any]:
        def op(conn: Connection, changes: Changes) -> None:
            row = task_ops.get_task(conn, tenant_id, task_id)
            if row.status in TERMINAL_STATUSES:
                raise InvalidState(f"task {task_id} is already {row.status}")
            task_ops.cancel_tree(conn, changes, task_id, reason)

        await self.write(op, interactive=True)
        return await self.task(tenant_id, task_id)

    async def review(
        self, tenant_id: str, task_id: str, *, accept: bool, review: dict[str, Any], redo: bool
    ) -> dict[str, Any]:
        await self.write(
            lambda conn, ch: task_ops.review_task(
                conn, ch, tenant_id, task_id, accept=accept, review=review, redo=redo
            ),
            interactive=True,
        )
        return await self.task(tenant_id, task_id)

    async def artifact(self, tenant_id: str, task_id: str, name: str) -> Row[Any]:
        def op(conn: Connection) -> Row[Any]:
            task_ops.get_task(conn, tenant_id, task_id)
            row = conn.execute(
                select(artifacts).where(
                    artifacts.c.task_id == task_id,
                    artifacts.c.tenant_id == tenant_id,
                    artifacts.c.name == name,
                )
            ).first()
            if row is None:
                raise NotFound(f"task {task_id} has no artifact {name!r}")
            return row

        return await self.read(op)

    async def webhook_deliveries(self, tenant_id: str, task_id: str) -> list[dict[str, Any]]:
        def op(conn: Connection) -> list[dict[str, Any]]:
            task_ops.get_task(conn, tenant_id, task_id)
            deliveries = conn.execute(
                select(webhook_deliveries)
                .where(
                    webhook_deliveries.c.task_id == task_id,
                    webhook_deliveries.c.tenant_id == tenant_id,
                )
                .order_by(webhook_deliveries.c.created_at, webhook_deliveries.c.id)
            ).all()
            attempts = conn.execute(
                select(webhook_attempts)
                .where(webhook_attempts.c.delivery_id.in_([d.id for d in deliveries]))
                .order_by(webhook_attempts.c.attempt)
            ).all()
            return [
                _delivery_public(d, [a for a in attempts if a.delivery_id == d.id])
                for d in deliveries
            ]

        return await self.read(op)

    # -- catalog and auth ---------------------------------------------------------------

    async def authenticate(self, presented: str) -> Row[Any]:
        return await self.read(lambda conn: catalog.authenticate(conn, presented))

    async def webhook_secret(self, tenant_id: str) -> str:
        row = await self.read(lambda conn: catalog.tenant(conn, tenant_id))
        return str(row.webhook_secret)

    async def agents(self, tenant_id: str) -> list[Row[Any]]:
        return await self.read(lambda conn: catalog.visible_versions(conn, tenant_id))

    async def agent_versions(self, tenant_id: str, name: str) -> list[Row[Any]]:
        return await self.read(lambda conn: catalog.visible_versions(conn, tenant_id, name))

    async def resolve_version(self, tenant_id: str, ref: str) -> Row[Any]:
        """The agent version for `ref`; cached for `CATALOG_TTL` seconds (the catalog
        changes when workers publish, which is rare next to dispatches)."""
        key = (tenant_id, ref)
        hit = self._versions.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        row = await self.read(lambda conn: catalog.resolve_version(conn, tenant_id, ref))
        if len(self._versions) > 4096:
            self._versions.clear()
        self._versions[key] = (time.monotonic() + CATALOG_TTL, row)
        return row

    async def reputation(self, name: str, version: str | None = None) -> dict[str, Any]:
        return await self.read(lambda conn: catalog.reputation(conn, name, version))

    async def publish_versions(self, tenant_id: str, entries: list[Mapping[str, Any]]) -> None:
        await self.write(lambda conn, _: catalog.publish_versions(conn, tenant_id, entries))
        self._versions.clear()

    # -- workers ------------------------------------------------------------------------

    async def claim(
        self, owner: str, agent_refs: Sequence[tuple[str, str]], limit: int, lease_seconds: float
    ) -> list[queue.Claimed]:
        return await self.write(
            lambda conn, ch: self._claim(conn, ch, owner, agent_refs, limit, lease_seconds)
        )

    async def renew_leases(
        self, owner: str, held: dict[str, int], lease_seconds: float
    ) -> set[str]:
        return await self.write(
            lambda conn, _: queue.renew_leases(conn, owner, held, lease_seconds)
        )

    async def sweep(self, auto_accept_seconds: float) -> int:
        def op(conn: Connection, changes: Changes) -> int:
            return (
                sweeps.recover_expired_leases(conn, changes)
                + sweeps.expire_deadlines(conn, changes)
                + sweeps.auto_accept(conn, changes, auto_accept_seconds)
            )

        return await self.write(op)


def _delivery_public(row: Row[Any], attempts: Sequence[Row[Any]]) -> dict[str, Any]:
    return {
        "id": row.id,
        "event_type": row.event_type,
        "url": row.url,
        "status": row.status,
        "attempts": [
            {
                "attempt": a.attempt,
                "at": iso(a.at),
                "status_code": a.status_code,
                "error": a.error,
                "duration_ms": round(a.duration_ms, 2),
            }
            for a in attempts
        ],
        "next_attempt_at": iso(row.next_attempt_at) if row.status == "pending" else None,
        "delivered_at": iso(row.delivered_at),
        "payload": loads(row.payload),
    }
