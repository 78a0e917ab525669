"""Delivering queued webhooks: signed POSTs, retried with backoff, every attempt recorded.

Deliveries are rows written in the same transaction as the event they announce, so none is
lost. The sender claims a due delivery by pushing its `next_attempt_at` past the request
timeout (so two senders never post the same attempt), posts it, and records the attempt.
Deliveries of one task go out in order: a task's later delivery waits for its earlier one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import httpx
from sqlalchemy import Connection, Row, insert, select, update

from bureau.store.codec import now
from bureau.store.sql.common import Changes
from bureau.store.sql.schema import tenants, webhook_attempts, webhook_deliveries
from bureau.store.store import Store
from bureau.webhooks.signing import headers

log = logging.getLogger("bureau.webhooks")

BACKOFF = (1.0, 2.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)


def _claim_due(conn: Connection, _: Changes, limit: int, hold: float) -> list[Row[Any]]:
    at = now()
    pending = conn.execute(
        select(
            webhook_deliveries.c.id,
            webhook_deliveries.c.task_id,
            webhook_deliveries.c.next_attempt_at,
        )
        .where(webhook_deliveries.c.status == "pending")
        .order_by(webhook_deliveries.c.created_at, webhook_deliveries.c.id)
        .limit(limit * 4)
    ).all()
    first_per_task: dict[str, Row[Any]] = {}
    for row in pending:
        first_per_task.setdefault(row.task_id, row)
    due = [r.id for r in first_per_task.values() if r.next_attempt_at <= at][:limit]
    if not due:
        return []
    return list(
        conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id.in_(due), webhook_deliveries.c.status == "pending")
            .values(next_attempt_at=at + hold)
            .returning(*webhook_deliveries.c)
        ).all()
    )


def _record(
    conn: Connection,
    _: Changes,
    delivery: Row[Any],
    status_code: int | None,
    error: str | None,
    duration_ms: float,
    max_attempts: int,
) -> None:
    attempt = delivery.attempts + 1
    at = now()
    conn.execute(
        insert(webhook_attempts).values(
            delivery_id=delivery.id,
            attempt=attempt,
            tenant_id=delivery.tenant_id,
            at=at,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
        )
    )
    ok = status_code is not None and 200 <= status_code < 300
    values: dict[str, Any] = {"attempts": attempt}
    if ok:
        values.update(status="delivered", delivered_at=at, next_attempt_at=None)
    elif attempt >= max_attempts:
        values.update(status="failed", next_attempt_at=None)
    else:
        values.update(next_attempt_at=at + BACKOFF[min(attempt - 1, len(BACKOFF) - 1)])
    conn.execute(
        update(webhook_deliveries).where(webhook_deliveries.c.id == delivery.id).values(**values)
    )


class WebhookSender:
    def __init__(
        self,
        store: Store,
        *,
        timeout: float = 10.0,
        max_attempts: int = 8,
        poll_interval: float = 1.0,
        concurrency: int = 16,
    ) -> None:
        self.store = store
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.poll_interval = poll_interval
        self.concurrency = concurrency
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._unsubscribe: Any = None
        self._secrets: dict[str, str] = {}

    def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        self._unsubscribe = self.store.notifier.subscribe("webhooks", lambda _: self._wake.set())
        self._task = asyncio.create_task(self._loop(), name="bureau-webhooks")

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                batch = await self.store.write(
                    lambda conn, ch: _claim_due(conn, ch, self.concurrency, self.timeout + 5)
                )
                if batch:
                    await asyncio.gather(*(self._deliver(d) for d in batch))
                    continue
            except Exception:
                log.exception("webhook sender loop failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)

    async def _secret(self, tenant_id: str) -> str:
        if tenant_id not in self._secrets:
            row = await self.store.read(
                lambda conn: conn.execute(
                    select(tenants.c.webhook_secret).where(tenants.c.id == tenant_id)
                ).one()
            )
            self._secrets[tenant_id] = str(row.webhook_secret)
        return self._secrets[tenant_id]

    async def _deliver(self, delivery: Row[Any]) -> None:
        assert self._client is not None
        body = delivery.payload.encode()
        secret = await self._secret(delivery.tenant_id)
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        try:
            response = await self._client.post(
                delivery.url,
                content=body,
                headers=headers(secret, delivery.id, int(time.time()), body),
            )
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"receiver answered HTTP {status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        duration_ms = (time.perf_counter() - started) * 1000
        await self.store.write(
            lambda conn, ch: _record(
                conn, ch, delivery, status_code, error, duration_ms, self.max_attempts
            )
        )
        if error is None:
            return
        log.info("webhook %s to %s failed: %s", delivery.id, delivery.url, error)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
