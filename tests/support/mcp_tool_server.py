"""A small MCP server for the tests, built on the SDK's low-level `Server`.

`python mcp_tool_server.py http PORT TOKEN COUNTER_FILE`: streamable HTTP on
127.0.0.1:PORT at `/mcp`, answering 401 without `Authorization: Bearer TOKEN`.
`python mcp_tool_server.py stdio COUNTER_FILE`: over stdin/stdout.

Tools: `add` (structured `{"sum": a + b}`), `count` (appends a line to COUNTER_FILE, so a
test counts the calls that reached the server; returns `{"count": n}`), `fail` (an
`isError` result), `whoami` (the `TOKEN` environment variable: what a stdio server was
given).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

OBJECT = {"type": "object"}
TOOLS = [
    types.Tool(
        name="add",
        description="Add two numbers",
        input_schema={
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"],
        },
    ),
    types.Tool(name="count", description="Count this call", input_schema=OBJECT),
    types.Tool(name="fail", description="Always fails", input_schema=OBJECT),
    types.Tool(name="whoami", description="The TOKEN this server runs with", input_schema=OBJECT),
]


def _count(counter: Path) -> int:
    with counter.open("a") as out:
        out.write("call\n")
    return len(counter.read_text().splitlines())


def build(counter: Path) -> Server[Any]:
    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=TOOLS)

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        arguments = params.arguments or {}
        if params.name == "add":
            result: dict[str, Any] = {"sum": arguments["a"] + arguments["b"]}
        elif params.name == "count":
            result = {"count": _count(counter)}
        elif params.name == "whoami":
            return types.CallToolResult(
                content=[types.TextContent(type="text", text=os.environ.get("TOKEN", ""))]
            )
        else:
            return types.CallToolResult(
                content=[types.TextContent(type="text", text="boom: this tool always fails")],
                is_error=True,
            )
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(result))],
            structured_content=result,
        )

    return Server("test-tools", version="1.0.0", on_list_tools=list_tools, on_call_tool=call_tool)


class BearerOnly:
    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", []))
        if headers.get(b"authorization", b"").decode() != f"Bearer {self.token}":
            response = JSONResponse({"error": "invalid_token"}, status_code=401)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def serve_http(port: int, token: str, counter: Path) -> None:
    import uvicorn

    manager = StreamableHTTPSessionManager(app=build(counter), stateless=True)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            yield

    app = Starlette(
        routes=[Route("/mcp", endpoint=BearerOnly(StreamableHTTPASGIApp(manager), token))],
        lifespan=lifespan,
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


async def serve_stdio(counter: Path) -> None:
    server = build(counter)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    if sys.argv[1] == "http":
        serve_http(int(sys.argv[2]), sys.argv[3], Path(sys.argv[4]))
    else:
        asyncio.run(serve_stdio(Path(sys.argv[2])))
