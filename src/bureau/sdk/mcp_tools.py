"""MCP servers an agent uses: their declaration, and the connections of one run.

An agent declares them with `@agent(..., mcp_servers={"files": MCPServer(...)})`. A server
is a streamable HTTP URL or a stdio command; its headers, environment and arguments may
refer to the publisher tenant's secrets as `${secret:NAME}`, resolved when the run first
uses the server (a missing secret fails the task, naming the secret). Connections open
lazily, one per server per run, and close when the run ends or parks.

Each connection lives in a task of its own (the SDK's transports hold anyio cancel scopes
that must be entered and left by one task), so the agent may call tools from any coroutine.
`Context.mcp_tools` and `Context.call_tool` journal what these connections return.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from bureau.errors import UsageError
from bureau.sdk.signals import Fatal, Retry

if TYPE_CHECKING:
    from mcp import Client

SECRET_REFERENCE = re.compile(r"\$\{secret:([A-Za-z0-9_.-]{1,100})\}")
_SERVER_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
RETRY_AFTER_SECONDS = 5.0


@dataclass(frozen=True)
class MCPServer:
    """An MCP server an agent uses: exactly one of `url` (streamable HTTP) or `command`
    (a stdio server, started per run with a minimal environment: `HOME`, `LOGNAME`, `PATH`,
    `SHELL`, `TERM`, `USER`, plus `env`).

    `headers` (HTTP), `env` and `command` arguments may contain `${secret:NAME}`, replaced
    by the publisher tenant's secret NAME at run time. `timeout_seconds` bounds one call.
    """

    url: str | None = None
    command: Sequence[str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    timeout_seconds: float = 60.0

    def __post_init__(self) -> None:
        if (self.url is None) == (self.command is None):
            raise UsageError("MCPServer takes exactly one of url= or command=")
        if self.url is not None:
            if urlsplit(self.url).scheme not in ("http", "https"):
                raise UsageError(f"MCPServer url {self.url!r} must be http or https")
            if SECRET_REFERENCE.search(self.url):
                raise UsageError("MCPServer url must not hold a secret; put it in headers=")
        if self.command is not None:
            if isinstance(self.command, str) or not self.command:
                raise UsageError(
                    "MCPServer command must be a non-empty list, like ['python', 'server.py']"
                )
            object.__setattr__(self, "command", tuple(self.command))
        if self.timeout_seconds <= 0:
            raise UsageError("MCPServer timeout_seconds must be positive")

    def secret_names(self) -> list[str]:
        """The secrets this declaration refers to, sorted."""
        texts = [*self.headers.values(), *self.env.values(), *(self.command or ())]
        return sorted({name for text in texts for name in SECRET_REFERENCE.findall(text)})


def check_servers(servers: Mapping[str, MCPServer] | None) -> dict[str, MCPServer]:
    """The declared servers, checked at import time; raises `UsageError`."""
    checked: dict[str, MCPServer] = {}
    for name, server in (servers or {}).items():
        if not isinstance(name, str) or not _SERVER_NAME.match(name):
            raise UsageError(
                f"MCP server name {name!r} must be 1 to 64 letters, digits, '_', '.' or '-'"
            )
        if not isinstance(server, MCPServer):
            raise UsageError(f"mcp_servers[{name!r}] must be an MCPServer")
        checked[name] = server
    return checked


class ToolError(Exception):
    """A tool answered with an error (`isError`); the agent may catch it. Its result is
    journaled like any other, so the call is not repeated after a crash."""

    def __init__(self, server: str, tool: str, message: str) -> None:
        super().__init__(f"MCP tool {server}/{tool} failed: {message}")
        self.server = server
        self.tool = tool
        self.message = message


class MCPHost(Protocol):
    """What a runtime provides for MCP servers (the engine's `TaskRuntime` does)."""

    async def mcp_secrets(self, names: Sequence[str]) -> dict[str, str]:
        """The publisher tenant's secrets of those names (absent ones left out)."""
        ...

    async def mcp_refusal(self, url: str) -> str | None:
        """Why the run may not connect to `url` (the rules for outbound URLs), or None."""
        ...


def _fill(text: str, secrets: Mapping[str, str]) -> str:
    return SECRET_REFERENCE.sub(lambda match: secrets[match.group(1)], text)


class _Connection:
    """One open MCP session, held by a task of its own until `close`."""

    def __init__(self, name: str, server: MCPServer) -> None:
        self.name = name
        self.server = server
        self._ready: asyncio.Future[Client] = asyncio.get_running_loop().create_future()
        self._closing = asyncio.Event()
        self._holder: asyncio.Task[None] | None = None

    async def open(self, secrets: Mapping[str, str]) -> Client:
        self._holder = asyncio.create_task(self._hold(secrets))
        return await asyncio.shield(self._ready)

    async def _hold(self, secrets: Mapping[str, str]) -> None:
        from mcp import Client, StdioServerParameters

        server = self.server
        try:
            async with contextlib.AsyncExitStack() as stack:
                target: Any
                if server.url is not None:
                    import httpx2
                    from mcp.client.streamable_http import streamable_http_client

                    http = await stack.enter_async_context(
                        httpx2.AsyncClient(
                            headers={k: _fill(v, secrets) for k, v in server.headers.items()},
                            timeout=httpx2.Timeout(30.0, read=server.timeout_seconds),
                            follow_redirects=False,
                        )
                    )
                    target = streamable_http_client(server.url, http_client=http)
                else:
                    command = [_fill(part, secrets) for part in server.command or ()]
                    target = StdioServerParameters(
                        command=command[0],
                        args=command[1:],
                        env={k: _fill(v, secrets) for k, v in server.env.items()},
                        cwd=server.cwd,
                    )
                client = await stack.enter_async_context(
                    Client(target, read_timeout_seconds=server.timeout_seconds, cache=None)
                )
                self._ready.set_result(client)
                await self._closing.wait()
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
            elif not isinstance(exc, asyncio.CancelledError | Exception):
                raise

    async def close(self) -> None:
        self._closing.set()
        if self._holder is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._holder, timeout=10.0)


class MCPConnections:
    """The MCP connections of one run, opened on first use, closed by `close`."""

    def __init__(self, servers: Mapping[str, MCPServer], host: MCPHost | None) -> None:
        self._servers = servers
        self._host = host
        self._open: dict[str, _Connection] = {}
        self._opening: dict[str, asyncio.Lock] = {}

    async def client(self, name: str) -> Client:
        """The open session to server `name`. Raises `UsageError` (undeclared), `Fatal`
        (a missing secret, a refused URL), `Retry` (it could not connect)."""
        server = self._servers.get(name)
        if server is None:
            declared = ", ".join(sorted(self._servers)) or "none"
            raise UsageError(f"no MCP server {name!r} is declared (declared: {declared})")
        lock = self._opening.setdefault(name, asyncio.Lock())
        async with lock:
            if name in self._open:
                return await asyncio.shield(self._open[name]._ready)
            secrets = await self._secrets_of(name, server)
            if server.url is not None and self._host is not None:
                refused = await self._host.mcp_refusal(server.url)
                if refused is not None:
                    raise Fatal(f"MCP server {name!r}: its URL is refused: {refused}")
            connection = _Connection(name, server)
            self._open[name] = connection
            try:
                return await connection.open(secrets)
            except Exception as exc:
                del self._open[name]
                await connection.close()
                raise Retry(
                    f"cannot connect to MCP server {name!r}: {_describe(exc)}",
                    after=RETRY_AFTER_SECONDS,
                ) from None

    async def _secrets_of(self, name: str, server: MCPServer) -> dict[str, str]:
        wanted = server.secret_names()
        if not wanted:
            return {}
        if self._host is None:
            raise Fatal(f"MCP server {name!r} needs secrets, which this runtime cannot provide")
        found = await self._host.mcp_secrets(wanted)
        missing = [secret for secret in wanted if secret not in found]
        if missing:
            raise Fatal(
                f"MCP server {name!r} needs the secret {missing[0]!r}, which the agent's "
                "publisher has not stored (PUT /v1/secrets/{name})"
            )
        return found

    async def call(self, name: str, use: Callable[[Client], Awaitable[Any]], what: str) -> Any:
        """`use(client)` on server `name`; a transport failure becomes `Retry`."""
        client = await self.client(name)
        try:
            return await use(client)
        except (ToolError, UsageError, Fatal, Retry):
            raise
        except Exception as exc:
            connection = self._open.pop(name, None)
            if connection is not None:
                await connection.close()
            raise Retry(
                f"MCP server {name!r} failed {what}: {_describe(exc)}", after=RETRY_AFTER_SECONDS
            ) from None

    async def close(self) -> None:
        """Close every connection of the run."""
        connections, self._open = list(self._open.values()), {}
        for connection in connections:
            await connection.close()


def _describe(exc: BaseException) -> str:
    inner = exc
    while isinstance(inner, BaseExceptionGroup) and inner.exceptions:
        inner = inner.exceptions[0]
    text = str(inner)
    return f"{type(inner).__name__}: {text}" if text else type(inner).__name__


def tool_listing(tools: Sequence[Any]) -> list[dict[str, Any]]:
    """The journaled form of `tools/list`: name, description and input schema of each."""
    return [
        {
            "name": tool.name,
            "description": tool.description or "",
            "input_schema": tool.input_schema,
        }
        for tool in tools
    ]


def tool_outcome(result: Any) -> dict[str, Any]:
    """The journaled form of a `tools/call` result: `{"error": bool, "value": ...}` where
    the value is the structured content, else the text (one string, or joined lines)."""
    texts = [item.text for item in result.content if getattr(item, "type", None) == "text"]
    value: Any
    if result.structured_content is not None and not result.is_error:
        value = result.structured_content
    else:
        value = "\n".join(texts)
    return {"error": bool(result.is_error), "value": value}
