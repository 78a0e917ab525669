"""Counts for the Prometheus gauges, in one read."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from bureau.states import TaskStatus
from bureau.store.codec import now
from bureau.store.records import Gauges
from bureau.store.sql.schema import tasks, webhook_deliveries

_BY_STATUS = select(tasks.c.status, func.count()).group_by(tasks.c.status)


def gauges(conn: Connection) -> Gauges:
    counts = dict.fromkeys(TaskStatus, 0)
    for status, count in conn.execute(_BY_STATUS).tuples():
        counts[TaskStatus(status)] = count
    depth = conn.execute(
        select(func.count()).where(tasks.c.queue_state == "ready", tasks.c.available_at <= now())
    ).scalar_one()
    leased = conn.execute(select(func.count()).where(tasks.c.queue_state == "leased")).scalar_one()
    pending = conn.execute(
        select(func.count()).where(webhook_deliveries.c.status == "pending")
    ).scalar_one()
    return Gauges(counts, depth, leased, pending)


def ping(conn: Connection) -> None:
    conn.exec_driver_sql("SELECT 1")
