"""The HTTP connection protocol: uvicorn's own (httptools, else h11), closing connections
that idle.

Uvicorn closes a connection idle between requests (its keep-alive timeout) but waits forever
for a connection's first request, and for the rest of a request's headers once one byte has
come: a client can hold connections open by sending nothing, or a byte at a time. Here a
connection must complete each request's headers within `header_seconds` of starting it (the
body has its own limit, in `BodyLimit`). The protocol is the one uvicorn would pick itself
(`http="auto"`): the C parser where it is installed, which the hot path needs."""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class _HeaderTimer:
    """A timer closing the transport unless the request's headers arrive in time."""

    def __init__(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        self.loop, self.seconds = loop, seconds
        self.handle: asyncio.TimerHandle | None = None

    def start(self, transport: asyncio.BaseTransport) -> None:
        if self.handle is None:
            self.handle = self.loop.call_later(self.seconds, transport.close)

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None


def closing_idle(header_seconds: float) -> type[asyncio.Protocol]:
    """The protocol class for a server whose requests' headers must arrive in time."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # no C parser on this platform
        return _h11_closing_idle(header_seconds)

    class Protocol(HttpToolsProtocol):
        def connection_made(self, transport: Any) -> None:
            self._timer = _HeaderTimer(self.loop, header_seconds)
            super().connection_made(transport)
            self._timer.start(transport)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._timer.start(self.transport)

        def on_headers_complete(self) -> None:
            self._timer.stop()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._timer.stop()
            super().connection_lost(exc)

    return Protocol


def _h11_closing_idle(header_seconds: float) -> type[asyncio.Protocol]:
    class Protocol(H11Protocol):
        def connection_made(self, transport: Any) -> None:
            self._timer = _HeaderTimer(self.loop, header_seconds)
            super().connection_made(transport)
            self._timer.start(transport)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is h11.IDLE:
                self._timer.start(self.transport)  # a request started, headers incomplete
            else:
                self._timer.stop()

        def connection_lost(self, exc: Exception | None) -> None:
            self._timer.stop()
            super().connection_lost(exc)

    return Protocol
