"""Agents of a publisher tenant, served by a worker that runs with the publisher's key
(`tests/e2e/test_publishers.py`)."""

from __future__ import annotations

from typing import Any

from bureau import Context, agent


@agent("p-echo", version="1.0.0", description="counts its input's keys", price="0.25")
async def p_echo(ctx: Context) -> dict[str, Any]:
    if ctx.goal == "fail":
        raise RuntimeError("p-echo was told to fail")
    counted = await ctx.step("count", lambda: len(ctx.input))
    return {"keys": counted, "mirrored": ctx.input}


@agent("p-private", version="1.0.0", description="for its own tenant only", visibility="private")
async def p_private(ctx: Context) -> dict[str, Any]:
    return {"ok": True}
