"""Building blocks shared by the store's operations.

`Changes` collects what an operation did that others must hear about once it commits
(new events, queue wake-ups, cancel signals, webhook work). `touch_task` is the one way a
task row changes together with its event log: it updates the row, advances `last_seq` and
appends the events in the same statement pair, fenced by the lease token when given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from bureau.store.codec import dumps, iso, now
from bureau.store.ids import new_id
from bureau.store.sql.schema import artifacts, events, tasks, webhook_deliveries
from bureau.store.views import task_public

EventSpec = tuple[str, Any]
WEBHOOK_EVENT_TYPES = frozenset({"status", "deliverable", "question", "review"})


@dataclass
class Changes:
    """What committed: published by the store after the transaction succeeds."""

    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    wake_queue: bool = False
    cancel: set[str] = field(default_factory=set)
    webhooks: bool = False


def touch_task(
    conn: Connection,
    changes: Changes,
    task_id: str,
    new_events: Sequence[EventSpec] = (),
    *,
    fence: int | None = None,
    where: Sequence[Any] = (),
    **values: Any,
) -> Row[Any] | None:
    """Update a task and append events atomically; None if no row matched.

    `fence` restricts the update to the lease holder; `where` adds conditions (used for
    compare-and-set). The returned row is the task after the update.
    """
    at = now()
    stmt = update(tasks).where(tasks.c.id == task_id, *where)
    if fence is not None:
        stmt = stmt.where(tasks.c.lease_token == fence)
    stmt = stmt.values(last_seq=tasks.c.last_seq + len(new_events), updated_at=at, **values)
    row = conn.execute(stmt.returning(*tasks.c)).first()
    if row is None:
        return None
    if new_events:
        append_events(conn, changes, row, new_events, at)
    return row


def append_events(
    conn: Connection,
    changes: Changes,
    row: Row[Any],
    new_events: Sequence[EventSpec],
    at: float,
) -> None:
    first = row.last_seq - len(new_events) + 1
    records = [
        {
            "task_id": row.id,
            "seq": first + offset,
            "tenant_id": row.tenant_id,
            "type": kind,
            "at": at,
            "data": dumps(data),
        }
        for offset, (kind, data) in enumerate(new_events)
    ]
    conn.execute(insert(events), records)
    published = changes.events.setdefault(row.id, [])
    for record, (_, data) in zip(records, new_events, strict=True):
        published.append(
            {"seq": record["seq"], "type": record["type"], "at": iso(at), "data": data}
        )
    if row.webhook_url:
        _queue_webhooks(
            conn, changes, row, [r for r in records if r["type"] in WEBHOOK_EVENT_TYPES]
        )


def _queue_webhooks(
    conn: Connection, changes: Changes, row: Row[Any], records: list[dict[str, Any]]
) -> None:
    if not records:
        return
    task = task_public(row._mapping, artifacts_of(conn, row.id))
    deliveries = []
    for record in records:
        kind = record["type"]
        event_type = f"task.{task['status']}" if kind == "status" else f"task.{kind}"
        payload = {
            "type": event_type,
            "timestamp": iso(record["at"]),
            "data": {"seq": record["seq"], "task": task},
        }
        deliveries.append(
            {
                "id": new_id("wh_"),
                "tenant_id": row.tenant_id,
                "task_id": row.id,
                "url": row.webhook_url,
                "event_type": event_type,
                "payload": dumps(payload),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": record["at"],
                "created_at": record["at"],
            }
        )
    conn.execute(insert(webhook_deliveries), deliveries)
    changes.webhooks = True


def artifacts_of(conn: Connection, task_id: str) -> list[Mapping[Any, Any]]:
    result = conn.execute(
        select(artifacts).where(artifacts.c.task_id == task_id).order_by(artifacts.c.created_at)
    )
    return [r._mapping for r in result]


def status_event(status: str, **extra: Any) -> EventSpec:
    return ("status", {"status": status, **extra})
