"""The reaper's periodic sweeps: expired leases, deadlines, idle timeouts, auto-accept.

Each sweep handles a bounded batch so one transaction stays short; the reaper calls them
again on its next tick.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, text

from bureau.store.codec import dumps, now
from bureau.store.sql.common import Changes, touch_task
from bureau.store.sql.queue import fail, retry_later
from bureau.store.sql.schema import UNFINISHED, tasks
from bureau.store.sql.tasks import ledger_entry

BATCH = 200


def recover_expired_leases(conn: Connection, changes: Changes) -> int:
    """Tasks whose worker stopped renewing: run again now (or fail when out of attempts)."""
    at = now()
    expired = conn.execute(
        select(tasks)
        .where(tasks.c.queue_state == "leased", tasks.c.lease_expires_at < at)
        .limit(BATCH)
    ).all()
    for row in expired:
        error = {"code": "worker_lost", "message": f"lease held by {row.lease_owner} expired"}
        if row.attempt >= row.max_attempts:
            fail(conn, changes, row, row.lease_token, error, dead_letter=True)
        else:
            retry_later(
                conn,
                changes,
                row.id,
                row.lease_token,
                delay=0.0,
                error=error,
                attempt=row.attempt + 1,
            )
    return len(expired)


def expire_deadlines(conn: Connection, changes: Changes) -> int:
    """Fail tasks past their absolute deadline or, while running, their idle timeout."""
    at = now()
    past_deadline = conn.execute(
        select(tasks).where(text(UNFINISHED), tasks.c.deadline_at < at).limit(BATCH)
    ).all()
    idle = conn.execute(
        select(tasks)
        .where(tasks.c.queue_state == "leased", tasks.c.idle_deadline_at < at)
        .limit(BATCH)
    ).all()
    late = {row.id: row for row in [*past_deadline, *idle]}.values()
    for row in late:
        if row.deadline_at < at:
            error = {
                "code": "deadline_exceeded",
                "message": f"task exceeded its deadline of {row.deadline_seconds:g} s",
            }
        else:
            error = {
                "code": "idle_timeout",
                "message": f"no progress for {row.idle_timeout:g} s (idle timeout)",
            }
        if row.queue_state == "leased":
            changes.cancel.add(row.id)
        fail(conn, changes, row, None, error, dead_letter=False)
    return len(late)


def auto_accept(conn: Connection, changes: Changes, window_seconds: float) -> int:
    """Accept completed deliverables left unreviewed for longer than the window."""
    cutoff = now() - window_seconds
    due = conn.execute(
        select(tasks)
        .where(tasks.c.review_status == "pending", tasks.c.finished_at < cutoff)
        .limit(BATCH)
    ).all()
    for row in due:
        review = {"auto": True, "rating": None, "comment": "accepted automatically"}
        reviewed = touch_task(
            conn,
            changes,
            row.id,
            [("review", {"status": "accepted", **review})],
            guard="unreviewed",
            review_status="accepted",
            review=dumps(review),
        )
        if reviewed is not None:
            ledger_entry(conn, reviewed, "capture")
    return len(due)
