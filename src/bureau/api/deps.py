"""Request dependencies: the node's services and the caller's identity."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from bureau.errors import Forbidden, Unauthenticated
from bureau.node import Node
from bureau.store.store import Store

WRITE_ROLES = frozenset({"admin", "publisher", "member"})
_CACHE_SECONDS = 10.0


@dataclass(frozen=True)
class Caller:
    """Who is calling: from the API key only, never from the request body."""

    tenant_id: str
    key_id: str
    role: str

    def require_write(self) -> None:
        if self.role not in WRITE_ROLES:
            raise Forbidden(f"an API key with role {self.role!r} may only read")

    def require_admin(self) -> None:
        if self.role != "admin":
            raise Forbidden("this needs an API key with role 'admin'")


async def get_node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


async def get_store(request: Request) -> Store:
    node: Node = request.app.state.node
    return node.store


async def get_caller(request: Request) -> Caller:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthenticated(
            "missing API key: send 'Authorization: Bearer <key>' (the admin key is in "
            "DATA_DIR/admin-key)"
        )
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <key>'")
    presented = presented.strip()
    cache: dict[str, tuple[float, Caller]] = request.app.state.key_cache
    hit = cache.get(presented)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    node: Node = request.app.state.node
    row: Any = await node.store.authenticate(presented)
    caller = Caller(tenant_id=row.tenant_id, key_id=row.id, role=row.role)
    if len(cache) > 10_000:
        cache.clear()
    cache[presented] = (time.monotonic() + _CACHE_SECONDS, caller)
    return caller


StoreDep = Annotated[Store, Depends(get_store)]
NodeDep = Annotated[Node, Depends(get_node)]
CallerDep = Annotated[Caller, Depends(get_caller)]
