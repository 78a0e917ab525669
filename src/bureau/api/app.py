"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bureau import __version__
from bureau.api import errors, openapi
from bureau.api.bodies import Parser
from bureau.api.routes import agents, audit, events, health, keys, secrets, tasks
from bureau.interop import a2a, mcp
from bureau.node import Node

CLOSE = {"connection": "close"}
"""On an answer sent before the body was read: the rest of it is not waited for."""


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413, whether or not they are chunked,
    and bodies that take over `seconds` to arrive with 408: the body is read here (the
    routes read all of it anyway) and replayed to the app, so an oversized chunked body is
    refused before any parser sees it."""

    def __init__(self, app: ASGIApp, limit: int, seconds: float) -> None:
        self.app = app
        self.limit = limit
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _respond(send, self._too_large())
            return
        try:
            async with asyncio.timeout(self.seconds):
                messages = await self._read(receive)
        except TimeoutError:
            detail = f"the request body did not arrive within {self.seconds:g} seconds"
            timeout = errors.problem(408, "request_timeout", "Request timeout", detail, CLOSE)
            await _respond(send, timeout)
            return
        if messages is None:
            await _respond(send, self._too_large())
            return
        buffered = iter(messages)

        async def replay() -> Message:
            return next(buffered, None) or await receive()

        await self.app(scope, replay, send)

    def _too_large(self) -> Response:
        detail = (
            f"the request body is larger than {self.limit} bytes; send less "
            "(the limit is BUREAU_MAX_BODY_BYTES)"
        )
        return errors.problem(413, "payload_too_large", "Payload too large", detail, CLOSE)

    async def _read(self, receive: Receive) -> list[Message] | None:
        """The request's messages up to the end of its body; None past the limit."""
        messages: list[Message] = []
        seen = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages  # the client went away; the app hears it in order
            seen += len(message.get("body", b""))
            if seen > self.limit:
                return None
            if not message.get("more_body", False):
                return messages


async def _respond(send: Send, response: Response) -> None:
    await response({"type": "http"}, _empty_receive, send)


class NoSniff:
    """`X-Content-Type-Options: nosniff` on every response: a browser takes the declared
    media type (an artifact saved as text/plain is not run as HTML)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), NOSNIFF]
            await send(message)

        await self.app(scope, receive, with_header)


NOSNIFF = (b"x-content-type-options", b"nosniff")


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}


def create_app(node: Node, *, on_started: Callable[[Node], None] | None = None) -> FastAPI:
    """The API for `node`; the app's lifespan starts the node and stops it (draining the
    worker) when the server shuts down."""

    doors: list[AbstractAsyncContextManager[None]] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await node.start()
        # The OpenAPI document, built now off the loop: built by the first /openapi.json
        # request, it would hold the loop (and every other request) for a quarter second.
        document = asyncio.ensure_future(asyncio.to_thread(app.openapi))
        try:
            async with AsyncExitStack() as running:
                for door in doors:
                    await running.enter_async_context(door)
                if on_started is not None:
                    on_started(node)
                yield
        finally:
            await asyncio.gather(document, return_exceptions=True)
            app.state.parser.close()
            await node.stop()

    app = FastAPIOffline(  # /docs and /redoc with their assets served locally, no CDN
        title="Bureau",
        version=__version__,
        summary="Agent-as-a-Service: dispatch goals to agents, follow the work, "
        "pay per accepted result.",
        lifespan=lifespan,
        # No online validator: Swagger UI would load its badge from validator.swagger.io
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.node = node
    app.state.parser = Parser()
    errors.install(app)
    openapi.install(app, long_poll_max_seconds=node.settings.long_poll_max_seconds)
    routers = (health, agents, tasks, events, keys, audit, secrets)
    for module in routers if node.roles.api else (health,):
        app.include_router(module.router)
    if node.roles.api:
        for door in (a2a, mcp):
            running = door.install(app, node)
            if running is not None:
                doors.append(running)
    settings = node.settings
    app.add_middleware(
        BodyLimit, limit=settings.max_body_bytes, seconds=settings.request_timeout_seconds
    )
    app.add_middleware(NoSniff)  # added last: outermost, so the 413 above gets it too
    return app
