"""Parsing a large JSON body in a child process, so the event loop never waits on it.

Kept free of imports beyond the standard library: the child process imports this module only.
"""

from __future__ import annotations

import json
from typing import Any

MAX_VALUES = 200_000
"""JSON values one body may hold in all (the request models bound each field below this)."""


class TooManyValues(Exception):
    pass


def parse(body: bytes) -> Any:
    """The parsed body; raises `TooManyValues` past `MAX_VALUES` (so what comes back to the
    server, whose unpickling is on its loop, is small however large the body was),
    `RecursionError` when nested too deeply, `ValueError` when it is not JSON."""
    value = json.loads(body)
    stack, seen = [value], 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise TooManyValues
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return value
