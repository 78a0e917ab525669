"""The contract between `Context` (agent side) and whatever executes the run.

The engine implements `Runtime` against the durable store; `bureau.testing` implements
it in memory. `Context` owns the replay model: each durable call gets the next position in
the run, and a call whose position is already journaled returns its recorded result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol


@dataclass(frozen=True)
class JournalEntry:
    """One durable call of a run, as recorded.

    `status` is `completed` (result is final), `pending` (a question or a child task is
    outstanding; `result` holds its id) or `started` (a non-idempotent step began and no
    completion was recorded).
    """

    position: int
    kind: str
    name: str
    status: str
    result: Any = None


class Runtime(Protocol):
    """Durable effects of one run. Every method is keyed by the call's position."""

    @property
    def journal(self) -> Mapping[int, JournalEntry]:
        """The entries recorded by earlier executions of this run, loaded before it starts."""

    async def step_started(self, position: int, name: str, *, durable: bool) -> None:
        """Announce a step; when `durable`, record it before the step runs."""

    async def step_completed(
        self, position: int, name: str, result: Any, *, seconds: float, preview: bool = True
    ) -> None:
        """Journal the step's result (in its event too when `preview` and small). Returns
        only once it is committed."""

    async def step_failed(self, position: int, name: str, error: str) -> None:
        """Record that a step raised (an event only; the step may run again)."""

    async def record(self, position: int, kind: str, name: str, value: Any) -> None:
        """Journal a plan or progress call together with its event."""

    async def ask(self, position: int, text: str, schema: dict[str, Any] | None) -> str:
        """Persist a question (the task goes `input-required`); returns its id."""

    async def delegate(
        self, position: int, agent: str, goal: str, input: dict[str, Any], profile: str | None
    ) -> str:
        """Create a child task; returns its id. The child's outcome completes the entry."""

    async def artifact(
        self, position: int, name: str, content: bytes, media_type: str
    ) -> dict[str, Any]:
        """Store a file for the task; returns its description (name, size, media_type, url)."""

    async def park(self, reason: str) -> NoReturn:
        """Give the worker back until the awaited question or child resolves."""
