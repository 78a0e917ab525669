"""A lean HTTP/1.1 client on asyncio streams, for load generation.

httpx costs milliseconds of CPU per request and becomes the bottleneck of a benchmark on a
2-core machine; this client pre-encodes request heads, parses only the status line and the
body length, and keeps a pool of keep-alive connections. It speaks exactly what the
benchmarks need: JSON requests and responses with Content-Length or chunked bodies, and
Server-Sent Events through `SseRecorder`, which timestamps raw chunks and parses later.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

try:
    import orjson

    def _dumps(value: Any) -> bytes:
        return orjson.dumps(value)

    def _loads(data: bytes) -> Any:
        return orjson.loads(data)

except ImportError:  # the benchmark re-executes itself in the project venv, which has it
    import json

    def _dumps(value: Any) -> bytes:
        return json.dumps(value).encode()

    def _loads(data: bytes) -> Any:
        return json.loads(data)


dumps = _dumps
loads = _loads


class HttpError(Exception):
    pass


@dataclass
class Response:
    status: int
    head: bytes
    body: bytes

    def json(self) -> Any:
        return loads(self.body)


def _content_length(head: bytes) -> int | None:
    lowered = head.lower()
    at = lowered.find(b"\r\ncontent-length:")
    if at < 0:
        return None
    end = lowered.find(b"\r\n", at + 2)
    return int(lowered[at + 17 : end].strip())


class Connection:
    """One keep-alive connection; one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    @property
    def usable(self) -> bool:
        return not (self.reader.at_eof() or self.writer.is_closing())

    async def send(self, request: bytes) -> Response:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 "):
            raise HttpError(f"bad status line: {head[:40]!r}")
        status = int(head[9:12])
        length = _content_length(head)
        if length is not None:
            body = await self.reader.readexactly(length) if length else b""
        elif b"chunked" in head.lower():
            body = await self._chunked()
        else:
            body = b""
        return Response(status, head, body)

    async def _chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size + 2))
            parts[-1] = parts[-1][:-2]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


@dataclass
class Client:
    """A pool of up to `size` keep-alive connections to one server, with a bearer key."""

    host: str
    port: int
    key: str | None = None
    size: int = 64
    _idle: list[Connection] = field(default_factory=list)
    _open: int = 0
    _freed: asyncio.Condition | None = None

    def request_bytes(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> bytes:
        """Encode a request once; send it many times with `send`."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if self.key:
            lines.append(f"Authorization: Bearer {self.key}")
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        payload = b""
        if body is not None:
            payload = body if isinstance(body, bytes) else dumps(body)
            lines.append("Content-Type: application/json")
        if payload or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(payload)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload

    async def warm(self, count: int) -> None:
        """Open `count` connections ahead of time so the first requests pay no connect."""
        opened = await asyncio.gather(*(self._connect() for _ in range(count)))
        self._idle.extend(opened)

    async def _connect(self) -> Connection:
        self._open += 1
        try:
            return await Connection.open(self.host, self.port)
        except BaseException:
            self._open -= 1
            raise

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        if self._freed is None:
            self._freed = asyncio.Condition()
        conn: Connection | None = None
        while conn is None:
            while self._idle:
                candidate = self._idle.pop()
                if candidate.usable:
                    conn = candidate
                    break
                candidate.close()
                self._open -= 1
            if conn is None:
                if self._open < self.size:
                    conn = await self._connect()
                else:
                    async with self._freed:
                        await self._freed.wait()
        ok = False
        try:
            yield conn
            ok = True
        finally:
            if ok:
                self._idle.append(conn)
            else:
                conn.close()
                self._open -= 1
            async with self._freed:
                self._freed.notify()

    async def send(self, request: bytes) -> Response:
        async with self.connection() as conn:
            return await conn.send(request)

    async def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Response:
        return await self.send(self.request_bytes(method, path, body, headers))

    async def json(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        response = await self.call(method, path, body)
        if response.status != expect:
            raise HttpError(f"{method} {path}: {response.status} {response.body[:300]!r}")
        return response.json()

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()
        self._open = 0


# -- Server-Sent Events ---------------------------------------------------------------------


class SseRecorder(asyncio.Protocol):
    """One SSE subscription over a raw connection.

    `data_received` only appends `(time.time(), chunk)`: with a thousand subscribers the
    client must do as little as possible per event, or its own queueing is what gets
    measured. `events()` parses the recording afterwards; each event is stamped with the
    arrival time of the chunk that completed it.
    """

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.chunks: list[tuple[float, bytes]] = []
        self.connected: asyncio.Future[None] = loop.create_future()
        self.first_data: asyncio.Future[None] = loop.create_future()
        self.ended: asyncio.Future[None] = loop.create_future()  # last chunk or closed
        self.transport: asyncio.Transport | None = None
        self._tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        if not self.connected.done():
            self.connected.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.chunks.append((time.time(), data))
        if not self.first_data.done():
            self.first_data.set_result(None)
        self._tail = (self._tail + data)[-5:]
        if self._tail == b"0\r\n\r\n" and not self.ended.done():  # chunked body ended
            self.ended.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ended.done():
            self.ended.set_result(None)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def received(self, marker: bytes) -> bool:
        return any(marker in chunk for _, chunk in self.chunks)

    def events(self) -> list[tuple[float, dict[str, Any]]]:
        """(arrival time, event JSON) for every `data:` line of the stream, in order."""
        found: list[tuple[float, dict[str, Any]]] = []
        buffer = b""
        headers_done = False
        for at, chunk in self.chunks:
            buffer += chunk
            if not headers_done:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    continue
                buffer, headers_done = buffer[end + 4 :], True
            while True:
                end = buffer.find(b"\n\n")
                if end < 0:
                    break
                block, buffer = buffer[:end], buffer[end + 2 :]
                # chunked transfer framing interleaves size lines; keep only `data:` lines
                for line in block.split(b"\n"):
                    line = line.strip(b"\r")
                    if line.startswith(b"data: "):
                        found.append((at, loads(line[6:])))
        return found


async def subscribe(client: Client, task_id: str, last_event_id: int | None = None) -> SseRecorder:
    """Open an SSE subscription to a task's events on a connection of its own."""
    loop = asyncio.get_running_loop()
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    request = client.request_bytes("GET", f"/v1/tasks/{task_id}/events", headers=headers)
    transport, protocol = await loop.create_connection(SseRecorder, client.host, client.port)
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport.write(request)
    return protocol
