"""`WebhookOutbox`: the deliveries the webhook sender claims, posts and records."""

from __future__ import annotations

import orjson

from bureau.errors import UsageError
from bureau.store._transactions import Transactions
from bureau.store.codec import iso
from bureau.store.records import DeliveryContent, WebhookDelivery
from bureau.store.sealing import Sealer
from bureau.store.sql import outbox as sql
from bureau.store.views import task_view


class WebhookOutbox:
    def __init__(self, transactions: Transactions, sealer: Sealer | None) -> None:
        self._tx = transactions
        self._sealer = sealer
        self._secrets: dict[str, str] = {}

    async def claim_due(self, limit: int, hold: float) -> list[WebhookDelivery]:
        """Up to `limit` pending deliveries that are due, soonest due first, at most one per
        task (its oldest: a task's deliveries go out in order). Each claimed delivery's next
        attempt is moved `hold` seconds ahead, so no other sender claims it while this one
        posts."""
        return await self._tx.write(lambda conn, _: sql.claim_due(conn, limit, hold))

    async def defer(self, delivery: WebhookDelivery, until: float) -> None:
        """Give a claimed delivery back until `until` without an attempt (its receiver or
        tenant is at its in-flight bound, or the receiver's circuit is open)."""
        await self._tx.write(lambda conn, _: sql.defer(conn, delivery.id, until))

    async def record_attempt(
        self,
        delivery: WebhookDelivery,
        *,
        status_code: int | None,
        error: str | None,
        duration_ms: float,
        max_attempts: int,
        refused: bool = False,
    ) -> None:
        """Record one attempt; a 2xx delivers, the `max_attempts`-th failure fails the
        delivery, any other failure schedules the next attempt by `sql.outbox.BACKOFF`;
        a `refused` destination ends the delivery as refused (nothing was sent)."""
        await self._tx.write(
            lambda conn, _: sql.record_attempt(
                conn, delivery, status_code, error, duration_ms, max_attempts, refused
            )
        )

    async def content(self, delivery: WebhookDelivery) -> DeliveryContent:
        """What `delivery` reports now, its webhook's options opened."""
        task, artifacts, at, sealed = await self._tx.read(
            lambda conn: sql.delivery_content(conn, delivery)
        )
        options = {}
        if sealed is not None:
            if self._sealer is None:
                raise UsageError("this store was opened without secret keys")
            options = orjson.loads(self._sealer.open(sealed))
        return DeliveryContent(task, artifacts, at, options)

    async def deliveries(self, tenant_id: str, task_id: str) -> list[WebhookDelivery]:
        """Every delivery for the task with its attempts, oldest first; raises `NotFound`."""
        return await self._tx.read(lambda conn: sql.deliveries_of(conn, tenant_id, task_id))

    async def signing_secret(self, tenant_id: str) -> str:
        """The tenant's Standard Webhooks signing secret (cached: it never changes)."""
        if tenant_id not in self._secrets:
            stored = await self._tx.read(lambda conn: sql.webhook_secret(conn, tenant_id))
            if self._sealer is None:
                raise UsageError("this store was opened without secret keys")
            self._secrets[tenant_id] = self._sealer.open(stored)
        return self._secrets[tenant_id]


def delivery_body(delivery: WebhookDelivery, content: DeliveryContent) -> bytes:
    """Bureau's payload: the event's type, time and `seq`, and the task as it is now."""
    payload = {
        "type": delivery.event_type,
        "timestamp": iso(content.at),
        "data": {"seq": delivery.seq, "task": task_view(content.task, content.artifacts)},
    }
    return orjson.dumps(payload)
