"""Per-tenant request rate: every authenticated request of every door counts against its
tenant's requests per second (the configured default, or the tenant's override), and one
over it is refused with `RateLimited` (429 with `Retry-After`).

Counted with the `limits` library's moving window, in this process: on a fleet each API
replica allows the rate on its own (shared counters in Redis are not built yet).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from bureau.auth.caller import Caller
from bureau.errors import RateLimited
from bureau.store.catalog import CatalogStore

CACHE_SECONDS = 5.0
"""How long a tenant's override is used before it is read again."""


class RequestRate:
    def __init__(self, catalog: CatalogStore, default_per_second: int) -> None:
        self._catalog = catalog
        self._default = default_per_second
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._rates: dict[str, tuple[float, int]] = {}

    async def count(self, caller: Caller) -> None:
        """Count one request of the caller's tenant; raises `RateLimited` over its rate."""
        rate = await self._rate(caller.tenant_id)
        if rate <= 0:
            return
        item = RateLimitItemPerSecond(rate)
        if await self._limiter.hit(item, caller.tenant_id):
            return
        stats = await self._limiter.get_window_stats(item, caller.tenant_id)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            f"this tenant is over its {rate} requests per second; retry in {wait} s",
            retry_after=wait,
        )

    async def _rate(self, tenant_id: str) -> int:
        hit = self._rates.get(tenant_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        overrides = (await self._catalog.tenant(tenant_id)).limits or {}
        rate = int(overrides.get("requests_per_second", self._default))
        if len(self._rates) > 10_000:
            self._rates.clear()
        self._rates[tenant_id] = (time.monotonic() + CACHE_SECONDS, rate)
        return rate

    def forget(self, tenant_id: str) -> None:
        """Read the tenant's override again at its next request (it was just changed)."""
        self._rates.pop(tenant_id, None)
