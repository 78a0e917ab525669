"""Agents of the core tests only (the shared ones are in `tests.support.agents`)."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from bureau import SLA, Context, Decline, Fatal, agent
from tests.support.agents import noop


@agent("core-tenth", version="1.0.0", description="costs 0.1", price="0.1")
async def core_tenth(ctx: Context) -> dict[str, Any]:
    return {"paid": "0.1", "goal": ctx.goal}


@agent("core-fifth", version="1.0.0", description="costs 0.2", price="0.2")
async def core_fifth(ctx: Context) -> dict[str, Any]:
    return {"paid": "0.2", "goal": ctx.goal}


@agent(
    "core-delegator",
    version="1.0.0",
    description="delegates to core-tenth and core-fifth in parallel",
    price="0.01",
)
async def core_delegator(ctx: Context) -> dict[str, Any]:
    children = await asyncio.gather(
        ctx.delegate("core-tenth", "first half"), ctx.delegate("core-fifth", "second half")
    )
    return {"children": children}


fast_only = dataclasses.replace(noop, name="core-fast-only", profiles=("fast",))
"""`noop` that offers only the `fast` profile."""


@agent(
    "core-fan-out",
    version="1.0.0",
    description="saves an artifact while delegating, in parallel",
)
async def core_fan_out(ctx: Context) -> dict[str, Any]:
    saved, child = await asyncio.gather(
        ctx.artifact("notes.bin", b"x" * 8_000_000), ctx.delegate("core-tenth", "part")
    )
    return {"saved": saved["size"], "child": child}


@agent(
    "core-judged",
    version="1.0.0",
    description="does what its goal says: complete, fail or decline",
    sla=SLA(expected_seconds=1, max_seconds=60),
)
async def core_judged(ctx: Context) -> dict[str, Any]:
    if ctx.goal == "fail":
        raise Fatal("the agent's own failure")
    if ctx.goal == "decline":
        raise Decline("I only do what my goal says")
    return {"done": ctx.goal}
