"""The contract every SQL backend fulfils.

A backend runs *operations*: plain functions `op(connection) -> result` written with
SQLAlchemy Core, identical for every dialect. `write` runs an operation inside a
transaction and returns only after that transaction committed, or raises (the
operation's own exception, with its effects rolled back). Several concurrent `write`s
may share one commit (group commit), but each is atomic on its own: one failing
operation never undoes another. `read` runs an operation against committed state.

What "committed" means: after `await write(op)` returns, every other process reading the
database sees the effects, and a `kill -9` of this process cannot lose them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from sqlalchemy import Connection

T = TypeVar("T")
Operation = Callable[[Connection], T]


class Database(Protocol):
    dialect: str

    async def read(self, op: Callable[[Connection], T]) -> T:
        """Run `op` against committed state (no writes)."""

    async def write(self, op: Callable[[Connection], T], *, interactive: bool = False) -> T:
        """Run `op` in a transaction; return once committed. `interactive`: a caller (an API
        request) waits on it; a backend may keep such writes apart from the engine's."""

    def run_sync(self, op: Callable[[Connection], T]) -> T:
        """Run `op` in a transaction of its own, blocking (startup and maintenance only)."""

    async def close(self) -> None:
        """Finish queued writes and release connections."""
