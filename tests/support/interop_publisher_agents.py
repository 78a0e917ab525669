"""A private agent of tenant A for `tests/e2e/test_interop_tenancy.py`, served by a worker
that runs with A's publisher key (a name of its own: an agent's name belongs to the first
tenant that publishes it)."""

from __future__ import annotations

from typing import Any

from bureau import Context, agent


@agent("it-private", version="1.0.0", description="tenant A's own", visibility="private")
async def it_private(ctx: Context) -> dict[str, Any]:
    return {"ok": True}
