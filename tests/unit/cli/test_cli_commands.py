"""The `bureau` client commands: output, `--json` shapes, errors and exit codes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import httpx
import orjson
import pytest

from bureau.cli.main import main
from tests.unit.cli.fake import REPORT, URL, FakeBureau, bureau


def new_task(fake: FakeBureau, finished: bool = False) -> str:
    task_id = str(fake.create_task({"agent": "csv-analyst", "goal": "which region?"})["id"])
    if finished:
        fake.finish(task_id, {"data": "revenue"})
    return task_id


def test_agents_table(fake: FakeBureau, capsys: pytest.CaptureFixture[str]) -> None:
    assert bureau(fake, "agents", "--capability", "csv") == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["NAME", "VERSION", "PRICE", "SLA", "CAPABILITIES", "DESCRIPTION"]
    assert row.split("  ")[0] == "csv-analyst"
    assert "0.02" in row and "~5s, max 2m" in row and "data-analysis,csv" in row
    assert fake.requests[0].url.params["capability"] == "csv"


@pytest.mark.parametrize("where", ["before", "after"])
def test_json_option_before_or_after_the_command(
    fake: FakeBureau, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    argv = ["--json", "agents"] if where == "before" else ["agents", "--json"]
    assert bureau(fake, *argv) == 0
    assert orjson.loads(capsys.readouterr().out)["agents"][0]["name"] == "csv-analyst"


def test_api_error_is_reported_on_stderr_with_exit_1(
    fake: FakeBureau, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bureau(fake, "task", "show", "nope") == 1
    captured = capsys.readouterr()
    assert captured.err == "error: no task 'nope' in this tenant (not_found, HTTP 404)\n"
    assert captured.out == ""


def test_api_error_with_json_prints_the_problem(
    fake: FakeBureau, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bureau(fake, "task", "show", "nope", "--json") == 1
    problem = orjson.loads(capsys.readouterr().out)
    assert (problem["status"], problem["code"]) == (404, "not_found")


def test_unreachable_server_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    argv = ["--url", URL, "--api-key", "k", "agents"]
    assert main(argv, transport=httpx.MockTransport(refuse)) == 2
    assert capsys.readouterr().err == (
        f"error: cannot reach Bureau at {URL} — is `bureau serve` running?\n"
    )


def test_missing_key_exits_2_and_says_where_to_put_it(
    fake: FakeBureau, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--url", URL, "agents"], transport=fake.transport) == 2
    err = capsys.readouterr().err
    assert "no API key" in err and "BUREAU_API_KEY" in err and ".bureau/admin-key" in err


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["task", "accept", "t", "--rating", "9"], "the rating is a whole number from 1 to 5"),
        (["run", "a", "goal", "--input", "[1]"], "expected a JSON object"),
        (["task", "reply", "t", "--data", "{oops"], "not valid JSON"),
        (["task", "reject", "t"], "--reason"),
    ],
)
def test_argument_errors_exit_2_and_say_what_to_fix(
    fake: FakeBureau, capsys: pytest.CaptureFixture[str], argv: list[str], complaint: str
) -> None:
    assert bureau(fake, *argv) == 2
    assert complaint in capsys.readouterr().err
    assert fake.requests == []


def test_show_prints_state_and_question(
    fake: FakeBureau, capsys: pytest.CaptureFixture[str]
) -> None:
    task_id = new_task(fake)
    assert bureau(fake, "task", "show", task_id) == 0
    out = capsys.readouterr().out
    assert "question (q_1): Which column should I analyse?" in out
    assert "plan: load the CSV > answer the goal" in out
    assert "progress" not in out  # the fake never sets the task's progress field


def test_reply_defaults_to_the_open_question(
    fake: FakeBureau, capsys: pytest.CaptureFixture[str]
) -> None:
    task_id = new_task(fake)
    assert bureau(fake, "task", "reply", task_id, "revenue") == 0
    assert fake.bodies("POST", f"/v1/tasks/{task_id}/messages") == [
        {"data": "revenue", "question_id": "q_1"}
    ]
    assert capsys.readouterr().out == f"{task_id}: reply sent; status completed\n"


def test_reply_twice_is_a_409(fake: FakeBureau, capsys: pytest.CaptureFixture[str]) -> None:
    task_id = new_task(fake)
    assert bureau(fake, "task", "reply", task_id, "--data", '"units"') == 0
    assert bureau(fake, "task", "reply", task_id, "units", "--question-id", "q_1") == 1
    assert "(question_answered, HTTP 409)" in capsys.readouterr().err


def test_accept_and_reject_send_the_review(
    fake: FakeBureau, capsys: pytest.CaptureFixture[str]
) -> None:
    task_id = new_task(fake, finished=True)
    assert bureau(fake, "task", "accept", task_id, "--rating", "5", "--comment", "great") == 0
    assert bureau(fake, "task", "reject", task_id, "--reason", "wrong column", "--redo") == 0
    assert fake.bodies("POST", f"/v1/tasks/{task_id}/accept") == [{"rating": 5, "comment": "great"}]
    assert fake.bodies("POST", f"/v1/tasks/{task_id}/reject") == [
        {"reason": "wrong column", "redo": True}
    ]
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{task_id}: accepted (cost 0.02)"
    assert out[1].startswith(f"{task_id}: rejected; redo started")


def test_list_json_is_the_page(fake: FakeBureau, capsys: pytest.CaptureFixture[str]) -> None:
    task_id = new_task(fake)
    assert bureau(fake, "task", "list", "--status", "input-required", "--json") == 0
    page = orjson.loads(capsys.readouterr().out)
    assert page["next_cursor"] is None
    assert [task["id"] for task in page["tasks"]] == [task_id]
    assert fake.requests[-1].url.params["status"] == "input-required"


def test_events_lists_the_log(fake: FakeBureau, capsys: pytest.CaptureFixture[str]) -> None:
    task_id = new_task(fake)
    assert bureau(fake, "task", "events", task_id, "--after", "6") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[0] == "7" and lines[0].endswith("status: input-required")
    assert lines[1].endswith("question: Which column should I analyse?")
    assert lines[-1] == "task status: input-required"


def test_artifact_download(
    fake: FakeBureau, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task_id = new_task(fake, finished=True)
    assert bureau(fake, "task", "artifact", task_id, "report.md") == 0
    assert (tmp_path / "report.md").read_bytes() == REPORT
    assert bureau(fake, "task", "artifact", task_id, "report.md", "-o", "out.md", "--json") == 0
    assert (tmp_path / "out.md").read_bytes() == REPORT
    saved = orjson.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert saved == {
        "task_id": task_id,
        "name": "report.md",
        "path": "out.md",
        "bytes": len(REPORT),
    }


def test_wait_prints_the_deliverable(fake: FakeBureau, capsys: pytest.CaptureFixture[str]) -> None:
    task_id = new_task(fake, finished=True)
    assert bureau(fake, "task", "wait", task_id, "--timeout", "5") == 0
    out = capsys.readouterr().out
    assert f"{task_id}  csv-analyst@1.0.0  completed" in out
    assert "Deliverable:\n  North grows fastest (+50%)." in out


def test_help_lists_client_and_server_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("run", "agents", "agent", "task", "dead-letters"):
        assert f"    {command} " in out
    if importlib.util.find_spec("bureau.cli.serve") is not None:
        assert "    serve " in out
