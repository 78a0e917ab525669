"""Delivering queued webhooks: signed POSTs, retried with backoff, every attempt recorded.

Deliveries are rows written in the same transaction as the event they announce, so none is
lost. The sender claims a due delivery by pushing its `next_attempt_at` past the request
timeout (so two senders never post the same attempt), posts it, and records the attempt.
Deliveries of one task go out in order: a task's later delivery waits for its earlier one.
Each delivery runs on its own, paced per receiver and per tenant with a circuit breaker per
receiver (`pacing.py`), so a dead or slow receiver never holds up anyone else's. A task's
webhook may carry headers (sent with every delivery, beside the signature) and another
payload format (A2A push notifications).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import httpx

from bureau.store.outbox import delivery_body
from bureau.store.records import DeliveryContent, WebhookDelivery
from bureau.store.store import Store
from bureau.webhooks.destinations import Network, RefusedDestination, resolve_public
from bureau.webhooks.pacing import Pacing, receiver_of
from bureau.webhooks.signing import headers

log = logging.getLogger("bureau.webhooks")
_PORTS = {"http": 80, "https": 443}
Render = Callable[[WebhookDelivery, DeliveryContent], bytes]
"""A webhook payload format: the body a delivery posts."""


class WebhookSender:
    def __init__(
        self,
        store: Store,
        *,
        timeout: float = 10.0,
        max_attempts: int = 8,
        poll_interval: float = 1.0,
        concurrency: int = 16,
        allowed_networks: Sequence[Network] = (),
        formats: Mapping[str, Render] = MappingProxyType({}),
    ) -> None:
        """`formats` renders payloads other than Bureau's, by the name a task's webhook
        options give (`"a2a"`: A2A push notifications, from the A2A door)."""
        self.outbox = store.outbox
        self.notifier = store.notifier
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.poll_interval = poll_interval
        self.concurrency = concurrency
        self.allowed_networks = list(allowed_networks)
        self.formats = dict(formats)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._unsubscribe: Any = None
        self._inflight: set[asyncio.Task[None]] = set()
        self.pacing = Pacing()

    def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        self._unsubscribe = self.notifier.subscribe("webhooks", lambda _: self._wake.set())
        self._task = asyncio.create_task(self._loop(), name="bureau-webhooks")

    async def _loop(self) -> None:
        """Claim what is due while slots are free; every delivery runs on its own, so a slow
        receiver holds one slot, not the loop."""
        while True:
            self._wake.clear()
            free = self.concurrency - len(self._inflight)
            if free > 0:
                try:
                    claimed = await self.outbox.claim_due(free, self.timeout + 5)
                except Exception:
                    log.exception("webhook sender loop failed; retrying")
                    claimed = []
                for delivery in claimed:
                    self._begin(delivery)
                if claimed and len(claimed) == free:
                    continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)

    def _begin(self, delivery: WebhookDelivery) -> None:
        receiver = receiver_of(delivery.url)
        later = self.pacing.admit(receiver, delivery.tenant_id)
        job = asyncio.create_task(self._paced(delivery, receiver, later))
        self._inflight.add(job)
        job.add_done_callback(self._finished)

    async def _paced(self, delivery: WebhookDelivery, receiver: str, later: float | None) -> None:
        if later is not None:  # busy receiver or tenant, or an open circuit: not now
            await self.outbox.defer(delivery, later)
            return
        ok = False
        try:
            ok = await self._deliver(delivery)
        except Exception:
            log.exception("webhook %s: delivery failed unexpectedly", delivery.id)
        finally:
            self.pacing.done(receiver, delivery.tenant_id, ok=ok)

    def _finished(self, job: asyncio.Task[None]) -> None:
        self._inflight.discard(job)
        self._wake.set()

    async def _deliver(self, delivery: WebhookDelivery) -> bool:
        """Post one attempt and record it; False when the receiver failed it."""
        assert self._client is not None
        content = await self.outbox.content(delivery)
        render = self.formats.get(content.options.get("format", ""), delivery_body)
        body = render(delivery, content)
        secret = await self.outbox.signing_secret(delivery.tenant_id)
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        url = httpx.URL(delivery.url)
        try:
            # Connect to the address that was checked, not to a second resolution of the name.
            address = await resolve_public(
                url.host, url.port or _PORTS[url.scheme], self.allowed_networks
            )
        except RefusedDestination as refused:
            await self.outbox.record_attempt(
                delivery,
                status_code=None,
                error=f"refused: {refused}",
                duration_ms=0.0,
                max_attempts=self.max_attempts,
                refused=True,
            )
            log.warning("webhook %s refused: %s", delivery.id, refused)
            return True  # not the receiver's failure: nothing was sent
        signed = headers(secret, delivery.id, int(time.time()), body)
        sent = {**content.options.get("headers", {}), **signed}
        try:
            response = await self._client.post(
                url.copy_with(host=str(address)),
                content=body,
                headers={**sent, "host": url.netloc.decode("ascii")},
                extensions={"sni_hostname": url.host} if url.scheme == "https" else {},
            )
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"receiver answered HTTP {status_code}"
        except Exception as exc:  # httpx's errors, and whatever else a broken peer provokes
            error = f"{type(exc).__name__}: {exc}"[:500]
            if not isinstance(exc, httpx.HTTPError):
                log.warning("webhook %s: the HTTP client raised %r", delivery.id, exc)
        duration_ms = (time.perf_counter() - started) * 1000
        await self.outbox.record_attempt(
            delivery,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
            max_attempts=self.max_attempts,
        )
        if error is None:
            return True
        log.info("webhook %s to %s failed: %s", delivery.id, delivery.url, error)
        return False

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for job in list(self._inflight):  # their claims lapse after the hold: retried then
            job.cancel()
        await asyncio.gather(*self._inflight, return_exceptions=True)
        if self._client is not None:
            try:
                await self._client.aclose()
            except Exception as exc:  # a connection cut mid-attempt may not close cleanly
                log.warning("closing the webhook HTTP client: %r", exc)
