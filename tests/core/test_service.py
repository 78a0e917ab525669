"""`Service`: every operation's refusals, reviews, artifacts, events and idempotent replays.

The service is called as a door calls it: with a `Caller` and request models, no HTTP.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from bureau.auth.caller import Caller, Role
from bureau.errors import (
    Forbidden,
    IdempotencyConflict,
    InvalidRequest,
    InvalidState,
    NotFound,
    QuestionAlreadyAnswered,
)
from bureau.service import HEARTBEAT
from bureau.service.requests import AcceptBody, MessageCreate, RejectBody, TaskCreate
from bureau.states import TaskStatus
from bureau.store.records import Event
from tests.core.conftest import LONG_POLL_MAX_SECONDS, MAX_DEADLINE_SECONDS, Core


async def test_dispatch_refuses_an_unknown_agent(core: Core) -> None:
    with pytest.raises(NotFound) as refused:
        await core.service.tasks.dispatch(core.admin, TaskCreate(agent="nobody", goal="x"))
    assert refused.value.extra["field"] == "agent"
    with pytest.raises(NotFound):
        await core.service.tasks.dispatch(core.admin, TaskCreate(agent="noop@9.9.9", goal="x"))
    assert (await core.store.tasks.page(core.tenant_id)).tasks == []


async def test_dispatch_refuses_input_that_does_not_match_the_agents_schema(core: Core) -> None:
    request = TaskCreate(agent="crashable", goal="x", input={"counter": 7})
    with pytest.raises(InvalidRequest) as refused:
        await core.service.tasks.dispatch(core.admin, request)
    errors = refused.value.extra["errors"]
    assert {e["path"] for e in errors} == {"/", "/counter"}
    assert any("'release' is a required property" in e["message"] for e in errors)
    assert (await core.store.tasks.page(core.tenant_id)).tasks == []


async def test_dispatch_refuses_a_profile_the_agent_does_not_offer(core: Core) -> None:
    request = TaskCreate(agent="core-fast-only", goal="x", profile="thorough")
    with pytest.raises(InvalidRequest) as refused:
        await core.service.tasks.dispatch(core.admin, request)
    assert refused.value.extra["field"] == "profile"
    offered = await core.dispatch("core-fast-only", profile="fast")
    assert offered.profile == "fast"


async def test_dispatch_refuses_a_deadline_over_the_maximum(core: Core) -> None:
    request = TaskCreate(agent="noop", goal="x", deadline_seconds=MAX_DEADLINE_SECONDS + 1)
    with pytest.raises(InvalidRequest) as refused:
        await core.service.tasks.dispatch(core.admin, request)
    assert refused.value.extra["field"] == "deadline_seconds"
    within = await core.dispatch("noop", deadline_seconds=MAX_DEADLINE_SECONDS)
    assert within.deadline_seconds == MAX_DEADLINE_SECONDS


async def test_a_viewer_may_read_but_not_change_anything(core: Core) -> None:
    task = await core.dispatch("noop")
    await core.drain()
    before = await core.task(task.id)
    viewer = core.caller(Role.VIEWER)
    assert (await core.service.tasks.get(viewer, task.id)).task.id == task.id
    tasks = core.service.tasks
    writes: dict[str, Callable[[], Awaitable[object]]] = {
        "dispatch": lambda: tasks.dispatch(viewer, TaskCreate(agent="noop", goal="x")),
        "message": lambda: tasks.message(viewer, task.id, MessageCreate(text="hi")),
        "cancel": lambda: tasks.cancel(viewer, task.id),
        "accept": lambda: tasks.accept(viewer, task.id, AcceptBody()),
        "reject": lambda: tasks.reject(viewer, task.id, RejectBody(reason="no")),
    }
    for name, write in writes.items():
        try:
            await write()
        except Forbidden:
            continue
        pytest.fail(f"a viewer could {name}")
    assert await core.task(task.id) == before
    assert len((await core.store.tasks.page(core.tenant_id)).tasks) == 1


async def test_only_an_admin_may_read_the_webhook_secret(core: Core) -> None:
    for role in (Role.MEMBER, Role.PUBLISHER, Role.VIEWER):
        with pytest.raises(Forbidden):
            await core.service.tasks.webhook_secret(core.caller(role))
    assert (await core.service.tasks.webhook_secret(core.admin)).startswith("whsec_")


async def test_a_message_needs_text_or_data(core: Core) -> None:
    task = await core.dispatch("noop")
    before = await core.task(task.id)
    with pytest.raises(InvalidRequest):
        await core.service.tasks.message(core.admin, task.id, MessageCreate())
    assert await core.task(task.id) == before
    context = await core.service.tasks.message(core.admin, task.id, MessageCreate(data={"a": 1}))
    assert context.task.last_seq == before.last_seq + 1, "context message not logged"


async def test_replies_are_checked_against_the_open_question(core: Core) -> None:
    task = await core.dispatch("asker")
    await core.drain()
    waiting = await core.task(task.id)
    assert waiting.status == TaskStatus.INPUT_REQUIRED and waiting.question is not None
    question_id = waiting.question["id"]
    message = core.service.tasks.message

    with pytest.raises(InvalidRequest) as refused:
        await message(core.admin, task.id, MessageCreate(data="green", question_id=question_id))
    assert refused.value.extra["errors"][0]["path"] == "/"
    with pytest.raises(InvalidRequest):  # text is checked too when there is no data
        await message(core.admin, task.id, MessageCreate(text="green"))
    with pytest.raises(QuestionAlreadyAnswered):
        await message(core.admin, task.id, MessageCreate(text="red", question_id="q_other"))
    assert await core.task(task.id) == waiting, "a refused reply changed the task"

    answered = await message(core.admin, task.id, MessageCreate(text="red"))
    assert answered.task.status == TaskStatus.WORKING
    with pytest.raises(QuestionAlreadyAnswered):
        await message(core.admin, task.id, MessageCreate(text="blue", question_id=question_id))


async def test_cancel_and_review_refuse_tasks_in_the_wrong_state(core: Core) -> None:
    tasks = core.service.tasks
    queued = await core.dispatch("noop")
    with pytest.raises(InvalidState, match="only a completed task can be accepted"):
        await tasks.accept(core.admin, queued.id, AcceptBody())
    with pytest.raises(InvalidState, match="only a completed task can be rejected"):
        await tasks.reject(core.admin, queued.id, RejectBody(reason="no"))
    await core.drain()

    with pytest.raises(InvalidState):
        await tasks.cancel(core.admin, queued.id)
    accepted = await tasks.accept(core.admin, queued.id, AcceptBody(rating=5))
    assert accepted.task.review_status == "accepted" and accepted.task.review is not None
    assert accepted.task.review["rating"] == 5
    with pytest.raises(InvalidState):
        await tasks.accept(core.admin, queued.id, AcceptBody())
    with pytest.raises(InvalidState):
        await tasks.reject(core.admin, queued.id, RejectBody(reason="changed my mind"))
    assert (await core.task(queued.id)).review_status == "accepted"

    canceled = await tasks.cancel(core.admin, (await core.dispatch("noop")).id)
    assert canceled.task.status == TaskStatus.CANCELED
    with pytest.raises(InvalidState):
        await tasks.cancel(core.admin, canceled.task.id)


async def test_reject_with_redo_runs_a_new_revision_with_the_feedback(core: Core) -> None:
    task = await core.dispatch("redoable", input={"topic": "tides"})
    assert await core.drain() == 1
    first = await core.task(task.id)
    assert first.deliverable == {"feedback_seen": None, "topic": "tides"}

    redo = await core.service.tasks.reject(
        core.admin, task.id, RejectBody(reason="add sources", redo=True)
    )
    assert redo.task.status == TaskStatus.SUBMITTED and redo.task.revision == 2
    assert redo.task.deliverable is None and redo.task.review_status is None
    assert await core.drain() == 1
    second = await core.task(task.id)
    assert second.status == TaskStatus.COMPLETED and second.revision == 2
    assert second.deliverable == {"feedback_seen": "add sources", "topic": "tides"}
    assert second.review_status == "pending"

    final = await core.service.tasks.reject(core.admin, task.id, RejectBody(reason="no"))
    assert final.task.review_status == "rejected" and final.task.status == TaskStatus.COMPLETED
    assert await core.drain() == 0, "a reject without redo ran the task again"


async def test_artifacts_are_found_by_name_and_unknown_ones_are_not(core: Core) -> None:
    task = await core.dispatch("big-artifact", input={"size": 5})
    await core.drain()
    record, path = await core.service.tasks.artifact(core.admin, task.id, "big.bin")
    assert record.size == 5 and path.read_bytes() == b"xxxxx"
    assert [a.name for a in (await core.service.tasks.get(core.admin, task.id)).artifacts] == [
        "big.bin"
    ]
    with pytest.raises(NotFound):
        await core.service.tasks.artifact(core.admin, task.id, "missing.bin")
    with pytest.raises(NotFound):
        await core.service.tasks.artifact(core.admin, "task_nope", "big.bin")


async def test_another_tenants_task_does_not_exist_for_the_caller(core: Core) -> None:
    task = await core.dispatch("asker")
    other = Caller(tenant_id="other", key_id="other-admin", role=Role.ADMIN)
    tasks, events = core.service.tasks, core.service.events
    attempts: dict[str, Callable[[], Awaitable[object]]] = {
        "get": lambda: tasks.get(other, task.id),
        "events": lambda: events.page(other, task.id),
        "stream": lambda: events.open_stream(other, task.id),
        "cancel": lambda: tasks.cancel(other, task.id),
        "message": lambda: tasks.message(other, task.id, MessageCreate(text="hi")),
        "accept": lambda: tasks.accept(other, task.id, AcceptBody()),
        "reject": lambda: tasks.reject(other, task.id, RejectBody(reason="no")),
        "artifact": lambda: tasks.artifact(other, task.id, "x"),
        "webhooks": lambda: tasks.webhook_deliveries(other, task.id),
    }
    for name, attempt in attempts.items():
        try:
            await attempt()
        except NotFound:
            continue
        pytest.fail(f"another tenant could {name} the task")
    assert (await core.store.tasks.page("other")).tasks == []
    assert await core.store.tasks.events_after("other", task.id, 0) == []
    assert (await core.task(task.id)).status == TaskStatus.SUBMITTED


async def test_long_poll_refuses_a_wait_above_the_maximum(core: Core) -> None:
    task = await core.dispatch("noop")
    with pytest.raises(InvalidRequest) as refused:
        await core.service.events.page(core.admin, task.id, wait=LONG_POLL_MAX_SECONDS + 1)
    assert refused.value.extra["field"] == "wait"


async def test_long_poll_answers_as_soon_as_the_worker_writes(core: Core) -> None:
    task = await core.dispatch("noop")
    page = await core.service.events.page(core.admin, task.id)
    assert [e["seq"] for e in page.events] == [1] and page.status == TaskStatus.SUBMITTED

    started = time.monotonic()
    poll = asyncio.create_task(
        core.service.events.page(core.admin, task.id, after=1, wait=LONG_POLL_MAX_SECONDS)
    )
    for _ in range(2000):  # the poll is waiting (subscribed) before the worker writes
        if core.service.events.followers:
            break
        await asyncio.sleep(0.005)
    assert core.service.events.followers, "the long-poll never started waiting"
    await core.drain()
    fresh = await asyncio.wait_for(poll, 10)
    assert time.monotonic() - started < 10
    assert fresh.events and fresh.events[0]["seq"] == 2
    assert fresh.events[0]["data"] == {"status": "working"}

    done = await core.service.events.page(core.admin, task.id, after=10_000, wait=20)
    assert done.events == [] and done.status == TaskStatus.COMPLETED  # no wait once finished
    assert time.monotonic() - started < 10


async def test_follow_yields_the_whole_log_in_order_and_ends_after_the_terminal_status(
    core: Core,
) -> None:
    task = await core.dispatch("noop")
    stream = await core.service.events.open_stream(core.admin, task.id)

    first_seen = asyncio.Event()

    async def collect() -> list[Event]:
        followed = []
        async for event in stream:
            if event is not HEARTBEAT:
                followed.append(event)
                first_seen.set()
        return followed

    following = asyncio.create_task(collect())
    await asyncio.wait_for(first_seen.wait(), 10)  # what follows arrives live
    await core.drain()
    followed = await asyncio.wait_for(following, 10)  # hangs if the stream never ends
    assert followed == await core.events(task.id), "the stream differs from the log"
    assert [e["seq"] for e in followed] == list(range(1, len(followed) + 1))
    assert await core.event_types(task.id) == [
        "status:submitted",
        "status:working",
        "step.started",
        "step.completed",
        "step.started",
        "step.completed",
        "deliverable",
        "status:completed",
    ]
    rest = [e async for e in core.service.events.follow(core.tenant_id, task.id, 3)]
    assert rest == followed[3:], "following from a seq skipped or repeated events"


async def test_a_follower_reads_events_it_was_not_told_about_from_the_log(core: Core) -> None:
    """A message written by another process (whose notifications this one never hears)
    leaves a gap before the next event this process is told about: the follower reads the
    gap from the log instead of skipping it."""
    task = await core.dispatch("noop")
    stream = await core.service.events.open_stream(core.admin, task.id)
    first = await anext(stream)
    assert first is not HEARTBEAT and first["seq"] == 1
    async with core.other_store() as other:
        await other.tasks.add_message(
            core.tenant_id, task.id, text="unheard", data=None, question_id=None
        )
    await core.service.tasks.message(core.admin, task.id, MessageCreate(text="heard"))
    await core.service.tasks.cancel(core.admin, task.id)
    async with asyncio.timeout(10):
        rest = [e async for e in stream if e is not HEARTBEAT]
    assert [(e["seq"], e["type"]) for e in rest] == [(2, "message"), (3, "message"), (4, "status")]
    assert [e["data"].get("text") for e in rest[:2]] == ["unheard", "heard"]


async def test_an_idempotent_replay_returns_the_first_task(core: Core) -> None:
    request = TaskCreate(agent="noop", goal="once", metadata={"n": 1})
    dispatch = core.service.tasks.dispatch
    first = await dispatch(core.admin, request, idempotency_key="k")
    await core.drain()
    replay = await dispatch(core.admin, request, idempotency_key="k")
    assert first.created and not replay.created
    assert replay.task.id == first.task.id
    assert replay.task.status == TaskStatus.COMPLETED, "the replay did not read the task"
    with pytest.raises(IdempotencyConflict):
        await dispatch(core.admin, TaskCreate(agent="noop", goal="other"), idempotency_key="k")
    other = await dispatch(core.admin, request, idempotency_key="k2")
    assert other.created and other.task.id != first.task.id
