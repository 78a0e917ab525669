"""Operations a worker performs on tasks it holds, and the reaper's sweeps.

Every write by a worker is fenced by the lease token it got when claiming: once the lease
was lost (expired and re-claimed, canceled, timed out) the write matches no row and the
caller gets `LeaseLost`. Claiming itself is dialect specific (see `_claim_*`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, tuple_, update

from bureau.errors import LeaseLost
from bureau.states import TaskStatus
from bureau.store.codec import dumps, loads, now
from bureau.store.records import (
    ArtifactRecord,
    ClaimedTask,
    JournalRecord,
    RunningCaps,
    TaskRecord,
    money,
    money_text,
)
from bureau.store.sql.common import (
    Changes,
    EventSpec,
    append_events_of,
    requeued_tag,
    status_event,
    touch_task,
)
from bureau.store.sql.schema import artifacts, journal, sessions, tasks
from bureau.store.sql.tasks import finish, session_order_clause

_INSERT_JOURNAL = insert(journal)
_DELETE_JOURNAL = delete(journal).where(
    journal.c.task_id == bindparam("_id"),
    journal.c.revision == bindparam("_revision"),
    journal.c.position == bindparam("_position"),
)
_LOAD_JOURNAL = (
    select(journal)
    .where(journal.c.task_id == bindparam("_id"), journal.c.revision == bindparam("_revision"))
    .order_by(journal.c.position)
)
_START = (  # tasks claimed for the first time in their revision start working
    update(tasks)
    .where(tasks.c.id.in_(bindparam("_ids", expanding=True)), tasks.c.status == "submitted")
    .values(
        status="working",
        started_at=func.coalesce(tasks.c.started_at, bindparam("_at")),
        idle_deadline_at=bindparam("_at") + tasks.c.idle_timeout,
        last_seq=tasks.c.last_seq + 1,
        updated_at=bindparam("_at"),
    )
    .returning(*tasks.c)
)
_WAKE_PENDING = select(tasks.c.wake_pending).where(
    tasks.c.id == bindparam("_id"), tasks.c.lease_token == bindparam("_token")
)
_RENEW = (
    update(tasks)
    .where(
        tuple_(tasks.c.id, tasks.c.lease_token).in_(bindparam("_held", expanding=True)),
        tasks.c.queue_state == "leased",
        tasks.c.lease_owner == bindparam("_owner"),
    )
    .values(lease_expires_at=bindparam("_expires"))
    .returning(tasks.c.id)
)


CLAIMABLE = (
    (tasks.c.queue_state == "ready")
    & (tasks.c.available_at <= bindparam("_now"))
    & tuple_(tasks.c.agent, tasks.c.agent_version).in_(bindparam("_refs", expanding=True))
    & session_order_clause()
)
"""The WHERE clause of a task a worker may claim now (params `_now`, `_refs`)."""


_LEASE_VALUES = dict(
    queue_state="leased",
    lease_owner=bindparam("_owner"),
    lease_token=tasks.c.lease_token + 1,
    lease_expires_at=bindparam("_expires"),
    wake_pending=False,
    updated_at=bindparam("_now"),
)


def claim_statement(*, skip_locked: bool) -> Any:
    """UPDATE ... RETURNING that leases up to `_limit` claimable tasks, smallest fair tag
    first (fair between tenants: see `common._fair_tag`).

    With `skip_locked` (PostgreSQL) concurrent claimers skip each other's rows instead of
    waiting for them (`FOR UPDATE SKIP LOCKED`).
    """
    candidates = (
        select(tasks.c.id).where(CLAIMABLE).order_by(tasks.c.fair_tag).limit(bindparam("_limit"))
    )
    if skip_locked:
        candidates = candidates.with_for_update(skip_locked=True)
    return (
        update(tasks)
        .where(tasks.c.id.in_(candidates.scalar_subquery()))
        .values(**_LEASE_VALUES)
        .returning(*tasks.c)
    )


def capped_candidates_statement(*, skip_locked: bool) -> Any:
    """The claimable tasks of tenants below their cap of running tasks, in claim order
    (params `_full`: tenants at their cap, `_taken`: ids already chosen)."""
    candidates = (
        select(tasks.c.id, tasks.c.tenant_id)
        .where(
            CLAIMABLE,
            tasks.c.tenant_id.not_in(bindparam("_full", expanding=True)),
            tasks.c.id.not_in(bindparam("_taken", expanding=True)),
        )
        .order_by(tasks.c.fair_tag)
        .limit(bindparam("_limit"))
    )
    return candidates.with_for_update(skip_locked=True) if skip_locked else candidates


_RUNNING = (
    select(tasks.c.tenant_id, func.count())
    .where(tasks.c.queue_state == "leased")
    .group_by(tasks.c.tenant_id)
)
_LEASE = (
    update(tasks)
    .where(tasks.c.id.in_(bindparam("_ids", expanding=True)))
    .values(**_LEASE_VALUES)
    .returning(*tasks.c)
)
_CAPPED_CLAIM_LOCK = 0x62757265  # one capped claimer at a time on PostgreSQL


def claim_tasks(
    conn: Connection,
    changes: Changes,
    owner: str,
    agent_refs: Sequence[tuple[str, str]],
    limit: int,
    lease_seconds: float,
    caps: RunningCaps | None = None,
    *,
    statement: Any,
    capped_statement: Any,
) -> list[ClaimedTask]:
    """Lease up to `limit` ready tasks with `statement` (from `claim_statement`); when
    tenants have caps on running tasks, with `capped_statement` (from
    `capped_candidates_statement`) and no more of a tenant's tasks than its cap allows."""
    at = now()
    params = {
        "_now": at,
        "_refs": list(agent_refs),
        "_limit": limit,
        "_owner": owner,
        "_expires": at + lease_seconds,
    }
    if caps is None or not caps.active:
        rows = conn.execute(statement, params).all()
    else:
        rows = _claim_capped(conn, params, caps, capped_statement)
    return mark_claimed(conn, changes, rows, at)


def _claim_capped(
    conn: Connection, params: dict[str, Any], caps: RunningCaps, candidates: Any
) -> Sequence[Row[Any]]:
    """Choose candidates in claim order, skipping tenants at their cap; look again past a
    tenant that filled up while choosing, until `_limit` are chosen or none is left.
    PostgreSQL claimers take turns here, so two cannot both fill a tenant's last slot."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_CAPPED_CLAIM_LOCK)))
    room = {t: caps.of(t) - n for t, n in conn.execute(_RUNNING).tuples() if caps.of(t)}
    chosen: list[str] = []
    while len(chosen) < params["_limit"]:
        full = [t for t, left in room.items() if left <= 0]
        wanted = params["_limit"] - len(chosen)
        found = conn.execute(
            candidates, {**params, "_limit": wanted, "_full": full, "_taken": chosen}
        ).all()
        for row in found:
            cap = caps.of(row.tenant_id)
            if cap:
                left = room.setdefault(row.tenant_id, cap)
                if left <= 0:
                    continue
                room[row.tenant_id] = left - 1
            chosen.append(row.id)
        if len(found) < wanted:  # else a tenant filled up: look again without it
            break
    if not chosen:
        return []
    return conn.execute(_LEASE, {**params, "_ids": chosen}).all()


def mark_claimed(
    conn: Connection, changes: Changes, rows: Sequence[Row[Any]], at: float
) -> list[ClaimedTask]:
    """Emit `working` for tasks that start for the first time in this revision (their
    journal is empty: nothing to load), and load the journal of the others."""
    fresh = [row.id for row in rows if row.status == "submitted"]
    started = {}
    if fresh:  # one UPDATE and one INSERT for the whole batch
        started = {r.id: r for r in conn.execute(_START, {"_ids": fresh, "_at": at})}
        working = [status_event("working")]
        append_events_of(conn, changes, [(row, working) for row in started.values()], at)
    claimed = []
    for row in rows:
        if row.id in started:
            row, entries = started[row.id], []
        else:
            entries = [
                JournalRecord(e.position, e.kind, e.name, e.status, loads(e.result), e.seconds)
                for e in conn.execute(_LOAD_JOURNAL, {"_id": row.id, "_revision": row.revision})
            ]
        task = TaskRecord.from_row(row._mapping)
        claimed.append(ClaimedTask(task, entries, _session_state(conn, row)))
    return claimed


def renew_leases(
    conn: Connection, owner: str, held: dict[str, int], lease_seconds: float
) -> set[str]:
    """Extend the leases still held; returns the ids whose lease was lost."""
    if not held:
        return set()
    params = {"_held": list(held.items()), "_owner": owner, "_expires": now() + lease_seconds}
    kept = conn.execute(_RENEW, params).all()
    return set(held) - {r.id for r in kept}


def _session_state(conn: Connection, row: Row[Any]) -> dict[str, Any]:
    if row.session_id is None:
        return {}
    found = conn.execute(
        select(sessions.c.state, sessions.c.expires_at).where(
            sessions.c.tenant_id == row.tenant_id, sessions.c.id == row.session_id
        )
    ).first()
    if found is None or (found.expires_at is not None and found.expires_at <= now()):
        return {}
    state: dict[str, Any] = loads(found.state)
    return state


def _fenced(
    conn: Connection,
    changes: Changes,
    task_id: str,
    token: int,
    new_events: Sequence[EventSpec],
    **values: Any,
) -> Row[Any]:
    row = touch_task(conn, changes, task_id, new_events, fence=token, narrow=True, **values)
    if row is None:
        raise LeaseLost(f"task {task_id} is no longer held under lease token {token}")
    return row


def journal_entry(
    conn: Connection,
    changes: Changes,
    task_id: str,
    token: int,
    *,
    position: int,
    kind: str,
    name: str,
    entry_status: str,
    result: Any,
    new_events: Sequence[EventSpec] = (),
    seconds: float | None = None,
    replace: bool = False,
    **task_values: Any,
) -> None:
    """Journal one durable call with its events, fenced; `replace` an entry recorded before
    (a `started` step, a `pending` question or child)."""
    record = dict(
        position=position,
        kind=kind,
        name=name,
        status=entry_status,
        result=dumps(result),
        seconds=seconds,
        at=now(),
    )
    if not replace:  # the common case: one statement on PostgreSQL
        _fenced(conn, changes, task_id, token, new_events, journal_record=record, **task_values)
        return
    row = _fenced(conn, changes, task_id, token, new_events, **task_values)
    conn.execute(
        _DELETE_JOURNAL, {"_id": task_id, "_revision": row.revision, "_position": position}
    )
    conn.execute(
        _INSERT_JOURNAL,
        {**record, "task_id": task_id, "revision": row.revision, "tenant_id": row.tenant_id},
    )


def add_events(
    conn: Connection, changes: Changes, task_id: str, token: int, new_events: Sequence[EventSpec]
) -> Row[Any]:
    return _fenced(conn, changes, task_id, token, new_events)


def add_artifact(
    conn: Connection,
    changes: Changes,
    task: TaskRecord,
    token: int,
    *,
    position: int,
    artifact: ArtifactRecord,
    described: dict[str, Any],
    new_events: Sequence[EventSpec],
) -> None:
    """Journal an artifact (fenced) and upsert its row."""
    journal_entry(
        conn,
        changes,
        task.id,
        token,
        position=position,
        kind="artifact",
        name=artifact.name,
        entry_status="completed",
        result=described,
        new_events=new_events,
        idle_deadline_at=now() + task.idle_timeout,
    )
    values = {
        "media_type": artifact.media_type,
        "size": artifact.size,
        "sha256": artifact.sha256,
        "revision": task.revision,
        "created_at": artifact.created_at,
    }
    updated = conn.execute(
        update(artifacts)
        .where(artifacts.c.task_id == task.id, artifacts.c.name == artifact.name)
        .values(**values)
    )
    if updated.rowcount == 0:
        conn.execute(
            insert(artifacts).values(
                task_id=task.id, tenant_id=task.tenant_id, name=artifact.name, **values
            )
        )


def complete(
    conn: Connection,
    changes: Changes,
    row: TaskRecord,
    token: int,
    *,
    deliverable: Any,
    usage: dict[str, Any],
    session_state: dict[str, Any] | None,
    session_ttl: float,
    delegated: bool = False,
    reply: bool = False,
) -> None:
    """Record the deliverable; the cost is the price, plus what its model calls cost
    (`usage.llm.cost`), plus completed children's costs.
    A `reply` (the agent returned `Reply`) says so in its deliverable event."""
    cost = money(row.price) + money(str(usage.get("llm", {}).get("cost", "0")))
    if delegated:
        cost += sum(
            (
                money(c.cost)
                for c in conn.execute(
                    select(tasks.c.cost).where(
                        tasks.c.parent_id == row.id, tasks.c.status == "completed"
                    )
                )
            ),
            Decimal(0),
        )
    done = finish(
        conn,
        changes,
        row,
        "completed",
        fence=token,
        extra_events=[
            ("deliverable", {"deliverable": deliverable} | ({"reply": True} if reply else {}))
        ],
        deliverable=dumps(deliverable),
        usage=dumps(usage),
        cost=money_text(cost),
    )
    if not done:
        raise LeaseLost(f"task {row.id} is no longer held under lease token {token}")
    if session_state is not None and row.session_id is not None:
        _save_session(conn, row, session_state, session_ttl)


def _save_session(conn: Connection, row: TaskRecord, state: dict[str, Any], ttl: float) -> None:
    at = now()
    values = {"state": dumps(state), "expires_at": at + ttl, "updated_at": at}
    updated = conn.execute(
        update(sessions)
        .where(sessions.c.tenant_id == row.tenant_id, sessions.c.id == row.session_id)
        .values(**values)
    )
    if updated.rowcount == 0:
        conn.execute(insert(sessions).values(tenant_id=row.tenant_id, id=row.session_id, **values))


def fail(
    conn: Connection,
    changes: Changes,
    row: Any,
    token: int | None,
    error: dict[str, Any],
    *,
    dead_letter: bool,
    status: str = TaskStatus.FAILED,
    trace: str | None = None,
) -> bool:
    return finish(
        conn,
        changes,
        row,
        status,
        error=error,
        fence=token,
        dead_letter=dead_letter,
        trace=trace,
    )


def retry_later(
    conn: Connection,
    changes: Changes,
    task_id: str,
    token: int | None,
    *,
    delay: float,
    error: dict[str, Any],
    attempt: int,
    trace: str | None = None,
) -> Row[Any] | None:
    """Release the task for another attempt after `delay` seconds, behind its tenant's
    waiting tasks."""
    at = now()
    row = touch_task(
        conn,
        changes,
        task_id,
        [("retry", {"attempt": attempt, "delay_seconds": round(delay, 3), "error": error})],
        fence=token,
        guard="unfinished",
        new_token=True,
        queue_state="ready",
        attempt=attempt,
        available_at=at + delay,
        fair_tag=requeued_tag(conn, task_id, at + delay),
        lease_owner=None,
        lease_expires_at=None,
        wake_pending=False,
        error=dumps(error),
        trace=trace,
    )
    changes.wake_queue = True
    return row


def park(conn: Connection, changes: Changes, task_id: str, token: int) -> Row[Any]:
    """Give the task back while it waits; if it was woken meanwhile, it is ready at once."""
    row = conn.execute(_WAKE_PENDING, {"_id": task_id, "_token": token}).first()
    if row is None:
        raise LeaseLost(f"task {task_id} is no longer held under lease token {token}")
    state = "ready" if row.wake_pending else "parked"
    parked = _fenced(
        conn,
        changes,
        task_id,
        token,
        (),
        queue_state=state,
        available_at=now(),
        new_token=True,
        lease_owner=None,
        lease_expires_at=None,
        wake_pending=False,
    )
    changes.wake_queue = changes.wake_queue or state == "ready"
    return parked


def release_leases(conn: Connection, changes: Changes, owner: str) -> int:
    """Hand back every task `owner` holds (graceful shutdown): ready at once, fenced."""
    released = conn.execute(
        update(tasks)
        .where(tasks.c.queue_state == "leased", tasks.c.lease_owner == owner)
        .values(
            queue_state="ready",
            lease_owner=None,
            lease_expires_at=None,
            lease_token=tasks.c.lease_token + 1,
            available_at=now(),
            wake_pending=False,
        )
        .returning(tasks.c.id)
    ).all()
    changes.wake_queue = bool(released)
    return len(released)
