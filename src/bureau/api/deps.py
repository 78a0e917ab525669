"""Request dependencies: the node's service and the caller's identity.

The bearer scheme is declared through FastAPI's `HTTPBearer` so the OpenAPI document has a
security scheme (and `/docs` an Authorize button); the credential itself is checked by the
service's authenticator, which answers problem+json saying what to send.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bureau.auth.caller import Caller
from bureau.node import Node
from bureau.service import Service

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key, `bk_...`. `bureau serve` writes the admin key to "
    "`DATA_DIR/admin-key` on first start.",
)


async def get_node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


async def get_service(request: Request) -> Service:
    node: Node = request.app.state.node
    return node.service


async def get_caller(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Caller:
    node: Node = request.app.state.node
    if len(request.headers.getlist("authorization")) > 1:
        # RFC 6750 3.1: ambiguous credentials are a malformed request (as on the doors)
        raise HTTPException(400, "send one Authorization header, not several")
    caller = await node.service.caller(
        request.headers.get("authorization"), await _body_bytes(request)
    )
    address = request.client.host if request.client else None
    return caller.seen_at(address, request.headers.get("x-request-id"))


async def _body_bytes(request: Request) -> int:
    """The body's size: its Content-Length, or what a chunked body came to (read once, it
    is kept for the route)."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit():
        return int(length)
    if request.method in ("POST", "PUT", "PATCH"):
        return len(await request.body())
    return 0


NodeDep = Annotated[Node, Depends(get_node)]
ServiceDep = Annotated[Service, Depends(get_service)]
CallerDep = Annotated[Caller, Depends(get_caller)]
