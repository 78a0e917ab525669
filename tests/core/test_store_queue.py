"""`store.queue`: claiming, lease fencing and the reaper's sweep, against a real database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from bureau.errors import LeaseLost
from bureau.states import TaskStatus
from bureau.store.codec import now
from bureau.store.records import ArtifactRecord, ClaimedTask, RunningCaps, TaskRecord
from bureau.store.store import Store
from tests.core.conftest import Core, sleep_past

NOOP = [("noop", "1.0.0")]
SHORT_LEASE = 0.2
NO_AUTO_ACCEPT = 3600.0


async def claim_one(core: Core, owner: str, lease_seconds: float = 5.0) -> ClaimedTask:
    claimed = await core.store.queue.claim(owner, NOOP, 1, lease_seconds)
    assert len(claimed) == 1, f"{owner} claimed {len(claimed)} tasks, expected one"
    return claimed[0]


async def claimed_ids(core: Core, owner: str, limit: int = 10) -> list[str]:
    return [c.task.id for c in await core.store.queue.claim(owner, NOOP, limit, 5.0)]


async def snapshot(core: Core, task_id: str) -> tuple[TaskRecord, list[object], int]:
    page = await core.store.tasks.page(core.tenant_id, limit=100)
    return await core.task(task_id), list(await core.events(task_id)), len(page.tasks)


async def assert_every_fenced_write_fails(core: Core, task: TaskRecord, token: int) -> None:
    """Each write a worker makes for a run, under a token it no longer holds, raises
    `LeaseLost` (or reports the loss) and changes nothing: not the task, not its log, and
    no child task."""
    queue = core.store.queue
    before = await snapshot(core, task.id)
    child = await core.new_task("noop", parent_id=task.id, parent_position=1)
    artifact = ArtifactRecord(task.id, "out.txt", "text/plain", 1, "0" * 64, 1, now())
    attempts: dict[str, Callable[[], Awaitable[object]]] = {
        "append_events": lambda: queue.append_events(task.id, token, [("progress", {"x": 1})]),
        "journal_step": lambda: queue.journal_step(
            task,
            token,
            position=1,
            name="one",
            status="completed",
            result=1,
            seconds=0.0,
            events=[],
            replace=False,
        ),
        "journal_record": lambda: queue.journal_record(
            task, token, position=1, kind="plan", value=["a"], events=[], replace=False
        ),
        "journal_question": lambda: queue.journal_question(
            task,
            token,
            position=1,
            question={"id": "q_stale", "text": "?", "schema": None},
            events=[],
            replace=False,
        ),
        "delegate": lambda: queue.delegate(task, token, position=1, child=child, events=[]),
        "add_artifact": lambda: queue.add_artifact(
            task, token, position=1, artifact=artifact, described={"name": "out.txt"}, events=[]
        ),
        "complete": lambda: queue.complete(
            task,
            token,
            deliverable={"stale": True},
            usage={},
            session_state=None,
            session_ttl=60.0,
            delegated=False,
        ),
        "park": lambda: queue.park(task.id, token),
    }
    for name, write in attempts.items():
        try:
            await write()
        except LeaseLost:
            continue
        pytest.fail(f"{name} with a stale lease token did not raise LeaseLost")
    assert await queue.fail(task, token, {"code": "x", "message": "stale"}, dead_letter=True) is (
        False
    )
    await queue.retry_later(task.id, token, delay=0.0, error={"code": "x"}, attempt=9)
    assert await snapshot(core, task.id) == before, "a stale write changed the task"


async def test_a_stale_token_cannot_commit_once_the_reaper_recovered_the_lease(
    core: Core,
) -> None:
    await core.create("noop")
    first = await claim_one(core, "worker-1", SHORT_LEASE)
    old = first.task.lease_token
    assert first.task.lease_expires_at is not None
    await sleep_past(first.task.lease_expires_at)
    assert await core.store.queue.sweep(NO_AUTO_ACCEPT) == 1

    recovered = await core.task(first.task.id)
    assert recovered.queue_state == "ready" and recovered.lease_token > old
    await assert_every_fenced_write_fails(core, first.task, old)

    second = await claim_one(core, "worker-2")
    assert second.task.lease_token > recovered.lease_token
    assert second.journal == [], "a stale write reached the journal"
    await assert_every_fenced_write_fails(core, first.task, old)
    # The current holder is not fenced out: its writes commit.
    await core.store.queue.complete(
        second.task,
        second.task.lease_token,
        deliverable={"ok": True},
        usage={},
        session_state=None,
        session_ttl=60.0,
        delegated=False,
    )
    done = await core.task(first.task.id)
    assert done.status == TaskStatus.COMPLETED and done.deliverable == {"ok": True}


async def test_released_and_canceled_leases_fence_out_their_holder(core: Core) -> None:
    queue = core.store.queue
    await core.create("noop")
    held = await claim_one(core, "worker-1")
    assert await queue.release_leases("worker-1") == 1
    released = await core.task(held.task.id)
    assert released.queue_state == "ready" and released.lease_owner is None
    assert await queue.renew_leases("worker-1", {held.task.id: held.task.lease_token}, 5.0) == {
        held.task.id
    }
    await assert_every_fenced_write_fails(core, held.task, held.task.lease_token)

    again = await claim_one(core, "worker-2")
    assert again.task.id == held.task.id
    stopped: list[object] = []
    unsubscribe = core.store.notifier.subscribe("cancel", stopped.append)
    try:
        await core.store.tasks.cancel(core.tenant_id, held.task.id, "test")
    finally:
        unsubscribe()
    assert stopped == [held.task.id], "the holder of a canceled task was not told to stop"
    assert await queue.renew_leases("worker-2", {held.task.id: again.task.lease_token}, 5.0)
    canceled = await core.task(held.task.id)
    assert canceled.status == TaskStatus.CANCELED and canceled.queue_state == "done"
    await assert_every_fenced_write_fails(core, again.task, again.task.lease_token)


async def test_claim_takes_the_oldest_available_task_first(core: Core) -> None:
    queue = core.store.queue
    a, b, c = [await core.create("noop", goal=goal) for goal in "abc"]
    first = await claim_one(core, "w")
    assert first.task.id == a.id
    assert first.task.status == TaskStatus.WORKING and first.journal == []
    assert first.task.lease_owner == "w" and first.task.lease_token == a.lease_token + 1
    # Handed back for a retry now, `a` is available later than `b` and `c`.
    await queue.retry_later(a.id, first.task.lease_token, delay=0.0, error={}, attempt=2)
    assert [await claimed_ids(core, "w", 1) for _ in range(3)] == [[b.id], [c.id], [a.id]]

    later = await core.create("noop", goal="later")
    held = await claim_one(core, "w")
    await queue.retry_later(later.id, held.task.lease_token, delay=60.0, error={}, attempt=2)
    assert await claimed_ids(core, "w") == [], "a task was claimed before its retry delay"
    other_agent = await queue.claim("w", [("asker", "1.0.0")], 10, 5.0)
    assert other_agent == []


async def test_a_sessions_later_task_waits_until_the_earlier_one_finished(core: Core) -> None:
    queue = core.store.queue
    first = await core.create("noop", session_id="s")
    second = await core.create("noop", session_id="s")
    elsewhere = await core.create("noop", session_id="t")
    loose = await core.create("noop")
    claimed = await queue.claim("w", NOOP, 10, 5.0)
    assert {c.task.id for c in claimed} == {first.id, elsewhere.id, loose.id}
    assert await claimed_ids(core, "w") == [], "a session ran two tasks at once"

    held = next(c.task for c in claimed if c.task.id == first.id)
    await queue.park(first.id, held.lease_token)  # waiting (e.g. for a reply): unfinished
    assert await claimed_ids(core, "w") == [], "a session's later task overtook a waiting one"

    await core.store.tasks.cancel(core.tenant_id, first.id, "done with it")
    assert await claimed_ids(core, "w") == [second.id]


async def test_concurrent_claimers_of_two_processes_never_share_a_task(core: Core) -> None:
    created = {(await core.create("noop", goal=str(n))).id for n in range(12)}
    async with core.other_store() as other:

        async def claim_all(store: Store, owner: str) -> list[str]:
            taken: list[str] = []
            while batch := await store.queue.claim(owner, NOOP, 2, 5.0):
                taken += [c.task.id for c in batch]
            return taken

        mine, theirs = await asyncio.gather(claim_all(core.store, "a"), claim_all(other, "b"))
    assert not set(mine) & set(theirs), "one task was leased to two workers"
    assert sorted(mine + theirs) == sorted(created)


async def test_sweep_requeues_an_expired_lease_with_a_retry_event_and_a_new_token(
    core: Core,
) -> None:
    await core.create("noop")
    held = await claim_one(core, "lost-worker", SHORT_LEASE)
    assert await core.store.queue.sweep(NO_AUTO_ACCEPT) == 0, "a live lease was recovered"
    assert held.task.lease_expires_at is not None
    await sleep_past(held.task.lease_expires_at)
    assert await core.store.queue.sweep(NO_AUTO_ACCEPT) == 1
    assert await core.store.queue.sweep(NO_AUTO_ACCEPT) == 0

    task = await core.task(held.task.id)
    assert task.queue_state == "ready" and task.lease_owner is None
    assert task.attempt == 2 and task.lease_token > held.task.lease_token
    assert task.status == TaskStatus.WORKING and not task.dead_letter
    last = (await core.events(task.id))[-1]
    assert last["type"] == "retry"
    assert last["data"]["attempt"] == 2 and last["data"]["error"]["code"] == "worker_lost"
    assert (await claim_one(core, "next-worker")).task.id == task.id


async def test_sweep_dead_letters_an_expired_lease_out_of_attempts(core: Core) -> None:
    await core.create("noop", max_attempts=1)
    held = await claim_one(core, "lost-worker", SHORT_LEASE)
    assert held.task.lease_expires_at is not None
    await sleep_past(held.task.lease_expires_at)
    assert await core.store.queue.sweep(NO_AUTO_ACCEPT) == 1

    task = await core.task(held.task.id)
    assert task.status == TaskStatus.FAILED and task.dead_letter
    assert task.error is not None and task.error["code"] == "worker_lost"
    assert task.queue_state == "done" and task.lease_token > held.task.lease_token
    listed = await core.store.tasks.page(core.tenant_id, dead_letter=True)
    assert [t.id for t in listed.tasks] == [task.id]
    assert await claimed_ids(core, "w") == []


async def test_sweep_fails_tasks_past_their_deadline_and_stops_their_worker(
    core: Core,
) -> None:
    running = await core.create("noop", deadline_seconds=0.2)
    held = await claim_one(core, "w")
    queued = await core.create("noop", deadline_seconds=0.2)
    roomy = await core.create("noop")
    stopped: list[object] = []
    unsubscribe = core.store.notifier.subscribe("cancel", stopped.append)
    try:
        await sleep_past(max(running.deadline_at, queued.deadline_at))
        assert await core.store.queue.sweep(NO_AUTO_ACCEPT) == 2
    finally:
        unsubscribe()
    assert stopped == [running.id], "the worker of a task past its deadline was not told"
    for task_id in (running.id, queued.id):
        task = await core.task(task_id)
        assert task.status == TaskStatus.FAILED and not task.dead_letter
        assert task.error is not None and task.error["code"] == "deadline_exceeded"
    assert (await core.task(roomy.id)).status == TaskStatus.SUBMITTED
    await assert_every_fenced_write_fails(core, held.task, held.task.lease_token)


async def test_sweep_auto_accepts_a_deliverable_left_unreviewed(core: Core) -> None:
    await core.create("noop")
    held = await claim_one(core, "w")
    await core.store.queue.complete(
        held.task,
        held.task.lease_token,
        deliverable={"sum": 2},
        usage={},
        session_state=None,
        session_ttl=60.0,
        delegated=False,
    )
    done = await core.task(held.task.id)
    assert done.review_status == "pending" and done.finished_at is not None
    assert await core.store.queue.sweep(NO_AUTO_ACCEPT) == 0, "accepted inside the window"
    await sleep_past(done.finished_at)
    assert await core.store.queue.sweep(0.0) == 1

    accepted = await core.task(done.id)
    assert accepted.review_status == "accepted"
    assert accepted.review is not None and accepted.review["auto"] is True
    assert accepted.cost == done.price
    last = (await core.events(done.id))[-1]
    assert last["type"] == "review" and last["data"]["status"] == "accepted"
    assert (await core.store.catalog.reputation("noop"))["acceptance_rate"] == 1.0
    assert await core.store.queue.sweep(0.0) == 0, "a reviewed deliverable was swept again"


async def test_claims_are_fair_between_tenants_and_follow_their_weights(core: Core) -> None:
    """Tenant A's backlog does not delay B: claims alternate between them (start-time fair
    queueing), and a tenant of weight 3 gets three claims for each of a weight-1 tenant's."""
    for other, weight in (("ten_fair", 1.0), ("ten_heavy", 3.0)):
        await core.store.catalog.create_tenant(other, other)
        backlog = [(await core.create("noop")).id for _ in range(30)]
        theirs = {(await core.create("noop", tenant_id=other, weight=weight)).id for _ in range(10)}
        claimed = [
            c.task.id for _ in range(12) for c in await core.store.queue.claim("w", NOOP, 1, 5.0)
        ]
        expected = 6 if weight == 1 else 9
        assert abs(len(theirs & set(claimed)) - expected) <= 1, (other, claimed)
        assert [i for i in claimed if i in backlog] == backlog[
            : len(claimed) - len(theirs & set(claimed))
        ]
        await core.store.queue.claim("w", NOOP, 100, 5.0)  # clear the queue for the next round


async def test_a_tenant_at_its_running_cap_waits_while_others_are_claimed(core: Core) -> None:
    await core.store.catalog.create_tenant("ten_other", "other")
    capped = [(await core.create("noop")).id for _ in range(5)]
    others = [(await core.create("noop", tenant_id="ten_other")).id for _ in range(5)]
    caps = RunningCaps(0, {core.tenant_id: 2})
    queue = core.store.queue
    first = await queue.claim("w", NOOP, 10, 5.0, caps)
    assert {c.task.id for c in first} == {*capped[:2], *others}, "two capped, all the others"
    assert await queue.claim("w", NOOP, 10, 5.0, caps) == [], "the capped tenant is full"
    done = first[0].task
    await queue.complete(
        done,
        done.lease_token,
        deliverable={},
        usage={},
        session_state=None,
        session_ttl=60,
        delegated=False,
    )
    again = await queue.claim("w", NOOP, 10, 5.0, caps)
    assert [c.task.id for c in again] == [capped[2]], "one slot freed, one more runs"
    assert await queue.claim("w", NOOP, 10, 5.0, RunningCaps(2)) == [], "a default cap of 2"
    assert len(await queue.claim("w", NOOP, 10, 5.0)) == 2, "no caps: the rest"
