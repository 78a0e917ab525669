"""In-process notifications for the embedded mode (one process)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bureau.notify.base import Listener


class LocalNotifier:
    reliable = True  # every publisher is in this process

    def __init__(self) -> None:
        self._listeners: dict[str, set[Listener]] = {}

    async def start(self) -> None:
        pass

    def publish(self, channel: str, message: Any) -> None:
        for listener in tuple(self._listeners.get(channel, ())):
            listener(message)

    def subscribe(self, channel: str, listener: Listener) -> Callable[[], None]:
        self._listeners.setdefault(channel, set()).add(listener)

        def unsubscribe() -> None:
            listeners = self._listeners.get(channel)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self._listeners[channel]

        return unsubscribe

    async def close(self) -> None:
        self._listeners.clear()
