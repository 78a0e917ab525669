"""`store.tasks`: idempotent creation and the compare-and-sets of replies and reviews, raced
through two stores on one database (two processes of a fleet)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from bureau.errors import IdempotencyConflict, InvalidState, QuestionAlreadyAnswered
from bureau.states import TaskStatus
from bureau.store.records import TaskRecord
from tests.core.conftest import Core

QUESTION_ID = "q_core_test"


async def waiting_for_a_reply(core: Core) -> TaskRecord:
    """An `asker` task that journaled its question and parked, as a run leaves it."""
    task = await core.create("asker")
    (claimed,) = await core.store.queue.claim("w", [("asker", "1.0.0")], 1, 5.0)
    token = claimed.task.lease_token
    question = {"id": QUESTION_ID, "text": "Which color?", "schema": None}
    await core.store.queue.journal_question(
        claimed.task, token, position=1, question=question, events=[], replace=False
    )
    await core.store.queue.park(task.id, token)
    waiting = await core.task(task.id)
    assert waiting.status == TaskStatus.INPUT_REQUIRED and waiting.queue_state == "parked"
    assert waiting.question_id == QUESTION_ID
    return waiting


async def test_a_reply_to_another_question_is_refused_and_changes_nothing(core: Core) -> None:
    waiting = await waiting_for_a_reply(core)
    with pytest.raises(QuestionAlreadyAnswered):
        await core.store.tasks.add_message(
            core.tenant_id, waiting.id, text="red", data=None, question_id="q_not_open"
        )
    assert await core.task(waiting.id) == waiting
    assert "message" not in await core.event_types(waiting.id)


async def test_of_two_concurrent_replies_exactly_one_answers_the_question(core: Core) -> None:
    """One reply through this store, one through another process's."""
    waiting = await waiting_for_a_reply(core)
    async with core.other_store() as other:
        replies = await asyncio.gather(
            *(
                store.tasks.add_message(
                    core.tenant_id, waiting.id, text=color, data=None, question_id=QUESTION_ID
                )
                for store, color in ((core.store, "red"), (other, "blue"))
            ),
            return_exceptions=True,
        )
    won = [r for r in replies if isinstance(r, TaskRecord)]
    lost = [r for r in replies if isinstance(r, QuestionAlreadyAnswered)]
    assert len(won) == 1 and len(lost) == 1, replies
    winner = "red" if replies[0] is won[0] else "blue"

    answered = await core.task(waiting.id)
    assert answered.status == TaskStatus.WORKING and answered.question_id is None
    assert answered.queue_state == "ready", "the answered task was not woken"
    messages = [e for e in await core.events(waiting.id) if e["type"] == "message"]
    assert [m["data"]["text"] for m in messages] == [winner]
    # The answer is journaled at the question's position, for the resumed run to read.
    (resumed,) = await core.store.queue.claim("w", [("asker", "1.0.0")], 1, 5.0)
    assert [(e.position, e.kind, e.status) for e in resumed.journal] == [(1, "ask", "completed")]
    assert resumed.journal[0].result == {"text": winner, "data": None}

    with pytest.raises(QuestionAlreadyAnswered):  # the same question, answered before
        await core.store.tasks.add_message(
            core.tenant_id, waiting.id, text="red", data=None, question_id=QUESTION_ID
        )


@contextlib.contextmanager
def another_connection(core: Core) -> Iterator[Any]:
    """A plain DB-API connection to the core's database, in a transaction of its own."""
    if core.database_url is None:
        conn: Any = sqlite3.connect(
            core.sqlite_path, timeout=10, isolation_level=None, check_same_thread=False
        )
        conn.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        conn = psycopg.connect(core.database_url.replace("+psycopg", ""))
    try:
        yield conn
    finally:
        conn.close()


async def _commit_while_it_waits(core: Core, conn: Any, waiter: asyncio.Task[Any]) -> None:
    """Commit `conn` once `waiter` waits for the lock `conn` holds."""
    if core.database_url is None:
        # This process's SQLite writes run on its event loop: the waiter's BEGIN IMMEDIATE
        # blocks the loop until `conn` commits, so the commit comes from a thread.
        threading.Timer(0.3, conn.commit).start()
        await asyncio.wait([waiter])
        return
    waiting = (
        "select count(*) from pg_stat_activity "
        "where wait_event_type = 'Lock' and datname = current_database()"
    )
    with another_connection(core) as probe:
        for _ in range(500):
            if probe.execute(waiting).fetchone()[0]:
                assert not waiter.done()
                conn.commit()
                return
            probe.rollback()
            await asyncio.sleep(0.01)
    raise AssertionError("the reply never waited for the other transaction")


async def test_a_reply_checked_against_a_stale_read_is_refused_by_the_compare_and_set(
    core: Core,
) -> None:
    """Another transaction answers the question and commits while this store's reply is
    between its read (question open) and its update: the update's compare-and-set, not
    the read, must refuse it. (On SQLite the reply takes the write lock before it reads,
    so its read cannot be stale; on PostgreSQL it is.)"""
    waiting = await waiting_for_a_reply(core)
    with another_connection(core) as conn:
        conn.execute(
            "update tasks set status = 'working', question_id = null where id = "
            + ("?" if core.database_url is None else "%s"),
            (waiting.id,),
        )
        reply = asyncio.create_task(
            core.store.tasks.add_message(
                core.tenant_id, waiting.id, text="red", data=None, question_id=QUESTION_ID
            )
        )
        await _commit_while_it_waits(core, conn, reply)
    with pytest.raises(QuestionAlreadyAnswered):
        await reply
    assert "message" not in await core.event_types(waiting.id)


async def completed(core: Core) -> TaskRecord:
    """A `noop` task whose run completed: its deliverable awaits review."""
    task = await core.create("noop")
    (held,) = await core.store.queue.claim("w", [("noop", "1.0.0")], 1, 5.0)
    await core.store.queue.complete(
        held.task,
        held.task.lease_token,
        deliverable={},
        usage={},
        session_state=None,
        session_ttl=60.0,
        delegated=False,
    )
    return await core.task(task.id)


async def test_of_two_concurrent_reviews_exactly_one_decides(core: Core) -> None:
    """For each of four deliverables an accept through this store races a reject (with
    redo) through another process's."""
    tasks = [await completed(core) for _ in range(4)]
    async with core.other_store() as other:
        outcomes = await asyncio.gather(
            *(
                review
                for task in tasks
                for review in (
                    core.store.tasks.review(
                        core.tenant_id, task.id, accept=True, review={"by": "a"}, redo=False
                    ),
                    other.tasks.review(
                        core.tenant_id, task.id, accept=False, review={"by": "b"}, redo=True
                    ),
                )
            ),
            return_exceptions=True,
        )
    for task, pair in zip(tasks, zip(outcomes[::2], outcomes[1::2], strict=True), strict=True):
        won = [o for o in pair if isinstance(o, TaskRecord)]
        assert len(won) == 1 and sum(isinstance(o, InvalidState) for o in pair) == 1, pair
        reviews = [e for e in await core.events(task.id) if e["type"] == "review"]
        assert len(reviews) == 1, "both reviews were recorded"
        decided = await core.task(task.id)  # accepted, or rejected and redone
        assert (decided.revision, decided.review_status) in ((1, "accepted"), (2, None))
        assert reviews[0]["data"]["by"] == ("a" if decided.revision == 1 else "b")


async def test_a_finished_task_takes_no_more_messages(core: Core) -> None:
    task = await core.create("noop")
    await core.store.tasks.cancel(core.tenant_id, task.id, "test")
    with pytest.raises(InvalidState):
        await core.store.tasks.add_message(
            core.tenant_id, task.id, text="more", data=None, question_id=None
        )


async def test_concurrent_creates_with_one_idempotency_key_create_one_task(core: Core) -> None:
    """Eight dispatches race with one key: four through this store and four through a
    second one on the same database (another replica), so on PostgreSQL two transactions
    really race for the key."""
    new = await core.new_task("noop")
    async with core.other_store() as other:
        results = await asyncio.gather(
            *(store.tasks.create(new, "key-1", "hash-1") for store in [core.store, other] * 4)
        )
    assert len({task.id for task, _ in results}) == 1, "one key created several tasks"
    assert sorted(created for _, created in results) == [False] * 7 + [True]
    assert len((await core.store.tasks.page(core.tenant_id)).tasks) == 1

    replay, created = await core.store.tasks.create(new, "key-1", "hash-1")
    assert (replay.id, created) == (results[0][0].id, False)
    with pytest.raises(IdempotencyConflict):
        await core.store.tasks.create(new, "key-1", "hash-2")
    assert len((await core.store.tasks.page(core.tenant_id)).tasks) == 1
    _, fresh = await core.store.tasks.create(new, "key-2", "hash-2")
    assert fresh, "another key was treated as a replay"
