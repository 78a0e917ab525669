"""The A2A door: Bureau's agents over the A2A protocol (1.0, and 0.3 for older clients).

Each agent the caller may see answers at `/a2a/{agent}`: its card at
`/a2a/{agent}/.well-known/agent-card.json`, JSON-RPC at `/a2a/{agent}/jsonrpc`, HTTP+JSON
at `/a2a/{agent}/rest` (0.3 paths under `/rest/v1`). A card is the strict 1.0 document
unless the client asks for 0.3 (`A2A-Version: 0.3`, or the card under
`/a2a/{agent}/v0.3/`): then it also carries the 0.3 fields (`url`, `preferredTransport`,
...) that 0.3 clients read, which the 1.0 schema refuses. The SDK's route tables parse and
serialise; `BureauRequestHandler` maps each call onto the service. Everything under
`/a2a/` needs the bearer key (401 with `WWW-Authenticate: Bearer` before the SDK sees the
request), cards too: what a card shows is the caller's catalog. Bureau's own card at
`/.well-known/agent-card.json` is public and is a directory of the agents' cards.
"""

from __future__ import annotations

import hashlib
import json
import re
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

from a2a.server.context import ServerCallContext
from a2a.server.request_handlers.response_helpers import (
    agent_card_to_dict,
    build_error_response,
)
from a2a.server.routes import (
    DefaultServerCallContextBuilder,
    create_jsonrpc_routes,
    create_rest_routes,
)
from a2a.types import AgentCard
from a2a.utils.constants import A2A_JSON_MEDIA_TYPE
from a2a.utils.error_handlers import build_rest_error_payload
from a2a.utils.errors import (
    A2AError,
    ContentTypeNotSupportedError,
    InvalidParamsError,
    InvalidRequestError,
    TaskNotFoundError,
    VersionNotSupportedError,
)
from fastapi import FastAPI
from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]
from starlette.datastructures import Headers, State
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bureau.api._parsing import OutOfBounds, TooManyValues
from bureau.api.bodies import Parser
from bureau.api.errors import problem, status_of
from bureau.auth.caller import Caller
from bureau.errors import BureauError
from bureau.interop._a2a_cards import agent_card, platform_card
from bureau.interop._a2a_handler import BureauRequestHandler, bureau_errors
from bureau.interop._auth import CALLER, BearerAuth, read_body
from bureau.node import Node
from bureau.service import Service

CARD = "/.well-known/agent-card.json"
CARD_0_3 = "/v0.3" + CARD
A2A_JSON = A2A_JSON_MEDIA_TYPE.encode()


def install(app: FastAPI, node: Node) -> AbstractAsyncContextManager[None] | None:
    """Mount the door; it holds nothing to start or stop (streams end when the service
    drains), so no lifespan."""
    service = node.service
    handler = BureauRequestHandler(service)
    context = _ContextBuilder()
    routes = [
        Route(CARD, _AgentCard(service), methods=["GET"]),
        Route(CARD_0_3, _AgentCard(service), methods=["GET"]),
        *(
            route
            for url in ("/jsonrpc", "/jsonrpc/")  # some clients post to the URL plus "/"
            for route in create_jsonrpc_routes(
                handler, rpc_url=url, context_builder=context, enable_v0_3_compat=True
            )
        ),
        *create_rest_routes(
            handler, context_builder=context, enable_v0_3_compat=True, path_prefix="/rest"
        ),
    ]
    door = BearerAuth(_Binding(Router(routes), app.state, service), service)
    app.router.routes.append(Mount("/a2a/{agent}", app=door))
    app.router.routes.append(Route(CARD, _PlatformCard(service), methods=["GET"]))
    return None


def _base_url(request: Request) -> str:
    """The server's own URL as the client reached it (cards and artifact links use it)."""
    return f"{request.url.scheme}://{request.url.netloc}"


def _card_dict(request: Request, card: AgentCard) -> dict[str, Any]:
    """The card as the client's protocol version reads it: 1.0 unless it asked for 0.3."""
    version = request.headers.get("a2a-version", "").strip()
    if version == "0.3" or request.url.path.endswith(CARD_0_3):
        return agent_card_to_dict(card)
    body: dict[str, Any] = MessageToDict(card)
    return body


def _cached(
    request: Request, card: dict[str, Any], cache_control: str, modified: str | None = None
) -> Response:
    """A card with `Cache-Control`, a weak `ETag` (its content's hash) and, when known,
    `Last-Modified`; 304 when the client's `If-None-Match` holds it already."""
    body = json.dumps(card, separators=(",", ":"), ensure_ascii=False).encode()
    etag = f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"Cache-Control": cache_control, "ETag": etag, "Vary": "Authorization, A2A-Version"}
    if modified is not None:
        headers["Last-Modified"] = format_datetime(
            datetime.fromisoformat(modified).astimezone(UTC), usegmt=True
        )
    seen = request.headers.get("if-none-match", "")
    if etag in (tag.strip() for tag in seen.split(",")) or seen.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def _is_json(content_type: str) -> bool:
    kind = content_type.partition(";")[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


SPEC_STATUS = {"TASK_NOT_CANCELABLE": 409, "CONTENT_TYPE_NOT_SUPPORTED": 415}
"""HTTP+JSON statuses where the specification's table (section 5.4) differs from the SDK's
mapping (400 for both)."""


MAX_VALUES = 20_000
"""JSON values one A2A request may hold: the SDK decodes a body on the event loop (into
protobuf, about 13 µs a value), so a larger one is refused before it sees it; larger data
goes as a file or over REST."""
MAX_DEPTH = 40
"""Levels of nesting an A2A request may hold (a data part's own 32, and the envelope)."""
VERSION = re.compile(r"^\d{1,4}(\.\d{1,4}){0,2}$")
PARSE_ERROR = -32700
INTEGER = re.compile(r"^-?\d{1,9}$")
STREAMS_0_3 = re.compile(r"/rest/v1/(message:stream|tasks/(?P<task>[^/]+):subscribe)$")


class _Binding:
    """What the bindings' wire format asks beyond the SDK's routes (A2A 1.0), and what the
    SDK does not check before it decodes a request on the event loop:

    - media types (section 11.1, `application/json` for requests and responses): a request
      whose `Content-Type` is not JSON gets ContentTypeNotSupportedError (JSON-RPC -32005,
      HTTP+JSON 415) rather than a parse error, and HTTP+JSON answers are labelled
      `application/json` (the SDK labels them `application/a2a+json`, the media type
      section 14 registers, which section 11.1 does not name);
    - HTTP+JSON error statuses (section 5.4): 409 for TaskNotCancelableError and 415 for
      ContentTypeNotSupportedError, where the SDK answers 400;
    - bodies: parsed first (in the app's parser process when large) and refused when they
      are not JSON (-32700 / 400), hold more than `MAX_VALUES` values (413), nest deeper
      than `MAX_DEPTH`, hold a number out of range (-32602 / 400), or are not one JSON-RPC
      request (a batch, an id that is not a string or an integer, ...: -32600);
    - headers and query: an `A2A-Version` that is not a version number (-32009), and a
      `historyLength` or `pageSize` that is not an integer (400);
    - 0.3 streams over HTTP+JSON: the task and the scope are checked before the stream
      starts (the SDK's 0.3 adapter starts it first, then cuts it on any error).
    """

    def __init__(self, app: ASGIApp, state: State, service: Service) -> None:
        """`state.parser` is the app's body parser (set up with the app)."""
        self.app = app
        self.state = state
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rest = "/jsonrpc" not in scope["path"]
        try:
            self._check_headers(scope)
            parsed = None
            if scope["method"] == "POST":
                messages = await read_body(receive)
                body = b"".join(m.get("body", b"") for m in messages)
                if body or not rest:  # HTTP+JSON posts some calls (cancel) with no body
                    parsed = await self._parsed(body, rest)
                receive = _replaying(messages, receive)
            if rest and (stream := STREAMS_0_3.search(scope["path"])) is not None:
                await self._check_0_3_stream(scope, stream.group("task"), parsed)
        except _Refused as refused:
            await refused.response(rest)(scope, receive, send)
            return
        await self.app(scope, receive, self._relabelling(send, rest))

    def _check_headers(self, scope: Scope) -> None:
        headers = Headers(scope=scope)
        content_type = headers.get("content-type")
        if scope["method"] == "POST" and content_type is not None and not _is_json(content_type):
            raise _Refused(
                ContentTypeNotSupportedError(
                    f"send requests as Content-Type: application/json, not {content_type!r}"
                ),
                status=415,
            )
        version = headers.get("a2a-version", "").strip()
        if version and not VERSION.match(version):
            raise _Refused(
                VersionNotSupportedError(
                    f"A2A-Version {version[:20]!r} is not supported: it is not a version; this "
                    "server speaks 1.0 (send A2A-Version: 1.0) and 0.3 (no header)"
                )
            )
        for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1")):
            if name in ("historyLength", "pageSize") and not INTEGER.match(value):
                raise _Refused(InvalidParamsError(f"{name} must be an integer, not {value[:20]!r}"))

    async def _parsed(self, body: bytes, rest: bool) -> Any:
        try:
            parser: Parser = self.state.parser
            parsed = await parser.parse_bounded(body, MAX_VALUES, MAX_DEPTH)
        except TooManyValues:
            raise _Refused(
                InvalidRequestError(
                    f"the request holds more than {MAX_VALUES} JSON values; send large data as "
                    "a file, or dispatch over REST (POST /v1/tasks)"
                ),
                status=413,
            ) from None
        except OutOfBounds as exc:
            raise _Refused(InvalidParamsError(str(exc))) from None
        except (ValueError, RecursionError) as exc:
            detail = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]
            error = InvalidRequestError(f"the body is not JSON: {detail}")
            raise _Refused(error, parse_error=True) from None
        if rest:
            return parsed
        if not isinstance(parsed, dict):
            batch = "Batch requests are not supported" if isinstance(parsed, list) else ""
            raise _Refused(InvalidRequestError(batch or "send one JSON-RPC request object"))
        request_id = parsed.get("id")
        if isinstance(request_id, bool) or not isinstance(request_id, str | int | None):
            raise _Refused(InvalidRequestError("id must be a string, an integer or null"))
        if not isinstance(parsed.get("method"), str):
            raise _Refused(InvalidRequestError("method must be a string"), request_id)
        if not isinstance(parsed.get("params", {}), dict):
            raise _Refused(InvalidParamsError("params must be an object"), request_id)
        return parsed

    async def _check_0_3_stream(self, scope: Scope, task_id: str | None, parsed: Any) -> None:
        """Refuse a 0.3 stream before it starts: its task must be the caller's, of this
        endpoint's agent, and the caller must have the scope the call needs."""
        caller: Caller = scope[CALLER]
        agent = scope["path_params"]["agent"]
        if task_id is None and isinstance(parsed, dict):
            message = parsed.get("message")
            task_id = message.get("taskId") if isinstance(message, dict) else None
            operation = "tasks.message" if task_id else "tasks.dispatch"
        else:
            operation = "tasks.events"
        try:
            with bureau_errors():
                caller.require(operation)
                if isinstance(task_id, str):
                    detail = await self.service.tasks.get(caller, task_id)
                    if detail.task.agent != agent:
                        raise TaskNotFoundError(f"agent {agent!r} has no task {task_id!r}")
        except A2AError as error:
            raise _Refused(error) from None

    def _relabelling(self, send: Send, rest: bool) -> Send:
        held: Message | None = None
        body = b""

        async def relabelled(message: Message) -> None:
            nonlocal held, body
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (name, b"application/json" if value == A2A_JSON else value)
                    if name == b"content-type"
                    else (name, value)
                    for name, value in message["headers"]
                ]
                if rest and message["status"] == 400:
                    held = message  # an error: its reason may call for another status
                    return
            elif held is not None:
                body += message.get("body", b"")
                if message.get("more_body"):
                    return
                body = _restated(held, body)
                await send(held)
                message = {"type": "http.response.body", "body": body}
            await send(message)

        return relabelled


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """`receive` giving `messages` (read already) first."""
    buffered = iter(messages)

    async def replay() -> Message:
        return next(buffered, None) or await receive()

    return replay


class _Refused(Exception):
    """A request the door answers itself, with `error` in the binding's format."""

    def __init__(
        self,
        error: A2AError,
        request_id: str | int | None = None,
        status: int = 0,
        *,
        parse_error: bool = False,
    ) -> None:
        """`parse_error`: over JSON-RPC, the body is not JSON (-32700)."""
        super().__init__(error.message)
        self.error = error
        self.request_id = request_id
        self.status = status
        self.parse_error = parse_error

    def response(self, rest: bool) -> Response:
        if not rest and self.parse_error:  # the SDK's builder has no -32700 of its own
            error = {"code": PARSE_ERROR, "message": self.error.message}
            return JSONResponse({"jsonrpc": "2.0", "id": None, "error": error})
        if not rest:
            body = build_error_response(self.request_id, self.error)
            return JSONResponse(body, self.status if self.status == 413 else 200)
        payload = _respecified(build_rest_error_payload(self.error))
        return JSONResponse(payload, self.status or payload["error"]["code"])


def _respecified(payload: dict[str, Any]) -> dict[str, Any]:
    """An HTTP+JSON error payload with the specification's status for its reason."""
    error = payload.get("error")
    if isinstance(error, dict):
        for detail in error.get("details") or ():
            status = SPEC_STATUS.get(detail.get("reason", "") if isinstance(detail, dict) else "")
            if status is not None:
                error["code"] = status
    return payload


def _restated(start: Message, body: bytes) -> bytes:
    """The body of a 400 answer, restated with the specification's status (updating
    `start`'s status and content length) when its reason calls for one."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body
    if not isinstance(payload, dict):
        return body
    status = _respecified(payload).get("error", {}).get("code")
    if not isinstance(status, int) or status == start["status"]:
        return body
    restated = json.dumps(payload).encode()
    start["status"] = status
    start["headers"] = [
        (name, str(len(restated)).encode() if name == b"content-length" else value)
        for name, value in start["headers"]
    ]
    return restated


class _ContextBuilder(DefaultServerCallContextBuilder):
    """The SDK's call context (headers, for the `A2A-Version` check), plus the caller, the
    agent of the endpoint and the base URL for the handler."""

    def build(self, request: Request) -> ServerCallContext:
        context = super().build(request)
        context.state["caller"] = request.scope[CALLER]
        context.state["agent"] = request.path_params["agent"]
        context.state["base_url"] = _base_url(request)
        return context


class _AgentCard:
    """`GET /a2a/{agent}/.well-known/agent-card.json`: 404 for an agent the caller's
    catalog does not hold."""

    def __init__(self, service: Service) -> None:
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        caller: Caller = scope[CALLER]
        try:
            agent = await self.service.catalog.agent(caller, request.path_params["agent"])
        except BureauError as exc:
            response: Response = problem(status_of(exc), exc.code, exc.title, exc.detail)
        else:
            card = _card_dict(request, agent_card(agent, _base_url(request)))
            published = [v["created_at"] for v in agent["versions"] if v["created_at"]]
            response = _cached(request, card, "private, max-age=60", max(published, default=None))
        await response(scope, receive, send)


class _PlatformCard:
    """`GET /.well-known/agent-card.json`: Bureau's card, public; with a key (checked like
    any call) it lists the agents of the caller's catalog."""

    def __init__(self, service: Service) -> None:
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        authorization = request.headers.get("authorization")
        try:
            agents = []
            if authorization is not None:
                caller = await self.service.caller(authorization)
                agents = await self.service.catalog.agents(caller)
        except BureauError as exc:
            response: Response = problem(status_of(exc), exc.code, exc.title, exc.detail)
        else:
            card = _card_dict(request, platform_card(agents, _base_url(request)))
            cache = "private, max-age=60" if authorization else "public, max-age=300"
            response = _cached(request, card, cache)
        await response(scope, receive, send)
