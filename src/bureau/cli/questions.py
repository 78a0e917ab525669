"""An agent's question on the terminal: show it, read the answer, shape the reply.

A question is `{id, text, schema}`. Without a schema the answer is sent as `text`; with one
it is sent as `data`: as typed when the schema asks for a plain string, else parsed as JSON
when it parses (so `3` is a number and `["a"]` a list). For a string enum, the number of a
listed choice picks it.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

import orjson

__all__ = ["ask", "choices", "prompt_text", "reply_body"]


def choices(question: dict[str, Any]) -> list[Any]:
    """The allowed values when the question's schema is an enum (else [])."""
    schema = question.get("schema")
    enum = schema.get("enum") if isinstance(schema, dict) else None
    return list(enum) if isinstance(enum, list) else []


def prompt_text(question: dict[str, Any]) -> str:
    """The question as shown to the user, with its numbered choices or expected type."""
    lines = [f"? {question.get('text')}"]
    options = choices(question)
    for number, option in enumerate(options, 1):
        shown = option if isinstance(option, str) else orjson.dumps(option).decode()
        lines.append(f"  {number}. {shown}")
    schema = question.get("schema")
    if not options and isinstance(schema, dict) and schema.get("type") not in (None, "string"):
        lines.append(f"  (answer as JSON: {orjson.dumps(schema).decode()})")
    return "\n".join(lines)


def _is_plain_string(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "string"


def reply_body(question: dict[str, Any] | None, answer: str) -> dict[str, Any]:
    """The reply to POST for `answer`: `{"text": ...}` or `{"data": ...}`, with question_id."""
    if question is None:
        return {"text": answer}
    body: dict[str, Any] = {"question_id": question.get("id")}
    schema = question.get("schema")
    if schema is None:
        return {**body, "text": answer}
    options = choices(question)
    if answer.isdigit() and 1 <= int(answer) <= len(options) and answer not in options:
        return {**body, "data": options[int(answer) - 1]}
    if _is_plain_string(schema):
        return {**body, "data": answer}
    try:
        return {**body, "data": orjson.loads(answer)}
    except orjson.JSONDecodeError:
        return {**body, "data": answer}


def ask(question: dict[str, Any], *, out: TextIO) -> str | None:
    """Show `question` on `out` and read a non-empty answer line from stdin; None at EOF."""
    out.write(prompt_text(question) + "\n")
    while True:
        out.write("> ")
        out.flush()
        line = sys.stdin.readline()
        if not line:
            out.write("\n")
            return None
        if answer := line.strip():
            if not sys.stdin.isatty():  # a piped answer is not echoed by the terminal
                out.write(answer + "\n")
            return answer
