"""The client commands other than `run`, `keys`, `tenants` and `audit`: the catalog
(`agents`, `agent`, `failures`, `runs`), `task ...` and `dead-letters`. Each prints readable
text, or with `--json` the JSON it got."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from bureau.cli.common import CommandError, connect, json_value
from bureau.cli.follow import follow, outcome_code
from bureau.cli.questions import reply_body
from bureau.cli.render import emit_json, event_line
from bureau.cli.views import (
    agent_details,
    agents_table,
    failures_report,
    remote_agent_added,
    runs_report,
    task_report,
    tasks_table,
)
from bureau.client import STATUSES, STOP_STATUSES
from bureau.states import TaskStatus

__all__ = ["register", "seconds", "show"]


def show(args: argparse.Namespace, value: Any, text: str) -> None:
    """Print `text`, or with `--json` the JSON `value`."""
    if args.json:
        emit_json(value)
    else:
        print(text)


def cmd_agents(args: argparse.Namespace) -> int:
    with connect(args) as client:
        found = client.agents(q=args.q, capability=args.capability)
        show(args, {"agents": found}, agents_table(found))
    return 0


def cmd_add_remote(args: argparse.Namespace) -> int:
    with connect(args) as client:
        found = client.add_remote_agent(
            args.remote_url,
            name=args.name,
            price=args.price,
            visibility=args.visibility,
            credential=args.credential,
            credential_secret=args.credential_secret,
        )
        show(args, found, remote_agent_added(found))
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    with connect(args) as client:
        found = client.agent(args.name)
        show(args, found, agent_details(found))
    return 0


def cmd_failures(args: argparse.Namespace) -> int:
    with connect(args) as client:
        found = client.failures(args.name, limit=args.limit)
    show(args, {"failures": found}, failures_report(args.name, found))
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    with connect(args) as client:
        found = client.runs(args.name, status=args.status, limit=args.limit)
    show(args, {"runs": found}, runs_report(args.name, found, tracebacks=args.tracebacks))
    return 0


def cmd_dead_letters(args: argparse.Namespace) -> int:
    with connect(args) as client:
        found = client.dead_letters()
        show(args, {"tasks": found}, tasks_table(found))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with connect(args) as client:
        task = client.task(args.id)
        show(args, task, task_report(task, client.url))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with connect(args) as client:
        page = client.tasks(
            status=args.status, agent=args.agent, limit=args.limit, cursor=args.cursor
        )
    more = (
        f"\nMore: bureau task list --cursor {page['next_cursor']}"
        if page.get("next_cursor")
        else ""
    )
    show(args, page, tasks_table(page["tasks"]) + more)
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    with connect(args) as client:
        if args.follow:
            return follow(
                client, args.id, as_json=args.json, after=args.after, answer_questions=False
            )
        page = client.events(args.id, after=args.after)
    lines = [
        f"{event.get('seq'):>4}  {event.get('at')}  {event_line(event)}" for event in page["events"]
    ]
    show(args, page, "\n".join([*lines, f"task status: {page.get('status')}"]))
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    with connect(args) as client:
        task = client.cancel(args.id)
    show(args, task, f"{task['id']}: cancel requested; status {task['status']}")
    return 0


def cmd_reply(args: argparse.Namespace) -> int:
    if args.text is None and args.data is None:
        raise CommandError("give the answer as TEXT or --data JSON")
    with connect(args) as client:
        task = client.task(args.id)
        question = task.get("question") if task.get("status") == TaskStatus.INPUT_REQUIRED else None
        if args.data is None:
            body = reply_body(question, args.text)
        else:
            body = {"text": args.text, "data": args.data}
            body["question_id"] = question.get("id") if isinstance(question, dict) else None
        if args.question_id:
            body["question_id"] = args.question_id
        task = client.reply(args.id, **body)
    show(args, task, f"{task['id']}: reply sent; status {task['status']}")
    return 0


def cmd_accept(args: argparse.Namespace) -> int:
    with connect(args) as client:
        task = client.accept(args.id, rating=args.rating, comment=args.comment)
    show(args, task, f"{task['id']}: accepted (cost {task.get('cost')})")
    return 0


def cmd_reject(args: argparse.Namespace) -> int:
    with connect(args) as client:
        task = client.reject(args.id, args.reason, redo=args.redo)
    redo = f"; redo started, status {task['status']}" if args.redo else ""
    show(args, task, f"{task['id']}: rejected{redo}")
    return 0


def cmd_artifact(args: argparse.Namespace) -> int:
    with connect(args) as client:
        content = client.artifact(args.id, args.name)
    if args.output == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return 0
    # Only the base name: a server-chosen name must not write outside the current directory.
    path = Path(args.output) if args.output else Path(Path(args.name).name)
    try:
        path.write_bytes(content)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from exc
    summary = {"task_id": args.id, "name": args.name, "path": str(path), "bytes": len(content)}
    show(args, summary, f"saved {args.name} to {path} ({len(content)} bytes)")
    return 0


def cmd_wait(args: argparse.Namespace) -> int:
    with connect(args) as client:
        task = client.wait(args.id, timeout=args.timeout)
        show(args, task, task_report(task, client.url))
    if task["status"] not in STOP_STATUSES:
        print(f"still {task['status']} after {args.timeout:g}s", file=sys.stderr)
        return 1
    return outcome_code(task)


def _rating(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 5:
        raise argparse.ArgumentTypeError(f"the rating is a whole number from 1 to 5, not {text!r}")
    return int(text)


def seconds(text: str, *, zero: bool = False) -> float:
    """argparse type: a positive number of seconds (or 0 too, with `zero`)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        kind = "non-negative" if zero else "positive"
        raise argparse.ArgumentTypeError(f"expected a {kind} number of seconds, not {text!r}")
    return value


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """Add `agents`, `agent`, `failures`, `runs`, `task ...` and `dead-letters` to the CLI."""
    agents = subparsers.add_parser("agents", parents=[common], help="list the agent catalog")
    agents.add_argument("--q", help="text to search in names and descriptions")
    agents.add_argument("--capability", help="only agents with this capability tag")
    agents.set_defaults(func=cmd_agents)
    agents_actions = agents.add_subparsers(dest="agents_action", metavar="ACTION")
    remote = agents_actions.add_parser(
        "add-remote",
        parents=[common],
        help="publish a remote A2A agent (its card is read from URL) run through Bureau",
    )
    remote.add_argument("remote_url", metavar="URL", help="the agent's A2A URL, or its card's URL")
    remote.add_argument("--name", help="the catalog name (default: from the card)")
    remote.add_argument("--price", help="price per task, like 0.02 (default 0)")
    remote.add_argument("--visibility", choices=["public", "private"], default=None)
    remote.add_argument(
        "--credential",
        help="bearer token (or whole Authorization value) for the remote; kept as a secret",
    )
    remote.add_argument("--credential-secret", help="name of a tenant secret holding it")
    remote.set_defaults(func=cmd_add_remote)
    agent = subparsers.add_parser("agent", parents=[common], help="show one agent and its versions")
    agent.add_argument("name", metavar="NAME")
    agent.set_defaults(func=cmd_agent)
    failures = subparsers.add_parser(
        "failures",
        parents=[common],
        help="the latest failed attempts of an agent you publish, with tracebacks",
    )
    failures.add_argument("name", metavar="NAME", help="the agent")
    failures.add_argument("--limit", type=int, default=20, help="at most this many (1-100)")
    failures.set_defaults(func=cmd_failures)
    runs = subparsers.add_parser(
        "runs",
        parents=[common],
        help="the latest runs of an agent you publish: status, duration, cost, review, error",
    )
    runs.add_argument("name", metavar="NAME", help="the agent")
    runs.add_argument("--status", choices=STATUSES, help="only runs in this status")
    runs.add_argument("--limit", type=int, default=50, help="at most this many (1-200)")
    runs.add_argument(
        "--tracebacks",
        action="store_true",
        help="print the failed attempts' tracebacks under the table (--json has them too)",
    )
    runs.set_defaults(func=cmd_runs)
    dead = subparsers.add_parser(
        "dead-letters", parents=[common], help="tasks that failed after all their attempts"
    )
    dead.set_defaults(func=cmd_dead_letters)

    task = subparsers.add_parser("task", help="look at and act on tasks")
    actions = task.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, func: Any, help: str, *, with_id: bool = True) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(name, parents=[common], help=help)
        if with_id:
            parser.add_argument("id", metavar="ID", help="the task id")
        parser.set_defaults(func=func)
        return parser

    action("show", cmd_show, "the task's state, deliverable and artifacts")
    listing = action("list", cmd_list, "tasks, newest first", with_id=False)
    listing.add_argument(
        "--status",
        choices=STATUSES,
    )
    listing.add_argument("--agent", help="only tasks of this agent")
    listing.add_argument("--limit", type=int, help="at most this many (1-200, default 50)")
    listing.add_argument("--cursor", help="the next page, from a previous listing")
    events = action("events", cmd_events, "the task's event log")
    events.add_argument("--after", type=int, default=0, metavar="SEQ", help="only events after SEQ")
    events.add_argument("--follow", "-f", action="store_true", help="stream new events live")
    action("cancel", cmd_cancel, "cancel the task")
    reply = action("reply", cmd_reply, "answer the task's question (or add context)")
    reply.add_argument("text", metavar="TEXT", nargs="?", help="the answer")
    reply.add_argument("--data", type=json_value, metavar="JSON", help="the answer as JSON data")
    reply.add_argument("--question-id", metavar="Q", help="default: the task's open question")
    accept = action("accept", cmd_accept, "accept the deliverable (settles the price)")
    accept.add_argument("--rating", type=_rating, metavar="1-5")
    accept.add_argument("--comment")
    reject = action("reject", cmd_reject, "reject the deliverable")
    reject.add_argument("--reason", required=True, help="what is wrong (the agent sees it)")
    reject.add_argument("--redo", action="store_true", help="ask for a new attempt")
    artifact = action("artifact", cmd_artifact, "download an artifact")
    artifact.add_argument("name", metavar="NAME")
    artifact.add_argument("-o", "--output", metavar="PATH", help="default ./NAME; - for stdout")
    wait = action(
        "wait",
        cmd_wait,
        "wait until the task ends or asks a question (exit 1: failed or timed out)",
    )
    wait.add_argument("--timeout", type=seconds, metavar="SECONDS", help="default: no limit")
