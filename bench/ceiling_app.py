"""The ceiling for row (b): a bare FastAPI endpoint that runs the two no-op calls as a
BackgroundTask. No durability, no database: nothing can be faster behind the same HTTP
stack (uvicorn with uvloop and httptools, orjson responses).

Run: `python bench/ceiling_app.py --port PORT`. `POST /v1/tasks` answers 202;
`GET /count` tells how many tasks finished.
"""

from __future__ import annotations

import argparse
import itertools

import orjson
import uvicorn
from fastapi import BackgroundTasks, FastAPI, Request
from fastapi.responses import Response

app = FastAPI()
ids = itertools.count(1)
done = {"count": 0}


async def _nothing() -> int:
    return 1


async def _two_steps() -> None:
    a = await _nothing()
    b = await _nothing()
    if a + b == 2:
        done["count"] += 1


def _json(value: object, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status_code=status, media_type="application/json")


@app.get("/healthz")
async def healthz() -> Response:
    return _json({"status": "ok"})


@app.post("/v1/tasks")
async def create(request: Request, background: BackgroundTasks) -> Response:
    body = orjson.loads(await request.body())
    background.add_task(_two_steps)
    return _json({"id": next(ids), "agent": body.get("agent"), "status": "submitted"}, 202)


@app.get("/count")
async def count() -> Response:
    return _json(done)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )
