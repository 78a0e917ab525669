"""Parsing a large JSON body in a child process, so the event loop never waits on it.

Kept free of imports beyond the standard library: the child process imports this module only.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_VALUES = 200_000
"""JSON values one body may hold in all (the request models bound each field below this)."""


class TooManyValues(Exception):
    pass


class OutOfBounds(ValueError):
    """A JSON value a protocol body may not hold; the message says which and why."""


INT64 = range(-(2**63), 2**63)


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


def parse_bounded(body: bytes, max_values: int, max_depth: int) -> Any:
    """`parse` with the bounds the protocol doors need before their SDKs see a body: at most
    `max_values` values (`TooManyValues`), nested at most `max_depth` levels, finite
    numbers and integers within 64 bits (`OutOfBounds`). `ValueError` (not JSON, not
    UTF-8) and `RecursionError` as `parse`."""
    value = json.loads(body)
    stack, seen = [(value, 1)], 0
    while stack:
        node, level = stack.pop()
        seen += 1
        if seen > max_values:
            raise TooManyValues
        if isinstance(node, dict | list):
            if level > max_depth:
                raise OutOfBounds(f"the body is nested deeper than {max_depth} levels; flatten it")
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
        elif isinstance(node, float) and not math.isfinite(node):
            raise OutOfBounds("a number is out of range (NaN or Infinity); send it as a string")
        elif isinstance(node, int) and not isinstance(node, bool) and node not in INT64:
            raise OutOfBounds("an integer is beyond 64 bits; send big numbers as strings")
    return value
