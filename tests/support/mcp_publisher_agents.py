"""Agents of a publisher tenant for `tests/e2e/test_mcp.py` (names of their own: an agent's
name belongs to the first tenant that publishes it, and the shared server outlives tests)."""

from __future__ import annotations

from typing import Any

from bureau import Context, agent


@agent("m-public", version="1.0.0", description="any tenant may hire it")
async def m_public(ctx: Context) -> dict[str, Any]:
    return {"ok": True}


@agent("m-private", version="1.0.0", description="for its own tenant only", visibility="private")
async def m_private(ctx: Context) -> dict[str, Any]:
    return {"ok": True}
