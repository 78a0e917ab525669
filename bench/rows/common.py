"""What the rows share: sizes, dispatching, waiting on the server, open-loop pacing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from client import Client, HttpError, Response


@dataclass(frozen=True)
class Sizes:
    """How much each row does; `--quick` shrinks everything to a smoke test."""

    quick: bool
    a_rate: float = 200.0
    a_seconds: float = 30.0
    b_tasks: int = 10_000
    b_repeats: int = 3
    b_dbos_sweep: int = 1_000
    b_concurrency: int = 64
    c_rate: float = 50.0
    c_seconds: float = 20.0
    d_tasks: int = 40
    d_steps: int = 50
    e_parked: int = 100_000
    e_budget_s: float = 240.0
    e_sample: int = 200
    f_subscribers: int = 1_000
    f_events: int = 20
    f_interval: float = 0.25
    g_tasks: int = 20
    g_lease_seconds: float = 5.0
    h_tasks: int = 10_000
    h_repeats: int = 2

    @classmethod
    def for_mode(cls, quick: bool) -> Sizes:
        if not quick:
            return cls(quick=False)
        return cls(
            quick=True,
            a_seconds=8.0,
            b_tasks=2_000,
            b_repeats=1,
            b_dbos_sweep=200,
            c_seconds=6.0,
            d_tasks=10,
            e_parked=2_000,
            e_budget_s=60.0,
            e_sample=50,
            f_subscribers=1_000,
            f_events=10,
            h_tasks=2_000,
            h_repeats=1,
        )


def task_body(agent: str, input: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"agent": agent, "goal": "bench"}
    if input is not None:
        body["input"] = input
    return body


async def dispatch(client: Client, agent: str, input: dict[str, Any] | None = None) -> Any:
    return await client.json("POST", "/v1/tasks", task_body(agent, input), expect=202)


TERMINAL = ("completed", "failed", "canceled", "rejected")


async def poll_status(
    client: Client,
    task_id: str,
    statuses: tuple[str, ...] = TERMINAL,
    interval: float = 0.02,
    limit_s: float = 30.0,
) -> dict[str, Any]:
    """Poll `GET /v1/tasks/{id}` until the task's status is one of `statuses`. Cheaper for
    the server than a long-poll when the task emits many events (each wakes a long-poll)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        task: dict[str, Any] = await client.json("GET", f"/v1/tasks/{task_id}")
        if task["status"] in statuses:
            return task
        await asyncio.sleep(interval)
    raise TimeoutError(f"task {task_id} not {'/'.join(statuses)} within {limit_s:g} s")


async def until(predicate: Callable[[], bool], limit_s: float, interval: float = 0.05) -> bool:
    """Check `predicate` every `interval` seconds for at most `limit_s`; its last value."""
    for _ in range(max(1, int(limit_s / interval))):
        if predicate():
            return True
        await asyncio.sleep(interval)
    return predicate()


async def status_counts(client: Client) -> dict[str, int]:
    """Tasks per status from `GET /metrics` (the `bureau_tasks{status=...}` gauges)."""
    response = await client.call("GET", "/metrics")
    if response.status != 200:
        raise HttpError(f"/metrics: {response.status}")
    counts: dict[str, int] = {}
    for line in response.body.decode().splitlines():
        if line.startswith('bureau_tasks{status="'):
            name, value = line[len('bureau_tasks{status="') :].split('"} ')
            counts[name] = int(float(value))
    return counts


async def wait_count(
    read: Callable[[], Awaitable[int]],
    target: int,
    limit_s: float,
    interval: float = 0.1,
) -> tuple[float | None, int, list[tuple[float, int]]]:
    """Poll `read()` until it reaches `target`; returns (the perf_counter time it was first
    seen there or None on timeout, the last count, the (time, count) samples)."""
    deadline = time.perf_counter() + limit_s
    samples: list[tuple[float, int]] = []
    count = -1
    while time.perf_counter() < deadline:
        count = await read()
        seen = time.perf_counter()
        samples.append((seen, count))
        if count >= target:
            return seen, count, samples
        await asyncio.sleep(interval)
    return None, count, samples


async def open_loop(
    rate: float,
    count: int,
    action: Callable[[int, float], Awaitable[None]],
    max_in_flight: int = 2_000,
) -> tuple[float, float]:
    """Start `action(i, intended_start)` at `rate` per second regardless of how fast earlier
    ones finish (an open loop: a slow server cannot slow the arrivals and hide its
    queueing). Returns (start, end) perf_counter times of the whole run."""
    started = time.perf_counter()
    running: set[asyncio.Task[None]] = set()
    for i in range(count):
        intended = started + i / rate
        delay = intended - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(running) >= max_in_flight:  # a bound, not a pace: reached only if stuck
            await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        job = asyncio.ensure_future(action(i, intended))
        running.add(job)
        job.add_done_callback(running.discard)
    if running:
        await asyncio.wait(running, timeout=60)
    for job in running:
        job.cancel()
    return started, time.perf_counter()


def ok(response: Response, expect: int) -> bool:
    return response.status == expect
