"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bureau import __version__
from bureau.api import errors, openapi
from bureau.api.routes import agents, events, health, tasks
from bureau.errors import PayloadTooLarge
from bureau.node import Node


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413, whether or not they are chunked."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        seen = 0
        refused = False

        async def limited() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    refused = True
                    raise PayloadTooLarge(self._detail())
            return message

        await self.app(scope, limited, send)

    def _detail(self) -> str:
        return (
            f"the request body is larger than {self.limit} bytes; send less "
            "(the limit is BUREAU_MAX_BODY_BYTES)"
        )

    async def _refuse(self, send: Send) -> None:
        response = errors.problem(413, "payload_too_large", "Payload too large", self._detail())
        await response({"type": "http"}, _empty_receive, send)


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}


def create_app(node: Node, *, on_started: Callable[[Node], None] | None = None) -> FastAPI:
    """The API for `node`; the app's lifespan starts the node and stops it (draining the
    worker) when the server shuts down."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await node.start()
        if on_started is not None:
            on_started(node)
        try:
            yield
        finally:
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
    errors.install(app)
    openapi.install(app, long_poll_max_seconds=node.settings.long_poll_max_seconds)
    for module in (health, agents, tasks, events) if node.roles.api else (health,):
        app.include_router(module.router)
    app.add_middleware(BodyLimit, limit=node.settings.max_body_bytes)
    return app
