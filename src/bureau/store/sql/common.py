"""Building blocks shared by the store's operations.

`Changes` collects what an operation did that others must hear about once it commits
(new events, queue wake-ups, cancel signals, webhook work). `touch_task` is the one way a
task row changes together with its event log: it updates the row, advances `last_seq` and
appends the events (and a journal entry, when given), fenced by the lease token when given;
`insert_task` creates a task with its first events. On PostgreSQL each is one statement (the
INSERTs in data-modifying CTEs: one round trip); on SQLite, where a statement costs
microseconds and CTEs cannot modify data, one statement per table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Connection, Row, Text, bindparam, func, insert, select, true, update
from sqlalchemy.dialects.postgresql import ARRAY

from bureau.store.codec import dumps, iso, now
from bureau.store.ids import new_id
from bureau.store.records import ArtifactRecord
from bureau.store.sql.schema import (
    TERMINAL_STATUSES,
    artifacts,
    events,
    journal,
    tasks,
    webhook_deliveries,
)

EventSpec = tuple[str, Any]
WEBHOOK_EVENT_TYPES = frozenset({"status", "deliverable", "question", "review"})


@dataclass
class Changes:
    """What committed: published by the store after the transaction succeeds."""

    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    wake_queue: bool = False
    cancel: set[str] = field(default_factory=set)
    webhooks: bool = False
    revoked_keys: set[str] = field(default_factory=set)


class Inserted:
    """A row this transaction just inserted, from the values it sent: reading every column
    back (RETURNING) would cost a round trip's worth of decoding for what Python holds."""

    __slots__ = ("_mapping",)

    def __init__(self, table: Any, values: Mapping[str, Any]) -> None:
        self._mapping = {column.name: values.get(column.name) for column in table.c}

    def __getattr__(self, name: str) -> Any:
        try:
            return self._mapping[name]
        except KeyError:
            raise AttributeError(name) from None


TaskRow = Row[Any] | Inserted


GUARDS = {
    "unfinished": tasks.c.status.not_in(TERMINAL_STATUSES),
    "question": (tasks.c.status == "input-required")
    & (tasks.c.question_id == bindparam("_question_id")),
    "unreviewed": tasks.c.review_status == "pending",
}


NARROW = (tasks.c.id, tasks.c.tenant_id, tasks.c.revision, tasks.c.last_seq, tasks.c.webhook_url)
"""The columns a `narrow` touch returns: enough to append events and journal entries."""
JOURNAL_FIELDS = ("position", "kind", "name", "status", "result", "seconds", "at")


@cache
def _touch_statement(fenced: bool, guard: str | None, new_token: bool, narrow: bool) -> Any:
    """Built once per shape: SQLAlchemy then skips statement construction and cache keys."""
    stmt = update(tasks).where(tasks.c.id == bindparam("_id"))
    if fenced:
        stmt = stmt.where(tasks.c.lease_token == bindparam("_token"))
    if guard is not None:
        stmt = stmt.where(GUARDS[guard])
    values: dict[str, Any] = {
        "last_seq": tasks.c.last_seq + bindparam("_n"),
        "updated_at": bindparam("_at"),
    }
    if new_token:
        values["lease_token"] = tasks.c.lease_token + 1
    return stmt.values(**values).returning(*(NARROW if narrow else tasks.c))


def touch_task(
    conn: Connection,
    changes: Changes,
    task_id: str,
    new_events: Sequence[EventSpec] = (),
    *,
    fence: int | None = None,
    guard: str | None = None,
    expected_question: str | None = None,
    new_token: bool = False,
    narrow: bool = False,
    journal_record: Mapping[str, Any] | None = None,
    **values: Any,
) -> Row[Any] | None:
    """Update a task and append events atomically; None if no row matched.

    `fence` restricts the update to the lease holder; `guard` names a compare-and-set
    condition from `GUARDS` (`question` compares with `expected_question`); `new_token` fences
    out whoever holds the task now. The returned row is the task after the update (only
    the `NARROW` columns when `narrow`). `journal_record` (the `JOURNAL_FIELDS`) is
    journaled for the task's current revision in the same statement.
    """
    at = now()
    params = {"_id": task_id, "_n": len(new_events), "_at": at, **values}
    if fence is not None:
        params["_token"] = fence
    if guard == "question":
        params["_question_id"] = expected_question
    shape = (fence is not None, guard, new_token, narrow)
    if conn.dialect.name == "postgresql" and (new_events or journal_record):
        params.update(_event_params(new_events, at))  # encoded here, for the CTE only
        for key, value in (journal_record or {}).items():
            params[f"_j_{key}"] = value
        keys = tuple(sorted(values))
        statement = _touch_in_one(*shape, keys, journal_record is not None)
        row = conn.execute(statement, params).first()
        if row is not None and new_events:
            append_events(conn, changes, row, new_events, at, inserted=True)
        return row
    row = conn.execute(_touch_statement(*shape), params).first()
    if row is None:
        return None
    if new_events:
        append_events(conn, changes, row, new_events, at)
    if journal_record is not None:
        conn.execute(
            _INSERT_JOURNAL,
            {
                **journal_record,
                "task_id": row.id,
                "revision": row.revision,
                "tenant_id": row.tenant_id,
            },
        )
    return row


@cache
def _touch_in_one(
    fenced: bool,
    guard: str | None,
    new_token: bool,
    narrow: bool,
    keys: tuple[str, ...],
    journaled: bool,
) -> Any:
    """PostgreSQL: `WITH touched AS (UPDATE tasks ... RETURNING ...), appended AS (INSERT INTO
    events SELECT ... FROM touched, unnest(types, data)) [, journaled AS (INSERT INTO
    journal SELECT ... FROM touched)] SELECT * FROM touched`."""
    touched = (
        _touch_statement(fenced, guard, new_token, narrow)
        .values({key: bindparam(key) for key in keys})
        .cte("touched")
    )
    statement = select(touched).add_cte(_events_of(touched).cte("appended"))
    if journaled:
        record = insert(journal).from_select(
            ["task_id", "revision", "tenant_id", *JOURNAL_FIELDS],
            select(
                touched.c.id,
                touched.c.revision,
                touched.c.tenant_id,
                *(bindparam(f"_j_{name}", type_=journal.c[name].type) for name in JOURNAL_FIELDS),
            ),
        )
        statement = statement.add_cte(record.cte("journaled"))
    return statement


def _events_of(source: Any) -> Any:
    """PostgreSQL: INSERT INTO events the `_types`/`_data` arrays for the task row in CTE
    `source` (its `last_seq` already advanced by `_n`)."""
    new = (
        func.unnest(bindparam("_types", type_=ARRAY(Text)), bindparam("_data", type_=ARRAY(Text)))
        .table_valued("type", "data", with_ordinality="ord")
        .render_derived()
    )
    return insert(events).from_select(
        ["task_id", "seq", "tenant_id", "type", "at", "data"],
        select(
            source.c.id,
            source.c.last_seq - bindparam("_n") + new.c.ord,
            source.c.tenant_id,
            new.c.type,
            bindparam("_at"),
            new.c.data,
        ).join_from(source, new, true()),
    )


def _event_params(new_events: Sequence[EventSpec], at: float) -> dict[str, Any]:
    return {
        "_n": len(new_events),
        "_at": at,
        "_types": [kind for kind, _ in new_events],
        "_data": [dumps(data) for _, data in new_events],
    }


FAIR_STEP_SECONDS = 0.001
"""How far one task of a tenant of weight 1 moves its tenant's fair tag."""


def _fair_tag(greatest: Any, tenant: Any = None) -> Any:
    """A new task's place in the claim order: start-time fair queueing (Goyal, Vin and
    Cheng, 1996) across tenants. The queue's virtual time is the smallest tag ready to claim
    now (the clock when nothing is); a task's tag is the later of that and the tag of its
    tenant's newest task, plus `_tag_step` (`FAIR_STEP_SECONDS` over the tenant's weight).
    Claims take the smallest tags, so a tenant with 10,000 tasks waiting has its next one
    behind one of each other busy tenant's, not the other way round. Tags are seconds-like
    (near the clock) so tasks that come back to the queue (woken) keep a fair place."""
    queued = tasks.alias("queued")
    virtual_time = (
        select(func.min(queued.c.fair_tag))
        .where(queued.c.queue_state == "ready", queued.c.available_at <= bindparam("_tag_at"))
        .scalar_subquery()
    )
    last_of_tenant = (  # its newest task's: one step of the (tenant, created) index
        select(queued.c.fair_tag)
        .where(queued.c.tenant_id == (bindparam("_tag_tenant") if tenant is None else tenant))
        .order_by(queued.c.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    return greatest(
        func.coalesce(virtual_time, bindparam("_tag_at")),
        func.coalesce(last_of_tenant, 0.0),
    ) + bindparam("_tag_step")


def requeued_tag(conn: Connection, task_id: str, at: float) -> float:
    """A fair tag for a task going back to the queue (a retry, a redo): the place a new
    task of its tenant would get, behind the tenant's waiting ones."""
    greatest = func.greatest if conn.dialect.name == "postgresql" else func.max
    tag = select(_fair_tag(greatest, tasks.c.tenant_id)).where(tasks.c.id == task_id)
    found = conn.execute(tag, {"_tag_at": at, "_tag_step": FAIR_STEP_SECONDS}).scalar()
    return float(found if found is not None else at)


def insert_task(
    conn: Connection,
    changes: Changes,
    values: Mapping[str, Any],
    new_events: Sequence[EventSpec],
    at: float,
    weight: float = 1.0,
) -> Inserted:
    """Insert a task row (`last_seq` counting `new_events`) with its first events: one
    statement on PostgreSQL, two on SQLite. Its fair tag comes from its tenant's `weight`
    (see `_fair_tag`)."""
    row = Inserted(tasks, values)
    tag = {
        "_tag_at": at,
        "_tag_tenant": values["tenant_id"],
        "_tag_step": FAIR_STEP_SECONDS / weight,
    }
    if conn.dialect.name == "postgresql":
        statement = _insert_in_one(tuple(sorted(values)))
        conn.execute(statement, {**values, **tag, **_event_params(new_events, at)})
        append_events(conn, changes, row, new_events, at, inserted=True)
    else:
        conn.execute(_INSERT_TASK, {**values, **tag})
        append_events(conn, changes, row, new_events, at)
    return row


@cache
def _insert_in_one(keys: tuple[str, ...]) -> Any:
    created = (
        insert(tasks)
        .values({**{key: bindparam(key) for key in keys}, "fair_tag": _fair_tag(func.greatest)})
        .returning(tasks.c.id, tasks.c.tenant_id, tasks.c.last_seq)
        .cte("created")
    )
    return select(created.c.id).add_cte(_events_of(created).cte("appended"))


def append_events(
    conn: Connection,
    changes: Changes,
    row: TaskRow,
    new_events: Sequence[EventSpec],
    at: float,
    *,
    inserted: bool = False,
) -> None:
    """Insert the events `row` advanced `last_seq` for (unless already `inserted`), and
    publish them and queue their webhooks once committed."""
    append_events_of(conn, changes, [(row, new_events)], at, inserted=inserted)


def append_events_of(
    conn: Connection,
    changes: Changes,
    appended: Sequence[tuple[TaskRow, Sequence[EventSpec]]],
    at: float,
    *,
    inserted: bool = False,
) -> None:
    """`append_events` for several tasks: one INSERT for all of them."""
    per_task = []
    for row, new_events in appended:
        first = row.last_seq - len(new_events) + 1
        records = [
            {
                "task_id": row.id,
                "seq": first + offset,
                "tenant_id": row.tenant_id,
                "type": kind,
                "at": at,
                "data": None if inserted else dumps(data),
            }
            for offset, (kind, data) in enumerate(new_events)
        ]
        per_task.append((row, new_events, records))
    if not inserted:
        conn.execute(_INSERT_EVENTS, [record for _, _, records in per_task for record in records])
    for row, new_events, records in per_task:
        published = changes.events.setdefault(row.id, [])
        for record, (_, data) in zip(records, new_events, strict=True):
            published.append(
                {"seq": record["seq"], "type": record["type"], "at": iso(at), "data": data}
            )
        if row.webhook_url:
            announced = [
                (record, data)
                for record, (kind, data) in zip(records, new_events, strict=True)
                if kind in WEBHOOK_EVENT_TYPES
            ]
            _queue_webhooks(conn, changes, row, announced)


def _queue_webhooks(
    conn: Connection,
    changes: Changes,
    row: TaskRow,
    announced: list[tuple[dict[str, Any], Any]],
) -> None:
    """A delivery per event, referring to it by `seq`: the body is built when it is sent."""
    if not announced:
        return
    deliveries = []
    for record, data in announced:
        kind = record["type"]
        event_type = f"task.{data['status']}" if kind == "status" else f"task.{kind}"
        deliveries.append(
            {
                "id": new_id("wh_"),
                "tenant_id": row.tenant_id,
                "task_id": row.id,
                "url": row.webhook_url,
                "event_type": event_type,
                "seq": record["seq"],
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": record["at"],
                "created_at": record["at"],
            }
        )
    conn.execute(_INSERT_DELIVERIES, deliveries)
    changes.webhooks = True


_INSERT_TASK = insert(tasks).values(fair_tag=_fair_tag(func.max))  # max(a, b): scalar
_INSERT_EVENTS = insert(events)
_INSERT_JOURNAL = insert(journal)
_INSERT_DELIVERIES = insert(webhook_deliveries)
_ARTIFACTS_OF = (
    select(artifacts)
    .where(artifacts.c.task_id == bindparam("_task_id"))
    .order_by(artifacts.c.created_at)
)


def artifacts_of(conn: Connection, task_id: str) -> list[ArtifactRecord]:
    return [
        ArtifactRecord.from_row(r._mapping)
        for r in conn.execute(_ARTIFACTS_OF, {"_task_id": task_id})
    ]


def status_event(status: str, **extra: Any) -> EventSpec:
    return ("status", {"status": status, **extra})
