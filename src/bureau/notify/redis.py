"""Notifications shared between processes through Redis pub/sub (scale-out mode).

Every message is delivered to this process's listeners at once and sent to Redis for the
others, in order, by one sender task. Redis holds nothing durable: when it is down, messages
to other processes are dropped (they are hints; workers poll and event readers re-read the
database while `reliable` is False) and the listener reconnects with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import orjson

from bureau.errors import UsageError
from bureau.notify.base import Listener
from bureau.notify.local import LocalNotifier
from bureau.store.ids import new_id

log = logging.getLogger("bureau.notify")
OUTBOX_LIMIT = 10_000


class RedisNotifier:
    def __init__(self, url: str, *, channel: str = "bureau:notify") -> None:
        try:
            import redis.asyncio as redis_asyncio
        except ImportError:
            raise UsageError("Redis needs its client: pip install 'bureau[redis]'") from None
        self._client = redis_asyncio.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        self._channel = channel
        self._origin = new_id()
        self._local = LocalNotifier()
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue(maxsize=OUTBOX_LIMIT)
        self._tasks: list[asyncio.Task[None]] = []
        self.reliable = False

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="bureau-redis-listen"),
            asyncio.create_task(self._send(), name="bureau-redis-send"),
        ]

    def publish(self, channel: str, message: Any) -> None:
        self._local.publish(channel, message)
        payload = orjson.dumps({"o": self._origin, "c": channel, "m": message})
        try:
            self._outbox.put_nowait(payload)
        except asyncio.QueueFull:
            log.warning("redis outbox full; dropping a notification (the database has it)")

    def subscribe(self, channel: str, listener: Listener) -> Callable[[], None]:
        return self._local.subscribe(channel, listener)

    async def _send(self) -> None:
        while True:
            payload = await self._outbox.get()
            try:
                await self._client.publish(self._channel, payload)
            except Exception as exc:  # redis down: the message is a hint, drop it
                if self.reliable:
                    log.warning("redis publish failed (%s); continuing without it", exc)
                self.reliable = False

    async def _listen(self) -> None:
        delay = 0.1
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                if not self.reliable:
                    log.info("redis notifications connected")
                self.reliable = True
                delay = 0.1
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    data = orjson.loads(message["data"])
                    if data["o"] != self._origin:
                        self._local.publish(data["c"], data["m"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.reliable:
                    log.warning("redis unavailable (%s); falling back to the database", exc)
                self.reliable = False
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            # Wake everyone once: whatever was missed meanwhile is in the database.
            self._local.publish("queue", None)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._local.close()
        with contextlib.suppress(Exception):
            await self._client.aclose()
