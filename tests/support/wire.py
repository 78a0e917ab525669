"""Raw HTTP for the protocol doors' tests: what a request answered, in any door's shape
(JSON-RPC, A2A's HTTP+JSON errors, problem+json, MCP tool results), streams included,
and MCP requests as they go on the wire (for exact control of bodies and headers)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.server import ServerProcess

TASKS_EXTENSION = "io.modelcontextprotocol/tasks"
MODERN, LEGACY = "2026-07-28", "2025-11-25"
MCP_ACCEPT = "application/json, text/event-stream"
INTERNAL_ERROR = -32603


@dataclass
class Answer:
    status: int
    """The HTTP status (of a stream cut short: the status it started with)."""
    body: str
    """The body; of an event stream, its first event's data."""
    payload: Any
    cut: str | None = None
    """Why the response ended before its first event or its end, if it did."""

    def error(self) -> str:
        """The message of a refusal in any of the doors' shapes ('' when none)."""
        payload = self.payload if isinstance(self.payload, dict) else {}
        error = payload.get("error")
        if isinstance(error, dict):
            return str(error.get("message", ""))
        if "detail" in payload:  # problem+json
            return str(payload["detail"])
        result = payload.get("result")
        if isinstance(result, dict) and result.get("isError"):  # an MCP tool's error
            return " ".join(str(c.get("text", "")) for c in result.get("content", []))
        return ""

    def rpc_code(self) -> int | None:
        error = self.payload.get("error") if isinstance(self.payload, dict) else None
        return error.get("code") if isinstance(error, dict) else None

    def succeeded(self) -> bool:
        if self.cut or not 200 <= self.status < 300 or self.error():
            return False
        return not (isinstance(self.payload, dict) and "error" in self.payload)

    def describe(self) -> str:
        return f"{self.status} {self.body[:600]}" + (f" (cut: {self.cut})" if self.cut else "")


def send(client: httpx.Client, method: str, url: str, **kwargs: Any) -> Answer:
    """A request; an event stream is read up to its first event, then closed."""
    status = -1
    try:
        with client.stream(method, url, **kwargs) as response:
            status = response.status_code
            if response.headers.get("content-type", "").startswith("text/event-stream"):
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        data = line.removeprefix("data:").strip()
                        return Answer(status, data, json.loads(data))
                return Answer(status, "", None, cut="the stream ended without an event")
            body = response.read().decode(errors="replace")
    except httpx.HTTPError as exc:
        return Answer(status, "", None, cut=f"{type(exc).__name__}: {exc}")
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        payload = None
    return Answer(status, body, payload)


def mcp_headers(method: str | None, params: dict[str, Any], era: str = MODERN) -> dict[str, str]:
    """The headers of an MCP request (2026-07-28: `Mcp-Method`, and `Mcp-Name` naming the
    tool or the task)."""
    headers = {"Accept": MCP_ACCEPT, "MCP-Protocol-Version": era}
    if era == MODERN and method is not None:
        headers["Mcp-Method"] = method
        name = params.get("name", params.get("taskId"))
        if isinstance(name, str):
            headers["Mcp-Name"] = name
    return headers


def mcp_meta(extension: bool = False) -> dict[str, Any]:
    """A stateless 2026-07-28 request's `_meta`: the client's version, name, capabilities."""
    capabilities = {"extensions": {TASKS_EXTENSION: {}}} if extension else {}
    return {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "bureau-tests", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": capabilities,
    }


def mcp_request(
    server: ServerProcess,
    key: str | None,
    method: str,
    params: dict[str, Any],
    *,
    era: str = MODERN,
    extension: bool = False,
) -> Answer:
    """One MCP request: stateless 2026-07-28, or 2025-11-25 without a handshake."""
    params = dict(params)
    if era == MODERN:
        params["_meta"] = mcp_meta(extension)
    call = {"jsonrpc": "2.0", "id": 7, "method": method, "params": params}
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with httpx.Client(base_url=server.url, headers=headers, timeout=20) as client:
        return send(client, "POST", "/mcp", json=call, headers=mcp_headers(method, params, era))


_FAILURE = re.compile(r"^(\S+ \S+ (ERROR|CRITICAL) |ERROR:|CRITICAL:|Traceback)", re.MULTILINE)


def log_failures(log: str) -> list[str]:
    """The lines of a server log that record an error or start a traceback."""
    return [
        match.group(0) + log[match.end() :].partition("\n")[0] for match in _FAILURE.finditer(log)
    ]


class LogWindow:
    """What a server logs from now on (its log file grows; nothing else writes to it)."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.offset = server.log.stat().st_size

    def read(self) -> str:
        with open(self.server.log, "rb") as log:
            log.seek(self.offset)
            return log.read().decode(errors="replace")

    def assert_clean(self, what: str) -> None:
        logged = self.read()
        failures = log_failures(logged)
        assert not failures, f"{what}: the server logged {failures}:\n{logged[-4000:]}"
