"""Who calls a protocol door: the API key of every HTTP request, checked before the
protocol SDK sees the request.

The SDKs' own auth is shaped for OAuth (issuer URLs, protected-resource metadata); Bureau's
keys are bearer tokens, so this ASGI wrapper checks them with the service's `caller` (as
REST does: rate and body size counted, a suspended tenant refused) and answers a refusal
itself, as problem+json with REST's status (401 with `WWW-Authenticate`, 403, 413, 429).
The caller reaches the door's handlers in the ASGI scope (`scope[CALLER]`) and in a context
variable (`current_caller()`): an SDK that runs the handler in a task started from the
request inherits it.
"""

from __future__ import annotations

from contextvars import ContextVar

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bureau.api.errors import problem, status_of
from bureau.auth.caller import Caller
from bureau.errors import BureauError, Unauthenticated
from bureau.service import Service

CALLER = "bureau.caller"
_current: ContextVar[Caller] = ContextVar("bureau_door_caller")


def current_caller() -> Caller:
    """The caller of the request being handled (set by `BearerAuth`)."""
    return _current.get()


class BearerAuth:
    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        messages = await read_body(receive)
        headers = Headers(scope=scope)
        if len(headers.getlist("authorization")) > 1:
            # RFC 6750 3.1: ambiguous credentials are a malformed request, not the first one
            detail = "send one Authorization header, not several"
            refusal = problem(400, "invalid_request", "Invalid request", detail)
            refusal.headers["WWW-Authenticate"] = 'Bearer error="invalid_request"'
            await refusal(scope, receive, send)
            return
        authorization = headers.get("authorization")
        try:
            size = sum(len(m.get("body", b"")) for m in messages)
            caller = await self.service.caller(authorization, size)
        except BureauError as exc:
            refusal = problem(status_of(exc), exc.code, exc.title, exc.detail, **exc.extra)
            if isinstance(exc, Unauthenticated) and authorization:
                # RFC 6750: a credential was sent and is not valid (a missing one gets no code)
                refusal.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            await refusal(scope, receive, send)
            return
        client = scope.get("client")
        caller = caller.seen_at(client[0] if client else None, headers.get("x-request-id"))
        scope[CALLER] = caller
        buffered = iter(messages)

        async def replay() -> Message:
            return next(buffered, None) or await receive()

        token = _current.set(caller)
        try:
            await self.app(scope, replay, send)
        finally:
            _current.reset(token)


async def read_body(receive: Receive) -> list[Message]:
    """The request's messages up to the end of its body (the app gets them replayed): the
    body's size counts against the tenant's limit, chunked or not. `BodyLimit`, outside,
    has already refused what exceeds the server's limit."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages
