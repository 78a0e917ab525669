"""The reaper: recovers expired leases, enforces deadlines, auto-accepts old deliverables."""

from __future__ import annotations

import asyncio
import logging

from bureau.store.store import Store

log = logging.getLogger("bureau.reaper")


class Reaper:
    def __init__(self, store: Store, *, interval: float, auto_accept_seconds: float) -> None:
        self.store = store
        self.interval = interval
        self.auto_accept_seconds = auto_accept_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="bureau-reaper")

    async def _loop(self) -> None:
        while True:
            try:
                handled = await self.store.queue.sweep(self.auto_accept_seconds)
            except Exception:
                log.exception("reaper sweep failed; retrying")
                handled = 0
            if not handled:
                await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
