"""`GET /v1/tasks/{id}/events`: the task's event log as JSON (long-poll) or SSE."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from bureau.api.deps import CallerDep, ServiceDep
from bureau.api.problems import AUTHENTICATED, problems
from bureau.api.responses import OrjsonResponse
from bureau.errors import InvalidRequest
from bureau.service import HEARTBEAT
from bureau.store.records import Event
from bureau.store.views import EventList

MAX_SEQ = 2**62
router = APIRouter(prefix="/v1", tags=["events"], responses=problems(*AUTHENTICATED))

SSE_DOC = {
    "description": "With `Accept: application/json` (the default): the events after `after` "
    "(`wait` seconds of long-poll when there are none yet). With `Accept: text/event-stream`: "
    "Server-Sent Events, one per log entry (`id:` is its `seq`, `event:` its type, `data:` "
    "the Event as JSON), a `: ping` comment at least every 15 s, ending after the terminal "
    "status; reconnect with `Last-Event-ID` to resume on any replica.",
    "content": {
        "text/event-stream": {
            "schema": {"type": "string"},
            "example": 'id: 3\nevent: progress\ndata: {"seq":3,"type":"progress",...}\n\n',
        }
    },
}


@router.get(
    "/tasks/{task_id}/events",
    response_model=EventList,
    responses={200: SSE_DOC, **problems(404)},
)
async def task_events(
    task_id: str,
    request: Request,
    caller: CallerDep,
    service: ServiceDep,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ, description="Events with a greater `seq`")] = 0,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=3600,
            description="Long-poll seconds (at most the server's `BUREAU_LONG_POLL_MAX_SECONDS`)",
        ),
    ] = 0,
    last_event_id: Annotated[
        str | None, Header(max_length=20, description="SSE resume point (a `seq`)")
    ] = None,
) -> OrjsonResponse | StreamingResponse:
    if "text/event-stream" in request.headers.get("accept", ""):
        start = after
        if last_event_id:
            if not (last_event_id.isascii() and last_event_id.isdigit()):
                raise InvalidRequest("Last-Event-ID must be the integer seq of an event")
            start = int(last_event_id)
            if start > MAX_SEQ:
                raise InvalidRequest(f"Last-Event-ID must be at most {MAX_SEQ}")
        events = await service.events.open_stream(caller, task_id, after=start)
        return StreamingResponse(
            _sse(events),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    page = await service.events.page(caller, task_id, after=after, wait=wait)
    return OrjsonResponse({"events": page.events, "status": page.status})


async def _sse(events: AsyncIterator[Event | None]) -> AsyncIterator[bytes]:
    yield b"retry: 1000\n\n"
    async for event in events:
        if event is HEARTBEAT:
            yield b": ping\n\n"
            continue
        yield (
            f"id: {event['seq']}\nevent: {event['type']}\ndata: ".encode()
            + orjson.dumps(event)
            + b"\n\n"
        )
