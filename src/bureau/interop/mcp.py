"""The MCP door: `/mcp`, a Model Context Protocol server where each agent is a tool.

Built on the official `mcp` SDK's low-level `Server` (its tool list is computed per caller)
and its Streamable HTTP transport, stateless: every request carries what it needs, so any
replica behind a plain load balancer answers any request. It serves the 2026-07-28 protocol
(no handshake, no session) and handshake-era clients (2025-11-25 and older) on the same
URL, told apart by the `MCP-Protocol-Version` header. Responses stream as SSE when a call
sends progress.

Authentication is Bureau's API key as a bearer token (`_auth`); tools (`_mcp_tools`)
and the tasks extension (`_mcp_tasks`) call the service layer with the caller, which checks
scopes and tenancy as it does for REST. The door keeps no state of its own.
"""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from typing import Any

import mcp_types as types
from fastapi import FastAPI
from mcp.server import Server, ServerRequestContext
from mcp.server.context import CallNext, HandlerResult
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bureau import __version__
from bureau.api._parsing import MAX_VALUES, TooManyValues
from bureau.api.bodies import Parser
from bureau.errors import BureauError
from bureau.interop._auth import BearerAuth, read_body
from bureau.interop._mcp_render import protocol_error
from bureau.interop._mcp_tasks import TaskIdParams, TaskMethods, UpdateTaskParams
from bureau.interop._mcp_tools import TASKS_EXTENSION, Tools
from bureau.node import Node
from bureau.service import Service

log = logging.getLogger("bureau.mcp")

INSTRUCTIONS = (
    "Each tool named like an agent dispatches a task to that agent: pass `goal` and the "
    "agent's input. The call waits for the deliverable, sending progress; if the task asks a "
    "question, the result says so and bureau_reply answers it. For long work, use the "
    "io.modelcontextprotocol/tasks extension, or bureau_dispatch and bureau_get_task."
)


def install(app: FastAPI, node: Node) -> AbstractAsyncContextManager[None]:
    """Add `/mcp` to `app`; the returned context manager runs the transport's task group
    (the app's lifespan enters it)."""
    manager = StreamableHTTPSessionManager(
        app=build_server(node.service), stateless=True, json_response=False
    )
    # A Route, not a Mount: a Mount answers `/mcp` with a redirect to `/mcp/`. POST only:
    # a stateless server has no stream to offer on GET (the SDK's legacy transport would
    # hold one open for ever, and answer a GET with `Last-Event-ID` with no response).
    transport = StreamableHTTPASGIApp(manager)
    envelope = _Envelope(transport, app.state.parser, manager.max_request_body_size)
    endpoint = BearerAuth(envelope, node.service)
    app.router.routes.append(Route("/mcp", endpoint=endpoint, methods=["POST"]))
    return manager.run()


class _Envelope:
    """What the SDK does not check before it parses a body on the event loop: a large body
    is parsed first in the app's parser process, as REST's are, and one of more than
    `MAX_VALUES` JSON values is refused (413) rather than parsed on the loop; a request
    whose `id` is neither a string nor an integer is refused (400) rather than taken for a
    notification and answered 202, which leaves the client waiting for ever."""

    def __init__(self, app: ASGIApp, parser: Parser, limit: int) -> None:
        self.app = app
        self.parser = parser
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        messages = await read_body(receive)
        body = b"".join(m.get("body", b"") for m in messages)
        refusal = await self._refusal(body)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        buffered = iter(messages)

        async def replay() -> Message:
            return next(buffered, None) or await receive()

        await self.app(scope, replay, send)

    async def _refusal(self, body: bytes) -> JSONResponse | None:
        if len(body) > self.limit:
            return None  # the SDK refuses it unparsed (413)
        try:
            envelope = await self.parser.parse(body)
        except TooManyValues:
            message = f"the body holds more than {MAX_VALUES} JSON values; send less"
            return _rpc_error(413, types.INVALID_REQUEST, message)
        except (ValueError, RecursionError):
            return None  # not JSON: the SDK answers it with a parse error
        if isinstance(envelope, dict) and "id" in envelope:
            request_id = envelope["id"]
            if isinstance(request_id, bool) or not isinstance(request_id, str | int):
                return _rpc_error(400, types.INVALID_REQUEST, "id must be a string or an integer")
        return None


def _rpc_error(status: int, code: int, message: str) -> JSONResponse:
    error = {"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}
    return JSONResponse(error, status_code=status)


def build_server(service: Service) -> Server[Any]:
    """The MCP server of `service`: tools, the tasks extension, and Bureau's errors as
    JSON-RPC errors."""
    tools = Tools(service)
    tasks = TaskMethods(service)
    server: Server[Any] = Server(
        "bureau",
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=tools.list_tools,
        # Arguments are checked by the service against the agent's schema; no tool declares
        # `x-mcp-header` parameters, so the SDK need not list the tools again to check any.
        get_tool_input_schema=lambda _name: None,
    )
    # Registered here rather than as `on_call_tool`, whose type has no room for the tasks
    # extension's `CreateTaskResult` (a plain dict the SDK passes through on 2026-07-28).
    server.add_request_handler("tools/call", types.CallToolRequestParams, tools.call_tool)
    server.add_request_handler("tasks/get", TaskIdParams, tasks.get)
    server.add_request_handler("tasks/update", UpdateTaskParams, tasks.update)
    server.add_request_handler("tasks/cancel", TaskIdParams, tasks.cancel)
    server.extensions[TASKS_EXTENSION] = {}
    server.middleware.append(_errors)
    return server


async def _errors(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Bureau's errors as JSON-RPC errors with their message (a missing scope says which);
    an unexpected one is logged and answered without its details (the legacy transport
    would otherwise send the exception's text)."""
    try:
        return await call_next(ctx)
    except BureauError as exc:
        raise protocol_error(exc) from None
    except (MCPError, ValidationError):
        raise
    except Exception:
        log.exception("unexpected error in MCP %s", ctx.method)
        raise MCPError(
            types.INTERNAL_ERROR, "an unexpected error occurred; it has been logged"
        ) from None
