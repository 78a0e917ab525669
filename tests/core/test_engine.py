"""The engine in burst mode: `Worker.drain()` claims and runs ready tasks until none is ready
and none runs, then returns how many runs there were."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from decimal import Decimal

import pytest

from bureau.auth.caller import Role
from bureau.engine.runner import Runner
from bureau.errors import NotFound
from bureau.service import HEARTBEAT
from bureau.service.requests import MessageCreate
from bureau.states import TaskStatus
from bureau.store.records import ClaimedTask, money_text
from tests.core.conftest import Core, sleep_past


async def test_a_task_runs_to_completion_and_costs_its_price(core: Core) -> None:
    task = await core.dispatch("noop")
    assert await core.drain() == 1
    done = await core.task(task.id)
    assert done.status == TaskStatus.COMPLETED and done.queue_state == "done"
    assert done.deliverable == {"sum": 2}
    assert isinstance(done.cost, Decimal) and done.cost == done.price == Decimal("0.01")
    assert done.usage["steps"] == 2 and done.review_status == "pending"
    assert done.started_at is not None and done.finished_at is not None
    assert await core.drain() == 0, "a completed task ran again"


async def test_a_question_parks_the_task_until_the_reply_resumes_it(core: Core) -> None:
    task = await core.dispatch("asker")
    assert await core.drain() == 1
    waiting = await core.task(task.id)
    assert waiting.status == TaskStatus.INPUT_REQUIRED and waiting.queue_state == "parked"
    assert waiting.question is not None and waiting.question["text"] == "Which color?"
    assert waiting.question["schema"] == {"type": "string", "enum": ["red", "blue"]}
    assert waiting.plan == ["ask", "answer"]
    assert await core.drain() == 0, "a task waiting for a reply was run"

    await core.service.tasks.message(core.admin, task.id, MessageCreate(data="blue"))
    assert await core.drain() == 1
    done = await core.task(task.id)
    assert done.status == TaskStatus.COMPLETED and done.deliverable == {"color": "blue"}
    types = await core.event_types(task.id)
    assert types.count("plan") == 1 and types.count("question") == 1, "replay repeated calls"
    assert types.index("status:input-required") < types.index("message")
    assert types[-3:] == ["progress", "deliverable", "status:completed"]


async def test_a_parent_completes_after_its_children_and_pays_for_them(core: Core) -> None:
    """core-delegator (0.01) delegates to core-tenth (0.1) and core-fifth (0.2) at once;
    in binary floating point 0.01 + 0.1 + 0.2 is 0.31000000000000005."""
    parent = await core.dispatch("core-delegator")
    runs = await core.drain()
    # Parent, two children, and the parent resumed once or twice (a child's completion
    # may wake it while the other child is still unfinished).
    assert runs in (4, 5), runs
    done = await core.task(parent.id)
    assert done.status == TaskStatus.COMPLETED
    assert done.deliverable == {
        "children": [
            {"paid": "0.1", "goal": "first half"},
            {"paid": "0.2", "goal": "second half"},
        ]
    }
    assert done.cost == Decimal("0.31") and money_text(done.cost) == "0.31"
    children = [t for t in (await core.store.tasks.page(core.tenant_id)).tasks if t.parent_id]
    assert sorted((c.agent, c.cost) for c in children) == [
        ("core-fifth", Decimal("0.2")),
        ("core-tenth", Decimal("0.1")),
    ]
    assert all(c.status == TaskStatus.COMPLETED and c.parent_id == parent.id for c in children)
    assert (await core.event_types(parent.id)).count("delegated") == 2


async def test_canceling_a_waiting_parent_cancels_its_children(core: Core) -> None:
    parent = await core.dispatch("parent", input={"seconds": 0})
    assert await core.drain(core.worker("parent")) == 1  # runs the parent only: it delegates
    waiting = await core.task(parent.id)
    assert waiting.status == TaskStatus.WORKING and waiting.queue_state == "parked"
    children = [t for t in (await core.store.tasks.page(core.tenant_id)).tasks if t.parent_id]
    assert sorted(c.agent for c in children) == ["noop", "sleeper"]

    await core.service.tasks.cancel(core.admin, parent.id)
    for child in children:
        canceled = await core.task(child.id)
        assert canceled.status == TaskStatus.CANCELED and canceled.queue_state == "done"
    assert await core.drain() == 0, "a canceled task or child ran"
    assert (await core.task(parent.id)).status == TaskStatus.CANCELED


async def test_a_crashing_run_is_retried_after_its_backoff_without_redoing_steps(
    core: Core,
) -> None:
    """`flaky` fails its first attempt; its retry waits 0.5-1 s (RetryPolicy initial_delay
    1.0, equal jitter: long enough that a slow database cannot make the retry due before
    `drain` looks again). `drain` does not wait for a delay: it returns once nothing is
    ready, leaving the task queued for later (`ready`, attempt 2, available in the future).
    A second `drain` after the delay runs the retry."""
    task = await core.dispatch("flaky", input={"succeed_on": 2})
    assert await core.drain() == 1
    queued = await core.task(task.id)
    assert queued.status == TaskStatus.WORKING and queued.queue_state == "ready"
    assert queued.attempt == 2 and queued.lease_owner is None
    assert queued.available_at - queued.updated_at >= 0.45, "the retry was not delayed"
    retry = (await core.events(task.id))[-1]
    assert retry["type"] == "retry" and retry["data"]["attempt"] == 2
    assert 0.5 <= retry["data"]["delay_seconds"] <= 1.0
    assert retry["data"]["error"] == {
        "code": "agent_error",
        "message": "transient failure on attempt 1",
        "type": "ConnectionError",
    }

    await sleep_past(queued.available_at)
    assert await core.drain() == 1
    done = await core.task(task.id)
    assert done.status == TaskStatus.COMPLETED and done.deliverable == {"attempt": 2}
    types = await core.event_types(task.id)
    assert types.count("step.completed") == 1, "a journaled step ran again on retry"


async def test_a_task_out_of_attempts_is_dead_lettered(core: Core) -> None:
    task = await core.dispatch("doomed")
    assert await core.drain() == 1
    await sleep_past((await core.task(task.id)).available_at)
    assert await core.drain() == 1
    failed = await core.task(task.id)
    assert failed.status == TaskStatus.FAILED and failed.dead_letter
    assert failed.error == {
        "code": "agent_error",
        "message": "this agent always fails",
        "type": "RuntimeError",
        "attempts": 2,
    }
    assert await core.drain() == 0


async def test_a_fatal_error_fails_at_once_without_retrying(core: Core) -> None:
    task = await core.dispatch("refuser")
    assert await core.drain() == 1
    failed = await core.task(task.id)
    assert failed.status == TaskStatus.FAILED and not failed.dead_letter
    assert failed.attempt == 1 and failed.error is not None and failed.error["code"] == "fatal"
    assert "retry" not in await core.event_types(task.id)


async def test_tasks_of_one_session_run_in_order_and_share_its_state(core: Core) -> None:
    first = await core.dispatch("session-counter", session_id="s")
    second = await core.dispatch("session-counter", session_id="s")
    alone = await core.dispatch("session-counter", session_id="t")
    assert await core.drain() == 3
    counts = [(await core.task(t.id)).deliverable for t in (first, second, alone)]
    assert counts == [{"count": 1}, {"count": 2}, {"count": 1}]
    finished, started = (
        (await core.task(first.id)).finished_at,
        (await core.task(second.id)).started_at,
    )
    assert finished is not None and started is not None and finished <= started


async def test_canceling_a_running_task_stops_its_run(core: Core) -> None:
    """A cancel stops the run at once (the `cancel` notification), not only when the lease
    heartbeat finds the lease lost."""
    task = await core.dispatch("sleeper", input={"seconds": 60})
    worker = core.worker(lease_seconds=60)  # the heartbeat would not notice for 20 s
    draining = asyncio.create_task(core.drain(worker))
    stream = await core.service.events.open_stream(core.admin, task.id)
    async with asyncio.timeout(10):
        async for event in stream:
            if event is not HEARTBEAT and event["type"] == "progress":
                break  # the agent is asleep now
    started = time.monotonic()
    await core.service.tasks.cancel(core.admin, task.id)
    assert await asyncio.wait_for(draining, 10) == 1
    assert time.monotonic() - started < 5, "the canceled run went on"
    canceled = await core.task(task.id)
    assert canceled.status == TaskStatus.CANCELED and canceled.deliverable is None
    assert (await core.event_types(task.id))[-1] == "status:canceled"


async def test_a_run_parks_only_once_its_durable_calls_in_flight_are_written(core: Core) -> None:
    """`core-fan-out` saves an artifact (a file write in a thread) while delegating. The
    delegation asks to park first; the run must not be cut short while the artifact is
    still being written: both are recorded by the first run."""
    task = await core.dispatch("core-fan-out")
    assert await core.drain(core.worker("core-fan-out")) == 1
    parked = await core.service.tasks.get(core.admin, task.id)
    assert parked.task.queue_state == "parked"
    assert [a.name for a in parked.artifacts] == ["notes.bin"], "the artifact was cut short"
    children = [t for t in (await core.store.tasks.page(core.tenant_id)).tasks if t.parent_id]
    assert [c.agent for c in children] == ["core-tenth"]

    assert await core.drain() == 2  # the child, then the parent resumed
    done = await core.task(task.id)
    assert done.status == TaskStatus.COMPLETED
    assert done.deliverable == {"saved": 8_000_000, "child": {"paid": "0.1", "goal": "part"}}
    assert (await core.event_types(task.id)).count("artifact") == 1


async def test_a_declined_task_is_rejected_and_costs_nothing(core: Core) -> None:
    task = await core.dispatch("core-judged", goal="decline")
    assert await core.drain() == 1
    declined = await core.task(task.id)
    assert declined.status == TaskStatus.REJECTED and declined.cost == Decimal("0")
    assert declined.error == {"code": "declined", "message": "I only do what my goal says"}
    assert declined.review_status is None and not declined.dead_letter


async def test_reputation_does_not_count_what_the_consumer_caused(core: Core) -> None:
    for goal in ("complete", "fail", "decline"):
        await core.dispatch("core-judged", goal=goal)
    canceled = await core.dispatch("core-judged", goal="complete")
    await core.service.tasks.cancel(core.admin, canceled.id)
    hurried = await core.dispatch("core-judged", goal="complete", deadline_seconds=0.05)
    await sleep_past(hurried.deadline_at)
    await core.store.queue.sweep(3600.0)
    assert (await core.task(hurried.id)).error["code"] == "deadline_exceeded"  # type: ignore[index]
    await core.drain()

    reputation = await core.store.catalog.reputation("core-judged")
    assert reputation["tasks"] == 5
    assert reputation["completion_rate"] == 0.5, "only the completion and the agent's failure"


async def test_an_engine_error_fails_the_task_as_one_at_once(core: Core) -> None:
    class Broken(Runner):
        async def run(self, claimed: ClaimedTask, settling: Callable[[], None] = _nothing) -> None:
            raise RuntimeError("a bug in the engine")

    worker = core.worker()
    worker.runner = Broken(core.store, worker.runner.agents, core.artifacts)
    task = await core.dispatch("noop")
    assert await core.drain(worker) == 1
    failed = await core.task(task.id)
    assert failed.status == TaskStatus.FAILED and failed.dead_letter
    assert failed.error == {
        "code": "engine_error",
        "message": "Bureau failed running this task: RuntimeError: a bug in the engine",
    }


def _nothing() -> None:
    pass


async def test_the_publisher_sees_the_traceback_a_consumer_does_not(
    core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    task = await core.dispatch("core-judged", goal="fail")
    with caplog.at_level(logging.WARNING, logger="bureau.runner"):
        assert await core.drain() == 1
    (logged,) = [r.getMessage() for r in caplog.records if task.id in r.getMessage()]
    assert "attempt 1 of core-judged@1.0.0 failed: Fatal" in logged
    assert 'tests/core/agents.py", line' in logged, "the server log has the traceback"
    failed = await core.service.tasks.get(core.admin, task.id)
    assert failed.task.error == {
        "code": "fatal",
        "message": "the agent's own failure",
    }, "the consumer's view holds no traceback"

    (failure,) = await core.service.catalog.failures(core.admin, "core-judged", 20)
    assert failure["task_id"] == task.id and failure["error"] == failed.task.error
    assert 'tests/core/agents.py", line' in failure["traceback"]
    assert 'raise Fatal("the agent\'s own failure")' in failure["traceback"]

    another_tenant = core.caller(Role.PUBLISHER, tenant_id="someone-else")
    with pytest.raises(NotFound, match="publishes no agent 'core-judged'"):
        await core.service.catalog.failures(another_tenant, "core-judged", 20)
