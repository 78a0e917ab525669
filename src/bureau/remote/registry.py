"""The remote A2A agents one worker runs: loaded from the catalog, refreshed, and watched.

`RemoteAgents.load()` makes an `AgentDefinition` (whose function is the proxy) for every
active `a2a-remote` version not seen yet; the worker adds them to what it claims. A
background loop reloads the catalog every `refresh_seconds` and health-checks the remotes:
an open circuit's remote is probed (its card fetched) every `probe_seconds` and closed as
soon as it answers; a closed one is checked every `health_seconds`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence

from bureau.remote.breaker import Breaker
from bureau.remote.cards import CardUnavailable, fetch_card
from bureau.remote.outbound import auth_headers
from bureau.remote.proxy import RemoteAgent
from bureau.remote.settings import RemoteSettings
from bureau.sdk.decorator import AgentDefinition
from bureau.store.store import Store
from bureau.webhooks.destinations import Network

log = logging.getLogger("bureau.remote")

CANCEL_LOOKBACK = 300.0
"""At start, cancels this old are still forwarded (the process may have been down)."""


class RemoteAgents:
    def __init__(
        self,
        store: Store,
        settings: RemoteSettings,
        allowed: Sequence[Network],
        cancel_requested: Callable[[str], bool],
    ) -> None:
        """`cancel_requested(task_id)` tells whether a running task's run was stopped by
        a cancel (then the cancel is forwarded), not by a park, a lost lease or shutdown."""
        self.store = store
        self.settings = settings
        self.allowed = list(allowed)
        self.cancel_requested = cancel_requested
        self.agents: dict[tuple[str, str], RemoteAgent] = {}
        self.breakers: dict[str, Breaker] = {}
        self._checks: dict[str, tuple[str, str | None]] = {}  # card URL → tenant, secret
        self.forwarded: set[str] = set()
        """Tasks whose cancel this process forwarded to their remote task."""
        self._canceled_since = time.time() - CANCEL_LOOKBACK
        self._loop: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def breaker(self, card_url: str, name: str) -> Breaker:
        if card_url not in self.breakers:
            self.breakers[card_url] = Breaker(
                label=f"{name!r} at {card_url}",
                threshold=self.settings.failure_threshold,
                probe_seconds=self.settings.probe_seconds,
                last_checked_at=time.time(),
            )
        return self.breakers[card_url]

    def watch(self, breaker: Breaker) -> None:
        """A breaker just failed: let the health loop look at it now."""
        self._wake.set()

    async def credential(self, tenant_id: str, secret: str | None) -> str | None:
        """The publisher's secret that authenticates Bureau to the remote."""
        if secret is None:
            return None
        values = await self.store.secrets.values(tenant_id, [secret])
        return values.get(secret)

    async def load(self) -> list[AgentDefinition]:
        """Definitions for the remote versions published since the last load."""
        added = []
        for record in await self.store.catalog.remote_versions():
            key = (record.name, record.version)
            if key in self.agents:
                continue
            try:
                agent = RemoteAgent(self, record)
            except Exception:
                log.exception("remote agent %s: its catalog entry is unusable", record.ref)
                continue
            self.agents[key] = agent
            self._checks[agent.card_url] = (record.tenant_id, agent.secret)
            added.append(agent.definition())
        return added

    def start(self, on_new: Callable[[list[AgentDefinition]], None]) -> None:
        self._loop = asyncio.create_task(self._run(on_new), name="bureau-remote-agents")

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)

    async def _run(self, on_new: Callable[[list[AgentDefinition]], None]) -> None:
        next_refresh = 0.0
        while True:
            self._wake.clear()
            now = time.time()
            if now >= next_refresh:
                try:
                    added = await self.load()
                except Exception:
                    log.exception("loading the remote agents failed; retrying")
                    added = []
                if added:
                    on_new(added)
                await self._forward_cancels()
                next_refresh = now + self.settings.refresh_seconds
            await self._health_checks()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._sleep(next_refresh))

    async def _forward_cancels(self) -> None:
        """Forward the cancels of remote tasks no worker was running (a task waiting for
        its consumer's answer is parked): a running one's proxy forwards its own."""
        since = time.time() - 1.0  # overlap: a cancel committed during the last sweep
        names = sorted({name for name, _ in self.agents})
        try:
            found = await self.store.catalog.canceled_remote_runs(names, self._canceled_since)
        except Exception:
            log.exception("looking for canceled remote tasks failed; retrying")
            return
        self._canceled_since = since
        for task_id, name, version, sent in found:
            agent = self.agents.get((name, version))
            if agent is None or task_id in self.forwarded or not isinstance(sent, dict):
                continue
            remote_id = sent.get("task_id")
            if isinstance(remote_id, str):
                await agent.forward_cancel(task_id, remote_id)
        if len(self.forwarded) > 100_000:
            self.forwarded.clear()

    def _sleep(self, next_refresh: float) -> float:
        due = [next_refresh]
        for breaker in self.breakers.values():
            if breaker.is_open:
                due.append(breaker.next_probe_at)
            else:
                due.append(breaker.last_checked_at + self.settings.health_seconds)
        return max(0.05, min(due) - time.time())

    async def _health_checks(self) -> None:
        now = time.time()
        for card_url, breaker in self.breakers.items():
            if breaker.is_open:
                if now < breaker.next_probe_at:
                    continue
            elif now < breaker.last_checked_at + self.settings.health_seconds:
                continue
            await self._probe(card_url, breaker)

    async def _probe(self, card_url: str, breaker: Breaker) -> None:
        tenant_id, secret = self._checks.get(card_url, ("", None))
        try:
            credential = await self.credential(tenant_id, secret) if tenant_id else None
            await fetch_card(
                card_url,
                allowed=self.allowed,
                headers=auth_headers(credential),
                timeout_seconds=self.settings.call_timeout_seconds,
                max_bytes=self.settings.card_max_bytes,
            )
        except CardUnavailable as exc:
            was_open = breaker.is_open
            breaker.failed(str(exc))
            if breaker.is_open and not was_open:
                log.warning("remote agent %s: circuit open: %s", breaker.label, exc)
            return
        if breaker.is_open:
            log.info("remote agent %s: answered a probe; circuit closed", breaker.label)
        breaker.succeeded()
