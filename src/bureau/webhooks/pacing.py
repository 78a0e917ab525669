"""Pacing of webhook deliveries: no receiver and no tenant can hold the sender up.

Each sender process bounds the deliveries in flight per receiver (scheme, host and port)
and per tenant, and keeps a circuit breaker per receiver: after `FAILURES_TO_OPEN`
consecutive failures the receiver gets nothing for a cool-down (30 s, doubling with each
failure after it, up to 10 minutes); a success closes it. A delivery that meets a bound or
an open circuit is deferred (no attempt is recorded: nothing was sent), and the deliveries
due behind it go out meanwhile.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

PER_RECEIVER = 4
PER_TENANT = 8
FAILURES_TO_OPEN = 5
COOL_DOWN = 30.0
MAX_COOL_DOWN = 600.0
BUSY_DEFER = 0.5
"""Seconds a delivery waits when its receiver or tenant is at its in-flight bound."""


def receiver_of(url: str) -> str:
    """The receiver a URL names: scheme, host and port (paths share one server)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or ''}"


@dataclass
class _Circuit:
    failures: int = 0
    open_until: float = 0.0


class Pacing:
    def __init__(self, per_receiver: int = PER_RECEIVER, per_tenant: int = PER_TENANT) -> None:
        self.per_receiver = per_receiver
        self.per_tenant = per_tenant
        self._receivers: Counter[str] = Counter()
        self._tenants: Counter[str] = Counter()
        self._circuits: dict[str, _Circuit] = {}

    def admit(self, receiver: str, tenant_id: str) -> float | None:
        """None to send now (counted in flight until `done`), else the time to defer to."""
        circuit = self._circuits.get(receiver)
        now = time.time()
        if circuit is not None and circuit.open_until > now:
            return circuit.open_until
        if self._receivers[receiver] >= self.per_receiver or (
            self._tenants[tenant_id] >= self.per_tenant
        ):
            return now + BUSY_DEFER
        self._receivers[receiver] += 1
        self._tenants[tenant_id] += 1
        return None

    def done(self, receiver: str, tenant_id: str, *, ok: bool) -> None:
        self._receivers[receiver] -= 1
        self._tenants[tenant_id] -= 1
        circuit = self._circuits.setdefault(receiver, _Circuit())
        if ok:
            del self._circuits[receiver]
            return
        circuit.failures += 1
        if circuit.failures >= FAILURES_TO_OPEN:
            extra = min(circuit.failures - FAILURES_TO_OPEN, 10)
            circuit.open_until = time.time() + min(COOL_DOWN * 2**extra, MAX_COOL_DOWN)
