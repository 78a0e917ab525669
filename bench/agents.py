"""Agents used by the benchmarks (loaded with `bureau serve --agents bench/agents.py`).

Nothing here sleeps or does I/O inside a step: each agent isolates one cost of the engine.
"""

from __future__ import annotations

import asyncio
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
