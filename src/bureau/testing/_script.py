"""The script an `OpenAITestServer` answers from, and the record of what it was asked.

A script is an ordered list of `ScriptedResponse`s. Each request is answered by the first
response not yet used whose conditions (`model`, `match`, `when`) accept it; a response is
used once unless it says `repeat`. A script without conditions is therefore a plain
sequence, and one with conditions is a set of rules. The JSON form of a script (a file, or
the body of `POST /_test/script`) is a list of objects with the same field names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bureau.errors import UsageError

JSONObject = dict[str, Any]
"""A decoded JSON object: request bodies and messages are whatever the client sent."""


@dataclass(frozen=True)
class ToolCall:
    """One function call the scripted model asks for.

    `arguments` is sent as a JSON string; a mapping is encoded, a string is sent as is (so a
    test can send malformed arguments). `id` defaults to `call_<request>_<position>`.
    """

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    @property
    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments), separators=(",", ":"))


@dataclass(frozen=True)
class Usage:
    """Token counts reported with an answer; a count left `None` is computed from words."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(frozen=True)
class ScriptedError:
    """An HTTP error in OpenAI's format, e.g. `ScriptedError(429, retry_after=1)`.

    `type` and `code` default to what OpenAI sends for the status; `retry_after` (seconds)
    becomes the `Retry-After` header.
    """

    status: int = 500
    message: str = "The scripted model failed."
    type: str | None = None
    code: str | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class RecordedRequest:
    """One chat completion request the server received, as the client sent it.

    `response_index` is the position in the script of the response that answered it, or
    `None` when the script had none left.
    """

    model: str
    messages: list[JSONObject]
    tools: list[JSONObject]
    stream: bool
    time: float
    body: JSONObject
    response_index: int | None = None

    @property
    def last_user_message(self) -> str:
        """The text of the last `user` message ("" when there is none)."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return content_text(message.get("content"))
        return ""

    def to_json(self) -> JSONObject:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecordedRequest:
        return cls(**data)


@dataclass(frozen=True)
class ScriptedResponse:
    """One answer of the script: text, tool calls (or both), or an error, after `delay` s.

    Conditions, all optional: `model` (the request's `model` equals it), `match` (the last
    user message contains it) and `when` (a predicate, from Python only). With none, the
    response answers whatever comes next. `repeat` keeps it in the script after use.
    A response with neither text, tool calls nor error answers with empty text.
    """

    text: str | None = None
    tool_calls: Sequence[ToolCall] = ()
    error: ScriptedError | None = None
    delay: float = 0.0
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str | None = None
    match: str | None = None
    when: Callable[[RecordedRequest], bool] | None = None
    repeat: bool = False

    def __post_init__(self) -> None:
        if self.error is not None and (self.text is not None or self.tool_calls):
            raise UsageError("a scripted response is either an error or an answer, not both")
        if self.delay < 0:
            raise UsageError(f"a scripted delay cannot be negative (got {self.delay})")

    def accepts(self, request: RecordedRequest) -> bool:
        """Whether this response's conditions accept `request`."""
        if self.model is not None and request.model != self.model:
            return False
        if self.match is not None and self.match not in request.last_user_message:
            return False
        return self.when is None or self.when(request)


Script = Iterable[ScriptedResponse | Mapping[str, Any]]
"""What a server accepts as its script: responses, their JSON form, or a mix."""


def content_text(content: Any) -> str:
    """The text of a message's `content`: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [part.get("text") for part in content if isinstance(part, dict)]
        return "\n".join(text for text in texts if isinstance(text, str))
    return ""


def parse_script(script: Script) -> list[ScriptedResponse]:
    """Turn a script's entries into `ScriptedResponse`s; raise `UsageError` on a bad one."""
    if isinstance(script, str | bytes | Mapping) or not isinstance(script, Iterable):
        kind = type(script).__name__
        raise UsageError(f"a script is a list of responses, not a {kind} (a file: load_script())")
    parsed = []
    for index, entry in enumerate(script):
        if isinstance(entry, ScriptedResponse):
            parsed.append(entry)
        elif isinstance(entry, Mapping):
            try:
                parsed.append(_response_from_json(entry))
            except (TypeError, ValueError) as exc:
                raise UsageError(f"script entry {index}: {exc}") from exc
        else:
            raise UsageError(f"script entry {index} is neither a ScriptedResponse nor a dict")
    return parsed


def load_script(path: str | Path) -> list[ScriptedResponse]:
    """Read a script from a JSON file holding a list of responses."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, list):
        raise UsageError(f"{path} must hold a JSON list of responses")
    return parse_script(data)


_RESPONSE_KEYS = {
    "text",
    "tool_calls",
    "error",
    "delay",
    "usage",
    "finish_reason",
    "model",
    "match",
    "repeat",
}


def _response_from_json(entry: Mapping[str, Any]) -> ScriptedResponse:
    unknown = set(entry) - _RESPONSE_KEYS
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}; known: {sorted(_RESPONSE_KEYS)}")
    calls = entry.get("tool_calls") or []
    if not isinstance(calls, list):
        raise ValueError("tool_calls must be a list")
    error, usage = entry.get("error"), entry.get("usage")
    return ScriptedResponse(
        text=_optional_str(entry, "text"),
        tool_calls=tuple(_tool_call_from_json(call) for call in calls),
        error=None if error is None else ScriptedError(**_object(error, "error")),
        delay=float(entry.get("delay", 0.0)),
        usage=None if usage is None else Usage(**_object(usage, "usage")),
        finish_reason=_optional_str(entry, "finish_reason"),
        model=_optional_str(entry, "model"),
        match=_optional_str(entry, "match"),
        repeat=bool(entry.get("repeat", False)),
    )


def _tool_call_from_json(call: Any) -> ToolCall:
    """A tool call as `{name, arguments, id}` or in OpenAI's own `{id, function}` shape."""
    call = _object(call, "a tool call")
    if isinstance(call.get("function"), dict):
        function = call["function"]
        if not isinstance(function.get("name"), str):
            raise ValueError("a tool call's function needs a name")
        return ToolCall(function["name"], function.get("arguments", "{}"), call.get("id"))
    return ToolCall(**call)


def _object(value: Any, what: str) -> JSONObject:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be an object")
    return value


def _optional_str(entry: Mapping[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value
