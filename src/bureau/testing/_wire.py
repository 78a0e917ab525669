"""OpenAI's Chat Completions wire format, as the test server writes it.

Builds the JSON bodies (a completion, the chunks of a streamed one, an error) from a
`ScriptedResponse` and the request it answers. Token counts not given by the script are
counted in words, so the same request always reports the same usage.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from bureau.testing._script import (
    JSONObject,
    RecordedRequest,
    ScriptedError,
    ScriptedResponse,
    Usage,
    content_text,
)

_PIECE = re.compile(r"\S+\s*|\s+")
_ARGUMENT_PIECE = 16
"""Streamed tool-call arguments come in pieces this long, so clients must join them."""


def error_body(message: str, type: str, code: str | None = None) -> JSONObject:
    """OpenAI's error object: `{"error": {"message", "type", "param", "code"}}`."""
    return {"error": {"message": message, "type": type, "param": None, "code": code}}


def scripted_error_body(error: ScriptedError) -> JSONObject:
    if error.status == 429:
        type, code = "requests", "rate_limit_exceeded"
    elif error.status >= 500:
        type, code = "server_error", None
    else:
        type, code = "invalid_request_error", None
    return error_body(error.message, error.type or type, error.code or code)


def usage_of(request: RecordedRequest, response: ScriptedResponse) -> JSONObject:
    """The `usage` object: scripted counts, or words of the prompt and of the answer."""
    scripted = response.usage or Usage()
    prompt = scripted.prompt_tokens
    if prompt is None:
        prompt = sum(_words(_message_text(message)) for message in request.messages)
    completion = scripted.completion_tokens
    if completion is None:
        completion = _words(response.text or "") + sum(
            _words(f"{call.name} {call.arguments_json}") for call in response.tool_calls
        )
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": scripted.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": scripted.reasoning_tokens},
    }


def tool_calls_of(response: ScriptedResponse, request_number: int) -> list[JSONObject]:
    return [
        {
            "id": call.id or f"call_{request_number}_{position}",
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments_json},
        }
        for position, call in enumerate(response.tool_calls)
    ]


def finish_reason_of(response: ScriptedResponse) -> str:
    return response.finish_reason or ("tool_calls" if response.tool_calls else "stop")


def completion_body(
    request: RecordedRequest, response: ScriptedResponse, request_number: int, created: int
) -> JSONObject:
    """A `chat.completion` object answering `request` with `response`."""
    message: JSONObject = {"role": "assistant", "content": response.text, "refusal": None}
    if response.tool_calls:
        message["tool_calls"] = tool_calls_of(response, request_number)
    elif response.text is None:
        message["content"] = ""
    return {
        "id": f"chatcmpl-{request_number}",
        "object": "chat.completion",
        "created": created,
        "model": request.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason_of(response),
                "logprobs": None,
            }
        ],
        "usage": usage_of(request, response),
    }


def completion_chunks(
    request: RecordedRequest, response: ScriptedResponse, request_number: int, created: int
) -> Iterator[JSONObject]:
    """The `chat.completion.chunk` objects of a streamed answer, usage last if asked for."""
    options = request.body.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True

    def chunk(delta: JSONObject, finish_reason: str | None = None) -> JSONObject:
        body: JSONObject = {
            "id": f"chatcmpl-{request_number}",
            "object": "chat.completion.chunk",
            "created": created,
            "model": request.model,
            "choices": [
                {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
            ],
        }
        if include_usage:
            body["usage"] = None
        return body

    yield chunk({"role": "assistant", "content": ""})
    for piece in _PIECE.findall(response.text or ""):
        yield chunk({"content": piece})
    for index, call in enumerate(tool_calls_of(response, request_number)):
        function = call["function"]
        opening = {**call, "function": {"name": function["name"], "arguments": ""}}
        yield chunk({"tool_calls": [{"index": index, **opening}]})
        arguments: str = function["arguments"]
        for start in range(0, len(arguments), _ARGUMENT_PIECE):
            piece = arguments[start : start + _ARGUMENT_PIECE]
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, finish_reason_of(response))
    if include_usage:
        last = chunk({})
        last["choices"] = []
        last["usage"] = usage_of(request, response)
        yield last


def _message_text(message: Any) -> str:
    if not isinstance(message, dict):
        return ""
    parts = [content_text(message.get("content"))]
    for call in message.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            parts.append(f"{function.get('name', '')} {function.get('arguments', '')}")
    return " ".join(parts)


def _words(text: str) -> int:
    return len(text.split())
