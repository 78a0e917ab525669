"""Notifications shared between processes through Redis pub/sub (scale-out mode).

Every message is delivered to this process's listeners at once and sent to Redis for the
others, in order, by one sender task: whatever was published while the previous PUBLISH was
in flight goes out together in the next one (one frame, prefixed with this process's origin,
so a process skips its own frames without decoding them). Redis holds nothing durable: when
it is down, messages to other processes wait in a bounded outbox (they are hints; workers
poll and event readers re-read the database while `reliable` is False) and the listener
reconnects with backoff; `reliable` is True again once it is subscribed.
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
FRAME_LIMIT = 1_000  # messages per PUBLISH
CLOSE_SECONDS = 2.0


class RedisNotifier:
    def __init__(self, url: str) -> None:
        try:
            import redis.asyncio as redis_asyncio
        except ImportError:
            raise UsageError("Redis needs its client: pip install 'bureau[redis]'") from None
        self._client = redis_asyncio.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        # Pub/sub channels are shared by all of a server's databases: name the database, so
        # deployments on different Redis databases never hear each other.
        self._channel = (
            f"bureau:notify:{self._client.connection_pool.connection_kwargs.get('db', 0)}"
        )
        self._origin = new_id().encode() + b" "
        self._local = LocalNotifier()
        self._outbox: list[tuple[str, Any]] = []
        self._ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.reliable = False

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="bureau-redis-listen"),
            asyncio.create_task(self._send(), name="bureau-redis-send"),
        ]

    def publish(self, channel: str, message: Any) -> None:
        self._local.publish(channel, message)
        if len(self._outbox) >= OUTBOX_LIMIT:
            log.warning("redis outbox full; dropping a notification (the database has it)")
            return
        self._outbox.append((channel, message))
        self._ready.set()

    def subscribe(self, channel: str, listener: Listener) -> Callable[[], None]:
        return self._local.subscribe(channel, listener)

    async def _send(self) -> None:
        """Publish the outbox in frames, in order. A frame Redis did not take stays at the
        head of the outbox and is sent again after a pause: a short outage delays hints
        instead of dropping them (a long one fills the outbox, and `publish` drops the
        excess). `reliable` belongs to the listener alone: a failed send must not leave it
        False once the listener is subscribed again."""
        delay = 0.1
        while True:
            await self._ready.wait()
            frame = self._outbox[:FRAME_LIMIT]
            try:
                await self._client.publish(self._channel, self._origin + orjson.dumps(frame))
            except Exception as exc:
                if delay == 0.1:
                    log.warning("redis publish failed (%s); retrying", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            delay = 0.1
            del self._outbox[: len(frame)]
            if not self._outbox:
                self._ready.clear()

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
                    data: bytes = message["data"]
                    if data.startswith(self._origin):
                        continue
                    try:
                        frame = orjson.loads(data[data.index(b" ") + 1 :])
                    except ValueError:
                        log.warning("ignoring a malformed message on %s", self._channel)
                        continue
                    for channel, payload in frame:
                        self._local.publish(channel, payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.reliable:
                    log.warning("redis unavailable (%s); falling back to the database", exc)
                self.reliable = False
            finally:
                with contextlib.suppress(Exception):  # bounded: a dead server may not answer
                    await asyncio.wait_for(pubsub.aclose(), CLOSE_SECONDS)  # type: ignore[no-untyped-call]
            # Wake everyone once: whatever was missed meanwhile is in the database.
            self._local.publish("queue", None)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=CLOSE_SECONDS)
            if stuck:
                log.warning("redis tasks did not stop within %s s; leaving them", CLOSE_SECONDS)
        await self._local.close()
        with contextlib.suppress(Exception):
            await self._client.aclose()
