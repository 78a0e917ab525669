"""`TaskStore`: the consumer's operations on tasks — create, read, list, reply, cancel, review.

Every method is scoped to one tenant: a task of another tenant is `NotFound`, exactly like
a task that does not exist. Writes are `interactive` (an API request waits on them) and
return only once committed; their events are then published to the task's followers.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy import Connection

from bureau.errors import InvalidState
from bureau.states import TERMINAL_STATUSES
from bureau.store._transactions import Transactions
from bureau.store.records import ArtifactRecord, Event, NewTask, TaskPage, TaskRecord
from bureau.store.sql import tasks as sql
from bureau.store.sql.common import Changes


class TaskStore:
    def __init__(self, transactions: Transactions) -> None:
        self._tx = transactions

    async def create(
        self, new: NewTask, idempotency_key: str | None, request_hash: str
    ) -> tuple[TaskRecord, bool]:
        """Insert the task (status `submitted`, ready to claim), its first event, its hold on
        the price and its idempotency key, in one transaction.

        Returns `(task, created)`. With an `idempotency_key` seen before for the same
        `request_hash`, returns the task created then and `created=False`. Concurrent
        dispatches with one key create one task (the key's primary key decides; the loser
        re-reads). With `new.on_busy` `reject` or `interrupt` and a session that has an
        unfinished task, raises `SessionBusy` or cancels that task (and its children).

        Appends: `status` `submitted`. Raises `IdempotencyConflict` (the key was used with
        another body), `SessionBusy`.
        """
        row, created = await self._tx.write(
            lambda conn, ch: sql.create_task(conn, ch, new, idempotency_key, request_hash),
            interactive=True,
        )
        return TaskRecord.from_row(row._mapping), created

    async def get(self, tenant_id: str, task_id: str) -> TaskRecord:
        """The task; raises `NotFound`."""
        row = await self._tx.read(partial(sql.get_task, tenant_id=tenant_id, task_id=task_id))
        return TaskRecord.from_row(row._mapping)

    async def get_with_artifacts(
        self, tenant_id: str, task_id: str
    ) -> tuple[TaskRecord, list[ArtifactRecord]]:
        """The task and its artifacts (oldest first), read together; raises `NotFound`."""
        row, found = await self._tx.read(
            partial(sql.task_with_artifacts, tenant_id=tenant_id, task_id=task_id)
        )
        return TaskRecord.from_row(row._mapping), found

    async def page(
        self,
        tenant_id: str,
        *,
        status: str | None = None,
        agent: str | None = None,
        dead_letter: bool = False,
        limit: int = 50,
        cursor: str | None = None,
    ) -> TaskPage:
        """Newest first; `agent` is `name` or `name@version`; `cursor` is the previous
        page's `next_cursor` (ids sort by creation time)."""
        rows, next_cursor = await self._tx.read(
            lambda conn: sql.list_tasks(
                conn,
                tenant_id,
                status=status,
                agent=agent,
                dead_letter=dead_letter,
                limit=limit,
                cursor=cursor,
            )
        )
        return TaskPage([TaskRecord.from_row(r._mapping) for r in rows], next_cursor)

    async def events_after(
        self, tenant_id: str, task_id: str, after: int, limit: int = 1000
    ) -> list[Event]:
        """Up to `limit` events with `seq > after`, in order (empty for another tenant's
        task: check the task first where that must be an error)."""
        return await self._tx.read(
            lambda conn: sql.events_after(conn, tenant_id, task_id, after, limit)
        )

    async def conversation(self, tenant_id: str, task_id: str, limit: int) -> list[Event]:
        """The task's `question` and `message` events, in order, at most `limit`."""
        return await self._tx.read(lambda conn: sql.conversation(conn, tenant_id, task_id, limit))

    async def add_message(
        self, tenant_id: str, task_id: str, *, text: str | None, data: Any, question_id: str | None
    ) -> TaskRecord:
        """Answer the open question or add context to a running task.

        A task in `input-required` is answered by compare-and-set on the open question's id
        (`question_id`, or the open one when None): of concurrent replies exactly one wins.
        The winner journals the answer at the question's position, moves the task to
        `working` and wakes it. A task not waiting gets the message as context.

        Appends: `message` (and `status` `working` for an answer). Raises `NotFound`,
        `QuestionAlreadyAnswered` (the question is not open: answered, or another one),
        `InvalidState` (the task is finished).
        """
        row = await self._tx.write(
            lambda conn, ch: sql.add_message(
                conn, ch, tenant_id, task_id, text=text, data=data, question_id=question_id
            ),
            interactive=True,
        )
        return TaskRecord.from_row(row._mapping)

    async def cancel(self, tenant_id: str, task_id: str, reason: str) -> None:
        """Cancel the task and every unfinished descendant, durably: each goes `canceled`
        at once, its hold is released, and a worker running it is fenced out (a new lease
        token) and told to stop (`cancel` notification).

        Appends: `status` `canceled` (with the reason) to each. Raises `NotFound`,
        `InvalidState` (already finished).
        """

        def op(conn: Connection, changes: Changes) -> None:
            row = sql.get_task(conn, tenant_id, task_id)
            if row.status in TERMINAL_STATUSES:
                raise InvalidState(f"task {task_id} is already {row.status}")
            sql.cancel_tree(conn, changes, task_id, reason)

        await self._tx.write(op, interactive=True)

    async def review(
        self, tenant_id: str, task_id: str, *, accept: bool, review: dict[str, Any], redo: bool
    ) -> TaskRecord:
        """Accept or reject a completed deliverable, by compare-and-set on the review being
        `pending`. Accepting captures the cost; rejecting releases the hold, and with
        `redo` starts the task's next revision (a fresh journal, the reason as feedback, a
        new hold, ready to claim).

        Appends: `review`, and for a redo `status` `submitted`. Raises `NotFound`,
        `InvalidState` (not completed, or already reviewed — also when a concurrent review
        won).
        """
        row = await self._tx.write(
            lambda conn, ch: sql.review_task(
                conn, ch, tenant_id, task_id, accept=accept, review=review, redo=redo
            ),
            interactive=True,
        )
        return TaskRecord.from_row(row._mapping)

    async def set_webhook(
        self, tenant_id: str, task_id: str, url: str | None, options: str | None = None
    ) -> None:
        """Deliver the task's events from now on to `url` (None: to no webhook) with
        `options` (sealed JSON: headers, format); events already in the outbox keep their
        destination. Raises `NotFound`."""
        await self._tx.write(
            lambda conn, _: sql.set_webhook(conn, tenant_id, task_id, url, options),
            interactive=True,
        )

    async def artifact(self, tenant_id: str, task_id: str, name: str) -> ArtifactRecord:
        """The artifact's description; raises `NotFound` (no such task or artifact)."""
        return await self._tx.read(lambda conn: sql.artifact(conn, tenant_id, task_id, name))
