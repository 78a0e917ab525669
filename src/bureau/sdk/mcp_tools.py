"""MCP servers an agent uses: their declaration, and the connections of one run.

An agent declares them with `@agent(..., mcp_servers={"files": MCPServer(...)})`. A server
is a streamable HTTP URL or a stdio command; its headers, environment and arguments may
refer to the publisher tenant's secrets as `${secret:NAME}`, resolved when the run first
uses the server (a missing secret fails the task, naming the secret). Connections open
lazily, one per server per run, and close when the run ends or parks.

An agent may also pass an `MCPServer` at run time (a URL its task input names). Such a
server has a URL, never a command (no task input may make a worker run a program), and no
secret references (a consumer must not aim the publisher's secrets at a server of its
choice); it is known by `<host>~<digest of its URL>`, so its journal step names are stable
and distinct per URL. Every request to a URL server passes the host's outbound rules.

Each connection lives in a task of its own (the SDK's transports hold anyio cancel scopes
that must be entered and left by one task), so the agent may call tools from any coroutine.
`Context.mcp_tools`, `Context.call_tool` and `Context.call_tool_content` journal what these
connections return.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
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


def given_name(url: str) -> str:
    """The name an `MCPServer` given at run time is journaled and connected under:
    `<host>~<12 hex digits of the URL's SHA-256>`. Stable and distinct per URL, it shows
    no path, query or credentials, and cannot clash with a declared name (no `~` there)."""
    host = urlsplit(url).hostname or "server"
    return f"{host}~{hashlib.sha256(url.encode()).hexdigest()[:12]}"


def public_url(url: str) -> str:
    """`url` without credentials, query or fragment: safe to show in messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class RefusedServer(Fatal):
    """The outbound rules refuse an MCP server's URL (an internal address, say); the run
    made no request to it. A `Fatal`: the task fails unless the agent catches it."""


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

    def __init__(self, name: str, server: MCPServer, host: MCPHost | None) -> None:
        self.name = name
        self.server = server
        self.host = host
        self.refusals: list[RefusedServer] = []  # what the screening transport refused
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
                            transport=(
                                _screened(self.host, self.refusals)
                                if self.host is not None
                                else None
                            ),
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


def _screened(host: MCPHost, refusals: list[RefusedServer]) -> Any:
    """An httpx2 transport that puts every request's URL to the host's outbound rules (not
    only the first: a name may resolve elsewhere later). A refused request raises
    `RefusedServer`, also kept in `refusals` (the MCP client reports it as a closed
    connection)."""
    import httpx2

    class Screened(httpx2.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            url = str(request.url)
            refused = await host.mcp_refusal(url)
            if refused is not None:
                refusal = RefusedServer(
                    f"MCP server {public_url(url)!r}: its URL is refused: {refused}"
                )
                refusals.append(refusal)
                raise refusal
            return await super().handle_async_request(request)

    return Screened()


class MCPConnections:
    """The MCP connections of one run, opened on first use, closed by `close`."""

    def __init__(self, servers: Mapping[str, MCPServer], host: MCPHost | None) -> None:
        self._servers = servers
        self._given: dict[str, MCPServer] = {}
        self._host = host
        self._open: dict[str, _Connection] = {}
        self._opening: dict[str, asyncio.Lock] = {}

    def name_of(self, server: str | MCPServer) -> str:
        """The name calls to `server` are journaled and connected under: a declared name as
        is; a declared `MCPServer` by its name; another `MCPServer` (given at run time) by
        `given_name` of its URL. Raises `UsageError` for an undeclared name, a command
        server that was not declared, secret references in a server given at run time, or
        two different servers with one URL in a run."""
        if isinstance(server, str):
            if server not in self._servers:
                raise self._undeclared(server)
            return server
        if not isinstance(server, MCPServer):
            raise UsageError("name a declared MCP server, or pass an MCPServer(url=...)")
        for name, declared_server in self._servers.items():
            if declared_server == server:
                return name
        if server.url is None:
            raise UsageError(
                "an MCPServer given at run time must have a url: a stdio command runs only "
                "when declared in @agent(mcp_servers=...), so no task input can make a "
                "worker run a program"
            )
        if server.secret_names():
            raise UsageError(
                "an MCPServer given at run time may not refer to secrets: declare it in "
                "@agent(mcp_servers=...) to use the publisher's secrets"
            )
        name = given_name(server.url)
        if self._given.setdefault(name, server) != server:
            raise UsageError(
                f"MCP server {public_url(server.url)!r} is given twice in one run with "
                "different settings; use one MCPServer per URL"
            )
        return name

    def _undeclared(self, name: str) -> UsageError:
        declared = ", ".join(sorted(self._servers)) or "none"
        return UsageError(f"no MCP server {name!r} is declared (declared: {declared})")

    def display(self, name: str) -> str:
        """How messages show server `name`: a declared name, or a given server's URL
        without credentials, query or fragment."""
        given = self._given.get(name)
        return public_url(given.url) if given is not None and given.url else name

    async def client(self, name: str) -> Client:
        """The open session to server `name` (see `name_of`). Raises `UsageError`
        (unknown), `Fatal` (a missing secret), `RefusedServer` (a refused URL), `Retry`
        (it could not connect)."""
        server = self._servers.get(name) or self._given.get(name)
        if server is None:
            raise self._undeclared(name)
        shown = self.display(name)
        lock = self._opening.setdefault(name, asyncio.Lock())
        async with lock:
            if name in self._open:
                return await asyncio.shield(self._open[name]._ready)
            secrets = await self._secrets_of(name, server)
            if server.url is not None and self._host is not None:
                refused = await self._host.mcp_refusal(server.url)
                if refused is not None:
                    # the rules are the webhooks'; their wording is too
                    refused = refused.replace("the webhook URL", "the URL").replace(
                        " (deliveries are signed instead)", ""
                    )
                    raise RefusedServer(f"MCP server {shown!r}: its URL is refused: {refused}")
            connection = _Connection(name, server, self._host)
            self._open[name] = connection
            try:
                return await connection.open(secrets)
            except Exception as exc:
                del self._open[name]
                await connection.close()
                if connection.refusals:
                    raise connection.refusals[0] from None
                raise Retry(
                    f"cannot connect to MCP server {shown!r}: {_describe(exc)}",
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
                if connection.refusals:
                    raise connection.refusals[0] from None
            raise Retry(
                f"MCP server {self.display(name)!r} failed {what}: {_describe(exc)}",
                after=RETRY_AFTER_SECONDS,
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
    """The journaled form of a `tools/call` result: `{"error": bool, "value": ...,
    "content": [...]}` where the value is the structured content, else the text (one
    string, or joined lines), and the content its parts (see `content_part`)."""
    texts = [item.text for item in result.content if getattr(item, "type", None) == "text"]
    value: Any
    if result.structured_content is not None and not result.is_error:
        value = result.structured_content
    else:
        value = "\n".join(texts)
    content = [content_part(item) for item in result.content]
    return {"error": bool(result.is_error), "value": value, "content": content}


def content_part(item: Any) -> dict[str, Any]:
    """One content part of a tool result, as journaled: text kept; binary data (images,
    audio, blob resources) left out, its type and media type kept.

    `{"type": "text", "text"}`, `{"type": "resource", "uri", "mime_type", "text"}` (an
    embedded resource; `text` is None for a blob), `{"type": "resource_link", "uri",
    "name", "mime_type"}`, or `{"type": "image" | "audio" | ..., "mime_type"}`.
    """
    kind = str(getattr(item, "type", "unknown"))
    if kind == "text":
        return {"type": "text", "text": item.text}
    if kind == "resource":
        resource = item.resource
        return {
            "type": "resource",
            "uri": str(resource.uri),
            "mime_type": resource.mime_type,
            "text": getattr(resource, "text", None),
        }
    if kind == "resource_link":
        return {
            "type": "resource_link",
            "uri": str(item.uri),
            "name": item.name,
            "mime_type": item.mime_type,
        }
    return {"type": kind, "mime_type": getattr(item, "mime_type", None)}


def content_of(outcome: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The content parts of a journaled outcome (one journaled before parts were kept
    yields its text as one part)."""
    if "content" in outcome:
        parts: list[dict[str, Any]] = outcome["content"]
        return parts
    value = outcome.get("value")
    return [{"type": "text", "text": value}] if isinstance(value, str) and value else []
