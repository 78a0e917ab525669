"""A circuit breaker per remote agent (keyed by its card URL), held in the worker process.

Closed, it counts consecutive failures (connection errors, timeouts, HTTP 5xx); at the
threshold it opens. Open, it fails new work fast with a message naming the failures and
the next probe; a health probe (the card fetched) that succeeds closes it. Each worker
process has its own breakers: they learn separately, which is enough to stop hammering a
dead remote and to fail fast.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass


def _iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="seconds")


@dataclass
class Breaker:
    """The circuit of one remote. `clock` is wall time, for messages and probes."""

    label: str
    threshold: int
    probe_seconds: float
    failures: int = 0
    first_failure_at: float | None = None
    opened_at: float | None = None
    next_probe_at: float = 0.0
    last_error: str = ""
    last_checked_at: float = 0.0

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    def refusal(self) -> str | None:
        """Why new work for this remote is refused now, or None (closed)."""
        if self.opened_at is None:
            return None
        since = _iso(self.first_failure_at or self.opened_at)
        return (
            f"remote agent {self.label} is unavailable (circuit open after {self.failures} "
            f"failures since {since}; last: {self.last_error}); retrying at "
            f"{_iso(self.next_probe_at)}"
        )

    def succeeded(self) -> None:
        self.failures = 0
        self.first_failure_at = None
        self.opened_at = None
        self.last_error = ""
        self.last_checked_at = time.time()

    def failed(self, error: str) -> None:
        at = time.time()
        self.failures += 1
        self.last_error = error[:300]
        self.last_checked_at = at
        if self.first_failure_at is None:
            self.first_failure_at = at
        if self.failures >= self.threshold and self.opened_at is None:
            self.opened_at = at
            self.next_probe_at = at + self.probe_seconds
        elif self.opened_at is not None and at >= self.next_probe_at:
            self.next_probe_at = at + self.probe_seconds  # a failed probe: the next one
