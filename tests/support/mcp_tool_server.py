"""A small MCP server for the tests, built on the SDK's low-level `Server`.

`python mcp_tool_server.py http PORT TOKEN COUNTER_FILE`: streamable HTTP on
127.0.0.1:PORT at `/mcp`, answering 401 without `Authorization: Bearer TOKEN`.
`python mcp_tool_server.py stdio COUNTER_FILE`: over stdin/stdout.
`python mcp_tool_server.py docs PORT COUNTER_FILE GO_FILE`: streamable HTTP with no auth
and one more tool, `search` (for `tests/e2e/test_mcp_demo.py`).

Tools: `add` (structured `{"sum": a + b}`), `count` (appends a line to COUNTER_FILE, so a
test counts the calls that reached the server; returns `{"count": n}`), `fail` (an
`isError` result), `whoami` (the `TOKEN` environment variable: what a stdio server was
given). `search` (docs mode) appends `search <query>` to COUNTER_FILE, then, with
`"hold": true`, waits until GO_FILE exists; it answers two text passages and an embedded
markdown resource about the query, or an `isError` result for the query `broken`.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
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


SEARCH = types.Tool(
    name="search",
    description="Passages about a query",
    input_schema={
        "type": "object",
        "properties": {"query": {"type": "string"}, "hold": {"type": "boolean"}},
        "required": ["query"],
    },
)


def passages(query: str) -> list[types.TextContent | types.EmbeddedResource]:
    """What `search` answers: two passages and a note, each naming the query."""
    return [
        types.TextContent(
            type="text",
            text=f"Passage one about {query}: the Lillehammer pilot fitted 120 homes in 2024. "
            "Their heating bills fell by a third over the first winter.",
        ),
        types.TextContent(
            type="text",
            text=f"Passage two about {query}: installers in Tromsø reported a waiting list "
            "of six weeks. The council plans a second round of grants in March.",
        ),
        types.EmbeddedResource(
            type="resource",
            resource=types.TextResourceContents(
                uri="memo://notes/field-note.md",
                mime_type="text/markdown",
                text=f"# Field note\n\nThe field team checked {query} in twelve villages. "
                "Every village asked for a follow-up visit in autumn.\n",
            ),
        ),
    ]


def _record_and_hold(counter: Path, go: Path, query: str, hold: bool) -> None:
    with counter.open("a") as out:
        out.write(f"search {query}\n")
    while hold and not go.exists():
        time.sleep(0.05)


async def _search(counter: Path, go: Path, arguments: dict[str, Any]) -> types.CallToolResult:
    query = str(arguments.get("query", ""))
    await asyncio.to_thread(_record_and_hold, counter, go, query, bool(arguments.get("hold")))
    if query == "broken":
        return types.CallToolResult(
            content=[types.TextContent(type="text", text="the index is being rebuilt")],
            is_error=True,
        )
    return types.CallToolResult(content=list(passages(query)))


def _count(counter: Path) -> int:
    with counter.open("a") as out:
        out.write("call\n")
    return len(counter.read_text().splitlines())


def build(counter: Path, go: Path | None = None) -> Server[Any]:
    """The server; with a GO_FILE (docs mode) it also has `search`."""
    tools = [*TOOLS, SEARCH] if go is not None else TOOLS

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        arguments = params.arguments or {}
        if params.name == "search" and go is not None:
            return await _search(counter, go, arguments)
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


def serve_http(port: int, token: str | None, counter: Path, go: Path | None = None) -> None:
    """Serve on 127.0.0.1:PORT; `token` None: no auth (docs mode)."""
    import uvicorn

    manager = StreamableHTTPSessionManager(app=build(counter, go), stateless=True)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            yield

    endpoint: ASGIApp = StreamableHTTPASGIApp(manager)
    if token is not None:
        endpoint = BearerOnly(endpoint, token)
    app = Starlette(routes=[Route("/mcp", endpoint=endpoint)], lifespan=lifespan)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


async def serve_stdio(counter: Path) -> None:
    server = build(counter)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    if sys.argv[1] == "http":
        serve_http(int(sys.argv[2]), sys.argv[3], Path(sys.argv[4]))
    elif sys.argv[1] == "docs":
        serve_http(int(sys.argv[2]), None, Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        asyncio.run(serve_stdio(Path(sys.argv[2])))
