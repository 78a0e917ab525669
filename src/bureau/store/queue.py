"""`QueueStore`: what workers and the reaper do to tasks — claim, journal, settle, sweep.

Fencing: a claim gives the worker the task's lease token (`task.lease_token`). Every later
write for that run passes the token and matches no row once the lease was lost (expired and
re-claimed, canceled, timed out, handed back); it then raises `LeaseLost` and changes
nothing, so a stale worker can never commit. Writes that end a lease (settling, parking,
handing back) also bump the token, fencing out any late write of the run.

Events go to the task's log in the same transaction as the change they describe, and are
published to followers once committed. `events` arguments are `(type, data)` pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection

from bureau.states import TaskStatus
from bureau.store._transactions import Transactions
from bureau.store.codec import dumps, now
from bureau.store.records import ArtifactRecord, ClaimedTask, NewTask, RunningCaps, TaskRecord
from bureau.store.sql import queue as sql
from bureau.store.sql import sweeps
from bureau.store.sql.common import Changes, EventSpec, status_event
from bureau.store.sql.tasks import create_task

ClaimOperation = Callable[..., list[ClaimedTask]]


class QueueStore:
    def __init__(self, transactions: Transactions, claim: ClaimOperation) -> None:
        self._tx = transactions
        self._claim = claim

    async def claim(
        self,
        owner: str,
        agent_refs: Sequence[tuple[str, str]],
        limit: int,
        lease_seconds: float,
        caps: RunningCaps | None = None,
    ) -> list[ClaimedTask]:
        """Lease up to `limit` ready tasks of these `(agent, version)`s to `owner`, in fair
        order between tenants (smallest fair tag first), for `lease_seconds`; each gets a
        new lease token. A task whose session has an earlier unfinished task is not
        claimable, nor one whose tenant has as many tasks running as its cap in `caps`. On
        PostgreSQL concurrent claimers skip each other's rows (`FOR UPDATE SKIP LOCKED`);
        on SQLite one writer claims at a time. Tasks starting their revision move to
        `working`.

        Appends: `status` `working` to tasks that start.
        """
        return await self._tx.write(
            lambda conn, ch: self._claim(conn, ch, owner, agent_refs, limit, lease_seconds, caps)
        )

    async def renew_leases(
        self, owner: str, held: dict[str, int], lease_seconds: float
    ) -> set[str]:
        """Extend the leases `owner` still holds under the given tokens (`task id ->
        token`); returns the ids whose lease was lost."""
        return await self._tx.write(
            lambda conn, _: sql.renew_leases(conn, owner, held, lease_seconds)
        )

    async def append_events(self, task_id: str, token: int, events: Sequence[EventSpec]) -> None:
        """Append events to a held task's log. Fenced; raises `LeaseLost`."""
        await self._tx.write(lambda conn, ch: sql.add_events(conn, ch, task_id, token, events))

    async def journal_step(
        self,
        task: TaskRecord,
        token: int,
        *,
        position: int,
        name: str,
        status: str,
        result: Any,
        seconds: float | None,
        events: Sequence[EventSpec],
        replace: bool,
    ) -> None:
        """Journal a step at `position` of the task's revision: `started` (before a
        non-idempotent step runs) or `completed` with its JSON result; `replace` an entry
        recorded before. A completed step resets the idle timeout. Fenced; raises
        `LeaseLost`."""
        idle = {"idle_deadline_at": now() + task.idle_timeout} if status == "completed" else {}
        await self._journal(
            task.id, token, position, "step", name, status, result, events, seconds, replace, idle
        )

    async def journal_record(
        self,
        task: TaskRecord,
        token: int,
        *,
        position: int,
        kind: str,
        value: Any,
        events: Sequence[EventSpec],
        replace: bool,
    ) -> None:
        """Journal a `plan` or `progress` call and set the task's field of that name; resets
        the idle timeout. Fenced; raises `LeaseLost`."""
        values = {kind: dumps(value), "idle_deadline_at": now() + task.idle_timeout}
        await self._journal(
            task.id, token, position, kind, kind, "completed", value, events, None, replace, values
        )

    async def journal_question(
        self,
        task: TaskRecord,
        token: int,
        *,
        position: int,
        question: dict[str, Any],
        events: Sequence[EventSpec],
        replace: bool,
    ) -> None:
        """Journal a question as `pending` and move the task to `input-required` with it
        open (`question["id"]` is what a reply compares-and-sets against). Fenced; raises
        `LeaseLost`."""
        values = {
            "status": "input-required",
            "question": dumps(question),
            "question_id": question["id"],
            "question_position": position,
        }
        result = {"question_id": question["id"]}
        events = [*events, status_event("input-required"), ("question", question)]
        await self._journal(
            task.id, token, position, "ask", "ask", "pending", result, events, None, replace, values
        )

    async def _journal(
        self,
        task_id: str,
        token: int,
        position: int,
        kind: str,
        name: str,
        status: str,
        result: Any,
        events: Sequence[EventSpec],
        seconds: float | None,
        replace: bool,
        values: dict[str, Any],
    ) -> None:
        await self._tx.write(
            lambda conn, ch: sql.journal_entry(
                conn,
                ch,
                task_id,
                token,
                position=position,
                kind=kind,
                name=name,
                entry_status=status,
                result=result,
                new_events=events,
                seconds=seconds,
                replace=replace,
                **values,
            )
        )

    async def delegate(
        self,
        parent: TaskRecord,
        token: int,
        *,
        position: int,
        child: NewTask,
        events: Sequence[EventSpec],
    ) -> str:
        """Create the child task and journal it as `pending` at `position` of the parent, in
        one transaction; the child's outcome completes the entry and wakes the parent.
        Returns the child's id. Fenced (the parent's lease); raises `LeaseLost`.

        Appends: to the child `status` `submitted`; to the parent `events` and `delegated`.
        """

        def op(conn: Connection, changes: Changes) -> str:
            row, _ = create_task(conn, changes, child)
            delegated = {
                "task_id": row.id,
                "agent": f"{child.agent}@{child.agent_version}",
                "goal": child.goal,
            }
            sql.journal_entry(
                conn,
                changes,
                parent.id,
                token,
                position=position,
                kind="delegate",
                name=child.agent,
                entry_status="pending",
                result={"task_id": row.id},
                new_events=[*events, ("delegated", delegated)],
            )
            return str(row.id)

        return await self._tx.write(op)

    async def add_artifact(
        self,
        task: TaskRecord,
        token: int,
        *,
        position: int,
        artifact: ArtifactRecord,
        described: dict[str, Any],
        events: Sequence[EventSpec],
    ) -> None:
        """Record a saved artifact file (replacing one of the same name) and journal it at
        `position` with its description; resets the idle timeout. Fenced; raises
        `LeaseLost`.

        Appends: `events` and `artifact`.
        """
        await self._tx.write(
            lambda conn, ch: sql.add_artifact(
                conn,
                ch,
                task,
                token,
                position=position,
                artifact=artifact,
                described=described,
                new_events=[*events, ("artifact", described)],
            )
        )

    async def complete(
        self,
        task: TaskRecord,
        token: int,
        *,
        deliverable: Any,
        usage: dict[str, Any],
        session_state: dict[str, Any] | None,
        session_ttl: float,
        delegated: bool,
        reply: bool = False,
    ) -> None:
        """Settle the run as `completed` with its deliverable (review `pending`); the cost is
        the price plus the costs of completed children. Saves the session state (with its
        TTL) when given; tells a parent. Fenced, bumps the token; raises `LeaseLost`.

        Appends: `deliverable`, `status` `completed`.
        """
        await self._tx.write(
            lambda conn, ch: sql.complete(
                conn,
                ch,
                task,
                token,
                deliverable=deliverable,
                usage=usage,
                session_state=session_state,
                session_ttl=session_ttl,
                delegated=delegated,
                reply=reply,
            )
        )

    async def fail(
        self,
        task: TaskRecord,
        token: int,
        error: dict[str, Any],
        *,
        dead_letter: bool,
        trace: str | None = None,
    ) -> bool:
        """Settle the run as `failed` (in the dead-letter list when `dead_letter`), release
        its hold, tell a parent. Fenced, bumps the token; False when the lease was lost.
        `trace`, the agent's traceback, is kept for its publisher (not in the event).

        Appends: `status` `failed` with the error.
        """
        return await self._tx.write(
            lambda conn, ch: sql.fail(
                conn, ch, task, token, error, dead_letter=dead_letter, trace=trace
            )
        )

    async def decline(self, task: TaskRecord, token: int, error: dict[str, Any]) -> bool:
        """Settle the run as `rejected`: the agent declined the task (nothing is billed, the
        hold is released). Fenced, bumps the token; False when the lease was lost.

        Appends: `status` `rejected` with the reason.
        """
        return await self._tx.write(
            lambda conn, ch: sql.fail(
                conn, ch, task, token, error, dead_letter=False, status=TaskStatus.REJECTED
            )
        )

    async def retry_later(
        self,
        task_id: str,
        token: int,
        *,
        delay: float,
        error: dict[str, Any],
        attempt: int,
        trace: str | None = None,
    ) -> None:
        """Hand the task back for attempt number `attempt` in `delay` seconds. Fenced (a lost
        lease changes nothing), bumps the token.

        Appends: `retry` with the attempt, delay and error.
        """
        await self._tx.write(
            lambda conn, ch: sql.retry_later(
                conn, ch, task_id, token, delay=delay, error=error, attempt=attempt, trace=trace
            )
        )

    async def park(self, task_id: str, token: int) -> None:
        """Give the task back while it waits for a reply or a child: `parked` (it holds no
        worker) or, if it was woken while running, ready at once. Fenced, bumps the token;
        raises `LeaseLost`."""
        await self._tx.write(lambda conn, ch: sql.park(conn, ch, task_id, token))

    async def release_leases(self, owner: str) -> int:
        """Hand back every task `owner` holds (graceful shutdown): ready at once for another
        worker, tokens bumped. Returns how many."""
        return await self._tx.write(lambda conn, ch: sql.release_leases(conn, ch, owner))

    async def sweep(self, auto_accept_seconds: float) -> int:
        """The reaper's pass, in bounded batches: expired leases go back to the queue (or
        fail, dead-lettered, when out of attempts) with a new token; tasks past their
        deadline or idle timeout fail (their worker is told to stop); deliverables
        unreviewed for `auto_accept_seconds` are accepted. Returns how many tasks changed.

        Appends: `retry`, `status` `failed` or `review` to the tasks concerned.
        """

        def op(conn: Connection, changes: Changes) -> int:
            return (
                sweeps.recover_expired_leases(conn, changes)
                + sweeps.expire_deadlines(conn, changes)
                + sweeps.auto_accept(conn, changes, auto_accept_seconds)
            )

        return await self._tx.write(op)
