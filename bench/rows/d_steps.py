"""Row (d): overhead per journaled step against a bare call.

Primary measure, inside the engine: the `steps` agent times each `await ctx.step(...)` of a
no-op async function and each bare `await` of the same function, on the real server, and
returns the timings as its deliverable; the overhead is the per-step difference. Tasks run
one at a time, then 16 at once (steps of concurrent tasks share group commits). The client
learns that a task finished by polling `GET /v1/tasks/{id}` every 20 ms (a long-poll on the
events would wake on every step and load the server it measures).

Cross-check, from the outside: the task duration (`finished_at - started_at`) of an
n-step run minus that of a 0-step run, divided by n (millisecond timestamps; n=50 gives
0.02 ms resolution per step).
"""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path
from typing import Any

from client import Client
from rows.common import Sizes, dispatch, poll_status
from server import Target
from stats import client_cpu, parse_iso, percentile, summary

CONCURRENT = 16


async def _run_one(client: Client, n: int) -> dict[str, Any]:
    task = await dispatch(client, "steps", {"n": n})
    done = await poll_status(client, task["id"])
    if done["status"] != "completed":
        raise RuntimeError(f"steps task {done['id']} ended {done['status']}: {done['error']}")
    return done


def _duration_ms(task: dict[str, Any]) -> float:
    return (parse_iso(task["finished_at"]) - parse_iso(task["started_at"])) * 1000


def _overheads(tasks: list[dict[str, Any]]) -> tuple[list[float], list[float], list[float]]:
    steps: list[float] = []
    bare: list[float] = []
    for task in tasks:
        steps += task["deliverable"]["step_us"]
        bare += task["deliverable"]["bare_us"]
    overhead = [s - b for s, b in zip(steps, bare, strict=True)]
    return steps, bare, overhead


async def run(sizes: Sizes, tmp: Path, target: Target) -> dict[str, Any]:
    n = sizes.d_steps
    with target.server(tmp) as server:
        client = Client("127.0.0.1", server.port, server.key, size=CONCURRENT * 2)
        for _ in range(3):  # warm-up
            await _run_one(client, n)
        with client_cpu(server.processes) as span:
            sequential = []
            empty = []
            for _ in range(sizes.d_tasks):
                sequential.append(await _run_one(client, n))
                empty.append(await _run_one(client, 0))
            concurrent = await asyncio.gather(*(_run_one(client, n) for _ in range(CONCURRENT)))
        client.close()
        steps, bare, overhead = _overheads(sequential)
        c_steps, _, c_overhead = _overheads(list(concurrent))
        with_steps = statistics.median(_duration_ms(t) for t in sequential)
        without = statistics.median(_duration_ms(t) for t in empty)
        p50 = percentile(overhead, 50)
        return {
            "steps_per_task": n,
            "tasks": sizes.d_tasks,
            "overhead_per_step_ms_p50": round((p50 or 0.0) / 1000, 4),
            "step_us": summary(steps, 1),
            "bare_call_us": summary(bare, 2),
            "overhead_us": summary(overhead, 1),
            "concurrent": {
                "tasks_at_once": CONCURRENT,
                "step_us": summary(c_steps, 1),
                "overhead_us": summary(c_overhead, 1),
            },
            "duration_method": {
                "median_task_ms_with_steps": round(with_steps, 3),
                "median_task_ms_without_steps": round(without, 3),
                "overhead_per_step_ms": round((with_steps - without) / n, 4),
            },
            **span.as_dict(),
            "server_problems": server.problems(),
            "server_diagnostics": server.diagnostics(),
        }
