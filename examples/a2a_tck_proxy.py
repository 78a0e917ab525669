"""A reverse proxy that adds Bureau's bearer key, FOR RUNNING THE A2A COMPATIBILITY KIT ONLY.

The A2A TCK sends no `Authorization` header, and every call under Bureau's `/a2a/` needs
the key. Rather than weaken Bureau's auth, run the kit against this proxy: it forwards each
request to Bureau with `Authorization: Bearer <key>` added, streams the answer back (SSE
included) and rewrites Bureau's URL to its own in agent cards, so the kit's clients come
back through it. Anyone who can reach the proxy acts with the key: bind it to 127.0.0.1
and stop it when the kit is done.

    BUREAU_API_KEY=... python examples/a2a_tck_proxy.py --bureau http://127.0.0.1:8000 \\
        --port 8001
    ./run_tck.py --sut-host http://127.0.0.1:8001/a2a/a2a-conformance
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "authorization",
    "date",
    "server",
}


def proxy_app(bureau: str, key: str) -> Starlette:
    """The proxy as an ASGI app: every path and method forwarded to `bureau`."""
    bureau = bureau.rstrip("/")
    client = httpx.AsyncClient(timeout=httpx.Timeout(60.0, read=None))

    async def forward(request: Request) -> Response:
        own = f"{request.url.scheme}://{request.url.netloc}"
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        headers.append(("authorization", f"Bearer {key}"))
        upstream = client.build_request(
            request.method,
            bureau + request.url.path,
            params=request.url.query,
            headers=headers,
            content=await request.body(),
        )
        answer = await client.send(upstream, stream=True)
        out = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
        if request.url.path.endswith("agent-card.json"):  # cards name their endpoints
            out.pop("content-encoding", None)  # read decoded
            body = (await answer.aread()).replace(bureau.encode(), own.encode())
            await answer.aclose()
            return Response(body, status_code=answer.status_code, headers=out)

        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in answer.aiter_raw():
                yield chunk

        return StreamingResponse(
            chunks(),
            status_code=answer.status_code,
            headers=out,
            background=BackgroundTask(answer.aclose),
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with client:
            yield

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
    routes = [Route("/{path:path}", forward, methods=methods)]
    return Starlette(routes=routes, lifespan=lifespan)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bureau", default="http://127.0.0.1:8000", help="Bureau's URL")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--key", default=os.environ.get("BUREAU_API_KEY"), help="a Bureau key")
    args: Any = parser.parse_args(argv)
    if not args.key:
        parser.error("give the key with --key or BUREAU_API_KEY")
    uvicorn.run(proxy_app(args.bureau, args.key), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
