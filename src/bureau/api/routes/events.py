"""`GET /v1/tasks/{id}/events`: the task's event log as JSON (long-poll) or SSE.

Both read the same log. Live events arrive from the notifier as hints carrying the
committed events; a subscriber uses them when they continue its sequence and otherwise
reads the gap from the database, so it sees every event once and in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from bureau.api.deps import CallerDep, NodeDep
from bureau.api.responses import OrjsonResponse
from bureau.errors import InvalidRequest
from bureau.node import Node
from bureau.store.sql.schema import TERMINAL_STATUSES

router = APIRouter(prefix="/v1", tags=["events"])
UNRELIABLE_POLL_SECONDS = 1.0  # re-read the log this often while notifications may be lost


class _Follower:
    """Buffers live events for one reader between its reads."""

    __slots__ = ("_node", "buffered", "signal", "unsubscribe")

    def __init__(self, node: Node, task_id: str) -> None:
        self._node = node
        self.buffered: list[dict[str, Any]] = []
        self.signal = asyncio.Event()
        self.unsubscribe = node.store.notifier.subscribe(f"task:{task_id}", self._on_events)
        node.drain_listeners.add(self.signal)

    @property
    def draining(self) -> bool:
        return self._node.draining.is_set()

    def close(self) -> None:
        self.unsubscribe()
        self._node.drain_listeners.discard(self.signal)

    def _on_events(self, new_events: Any) -> None:
        self.buffered.extend(new_events)
        self.signal.set()

    async def wait(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):  # no task per wake, unlike wait_for
                await self.signal.wait()
        self.signal.clear()
        return bool(self.buffered)

    def take(self, after: int) -> list[dict[str, Any]] | None:
        """Buffered events after `after`, or None if there is a gap to read from the log."""
        fresh = [e for e in self.buffered if e["seq"] > after]
        self.buffered = []
        if fresh and fresh[0]["seq"] != after + 1:
            return None
        return fresh


def _is_terminal(event: dict[str, Any]) -> bool:
    return event["type"] == "status" and event["data"].get("status") in TERMINAL_STATUSES


@router.get("/tasks/{task_id}/events", response_model=None)
async def task_events(
    task_id: str,
    request: Request,
    caller: CallerDep,
    node: NodeDep,
    after: Annotated[int, Query(ge=0)] = 0,
    wait: Annotated[float, Query(ge=0)] = 0,
    accept: Annotated[str | None, Header()] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> OrjsonResponse | StreamingResponse:
    store = node.store
    row = await store.task_row(caller.tenant_id, task_id)
    if accept is not None and "text/event-stream" in accept:
        start = after
        if last_event_id:
            if not last_event_id.isdigit():
                raise InvalidRequest("Last-Event-ID must be the integer seq of an event")
            start = int(last_event_id)
        return StreamingResponse(
            _sse(node, caller.tenant_id, task_id, start),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    if wait > node.settings.long_poll_max_seconds:
        raise InvalidRequest(
            f"wait must be at most {node.settings.long_poll_max_seconds:g} seconds"
        )
    found = await store.events_after(caller.tenant_id, task_id, after)
    if not found and wait > 0 and row.status not in TERMINAL_STATUSES:
        found = await _long_poll(node, caller.tenant_id, task_id, after, wait)
        row = await store.task_row(caller.tenant_id, task_id)
    return OrjsonResponse({"events": found, "status": row.status})


async def _long_poll(
    node: Node, tenant_id: str, task_id: str, after: int, wait: float
) -> list[dict[str, Any]]:
    """Wait up to `wait` seconds for events after `after` (polling if hints may be lost)."""
    store = node.store
    follower = _Follower(node, task_id)
    deadline = time.monotonic() + wait
    try:
        while True:
            found = await store.events_after(tenant_id, task_id, after)
            left = deadline - time.monotonic()
            if found or left <= 0 or follower.draining:
                return found
            patience = left if store.notifier.reliable else min(left, UNRELIABLE_POLL_SECONDS)
            await follower.wait(patience)
    finally:
        follower.close()


async def _sse(node: Node, tenant_id: str, task_id: str, last: int) -> AsyncIterator[bytes]:
    """The stream ends after the terminal status, or when the server begins to shut down
    (the client then resumes with `Last-Event-ID`, here after a restart or on a replica)."""
    store, heartbeat = node.store, node.settings.sse_heartbeat_seconds
    follower = _Follower(node, task_id)
    try:
        yield b"retry: 1000\n\n"
        last_write = time.monotonic()
        batch: list[dict[str, Any]] | None = await store.events_after(tenant_id, task_id, last)
        ended = False
        if not batch:
            row = await store.task_row(tenant_id, task_id)
            ended = row.status in TERMINAL_STATUSES
        while not ended:
            if batch is None:
                batch = await store.events_after(tenant_id, task_id, last)
            for event in batch:
                if event["seq"] <= last:
                    continue
                last = event["seq"]
                if event["type"] == "status":  # a later status (a redo) reopens the stream
                    ended = _is_terminal(event)
                last_write = time.monotonic()
                yield (
                    f"id: {event['seq']}\nevent: {event['type']}\ndata: ".encode()
                    + orjson.dumps(event)
                    + b"\n\n"
                )
            if ended:
                break
            batch = []
            while batch is not None and not batch:
                if follower.draining:
                    return
                reliable = store.notifier.reliable
                await follower.wait(heartbeat if reliable else UNRELIABLE_POLL_SECONDS)
                if follower.buffered:
                    batch = follower.take(last)  # None: a gap, read it from the log
                elif not reliable:
                    batch = None
                if time.monotonic() - last_write >= heartbeat:
                    yield b": ping\n\n"
                    last_write = time.monotonic()
    finally:
        follower.close()
