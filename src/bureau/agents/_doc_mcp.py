"""Documents doc-digest takes from a tool of an MCP server that the task input names.

A source `{"mcp": {"url", "tool", "arguments", "name"}}` makes the agent list the server's
tools (declining when the tool is not there), call the tool once, and read the result's
text parts and embedded text resources as documents. Both are journaled steps of the SDK
(`ctx.mcp_tools`, `ctx.call_tool_content`): after a crash the recorded result is read
again and the server is not called a second time. The URL obeys the worker's outbound
rules (internal addresses are refused unless the operator allows their network); a
refused URL, a missing tool or a tool error declines the task. No credentials are sent.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bureau import Context, Decline, MCPServer, ToolError, UsageError
from bureau.agents._inputs import InputFile
from bureau.sdk.mcp_tools import RefusedServer, public_url

MAX_SOURCES = 10
MAX_TEXT_CHARACTERS = 2_000_000  # what doc-digest reads from all MCP tool results together
TIMEOUT_SECONDS = 30.0
_BINARY = {"image": "an image", "audio": "audio", "resource_link": "a link, not fetched"}


class MCPSource(BaseModel):
    """A tool of an MCP server whose result doc-digest reads as documents."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        max_length=2048,
        pattern=r"^https?://",
        description=(
            "the server's streamable HTTP endpoint, e.g. https://docs.example.com/mcp; "
            "public addresses only (no credentials are sent)"
        ),
    )
    tool: str = Field(min_length=1, max_length=128, description="the tool to call, e.g. search")
    arguments: dict[str, Any] = Field(
        default_factory=dict, description='the tool\'s arguments, e.g. {"query": "heat pumps"}'
    )
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[\w .-]+$",
        description="what to call its documents (NAME-1, NAME-2, ...); default: the tool's name",
    )


class DocumentSource(BaseModel):
    """Where documents come from besides `files` and `text`."""

    model_config = ConfigDict(extra="forbid")

    mcp: MCPSource = Field(
        description="call a tool of an MCP server; its text content is read as documents"
    )


def _unique(name: str, taken: set[str]) -> str:
    """`name`, or `name-2`, `name-3`, ... (before its extension): the first not `taken`."""
    candidate, number = name, 1
    while candidate.lower() in taken:
        number += 1
        stem, dot, extension = name.rpartition(".")
        candidate = f"{stem}-{number}.{extension}" if dot and stem else f"{name}-{number}"
    taken.add(candidate.lower())
    return candidate


def _numbered(base: str, taken: set[str]) -> str:
    """`base-1`, `base-2`, ...: the first not `taken`."""
    number = 1
    while f"{base}-{number}".lower() in taken:
        number += 1
    taken.add(f"{base}-{number}".lower())
    return f"{base}-{number}"


def _resource_name(uri: str) -> str | None:
    last = re.sub(r"[?#].*$", "", uri).rstrip("/").rpartition("/")[2]
    return last if re.fullmatch(r"[\w.-]{1,64}", last) and not last.endswith(":") else None


def documents_of_result(
    parts: list[dict[str, Any]], base: str, taken: set[str], origin: str
) -> tuple[list[InputFile], list[dict[str, str]]]:
    """The documents in a tool result's content parts, and the parts set aside with why.

    Text parts are named `<base>-1`, `<base>-2`, ... (numbers not yet `taken`); an embedded
    resource keeps the last segment of its URI when it has one (`-2` added when taken).
    `taken` holds the lowercased names in use and gains the new ones.
    """
    files: list[InputFile] = []
    skipped: list[dict[str, str]] = []
    for index, part in enumerate(parts, start=1):
        kind = part.get("type")
        text = part.get("text")
        if kind in ("text", "resource") and isinstance(text, str):
            if not text.strip():
                continue
            named = _resource_name(str(part.get("uri", ""))) if kind == "resource" else None
            files.append(
                InputFile(
                    name=_unique(named, taken) if named else _numbered(base, taken),
                    content=text,
                    media_type=part.get("mime_type") if kind == "resource" else None,
                )
            )
        else:
            what = _BINARY.get(str(kind), "binary data")
            skipped.append({"name": f"{origin} part {index}", "reason": f"{what}, not text"})
    return files, skipped


async def read_mcp_sources(
    ctx: Context, sources: list[DocumentSource], taken: set[str]
) -> tuple[list[InputFile], list[dict[str, str]], list[dict[str, Any]]]:
    """Call each source's tool once (journaled) and return the documents, the parts set
    aside, and a record per source (`url` without query, `tool`, `documents`).

    A source that gave no text is set aside too. Raises `Decline` for a refused URL, a
    tool the server does not have, a tool error, or more text than doc-digest reads."""
    files: list[InputFile] = []
    skipped: list[dict[str, str]] = []
    records: list[dict[str, Any]] = []
    listed: dict[str, list[str]] = {}
    for source in sources:
        spec = source.mcp
        shown = public_url(spec.url)
        try:
            server = MCPServer(url=spec.url, timeout_seconds=TIMEOUT_SECONDS)
        except UsageError as exc:
            raise Decline(f"doc-digest cannot use the MCP server {shown!r}: {exc}") from None
        try:
            if spec.url not in listed:
                tools = await ctx.mcp_tools(server)
                listed[spec.url] = [str(tool["name"]) for tool in tools]
            names = listed[spec.url]
            if spec.tool not in names:
                offered = ", ".join(sorted(names)[:20]) or "none"
                raise Decline(
                    f"the MCP server {shown!r} has no tool {spec.tool!r} (its tools: "
                    f"{offered}); name one of its tools in input.sources[].mcp.tool"
                )
            parts = await ctx.call_tool_content(server, spec.tool, spec.arguments)
        except RefusedServer as exc:
            raise Decline(
                f"doc-digest does not connect there: {exc}. It reads MCP servers on public "
                "addresses only, unless the operator allows a network"
            ) from None
        except ToolError as exc:
            raise Decline(
                f"the MCP tool {spec.tool!r} of {shown!r} answered with an error: {exc.message}"
            ) from None
        origin = f"{spec.tool} at {shown}"
        found, set_aside = documents_of_result(parts, spec.name or spec.tool, taken, origin)
        if not found:
            set_aside.append({"name": origin, "reason": "the tool returned no text"})
        files += found
        skipped += set_aside
        records.append({"url": shown, "tool": spec.tool, "documents": [f.name for f in found]})
    if sum(len(f.content) for f in files) > MAX_TEXT_CHARACTERS:
        raise Decline(
            f"the MCP tools returned more than {MAX_TEXT_CHARACTERS:,} characters of text; "
            "ask them for less (fewer results, a narrower query)"
        )
    return files, skipped, records
