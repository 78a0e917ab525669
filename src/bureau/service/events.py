"""Following a task's event log: a page after a `seq` (with long-poll), or a live stream.

Both read the same log. Live events arrive from the notifier as hints carrying the committed
events; a follower uses them when they continue its sequence and otherwise reads the gap
from the database, so it sees every event once and in order. While notifications may be
lost (`Notifier.reliable` is False) followers also re-read the log every second.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bureau.auth.caller import Caller
from bureau.errors import InvalidRequest
from bureau.states import TERMINAL_STATUSES, TaskStatus, is_terminal_status_event
from bureau.store.records import Event
from bureau.store.store import Store

UNRELIABLE_POLL_SECONDS = 1.0
HEARTBEAT = None
"""What `EventService.follow` yields when nothing happened for a heartbeat interval."""


@dataclass(frozen=True)
class EventPage:
    """Events after the requested `seq`, and the task's status once they were read."""

    events: list[Event]
    status: TaskStatus


class _Follower:
    """Buffers live events for one reader between its reads."""

    __slots__ = ("_service", "buffered", "signal", "unsubscribe")

    def __init__(self, service: EventService, task_id: str) -> None:
        self._service = service
        self.buffered: list[Event] = []
        self.signal = asyncio.Event()
        self.unsubscribe = service.notifier.subscribe(f"task:{task_id}", self._on_events)
        service.followers.add(self.signal)

    def close(self) -> None:
        self.unsubscribe()
        self._service.followers.discard(self.signal)

    def _on_events(self, new_events: list[Event]) -> None:
        self.buffered.extend(new_events)
        self.signal.set()

    async def wait(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):  # no task per wake, unlike wait_for
                await self.signal.wait()
        self.signal.clear()
        return bool(self.buffered)

    def take(self, after: int) -> list[Event] | None:
        """Buffered events after `after`, or None if there is a gap to read from the log."""
        fresh = [e for e in self.buffered if e["seq"] > after]
        self.buffered = []
        if fresh and fresh[0]["seq"] != after + 1:
            return None
        return fresh


class EventService:
    def __init__(
        self, store: Store, *, long_poll_max_seconds: float, heartbeat_seconds: float
    ) -> None:
        self._tasks = store.tasks
        self.notifier = store.notifier
        self.long_poll_max_seconds = long_poll_max_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.draining = False
        self.followers: set[asyncio.Event] = set()

    def drain(self) -> None:
        """Shutdown begins: open long-polls answer and streams end now (clients resume
        with `after` / `Last-Event-ID`, after a restart or on another replica)."""
        self.draining = True
        for signal in self.followers:
            signal.set()

    async def page(
        self, caller: Caller, task_id: str, *, after: int = 0, wait: float = 0.0
    ) -> EventPage:
        """Events with `seq > after`; with `wait`, waits up to that many seconds for the
        first one (long-poll) unless the task already finished. Raises `NotFound`,
        `InvalidRequest` (wait above the maximum)."""
        caller.require("tasks.events")
        if wait > self.long_poll_max_seconds:
            raise InvalidRequest(
                f"wait must be at most {self.long_poll_max_seconds:g} seconds", field="wait"
            )
        task = await self._tasks.get(caller.tenant_id, task_id)
        found = await self._tasks.events_after(caller.tenant_id, task_id, after)
        if found or wait <= 0 or task.status in TERMINAL_STATUSES:
            return EventPage(found, task.status)
        found = await self._long_poll(caller.tenant_id, task_id, after, wait)
        task = await self._tasks.get(caller.tenant_id, task_id)
        return EventPage(found, task.status)

    async def conversation(self, caller: Caller, task_id: str, limit: int = 1000) -> list[Event]:
        """The task's questions and the messages sent to it, in order (the first `limit`).
        Raises `NotFound`."""
        caller.require("tasks.events")
        await self._tasks.get(caller.tenant_id, task_id)
        return await self._tasks.conversation(caller.tenant_id, task_id, limit)

    async def _long_poll(
        self, tenant_id: str, task_id: str, after: int, wait: float
    ) -> list[Event]:
        follower = _Follower(self, task_id)
        deadline = time.monotonic() + wait
        try:
            while True:
                found = await self._tasks.events_after(tenant_id, task_id, after)
                left = deadline - time.monotonic()
                if found or left <= 0 or self.draining:
                    return found
                reliable = self.notifier.reliable
                await follower.wait(left if reliable else min(left, UNRELIABLE_POLL_SECONDS))
        finally:
            follower.close()

    async def open_stream(
        self, caller: Caller, task_id: str, *, after: int = 0
    ) -> AsyncIterator[Event | None]:
        """Check the task (raises `NotFound` now, not mid-stream), then return `follow`."""
        caller.require("tasks.events")
        await self._tasks.get(caller.tenant_id, task_id)
        return self.follow(caller.tenant_id, task_id, after)

    async def follow(self, tenant_id: str, task_id: str, after: int) -> AsyncIterator[Event | None]:
        """Every event with `seq > after`, in order, live; `HEARTBEAT` (None) after each
        heartbeat interval without one. Ends after the terminal status event (a later
        status, a redo, keeps it open), at once for a task that already finished, and when
        the service drains."""
        last = after
        follower = _Follower(self, task_id)
        try:
            batch: list[Event] | None = await self._tasks.events_after(tenant_id, task_id, last)
            last_yield = time.monotonic()
            ended = False
            if not batch:
                task = await self._tasks.get(tenant_id, task_id)
                ended = task.status in TERMINAL_STATUSES
            while not ended:
                if batch is None:
                    batch = await self._tasks.events_after(tenant_id, task_id, last)
                for event in batch:
                    if event["seq"] <= last:
                        continue
                    last = event["seq"]
                    if event["type"] == "status":  # a later status (a redo) reopens it
                        ended = is_terminal_status_event(event["type"], event["data"])
                    last_yield = time.monotonic()
                    yield event
                batch = []
                while not ended and batch is not None and not batch:
                    if self.draining:
                        return
                    reliable = self.notifier.reliable
                    await follower.wait(
                        self.heartbeat_seconds if reliable else UNRELIABLE_POLL_SECONDS
                    )
                    if follower.buffered:
                        batch = follower.take(last)  # None: a gap, read it from the log
                    elif not reliable:
                        batch = None
                    if time.monotonic() - last_yield >= self.heartbeat_seconds:
                        last_yield = time.monotonic()
                        yield HEARTBEAT
        finally:
            follower.close()
