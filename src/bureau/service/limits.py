"""Per-tenant request rate: every authenticated request of every door counts against its
tenant's requests per second (`Limits.requests_per_second`), and one over it is refused with
`RateLimited` (429 with `Retry-After`).

Counted with the `limits` library's moving window. On a fleet (a Redis URL) the counters
live in Redis, shared by every API replica; while Redis does not answer, each process counts
on its own (the tenant may then get its rate once per replica) and logs that once.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from bureau.auth.caller import Caller
from bureau.errors import RateLimited
from bureau.store.limits import LimitBook

log = logging.getLogger("bureau.limits")


class RequestRate:
    def __init__(self, book: LimitBook, redis_url: str | None = None) -> None:
        self._book = book
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._shared = None
        if redis_url:
            storage = RedisStorage(
                "async+" + redis_url,
                implementation="redispy",
                wrap_exceptions=True,
                key_prefix="bureau:rate",
                socket_timeout=0.5,
                socket_connect_timeout=0.5,
            )
            self._shared = MovingWindowRateLimiter(storage)
        self._falling_back = False

    async def count(self, caller: Caller) -> None:
        """Count one request of the caller's tenant; raises `RateLimited` over its rate."""
        rate = (await self._book.of(caller.tenant_id)).requests_per_second
        if rate <= 0:
            return
        item = RateLimitItemPerSecond(rate)
        limiter = self._local
        if self._shared is not None:
            try:
                allowed = await self._shared.hit(item, caller.tenant_id)
                limiter = self._shared
                self._recovered()
            except Exception as exc:  # Redis is down: count here until it is back
                self._fall_back(exc)
                allowed = await self._local.hit(item, caller.tenant_id)
        else:
            allowed = await self._local.hit(item, caller.tenant_id)
        if allowed:
            return
        try:
            stats = await limiter.get_window_stats(item, caller.tenant_id)
            wait = max(1, math.ceil(stats.reset_time - time.time()))
        except Exception:  # Redis went away in between
            wait = 1
        raise RateLimited(
            f"this tenant is over its {rate} requests per second; retry in {wait} s",
            retry_after=wait,
        )

    def _fall_back(self, exc: Exception) -> None:
        if not self._falling_back:
            log.warning("rate counters: Redis unavailable (%s); counting per process", exc)
        self._falling_back = True

    def _recovered(self) -> None:
        if self._falling_back:
            log.info("rate counters: Redis is back; counting across the fleet again")
        self._falling_back = False
