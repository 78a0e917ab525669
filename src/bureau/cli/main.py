"""The `bureau` command: parses arguments, runs one command, maps errors to exit codes.

Exit codes: 0 ok; 1 the API answered with an error (or a followed task failed);
2 usage or connection error. Server commands (`serve`, `api`, `worker`, `migrate`) come
from `bureau.cli.serve`; the client commands from `commands` and `run`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import httpx

from bureau import __version__
from bureau.cli import admin, commands, run
from bureau.cli.common import CommandError, common_options
from bureau.cli.render import emit_json
from bureau.client import ApiError, ClientError

__all__ = ["build_parser", "main"]

EPILOG = """\
examples:
  bureau serve                                  start Bureau (API + agents) here
  bureau agents                                 what can be hired
  bureau run csv-analyst "which region grows fastest?" --file sales.csv --follow
  bureau task list --status input-required
  bureau task accept TASK_ID --rating 5

exit codes: 0 ok, 1 API error (or the followed task failed), 2 usage or connection error"""


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, server commands included when their module is present."""
    parser = argparse.ArgumentParser(
        prog="bureau",
        description="Bureau: hire agents by the task. Dispatch a goal, follow the work, "
        "answer questions, accept the deliverable.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common_options(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"bureau {__version__}")
    subparsers = parser.add_subparsers(metavar="COMMAND", required=True)
    try:
        from bureau.cli import serve as serve_cli
    except ImportError:  # the server commands ship separately while they are written
        pass
    else:
        serve_cli.register(subparsers)
    common = common_options(suppress=True)
    run.register(subparsers, common)
    commands.register(subparsers, common)
    admin.register(subparsers, common)
    return parser


def main(argv: Sequence[str] | None = None, *, transport: httpx.BaseTransport | None = None) -> int:
    """Run the `bureau` command; returns its exit code.

    `transport` replaces the client's HTTP transport (tests use `httpx.MockTransport`).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version or a usage error already printed
        return exit_.code if isinstance(exit_.code, int) else 2
    args.transport = transport
    try:
        code: int = args.func(args)
    except ApiError as exc:
        if getattr(args, "json", False):
            emit_json(exc.body)
        else:
            print(f"error: {exc.detail} ({exc.code}, HTTP {exc.status})", file=sys.stderr)
        return 1
    except (ClientError, CommandError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of our output went away (e.g. `| head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return code
