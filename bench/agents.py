"""Agents used by the benchmarks (loaded with `bureau serve --agents bench/agents.py`).

Nothing here sleeps or does I/O inside a step, except `recover` (row g), which must be
caught mid-task: each agent isolates one cost of the engine.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from bureau import Context, agent


async def _nothing() -> int:
    return 1


@agent("noop", version="1.0.0", description="the work unit: two no-op journaled steps")
async def noop(ctx: Context) -> dict[str, Any]:
    a = await ctx.step("one", _nothing)
    b = await ctx.step("two", _nothing)
    return {"sum": a + b}


@agent("steps", version="1.0.0", description="times n journaled steps against n bare calls")
async def steps(ctx: Context) -> dict[str, Any]:
    """Row (d). The timings are measured inside the agent and returned as the deliverable,
    so they hold the engine's cost per step and nothing of HTTP."""
    n = int(ctx.input.get("n", 50))
    step_us: list[float] = []
    bare_us: list[float] = []
    for i in range(n):
        started = time.perf_counter()
        await _nothing()
        bare_us.append((time.perf_counter() - started) * 1e6)
        started = time.perf_counter()
        await ctx.step(f"s{i}", _nothing)
        step_us.append((time.perf_counter() - started) * 1e6)
    return {"step_us": step_us, "bare_us": bare_us}


@agent("asker", version="1.0.0", description="asks one question, then one step and done")
async def asker(ctx: Context) -> dict[str, Any]:
    """Row (e): parks in input-required; after the reply it runs one more step."""
    reply = await ctx.ask("continue?")
    after = await ctx.step("after", _nothing)
    return {"reply": reply, "after": after}


@agent("ticker", version="1.0.0", description="waits for a go, then emits timed progress")
async def ticker(ctx: Context) -> dict[str, Any]:
    """Row (f): parks until every subscriber is connected, then emits `count` progress
    events `interval` seconds apart; each message is the wall-clock time of its emission."""
    await ctx.ask("go?")
    count = int(ctx.input.get("count", 20))
    interval = float(ctx.input.get("interval", 0.1))
    for i in range(count):
        await asyncio.sleep(interval)
        await ctx.progress((i + 1) / count, f"{time.time():.6f}")
    return {"emitted": count}


def _log_line(log: str, task_id: str, step: str, attempt: int) -> float:
    """Append `task step pid attempt time` to the row's log (one short O_APPEND write)."""
    at = time.time()
    with open(log, "a") as handle:
        handle.write(f"{task_id} {step} {os.getpid()} {attempt} {at:.6f}\n")
    return at


async def _record(log: str, task_id: str, attempt: int) -> float:
    return _log_line(log, task_id, "record", attempt)


async def _hold(log: str, task_id: str, attempt: int, release: str, limit: float) -> float:
    """Log the (re)start of this step, then wait for the `release` file (at most `limit`
    seconds; async, so a hundred held tasks need no threads)."""
    started = _log_line(log, task_id, "hold", attempt)
    deadline = time.monotonic() + limit
    # another process creates the file: nothing in this loop to wait on but the clock
    while time.monotonic() < deadline and not os.path.exists(release):  # noqa: ASYNC110, ASYNC240
        await asyncio.sleep(0.05)
    return started


@agent("recover", version="1.0.0", description="logs its first step, then holds in its second")
async def recover(ctx: Context) -> dict[str, Any]:
    """Row (g): step one logs that it ran (it must run once per task, whatever happens
    later); step two logs each (re)start with the worker's pid and holds until the
    benchmark creates the release file, so a worker can be killed while it holds tasks."""
    log, release = str(ctx.input["log"]), str(ctx.input["release"])
    limit = float(ctx.input.get("limit", 120))
    recorded = await ctx.step("record", _record, log, ctx.task_id, ctx.attempt)
    held = await ctx.step("hold", _hold, log, ctx.task_id, ctx.attempt, release, limit)
    return {"recorded_at": recorded, "held_since": held}
