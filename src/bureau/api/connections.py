"""The HTTP connection protocol: uvicorn's h11 one, closing connections that idle.

Uvicorn closes a connection idle between requests (its keep-alive timeout) but waits forever
for a connection's first request, and for the rest of a request's headers once one byte has
come: a client can hold connections open by sending nothing, or a byte at a time. Here a
connection must complete each request's headers within `header_seconds` of starting it (the
body has its own limit, in `BodyLimit`)."""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


def closing_idle(header_seconds: float) -> type[H11Protocol]:
    """The protocol class for a server whose requests' headers must arrive in time."""

    class Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._expect_headers()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is h11.IDLE:
                self._expect_headers()  # a request started, its headers are not all here
            elif self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def connection_lost(self, exc: Exception | None) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
            super().connection_lost(exc)

        def _expect_headers(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(header_seconds, self.transport.close)

    return Protocol
