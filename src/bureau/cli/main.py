"""The `bureau` command (minimal placeholder until the full CLI lands)."""

from __future__ import annotations

import argparse

from bureau.cli import serve as serve_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bureau")
    subparsers = parser.add_subparsers(required=True)
    serve_cli.register(subparsers)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result
