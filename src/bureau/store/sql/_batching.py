"""Group commit, shared by the backends: many operations, one transaction.

Operations queued while a transaction runs go into the next one ("commit as soon as the
queue drains"). If a batch fails, it is rolled back and each operation re-run in a
transaction of its own, so one failure (a 409, a lost lease) never undoes another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection

Operation = Callable[[Connection], Any]
Pending = list[tuple[Operation, "asyncio.Future[Any]"]]
Transaction = Callable[[Sequence[Operation]], list[Any]]


def settle_batch(batch: Pending, transaction: Transaction) -> list[tuple[bool, Any]]:
    """Run `batch` (blocking); returns (ok, result or exception) per operation."""
    try:
        return [(True, result) for result in transaction([op for op, _ in batch])]
    except Exception:
        outcomes: list[tuple[bool, Any]] = []
        for op, _ in batch:
            try:
                outcomes.append((True, transaction([op])[0]))
            except Exception as exc:
                outcomes.append((False, exc))
        return outcomes


def resolve(batch: Pending, outcomes: list[tuple[bool, Any]]) -> None:
    for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
