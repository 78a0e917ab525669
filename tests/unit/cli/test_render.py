"""Text rendering: event lines, JSON for people, deliverables, question replies."""

from __future__ import annotations

import pytest

from bureau.cli.questions import prompt_text, reply_body
from bureau.cli.render import duration, event_line, pretty, size
from bureau.cli.views import agent_details, deliverable_block

ENUM = {"id": "q_1", "text": "Which?", "schema": {"type": "string", "enum": ["a", "b"]}}


@pytest.mark.parametrize(
    ("event", "line"),
    [
        ({"type": "progress", "data": {"fraction": 0.5, "message": "half"}}, "[ 50%] half"),
        (
            {"type": "step.failed", "data": {"name": "load", "error": "boom"}},
            "  !! load failed: boom",
        ),
        (
            {"type": "step.completed", "data": {"name": "x", "seconds": 0.5, "result": [1]}},
            "  ok x (0.50s): [1]",
        ),
        (
            {"type": "review", "data": {"status": "accepted", "rating": 4}},
            "review: accepted, rating 4",
        ),
        ({"type": "custom", "data": {"k": 1}}, 'custom: {"k": 1}'),
    ],
)
def test_event_lines(event: dict[str, object], line: str) -> None:
    assert event_line(event) == line


def test_pretty_keeps_what_fits_on_one_line() -> None:
    value = {"name": "north", "rows": [1, 2, 3], "nested": {"long": "x" * 100}}
    assert pretty(value) == (
        '{\n  "name": "north",\n  "rows": [1, 2, 3],\n  "nested": {\n'
        f'    "long": "{"x" * 100}"\n  }}\n}}'
    )


def test_deliverable_headline_comes_first_and_is_not_repeated() -> None:
    block = deliverable_block({"rows": 6, "summary": "Six rows.\n", "answer": "North."})
    assert block == 'Deliverable:\n  North.\n\n  {"rows": 6, "summary": "Six rows.\\n"}'
    assert deliverable_block("plain text") == "Deliverable:\n  plain text"


def test_sizes_and_durations() -> None:
    assert [size(812), size(1536), size(5 * 1024 * 1024)] == ["812 B", "1.5 KB", "5.0 MB"]
    assert [duration(45), duration(300), duration(5400)] == ["45s", "5m", "1h30m"]


def test_enum_question_lists_numbered_choices() -> None:
    assert prompt_text(ENUM) == "? Which?\n  1. a\n  2. b"


@pytest.mark.parametrize(
    ("question", "answer", "body"),
    [
        (None, "hello", {"text": "hello"}),
        ({"id": "q", "text": "?", "schema": None}, "hi", {"question_id": "q", "text": "hi"}),
        (ENUM, "2", {"question_id": "q_1", "data": "b"}),
        (ENUM, "a", {"question_id": "q_1", "data": "a"}),
        ({"id": "q", "schema": {"type": "string"}}, "42", {"question_id": "q", "data": "42"}),
        ({"id": "q", "schema": {"type": "integer"}}, "42", {"question_id": "q", "data": 42}),
        ({"id": "q", "schema": {"type": "array"}}, '["x"]', {"question_id": "q", "data": ["x"]}),
        (
            {"id": "q", "schema": {"type": "object"}},
            "not json",
            {"question_id": "q", "data": "not json"},
        ),
    ],
)
def test_reply_body(
    question: dict[str, object] | None, answer: str, body: dict[str, object]
) -> None:
    assert reply_body(question, answer) == body


def test_agent_details_summarises_the_input_schema() -> None:
    agent = {
        "name": "doc",
        "latest_version": "1.0.0",
        "input_schema": {
            "properties": {
                "files": {"type": "array", "items": {"$ref": "#/$defs/InputFile"}},
                "limit": {"anyOf": [{"type": "integer"}, {"type": "null"}], "description": "max"},
            },
            "required": ["files"],
        },
    }
    text = agent_details(agent)
    assert "files*  list[InputFile]" in text
    assert "limit   integer | null   max" in text
    assert "full schema: bureau agent doc --json" in text
