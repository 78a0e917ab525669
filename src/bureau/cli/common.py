"""What every client command shares: the global options, the client, argument types."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import orjson

from bureau.client import Client

__all__ = ["CommandError", "common_options", "connect", "json_object", "json_value"]


class CommandError(Exception):
    """The command cannot run as asked; the message says what to fix (exit code 2)."""


def common_options(*, suppress: bool) -> argparse.ArgumentParser:
    """A parent parser with the global options.

    Subcommands take it with `suppress=True` so an option given before the subcommand is
    not overwritten by the subcommand's default.
    """
    parent = argparse.ArgumentParser(add_help=False)
    default: dict[str, Any] = {"default": argparse.SUPPRESS} if suppress else {}
    group = parent.add_argument_group("connection and output")
    group.add_argument(
        "--url", help="Bureau's URL (env BUREAU_URL, default http://127.0.0.1:8000)", **default
    )
    group.add_argument(
        "--api-key", help="API key (env BUREAU_API_KEY, default DATA_DIR/admin-key)", **default
    )
    group.add_argument(
        "--data-dir",
        type=Path,
        help="where `bureau serve` keeps its admin key (env BUREAU_DATA_DIR, default ./.bureau)",
        **default,
    )
    group.add_argument("--json", action="store_true", help="print machine-readable JSON", **default)
    return parent


def connect(args: argparse.Namespace) -> Client:
    """A client configured from the global options (tests pass `args.transport`)."""
    return Client(
        url=args.url,
        api_key=args.api_key,
        data_dir=args.data_dir,
        transport=getattr(args, "transport", None),
    )


def json_value(text: str) -> Any:
    """argparse type: any JSON value."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc}): {text!r}") from exc


def json_object(text: str) -> dict[str, Any]:
    """argparse type: a JSON object such as '{"rows": 10}'."""
    value = json_value(text)
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(
            f"expected a JSON object like '{{\"key\": 1}}', got {text!r}"
        )
    return value
