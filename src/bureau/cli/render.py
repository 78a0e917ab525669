"""Plain-text rendering for the CLI: JSON output, tables, sizes and durations, event lines.

Everything here returns strings or writes to stdout; nothing talks to the server.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from typing import Any

import orjson

from bureau.states import EventType

__all__ = [
    "duration",
    "emit_json",
    "event_line",
    "pretty",
    "preview",
    "shorten",
    "size",
    "sla",
    "table",
]


def emit_json(value: Any, *, one_line: bool = False) -> None:
    """Write `value` to stdout as JSON: indented, or as one line (JSON Lines)."""
    option = orjson.OPT_NON_STR_KEYS if one_line else orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
    sys.stdout.write(orjson.dumps(value, option=option).decode() + "\n")
    sys.stdout.flush()


def shorten(text: str, width: int) -> str:
    """`text` on one line, cut to `width` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: max(width - 3, 0)] + "..."


def _flat(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def preview(value: Any, width: int = 72) -> str:
    """A one-line preview of a JSON value (strings as they are)."""
    return shorten(value if isinstance(value, str) else _flat(value), width)


def pretty(value: Any, width: int = 96, indent: int = 0, column: int = 0) -> str:
    """JSON for people: objects and arrays stay on one line when they fit in `width`.

    `indent` is the block's indentation, `column` where the value starts on its line.
    """
    flat = _flat(value)
    if not isinstance(value, dict | list) or not value or column + len(flat) <= width:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, list):
        items = [pad + pretty(item, width, indent + 2, indent + 2) for item in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    lines = []
    for key, item in value.items():
        label = _flat(str(key)) + ": "
        start = indent + 2 + len(label)
        lines.append(pad + label + pretty(item, width, indent + 2, start))
    return "{\n" + ",\n".join(lines) + "\n" + " " * indent + "}"


def duration(seconds: float | None) -> str:
    """`seconds` as 45s, 5m, 1h30m."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:g}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m" + (f"{secs}s" if secs else "")
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h" + (f"{minutes}m" if minutes else "")


def sla(value: dict[str, Any] | None) -> str:
    """An SLA as `~30s, max 5m`."""
    if not value:
        return "-"
    return f"~{duration(value.get('expected_seconds'))}, max {duration(value.get('max_seconds'))}"


def size(count: int | None) -> str:
    """A byte count as 812 B, 1.2 KB, 3.4 MB."""
    if count is None:
        return "?"
    amount = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{count} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An aligned text table; the last column is cut to fit the terminal."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers[:-1])]
    room = shutil.get_terminal_size((120, 24)).columns - sum(w + 2 for w in widths)
    lines = []
    for row in [list(headers), *map(list, rows)]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, shorten(row[-1], max(room, 20))]).rstrip())
    return "\n".join(lines)


def _status(data: dict[str, Any]) -> str:
    line = f"status: {data.get('status')}"
    if data.get("redo"):
        line += f" (redo, revision {data.get('revision')})"
    error = data.get("error")
    if isinstance(error, dict):
        line += f" - {error.get('code')}: {error.get('message')}"
    return line


def _step(kind: str, data: dict[str, Any]) -> str:
    name = data.get("name", "?")
    if kind == EventType.STEP_STARTED:
        return f"  -> {name}"
    if kind == EventType.STEP_FAILED:
        return f"  !! {name} failed: {data.get('error')}"
    line = f"  ok {name}"
    if data.get("seconds") is not None:
        line += f" ({data['seconds']:.2f}s)"
    if "result" in data:
        line += f": {preview(data['result'], 60)}"
    return line


def _progress(data: dict[str, Any]) -> str:
    fraction = data.get("fraction")
    percent = f"{fraction * 100:3.0f}%" if isinstance(fraction, int | float) else "  ?%"
    return f"[{percent}] {data.get('message') or ''}".rstrip()


def _message(data: dict[str, Any]) -> str:
    said = data.get("text") if data.get("text") is not None else preview(data.get("data"))
    return f"message: {said}"


def _plain(kind: str, data: Any) -> str:
    """Lines for the event types whose data is a JSON object."""
    if kind == EventType.STATUS:
        return _status(data)
    if kind.startswith("step."):
        return _step(kind, data)
    if kind == EventType.PROGRESS:
        return _progress(data)
    if kind == EventType.MESSAGE:
        return _message(data)
    if kind == EventType.QUESTION:
        return f"question: {data.get('text')}"
    if kind == EventType.ARTIFACT:
        return f"artifact: {data.get('name')} ({size(data.get('size'))}, {data.get('media_type')})"
    if kind == EventType.DELIVERABLE:
        return "deliverable ready"
    if kind == EventType.REVIEW:
        rating = f", rating {data['rating']}" if data.get("rating") else ""
        reason = f": {data['reason']}" if data.get("reason") else ""
        return f"review: {data.get('status')}{rating}{reason}"
    if kind == EventType.DELEGATED:
        return f"delegated to {data.get('agent')} as {data.get('task_id')}: {data.get('goal')}"
    if kind == EventType.RETRY:
        return f"retry (attempt {data.get('attempt')}) in {data.get('delay_seconds')}s"
    if kind == "error":
        return f"error: {data.get('code')}: {data.get('message')}"
    return f"{kind}: {preview(data)}"


def event_line(event: dict[str, Any]) -> str:
    """One event as readable text (a plan takes one line per step)."""
    kind, data = str(event.get("type")), event.get("data")
    if kind == EventType.PLAN and isinstance(data, list):
        return "plan:\n" + "\n".join(f"  {i}. {step}" for i, step in enumerate(data, 1))
    if isinstance(data, dict):
        return _plain(kind, data)
    return f"{kind}: {preview(data)}"
