"""Notifications: how processes hear that something committed.

Channels: `task:<id>` carries the task's new events (a list of public event dicts),
`queue` wakes workers, `cancel` carries a task id whose run must stop, `webhooks` wakes the
webhook sender. Notifications are hints: everything they say is in the database, so a lost
one costs latency, never correctness.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

Listener = Callable[[Any], None]


class Notifier(Protocol):
    reliable: bool
    """False while messages from other processes may be lost (readers then poll)."""

    async def start(self) -> None: ...

    def publish(self, channel: str, message: Any) -> None:
        """Deliver `message` to every listener of `channel` (in this and, if shared, other
        processes). Never blocks, never raises."""

    def subscribe(self, channel: str, listener: Listener) -> Callable[[], None]:
        """Call `listener(message)` on the event loop for each message; returns unsubscribe."""

    async def close(self) -> None: ...
