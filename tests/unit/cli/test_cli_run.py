"""`bureau run`: files sent inline, and `--follow` answering the agent's question from stdin."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import orjson
import pytest

from bureau.cli.main import main
from tests.unit.cli.fake import API_KEY, REPORT, URL, FakeBureau


def bureau(fake: FakeBureau, *argv: str) -> int:
    return main(["--url", URL, "--api-key", API_KEY, *argv], transport=fake.transport)


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """What the user types (empty: end of input at once)."""
    stdin = io.StringIO()
    monkeypatch.setattr(sys, "stdin", stdin)
    return stdin


def type_in(stdin: io.StringIO, text: str) -> None:
    stdin.write(text)
    stdin.seek(0)


def test_files_are_sent_inline_with_the_input(
    fake: FakeBureau, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "sales.csv").write_text("region,revenue\nnorth,10\n")
    (tmp_path / "notes.md").write_text("# Notes\nnorth is new — é\n")
    code = bureau(
        fake, "run", "csv-analyst", "which region?", "--file", "sales.csv", "--file",
        str(tmp_path / "notes.md"), "--input", '{"column": "revenue"}', "--profile", "fast",
    )  # fmt: skip
    assert code == 0
    (body,) = fake.bodies("POST", "/v1/tasks")
    assert body["profile"] == "fast"
    assert body["input"] == {
        "column": "revenue",
        "files": [
            {
                "name": "sales.csv",
                "content": "region,revenue\nnorth,10\n",
                "media_type": "text/csv",
            },
            {
                "name": "notes.md",
                "content": "# Notes\nnorth is new — é\n",
                "media_type": "text/markdown",
            },
        ],
    }
    out = capsys.readouterr().out
    assert out.startswith("task_1  csv-analyst@1.0.0  input-required\n")
    assert 'bureau task reply task_1 "<your answer>"' in out


def test_a_file_over_8_mib_is_refused_before_dispatch(
    fake: FakeBureau, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (tmp_path / "big.csv").open("wb") as big:
        big.truncate(8 * 1024 * 1024 + 1)
    assert bureau(fake, "run", "csv-analyst", "go", "--file", "big.csv") == 2
    assert "big.csv is 8388609 bytes; files sent with --file must be at most 8 MiB" in (
        capsys.readouterr().err
    )
    assert fake.requests == []


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"\x89PNG\r\n\x1a\n\0\0\0", "contains NUL bytes"),
        (b"caf\xe9,1\n", "invalid byte at offset 3"),
    ],
)
def test_a_binary_file_is_refused(
    fake: FakeBureau, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, why: str
) -> None:
    (tmp_path / "data.bin").write_bytes(content)
    assert bureau(fake, "run", "csv-analyst", "go", "--file", "data.bin") == 2
    err = capsys.readouterr().err
    assert "error: data.bin is not UTF-8 text" in err and why in err
    assert fake.requests == []


def test_follow_answers_the_question_and_prints_the_deliverable(
    fake: FakeBureau, answers: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    type_in(answers, "2\n")  # the number of a listed choice
    assert bureau(fake, "run", "csv-analyst", "which region grows?", "--follow") == 0
    assert fake.bodies("POST", "/v1/tasks/task_1/messages") == [
        {"data": "units", "question_id": "q_1"}
    ]
    out = capsys.readouterr().out
    expected_in_order = [
        "task_1  csv-analyst@1.0.0  input-required",
        "plan:\n  1. load the CSV\n  2. answer the goal",
        '  -> load\n  ok load: {"rows": 6}',
        "[ 25%] loaded 6 rows",
        "? Which column should I analyse?\n  1. revenue\n  2. units\n> 2\n",
        "status: working",
        f"artifact: report.md ({len(REPORT)} B, text/markdown)",
        "status: completed",
        'Deliverable:\n  North grows fastest (+50%).\n\n  {"target": "revenue", "rows": 6}',
        f"report.md  ({len(REPORT)} B, text/markdown)  {URL}/v1/tasks/task_1/artifacts/report.md",
        "bureau task artifact task_1 report.md -o report.md",
        "Next: bureau task accept task_1 [--rating 1-5]",
        'bureau task reject task_1 --reason "..." [--redo]',
    ]
    position = 0
    for text in expected_in_order:  # each one after the one before
        found = out.find(text, position)
        assert found >= position, f"missing in order: {text!r}\n{out}"
        position = found + len(text)
    assert "question (answered)" not in out


def test_follow_asks_again_when_the_answer_is_refused(
    fake: FakeBureau, answers: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    type_in(answers, "purple\nrevenue\n")
    assert bureau(fake, "run", "csv-analyst", "go", "--follow") == 0
    replies = fake.bodies("POST", "/v1/tasks/task_1/messages")
    assert [reply["data"] for reply in replies] == ["purple", "revenue"]
    out = capsys.readouterr().out
    assert "not accepted: the reply: 'purple' is not one of ['revenue', 'units'] - try again" in out
    assert "North grows fastest" in out


def test_follow_at_end_of_input_says_how_to_reply_later(
    fake: FakeBureau, answers: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bureau(fake, "run", "csv-analyst", "go", "--follow") == 0
    out = capsys.readouterr().out
    assert "No answer read (end of input)" in out
    assert "bureau task reply task_1 '<your answer>'" in out
    assert "task_1  csv-analyst@1.0.0  input-required" in out.rsplit("No answer read", 1)[1]
    assert fake.bodies("POST", "/v1/tasks/task_1/messages") == []


def test_follow_json_prints_json_lines(
    fake: FakeBureau, answers: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    type_in(answers, "revenue\n")
    assert bureau(fake, "run", "csv-analyst", "go", "--follow", "--json") == 0
    captured = capsys.readouterr()
    lines = [orjson.loads(line) for line in captured.out.splitlines()]
    dispatched, events, final = lines[0], lines[1:-1], lines[-1]
    assert (dispatched["id"], dispatched["status"]) == ("task_1", "input-required")
    assert [e["seq"] for e in events] == list(range(1, 14))
    assert events[7] == {**events[7], "type": "question", "data": fake.events["task_1"][7]["data"]}
    assert (final["status"], final["deliverable"]["answer"]) == (
        "completed",
        "North grows fastest (+50%).",
    )
    assert "? Which column should I analyse?" in captured.err


def test_follow_of_a_failed_task_exits_1(
    fake: FakeBureau, answers: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    task_id = fake.create_task({"agent": "csv-analyst", "goal": "go"})["id"]
    fake.tasks[task_id]["error"] = {"code": "fatal", "message": "no numeric column"}
    fake.add_event(task_id, "status", {"status": "failed", "error": fake.tasks[task_id]["error"]})
    assert bureau(fake, "task", "events", task_id, "--follow") == 1
    out = capsys.readouterr().out
    assert "status: failed - fatal: no numeric column" in out
    assert "question: Which column should I analyse?" in out  # shown, not asked
    assert "error: fatal: no numeric column" in out
