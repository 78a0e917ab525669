"""Driving one execution of an agent function until it finishes or parks.

Shared by the engine's runner and by `bureau.testing`, so both decide "parked" the same
way: some durable call asked to park, no step is in flight, and the agent's other
coroutines (e.g. siblings in `asyncio.gather`) had the chance to reach their own park.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any, NoReturn

from bureau.sdk.context import Context
from bureau.sdk.decorator import AgentFunction
from bureau.sdk.signals import Reply

_SETTLE_ROUNDS = 5


class ParkGate:
    """Where durable calls wait when they need the run to park."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.reasons: list[str] = []

    async def park(self, reason: str) -> NoReturn:
        self.reasons.append(reason)
        self.requested.set()
        await asyncio.get_running_loop().create_future()  # resolved never; canceled on park
        raise AssertionError("unreachable")


@dataclass
class Outcome:
    """How one execution ended: exactly one of `value`, `error` or `parked` is meaningful."""

    completed: bool = False
    value: Any = None
    reply: bool = False
    """The agent returned `Reply(value)`."""
    error: BaseException | None = None
    parked: list[str] = field(default_factory=list)


async def drive(fn: AgentFunction, ctx: Context, gate: ParkGate) -> Outcome:
    """Run `fn(ctx)` until it returns, raises, or every coroutine of it is parked.

    If the caller is canceled, the agent's coroutine is canceled too and the cancellation
    propagates.
    """
    task: asyncio.Future[Any] = asyncio.ensure_future(fn(ctx))
    try:
        while True:
            park_wait = asyncio.ensure_future(gate.requested.wait())
            try:
                await asyncio.wait({task, park_wait}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                park_wait.cancel()
            if task.done():
                return _finished(task)
            if await _settled(task, ctx):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                return Outcome(parked=list(gate.reasons))
            if task.done():
                return _finished(task)
    except asyncio.CancelledError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        raise


async def _settled(task: asyncio.Future[Any], ctx: Context) -> bool:
    """Let sibling coroutines reach their park; wait for steps in flight to finish."""
    while True:
        for _ in range(_SETTLE_ROUNDS):
            await asyncio.sleep(0)
            if task.done():
                return False
        if ctx.active_steps == 0:
            return True
        await asyncio.sleep(0.005)


def _finished(task: asyncio.Future[Any]) -> Outcome:
    if task.cancelled():
        return Outcome(error=asyncio.CancelledError())
    error = task.exception()
    if error is not None:
        return Outcome(error=error)
    value = task.result()
    if isinstance(value, Reply):
        return Outcome(completed=True, value=value.answer, reply=True)
    return Outcome(completed=True, value=value)
