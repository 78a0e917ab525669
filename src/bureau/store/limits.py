"""What each tenant may use: the configured defaults with an operator's overrides per tenant
(`PUT /v1/tenants/{id}/limits`), read by the doors (request rate, body size), the service
(queued and parked tasks, input size) and the workers (running tasks, artifact size, the
tenant's weight in the fair claim order).

Overrides are read from the tenants table at most every `RELOAD_SECONDS` (all of them in one
query), so a change reaches every process of a fleet within that time, and the process that
made it at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from bureau.store.catalog import CatalogStore

RELOAD_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Limits:
    """One tenant's limits; 0 means none (the server-wide maximum, for sizes)."""

    requests_per_second: int = 0
    running_tasks: int = 0
    """Tasks running at once; more wait queued, in their turn."""
    queued_tasks: int = 0
    """Tasks waiting to run; a dispatch beyond is refused (429)."""
    parked_tasks: int = 0
    """Tasks waiting for an answer or a child; a dispatch beyond is refused (429)."""
    body_bytes: int = 0
    input_bytes: int = 0
    """A dispatch's `input`, as JSON."""
    artifact_bytes: int = 0
    weight: float = 1.0
    """Share of the workers when tenants compete: a tenant of weight 2 gets twice the claims
    of a tenant of weight 1 while both have tasks waiting."""

    def overridden(self, overrides: Mapping[str, Any] | None) -> Limits:
        known = {f.name for f in fields(self)}
        chosen = {k: v for k, v in (overrides or {}).items() if k in known and v is not None}
        return replace(self, **chosen)


class LimitBook:
    """The limits of every tenant: `defaults`, overridden per tenant."""

    def __init__(self, catalog: CatalogStore, defaults: Limits) -> None:
        self._catalog = catalog
        self.defaults = defaults
        self._overrides: dict[str, dict[str, Any]] = {}
        self._loaded_at = -RELOAD_SECONDS
        self._lock = asyncio.Lock()

    async def of(self, tenant_id: str) -> Limits:
        await self._fresh()
        return self.defaults.overridden(self._overrides.get(tenant_id))

    async def running_caps(self) -> tuple[int, dict[str, int]]:
        """The default cap on running tasks and every tenant's that differs (0: none)."""
        await self._fresh()
        default = self.defaults.running_tasks
        caps = {t: self.defaults.overridden(o).running_tasks for t, o in self._overrides.items()}
        return default, {t: cap for t, cap in caps.items() if cap != default}

    def forget(self) -> None:
        """Read the overrides again before the next answer (one was just changed)."""
        self._loaded_at = -RELOAD_SECONDS

    async def _fresh(self) -> None:
        if time.monotonic() - self._loaded_at < RELOAD_SECONDS:
            return
        async with self._lock:
            if time.monotonic() - self._loaded_at < RELOAD_SECONDS:
                return
            self._overrides = await self._catalog.limit_overrides()
            self._loaded_at = time.monotonic()
