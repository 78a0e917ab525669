"""The webhook outbox: deliveries queued with the events they announce, claimed by senders.

Deliveries are inserted by `common.append_events` in the transaction of their event, so
none is lost. A sender claims a due delivery by pushing its `next_attempt_at` past the
request timeout (two senders never post the same attempt); a task's later delivery waits
for its earlier one, so each receiver sees a task's events in order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from bureau.store.codec import now
from bureau.store.records import (
    ArtifactRecord,
    DeliveryAttempt,
    TaskRecord,
    WebhookDelivery,
)
from bureau.store.sql.common import artifacts_of
from bureau.store.sql.schema import events, tenants, webhook_attempts, webhook_deliveries
from bureau.store.sql.tasks import get_task

BACKOFF = (1.0, 2.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
"""Seconds before the next attempt, by attempts made so far (the last repeats)."""


def claim_due(conn: Connection, limit: int, hold: float) -> list[WebhookDelivery]:
    """The `limit` deliveries due soonest, each the oldest pending one of its task, whatever
    the deliveries in backoff ahead of them (they no longer fill the window)."""
    at = now()
    earlier = webhook_deliveries.alias("earlier")
    older_pending = (
        select(earlier.c.id)
        .where(
            earlier.c.task_id == webhook_deliveries.c.task_id,
            earlier.c.status == "pending",
            (earlier.c.created_at < webhook_deliveries.c.created_at)
            | (
                (earlier.c.created_at == webhook_deliveries.c.created_at)
                & (earlier.c.id < webhook_deliveries.c.id)
            ),
        )
        .exists()
    )
    due = (
        conn.execute(
            select(webhook_deliveries.c.id)
            .where(
                webhook_deliveries.c.status == "pending",
                webhook_deliveries.c.next_attempt_at <= at,
                ~older_pending,
            )
            .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    if not due:
        return []
    claimed = conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id.in_(due), webhook_deliveries.c.status == "pending")
        .values(next_attempt_at=at + hold)
        .returning(*webhook_deliveries.c)
    )
    return [WebhookDelivery.from_row(row._mapping) for row in claimed]


def defer(conn: Connection, delivery_id: str, until: float) -> None:
    """Move a claimed, still pending delivery's next attempt to `until`; no attempt is
    recorded (nothing was sent)."""
    conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id == delivery_id, webhook_deliveries.c.status == "pending")
        .values(next_attempt_at=until)
    )


def record_attempt(
    conn: Connection,
    delivery: WebhookDelivery,
    status_code: int | None,
    error: str | None,
    duration_ms: float,
    max_attempts: int,
    refused: bool = False,
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
    elif refused:
        values.update(status="refused", next_attempt_at=None)
    elif attempt >= max_attempts:
        values.update(status="failed", next_attempt_at=None)
    else:
        values.update(next_attempt_at=at + BACKOFF[min(attempt - 1, len(BACKOFF) - 1)])
    conn.execute(
        update(webhook_deliveries).where(webhook_deliveries.c.id == delivery.id).values(**values)
    )


def deliveries_of(conn: Connection, tenant_id: str, task_id: str) -> list[WebhookDelivery]:
    get_task(conn, tenant_id, task_id)
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
    history: dict[str, list[DeliveryAttempt]] = {}
    for a in attempts:
        history.setdefault(a.delivery_id, []).append(
            DeliveryAttempt(a.attempt, a.at, a.status_code, a.error, a.duration_ms)
        )
    return [WebhookDelivery.from_row(d._mapping, history.get(d.id, [])) for d in deliveries]


def delivery_content(
    conn: Connection, delivery: WebhookDelivery
) -> tuple[TaskRecord, list[ArtifactRecord], float | None, str | None]:
    """The task now, its artifacts, when the announced event happened, and the webhook's
    sealed options when `delivery` goes to the task's current webhook URL."""
    row = get_task(conn, delivery.tenant_id, delivery.task_id)
    record = TaskRecord.from_row(row._mapping)
    at = conn.execute(
        select(events.c.at).where(
            events.c.task_id == delivery.task_id, events.c.seq == delivery.seq
        )
    ).scalar_one()
    options = row.webhook_options if row.webhook_url == delivery.url else None
    return record, artifacts_of(conn, record.id), at, options


def webhook_secret(conn: Connection, tenant_id: str) -> str:
    return str(
        conn.execute(select(tenants.c.webhook_secret).where(tenants.c.id == tenant_id)).scalar_one()
    )
