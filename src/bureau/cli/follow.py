"""Following a task live: render its SSE events, answer its questions from stdin, report.

Used by `bureau run --follow` and `bureau task events --follow`. In `--json` mode the
output is JSON Lines: every event, then the final task, one per line; prompts go to stderr so stdout
stays machine-readable.
"""

from __future__ import annotations

import shlex
import sys
from typing import Any, TextIO

from bureau.cli.questions import ask, reply_body
from bureau.cli.render import emit_json, event_line
from bureau.cli.views import task_report
from bureau.client import TERMINAL_STATUSES, ApiError, Client
from bureau.states import EventType, TaskStatus

__all__ = ["follow", "outcome_code"]


def outcome_code(task: dict[str, Any]) -> int:
    """Exit code for a task someone waited on: 1 if it failed, was canceled or rejected."""
    return 1 if task.get("status") in TERMINAL_STATUSES - {TaskStatus.COMPLETED} else 0


def follow(
    client: Client,
    task_id: str,
    *,
    as_json: bool,
    after: int | None = None,
    answer_questions: bool = True,
) -> int:
    """Show the task's events from seq `after` until it ends; returns the exit code.

    A question is asked on the terminal when it is still open (a question already answered,
    seen when replaying the log, is only shown). At end of input the following stops with
    the command that replies later, and the exit code is 0.
    """
    notes = sys.stderr if as_json else sys.stdout
    try:
        for event in client.stream(task_id, last_event_id=after):
            question = answer_questions and event.get("type") == EventType.QUESTION
            if as_json:
                emit_json(event, one_line=True)
            elif not question:
                print(event_line(event), flush=True)
            if question and not _answer(client, task_id, event.get("data") or {}, notes, as_json):
                notes.write(_reply_later(task_id))
                return _finish(client, task_id, as_json)
    except KeyboardInterrupt:
        notes.write(f"\nStopped following; {task_id} goes on: bureau task show {task_id}\n")
        return 130
    return _finish(client, task_id, as_json)


def _finish(client: Client, task_id: str, as_json: bool) -> int:
    task = client.task(task_id)
    if as_json:
        emit_json(task, one_line=True)
    else:
        print("\n" + task_report(task, client.url), flush=True)
    return outcome_code(task)


def _reply_later(task_id: str) -> str:
    command = shlex.join(["bureau", "task", "reply", task_id, "<your answer>"])
    return f"No answer read (end of input). The task waits for you; reply with:\n  {command}\n"


def _answer(
    client: Client, task_id: str, question: dict[str, Any], notes: TextIO, as_json: bool
) -> bool:
    """Ask an open question and post the reply; False when no answer can be read."""
    task = client.task(task_id)
    open_question = task.get("question") or {}
    if task.get("status") != TaskStatus.INPUT_REQUIRED or open_question.get("id") != question.get(
        "id"
    ):
        if not as_json:
            print(f"question (answered): {question.get('text')}", flush=True)
        return True
    while True:
        answer = ask(question, out=notes)
        if answer is None:
            return False
        try:
            client.reply(task_id, **reply_body(question, answer))
            return True
        except ApiError as exc:
            if exc.status == 409:  # answered meanwhile (elsewhere), or no longer waiting
                notes.write(f"not sent: {exc.detail}\n")
                return True
            if exc.status not in (400, 422):
                raise
            notes.write(f"not accepted: {exc.detail} - try again\n")
