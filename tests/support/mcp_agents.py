"""Agents that use MCP tools, for `tests/e2e/test_mcp_tools.py`.

The test's MCP server is named by the environment of the Bureau process (declarations are
read at import): `MCP_TEST_URL` (streamable HTTP), `MCP_TEST_COUNTER` (the stdio server's
counter file), `MCP_TEST_GO` (a file the crash test creates to let `mcp-crash` go on).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

from bureau import Context, MCPServer, RetryPolicy, ToolError, agent

URL = os.environ.get("MCP_TEST_URL", "http://127.0.0.1:9/mcp")
TOOLS = MCPServer(url=URL, headers={"Authorization": "Bearer ${secret:TOOLS_TOKEN}"})
SERVER_SCRIPT = str(Path(__file__).with_name("mcp_tool_server.py"))


@agent("mcp-counter", mcp_servers={"tools": TOOLS})
async def counter(ctx: Context) -> dict[str, Any]:
    """Counts once, asks (the task parks), counts again, adds, and meets a failing tool."""
    listed = await ctx.mcp_tools("tools")
    first = await ctx.call_tool("tools", "count")
    answer = await ctx.ask("go on?")
    second = await ctx.call_tool("tools", "count")
    total = await ctx.call_tool("tools", "add", {"a": 2, "b": 3})
    try:
        await ctx.call_tool("tools", "fail")
        failed = None
    except ToolError as exc:
        failed = str(exc)
    return {
        "tools": sorted(t["name"] for t in listed),
        "first": first,
        "second": second,
        "sum": total,
        "failed": failed,
        "answer": answer,
    }


@agent("mcp-crash", mcp_servers={"tools": TOOLS})
async def crash(ctx: Context) -> dict[str, Any]:
    """Counts, waits for the go file (the test kills the server meanwhile), counts again."""
    first = await ctx.call_tool("tools", "count")
    await asyncio.to_thread(_wait_for, Path(os.environ["MCP_TEST_GO"]))
    second = await ctx.call_tool("tools", "count")
    return {"first": first, "second": second}


def _wait_for(path: Path) -> None:
    while not path.exists():
        time.sleep(0.05)


@agent(
    "mcp-missing",
    mcp_servers={"tools": MCPServer(url=URL, headers={"Authorization": "${secret:NOT_STORED}"})},
)
async def missing(ctx: Context) -> Any:
    return await ctx.call_tool("tools", "count")


@agent(
    "mcp-down",
    retry=RetryPolicy(max_attempts=1),
    mcp_servers={"down": MCPServer(url="http://127.0.0.1:9/mcp")},  # the discard port
)
async def down(ctx: Context) -> Any:
    return await ctx.mcp_tools("down")


@agent("mcp-refused", mcp_servers={"inside": MCPServer(url="http://10.1.2.3:8080/mcp")})
async def refused(ctx: Context) -> Any:
    return await ctx.mcp_tools("inside")


@agent(
    "mcp-stdio",
    mcp_servers={
        "local": MCPServer(
            command=[
                sys.executable,
                SERVER_SCRIPT,
                "stdio",
                os.environ.get("MCP_TEST_COUNTER", os.devnull),
            ],
            env={"TOKEN": "${secret:TOOLS_TOKEN}"},
        )
    },
)
async def stdio(ctx: Context) -> dict[str, Any]:
    listed = await ctx.mcp_tools("local")
    return {
        "tools": sorted(t["name"] for t in listed),
        "token": await ctx.call_tool("local", "whoami"),
        "sum": await ctx.call_tool("local", "add", {"a": 1, "b": 1}),
    }
