"""`bureau.testing`: publishers run agents in-process with the engine's replay model."""

import asyncio
from typing import Any

import pytest

from bureau import Context, DelegationFailed, Fatal, RetryPolicy, UsageError, agent
from bureau.testing import run_agent

calls: list[str] = []


@agent("child", version="1.0.0")
async def child(ctx: Context) -> dict[str, Any]:
    return {"echo": ctx.goal}


@agent("failing-child", version="1.0.0", retry=RetryPolicy(max_attempts=1))
async def failing_child(ctx: Context) -> None:
    raise Fatal("nope")


@agent("demo", version="1.0.0", input_schema={"type": "object"})
async def demo(ctx: Context) -> dict[str, Any]:
    await ctx.plan(["count", "ask", "delegate"])
    counted = await ctx.step("count", lambda: calls.append("count") or len(calls))
    color = await ctx.ask("Which color?")
    children = await asyncio.gather(ctx.delegate("child", "a"), ctx.delegate("child", "b"))
    await ctx.artifact("out.txt", f"{color}")
    return {"counted": counted, "color": color, "children": children}


async def test_a_run_replays_without_repeating_steps() -> None:
    calls.clear()
    result = await run_agent(demo, "go", replies=["blue"], delegates={"child": child})
    assert result.status == "completed"
    assert result.deliverable == {
        "counted": 1,
        "color": "blue",
        "children": [{"echo": "a"}, {"echo": "b"}],
    }
    assert calls == ["count"], "a journaled step ran again on replay"
    assert result.executions == 3  # first run, after the reply, after both children
    assert result.artifacts == {"out.txt": b"blue"}
    assert result.event_types().count("step.completed") == 1


async def test_an_unanswered_question_leaves_the_run_waiting() -> None:
    result = await run_agent(demo, "go")
    assert result.status == "input-required"
    assert result.question is not None and result.question["text"] == "Which color?"


async def test_a_failed_child_raises_delegation_failed() -> None:
    @agent("parent-of-failure", version="1.0.0")
    async def parent(ctx: Context) -> str:
        try:
            await ctx.delegate("failing-child", "x")
        except DelegationFailed as exc:
            return f"child {exc.status}"
        return "unexpected"

    result = await run_agent(parent, "x", delegates={"failing-child": failing_child})
    assert result.deliverable == "child failed"


async def test_replay_detects_non_determinism() -> None:
    flips = iter([True, False])

    @agent("wobbly", version="1.0.0")
    async def wobbly(ctx: Context) -> None:
        if next(flips):
            await ctx.step("a", lambda: 1)
        else:
            await ctx.progress(0.5)
        await ctx.ask("again?")

    result = await run_agent(wobbly, "x", replies=["yes"])
    assert result.status == "failed"
    assert "deterministic" in (result.error or "")


def test_bad_declarations_fail_early_with_a_clear_message() -> None:
    with pytest.raises(UsageError, match="lowercase"):
        agent("Bad Name")
    with pytest.raises(UsageError, match="semver"):
        agent("ok", version="1")
    with pytest.raises(UsageError, match="decimal"):
        agent("ok", price="free")
