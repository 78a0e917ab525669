"""Operations on tasks driven by consumers: create, read, list, reply, cancel, review."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, case, func, insert, or_, select, update

from bureau.errors import (
    IdempotencyConflict,
    InvalidState,
    NotFound,
    QuestionAlreadyAnswered,
    QueueFull,
    SessionBusy,
)
from bureau.store.codec import dumps, iso, loads, now
from bureau.store.ids import new_id
from bureau.store.records import ArtifactRecord, Event, NewTask, money, money_text
from bureau.store.sql.common import (
    Changes,
    TaskRow,
    artifacts_of,
    insert_task,
    requeued_tag,
    status_event,
    touch_task,
)
from bureau.store.sql.schema import (
    TERMINAL_STATUSES,
    artifacts,
    events,
    idempotency_keys,
    journal,
    ledger,
    tasks,
)

_GET_TASK = select(tasks).where(
    tasks.c.id == bindparam("_id"), tasks.c.tenant_id == bindparam("_tenant")
)
_GET_IDEMPOTENCY_KEY = select(idempotency_keys).where(
    idempotency_keys.c.tenant_id == bindparam("_tenant"),
    idempotency_keys.c.key == bindparam("_key"),
)
_INSERT_IDEMPOTENCY_KEY = insert(idempotency_keys)
_INSERT_LEDGER = insert(ledger)
_EVENTS_AFTER = (
    select(events)
    .where(
        events.c.task_id == bindparam("_id"),
        events.c.tenant_id == bindparam("_tenant"),
        events.c.seq > bindparam("_after"),
    )
    .order_by(events.c.seq)
    .limit(bindparam("_limit"))
)
_WAKE = (
    update(tasks)
    .where(tasks.c.id == bindparam("_id"), tasks.c.queue_state.in_(("parked", "leased")))
    .values(
        wake_pending=case((tasks.c.queue_state == "leased", True), else_=False),
        queue_state=case((tasks.c.queue_state == "parked", "ready"), else_=tasks.c.queue_state),
        available_at=bindparam("_at"),
    )
)


def get_task(conn: Connection, tenant_id: str, task_id: str) -> Row[Any]:
    row = conn.execute(_GET_TASK, {"_id": task_id, "_tenant": tenant_id}).first()
    if row is None:
        raise NotFound(f"no task {task_id!r} in this tenant; check the id from POST /v1/tasks")
    return row


def set_webhook(
    conn: Connection, tenant_id: str, task_id: str, url: str | None, options: str | None
) -> None:
    """Point the task's later events at `url` (None: no webhook) with `options` (sealed);
    raises `NotFound`."""
    get_task(conn, tenant_id, task_id)
    conn.execute(
        update(tasks)
        .where(tasks.c.id == task_id, tasks.c.tenant_id == tenant_id)
        .values(webhook_url=url, webhook_options=options)
    )


def task_with_artifacts(
    conn: Connection, tenant_id: str, task_id: str
) -> tuple[Row[Any], list[ArtifactRecord]]:
    row = get_task(conn, tenant_id, task_id)
    return row, artifacts_of(conn, task_id)


def create_task(
    conn: Connection,
    changes: Changes,
    new: NewTask,
    idempotency_key: str | None = None,
    request_hash: str = "",
) -> tuple[TaskRow, bool]:
    """Insert the task, its first event, its hold and its idempotency key.

    Returns `(row, created)`; `created` is False when the key was seen before with the same
    request. Raises `IdempotencyConflict` when the key was used for another request.
    """
    at = now()
    if idempotency_key is not None:
        seen = conn.execute(
            _GET_IDEMPOTENCY_KEY, {"_tenant": new.tenant_id, "_key": idempotency_key}
        ).first()
        if seen is not None:
            if seen.request_hash != request_hash:
                raise IdempotencyConflict(
                    f"Idempotency-Key {idempotency_key!r} was already used with a different "
                    "request body; use a new key for a new request"
                )
            return get_task(conn, new.tenant_id, seen.task_id), False
    _check_waiting(conn, new)
    if new.session_id is not None and new.on_busy != "queue":
        _admit_to_session(conn, changes, new)
    task_id = new_id("task_")
    values = dict(
        id=task_id,
        tenant_id=new.tenant_id,
        agent=new.agent,
        agent_version=new.agent_version,
        status="submitted",
        goal=new.goal,
        input=dumps(new.input),
        profile=new.profile,
        session_id=new.session_id,
        webhook_url=new.webhook_url,
        webhook_options=new.webhook_options,
        metadata=dumps(dict(new.metadata or {})),
        usage=dumps({"steps": 0, "compute_seconds": 0.0}),
        cost="0",
        price=money_text(new.price),
        parent_id=new.parent_id,
        parent_position=new.parent_position,
        revision=1,
        deadline_seconds=new.deadline_seconds,
        attempt=1,
        max_attempts=new.max_attempts,
        queue_state="ready",
        available_at=at,
        lease_token=0,
        wake_pending=False,
        cancel_requested=False,
        dead_letter=False,
        deadline_at=at + new.deadline_seconds,
        idle_timeout=new.idle_timeout,
        created_at=at,
        updated_at=at,
        last_seq=1,
    )
    row = insert_task(conn, changes, values, [status_event("submitted")], at, new.weight)
    if idempotency_key is not None:
        conn.execute(
            _INSERT_IDEMPOTENCY_KEY,
            dict(
                tenant_id=new.tenant_id,
                key=idempotency_key,
                request_hash=request_hash,
                task_id=task_id,
                created_at=at,
            ),
        )
    ledger_entry(conn, row, "hold")
    changes.wake_queue = True
    return row, True


def _count_waiting(conn: Connection, tenant_id: str, queue_state: str, up_to: int) -> int:
    """How many of the tenant's tasks are in `queue_state`, counting no further than
    `up_to` (an index range of at most that many entries)."""
    some = (
        select(tasks.c.id)
        .where(tasks.c.tenant_id == tenant_id, tasks.c.queue_state == queue_state)
        .limit(up_to)
        .subquery()
    )
    return int(conn.execute(select(func.count()).select_from(some)).scalar_one())


def _check_waiting(conn: Connection, new: NewTask) -> None:
    """Raise `QueueFull` when the tenant is at its limit of ready or parked tasks. On
    PostgreSQL, dispatches committing at the same moment may pass it by a few."""
    for state, cap, what, fix in (
        ("ready", new.max_queued, "waiting to run", "wait for some to start"),
        ("parked", new.max_parked, "waiting for answers", "answer or cancel some"),
    ):
        if cap and _count_waiting(conn, new.tenant_id, state, cap) >= cap:
            raise QueueFull(
                f"this tenant has {cap} tasks {what}, its limit; {fix} and dispatch again",
                retry_after=1,
                limit=cap,
            )


def _admit_to_session(conn: Connection, changes: Changes, new: NewTask) -> None:
    busy = conn.execute(
        select(tasks.c.id).where(
            tasks.c.tenant_id == new.tenant_id,
            tasks.c.session_id == new.session_id,
            tasks.c.status.not_in(TERMINAL_STATUSES),
        )
    ).all()
    if busy and new.on_busy == "reject":
        raise SessionBusy(
            f"session {new.session_id!r} is running task {busy[0].id}; wait for it, or "
            "dispatch with on_busy 'queue' or 'interrupt'"
        )
    for (busy_id,) in busy:
        cancel_tree(conn, changes, busy_id, "interrupted by a newer task in the session")


def ledger_entry(conn: Connection, row: Any, kind: str) -> None:
    """Record a hold (the price), its capture (the cost) or its release (the price) for the
    task `row` (a row or record with `id`, `tenant_id`, `price`, `cost`)."""
    if money(row.price) == 0:
        return
    conn.execute(
        _INSERT_LEDGER,
        dict(
            id=new_id("led_"),
            tenant_id=row.tenant_id,
            task_id=row.id,
            kind=kind,
            amount=money_text(money(row.cost if kind == "capture" else row.price)),
            at=now(),
        ),
    )


def list_tasks(
    conn: Connection,
    tenant_id: str,
    *,
    status: str | None = None,
    agent: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    dead_letter: bool = False,
) -> tuple[list[Row[Any]], str | None]:
    """Newest first; the cursor is the last id of the previous page."""
    query = select(tasks).where(tasks.c.tenant_id == tenant_id)
    if status is not None:
        query = query.where(tasks.c.status == status)
    if agent is not None:
        name, _, version = agent.partition("@")
        query = query.where(tasks.c.agent == name)
        if version:
            query = query.where(tasks.c.agent_version == version)
    if dead_letter:
        query = query.where(tasks.c.dead_letter.is_(True))
    if cursor is not None:
        query = query.where(tasks.c.id < cursor)
    rows = conn.execute(query.order_by(tasks.c.id.desc()).limit(limit + 1)).all()
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return list(rows[:limit]), next_cursor


def conversation(conn: Connection, tenant_id: str, task_id: str, limit: int) -> list[Event]:
    """The task's questions and messages, in order (at most `limit`)."""
    query = (
        select(events)
        .where(
            events.c.task_id == task_id,
            events.c.tenant_id == tenant_id,
            events.c.type.in_(("question", "message")),
        )
        .order_by(events.c.seq)
        .limit(limit)
    )
    return [
        {"seq": r.seq, "type": r.type, "at": iso(r.at), "data": loads(r.data)}
        for r in conn.execute(query)
    ]


def events_after(
    conn: Connection, tenant_id: str, task_id: str, after: int, limit: int = 1000
) -> list[Event]:
    params = {"_id": task_id, "_tenant": tenant_id, "_after": after, "_limit": limit}
    return [
        {"seq": r.seq, "type": r.type, "at": iso(r.at), "data": loads(r.data)}
        for r in conn.execute(_EVENTS_AFTER, params)
    ]


def artifact(conn: Connection, tenant_id: str, task_id: str, name: str) -> ArtifactRecord:
    get_task(conn, tenant_id, task_id)
    row = conn.execute(
        select(artifacts).where(
            artifacts.c.task_id == task_id,
            artifacts.c.tenant_id == tenant_id,
            artifacts.c.name == name,
        )
    ).first()
    if row is None:
        raise NotFound(f"task {task_id} has no artifact {name!r}")
    return ArtifactRecord.from_row(row._mapping)


def add_message(
    conn: Connection,
    changes: Changes,
    tenant_id: str,
    task_id: str,
    *,
    text: str | None,
    data: Any,
    question_id: str | None,
) -> Row[Any]:
    """Answer the open question (compare-and-set on its id) or add context mid-run."""
    row = get_task(conn, tenant_id, task_id)
    message = {"text": text, "data": data, "question_id": question_id}
    if question_id is not None and row.status != "input-required":
        raise QuestionAlreadyAnswered(
            f"question {question_id} is not open: the task is {row.status}, not waiting for input"
        )
    if row.status in TERMINAL_STATUSES:
        raise InvalidState(f"task {task_id} is {row.status}; it takes no more messages")
    if row.status != "input-required":
        updated = touch_task(conn, changes, task_id, [("message", message)])
        assert updated is not None
        return updated
    question_id = question_id or row.question_id
    message["question_id"] = question_id
    answered = touch_task(
        conn,
        changes,
        task_id,
        [("message", message), status_event("working")],
        guard="question",
        expected_question=question_id,
        status="working",
        question=None,
        question_id=None,
        question_position=None,
        idle_deadline_at=None,
    )
    if answered is None:
        raise QuestionAlreadyAnswered(
            f"question {question_id} was already answered or is not the open question "
            f"({row.question_id})"
        )
    conn.execute(
        update(journal)
        .where(
            journal.c.task_id == task_id,
            journal.c.revision == row.revision,
            journal.c.position == row.question_position,
        )
        .values(status="completed", result=dumps({"text": text, "data": data}))
    )
    wake_task(conn, changes, task_id)
    return answered


def wake_task(conn: Connection, changes: Changes, task_id: str) -> None:
    """Make a parked task runnable now; a leased one re-runs once its holder parks."""
    conn.execute(_WAKE, {"_id": task_id, "_at": now()})
    changes.wake_queue = True


def cancel_tree(conn: Connection, changes: Changes, task_id: str, reason: str) -> None:
    """Cancel a task and every unfinished descendant; fences out any worker holding them."""
    row = conn.execute(select(tasks).where(tasks.c.id == task_id)).first()
    if row is None or row.status in TERMINAL_STATUSES:
        return
    finish(conn, changes, row, "canceled", error={"code": "canceled", "message": reason})
    if row.queue_state == "leased":
        changes.cancel.add(task_id)
    children = conn.execute(
        select(tasks.c.id).where(
            tasks.c.parent_id == task_id, tasks.c.status.not_in(TERMINAL_STATUSES)
        )
    ).all()
    for (child_id,) in children:
        cancel_tree(conn, changes, child_id, f"parent task {task_id} was canceled")


def finish(
    conn: Connection,
    changes: Changes,
    row: Any,
    status: str,
    *,
    error: dict[str, Any] | None = None,
    fence: int | None = None,
    extra_events: list[tuple[str, Any]] | None = None,
    **values: Any,
) -> bool:
    """Move a task (`row`: its row or record) to a terminal status, settle its hold, and
    tell its parent; False if it was finished already (or, with `fence`, is no longer held
    under that lease token)."""
    at = now()
    finished = touch_task(
        conn,
        changes,
        row.id,
        [*(extra_events or []), status_event(status, **({"error": error} if error else {}))],
        fence=fence,
        guard="unfinished",
        new_token=True,
        narrow=row.parent_id is None,  # the parent is told the child's whole outcome
        status=status,
        error=dumps(error) if error else None,
        queue_state="done",
        lease_owner=None,
        lease_expires_at=None,
        wake_pending=False,
        question=None,
        question_id=None,
        question_position=None,
        finished_at=at,
        review_status="pending" if status == "completed" else None,
        **values,
    )
    if finished is None:
        return False
    if status != "completed":
        ledger_entry(conn, row, "release")  # the hold: the price, unchanged
    if row.parent_id is not None:
        _resolve_parent(conn, changes, finished)
    return True


def _resolve_parent(conn: Connection, changes: Changes, child: Row[Any]) -> None:
    parent = conn.execute(select(tasks).where(tasks.c.id == child.parent_id)).first()
    if parent is None or parent.status in TERMINAL_STATUSES:
        return
    outcome = {
        "task_id": child.id,
        "agent": child.agent,
        "status": child.status,
        "deliverable": loads(child.deliverable),
        "error": loads(child.error),
        "cost": child.cost,
    }
    conn.execute(
        update(journal)
        .where(
            journal.c.task_id == parent.id,
            journal.c.revision == parent.revision,
            journal.c.position == child.parent_position,
            journal.c.status == "pending",
        )
        .values(status="completed", result=dumps(outcome))
    )
    wake_task(conn, changes, parent.id)


def review_task(
    conn: Connection,
    changes: Changes,
    tenant_id: str,
    task_id: str,
    *,
    accept: bool,
    review: dict[str, Any],
    redo: bool = False,
) -> Row[Any]:
    """Accept or reject a completed, unreviewed task; a redo starts its next revision."""
    row = get_task(conn, tenant_id, task_id)
    verb = "accepted" if accept else "rejected"
    if row.status != "completed":
        raise InvalidState(f"only a completed task can be {verb}; task {task_id} is {row.status}")
    if row.review_status != "pending":
        raise InvalidState(f"task {task_id} was already {row.review_status}")
    reviewed = touch_task(
        conn,
        changes,
        task_id,
        [("review", {"status": verb, **review})],
        guard="unreviewed",
        review_status=verb,
        review=dumps(review),
    )
    if reviewed is None:
        raise InvalidState(f"task {task_id} was reviewed concurrently")
    ledger_entry(conn, reviewed, "capture" if accept else "release")
    if accept or not redo:
        return reviewed
    at = now()
    redone = touch_task(
        conn,
        changes,
        task_id,
        [status_event("submitted", redo=True, revision=row.revision + 1)],
        status="submitted",
        revision=row.revision + 1,
        attempt=1,
        feedback=review.get("reason"),
        deliverable=None,
        error=None,
        plan=None,
        progress=None,
        review_status=None,
        review=None,
        dead_letter=False,
        finished_at=None,
        queue_state="ready",
        available_at=at,
        fair_tag=requeued_tag(conn, task_id, at),
        deadline_at=at + row.deadline_seconds,
    )
    assert redone is not None
    ledger_entry(conn, redone, "hold")
    changes.wake_queue = True
    return redone


def session_order_clause() -> Any:
    """Tasks of one session run one at a time, in arrival order."""
    earlier = tasks.alias("earlier")
    return or_(
        tasks.c.session_id.is_(None),
        ~select(earlier.c.id)
        .where(
            and_(
                earlier.c.tenant_id == tasks.c.tenant_id,
                earlier.c.session_id == tasks.c.session_id,
                earlier.c.status.not_in(TERMINAL_STATUSES),
                earlier.c.id < tasks.c.id,
            )
        )
        .exists(),
    )
