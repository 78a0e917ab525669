"""How JSON request bodies are read: off the event loop when they are large.

FastAPI parses a JSON body with `request.json()` before any validation runs, on the event
loop. A small body parses in well under a millisecond; a large one made of many small values
takes as long as a second (16 MiB of them), and the parser holds the GIL, so a thread would
stall the loop just the same. Bodies above `INLINE_BYTES` are therefore parsed in a child
process, which also refuses more than `MAX_VALUES` values in all. A body nested too deeply
for the parser is a 422. The field bounds (depth, values, keys of `metadata`) are checked
afterwards by the request models (`service/requests.py`).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
from collections.abc import Callable, Coroutine
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from bureau.api._parsing import MAX_VALUES, TooManyValues, parse, parse_bounded

INLINE_BYTES = 64 * 1024
"""Bodies up to this size are parsed on the loop: at most a few milliseconds."""


class Parser:
    """The child process that parses large bodies: started on the first one, one per app
    (`app.state.parser`; bodies that large are rare: they wait their turn rather than
    multiply processes)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    async def parse(self, body: bytes) -> Any:
        if len(body) <= INLINE_BYTES:
            return json.loads(body)
        return await self._in_child(parse, body)

    async def parse_bounded(self, body: bytes, max_values: int, max_depth: int) -> Any:
        """`_parsing.parse_bounded`, in the child process for a large body."""
        if len(body) <= INLINE_BYTES:
            return parse_bounded(body, max_values, max_depth)
        return await self._in_child(parse_bounded, body, max_values, max_depth)

    async def _in_child(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=os.nice,  # below the server: a parse never takes its CPU
                initargs=(10,),
            )
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class JsonBodyRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = await self.app.state.parser.parse(await self.body())
            except TooManyValues:
                raise HTTPException(
                    413,
                    f"the body holds more than {MAX_VALUES} JSON values; send large data as a file",
                ) from None
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
