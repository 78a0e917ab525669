"""How JSON request bodies are read: the standard parser, behind two cheap checks.

FastAPI parses a JSON body with `request.json()` before any validation runs. A body made of
a million keys takes seconds to parse, on the event loop, and one nested a thousand levels
deep exhausts the parser's recursion; both are refused here, before or instead of a parse
that would stall every other request. The field bounds (depth, values, keys of `metadata`)
are checked afterwards by the request models (`service/requests.py`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

MAX_KEYS = 100_000
"""Object keys one body may hold (counted as `":` before parsing: a few ms for 16 MiB)."""


class JsonBodyRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            if body.count(b'":') > MAX_KEYS:
                raise HTTPException(
                    413, f"the body has more than {MAX_KEYS} object keys; send less"
                )
            try:
                self._json = json.loads(body)
            except RecursionError:
                raise HTTPException(
                    422, "the body is nested too deeply; fields allow at most 32 levels"
                ) from None
        return self._json


class JsonBodyRoute(APIRoute):
    """A route whose JSON body is read by `JsonBodyRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            return await handler(JsonBodyRequest(request.scope, request.receive))

        return handle
