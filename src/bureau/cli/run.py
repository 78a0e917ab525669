"""`bureau run AGENT GOAL`: dispatch a task, with local files sent inline, and follow it."""

from __future__ import annotations

import argparse
import mimetypes
from pathlib import Path
from typing import Any

from bureau.cli.common import CommandError, connect, json_object
from bureau.cli.follow import follow
from bureau.cli.render import emit_json
from bureau.cli.views import next_steps, task_headline

__all__ = ["MAX_FILE_BYTES", "input_file", "register"]

MAX_FILE_BYTES = 8 * 1024 * 1024


def input_file(path: Path) -> dict[str, str]:
    """A local text file as an input entry `{name, content, media_type}`.

    Raises:
        CommandError: the file is missing, over 8 MiB, or not UTF-8 text.
    """
    try:
        found = path.stat().st_size
        if found > MAX_FILE_BYTES:
            raise CommandError(
                f"{path} is {found} bytes; files sent with --file must be at most 8 MiB"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from exc
    not_text = f"{path} is not UTF-8 text; --file sends text files (CSV, Markdown, HTML, ...)"
    if b"\0" in raw:
        raise CommandError(not_text + " and this one contains NUL bytes")
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CommandError(f"{not_text} (invalid byte at offset {exc.start})") from exc
    media_type = mimetypes.guess_type(path.name)[0] or "text/plain"
    return {"name": path.name, "content": content, "media_type": media_type}


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add `run` to the CLI."""
    run = subparsers.add_parser(
        "run",
        parents=[common],
        help="dispatch a goal to an agent (and follow it with --follow)",
        description="Dispatch GOAL to AGENT (name or name@version). Files given with --file "
        "are sent inline as input.files. With --follow, show the work live, answer the "
        "agent's questions from the terminal and print the deliverable; the exit code is "
        "then 1 if the task failed, was canceled or rejected.",
    )
    run.add_argument("agent", metavar="AGENT", help="agent name, or name@version")
    run.add_argument("goal", metavar="GOAL", help="what you want done")
    run.add_argument(
        "--input", type=json_object, help="input as a JSON object, e.g. '{\"rows\": 5}'"
    )
    run.add_argument(
        "--file",
        action="append",
        type=Path,
        default=[],
        metavar="PATH",
        help="a UTF-8 text file (up to 8 MiB) sent as input.files (repeatable)",
    )
    run.add_argument("--profile", choices=["fast", "balanced", "thorough"])
    run.add_argument("--session", help="session id shared with other tasks")
    run.add_argument(
        "--on-busy",
        choices=["queue", "reject", "interrupt"],
        help="when another task of the session runs (default: queue)",
    )
    run.add_argument("--webhook", metavar="URL", help="POST task updates to this URL")
    run.add_argument("--deadline", type=float, metavar="SECONDS", help="absolute time limit")
    run.add_argument("--idempotency-key", metavar="KEY", help="retry-safe dispatch")
    run.add_argument("--follow", "-f", action="store_true", help="follow the task live")
    run.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    task_input: dict[str, Any] | None = args.input
    if args.file:
        task_input = dict(task_input or {})
        files = task_input.get("files")
        if files is not None and not isinstance(files, list):
            raise CommandError("--input has a `files` field that is not a list; cannot add --file")
        task_input["files"] = [*(files or []), *(input_file(path) for path in args.file)]
    if args.deadline is not None and args.deadline <= 0:
        raise CommandError("--deadline must be a positive number of seconds")
    with connect(args) as client:
        task = client.dispatch(
            args.agent,
            args.goal,
            task_input,
            profile=args.profile,
            session_id=args.session,
            webhook_url=args.webhook,
            deadline_seconds=args.deadline,
            on_busy=args.on_busy,
            idempotency_key=args.idempotency_key,
        )
        if args.follow:
            if args.json:
                emit_json(task, one_line=True)
            else:
                print(task_headline(task), flush=True)
            return follow(client, task["id"], as_json=args.json)
    if args.json:
        emit_json(task)
    else:
        print(task_headline(task) + "\n" + next_steps(task))
    return 0
