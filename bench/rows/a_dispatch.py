"""Row (a): dispatch latency, `POST /v1/tasks` → 202, at a fixed open-loop arrival rate.

Latency is measured from the request's *intended* start (its slot in the arrival schedule)
to the end of the response, so client-side queueing counts against the server as it would
for a real caller; the latency from the actual write is reported beside it. The dispatched
tasks run on the same server meanwhile (the no-op agent), as they would in production.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from client import Client
from rows.common import Sizes, open_loop, task_body
from server import Target
from stats import client_cpu, percentile, summary

WARMUP_SECONDS = 2.0
WINDOW_SECONDS = 5.0  # p99 per window shows whether a tail is one burst or steady


async def run(sizes: Sizes, tmp: Path, target: Target) -> dict[str, Any]:
    with target.server(tmp) as server:
        client = Client("127.0.0.1", server.port, server.key, size=64)
        await client.warm(16)
        request = client.request_bytes("POST", "/v1/tasks", task_body("noop"))
        intended_ms: list[float] = []
        sent_ms: list[float] = []
        errors: dict[str, int] = {}
        finished: list[float] = []

        async def post(_: int, intended: float) -> None:
            sent = time.perf_counter()
            try:
                response = await client.send(request)
            except Exception as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                return
            done = time.perf_counter()
            if response.status != 202:
                errors[str(response.status)] = errors.get(str(response.status), 0) + 1
                return
            intended_ms.append((done - intended) * 1000)
            sent_ms.append((done - sent) * 1000)
            finished.append(done)

        await open_loop(sizes.a_rate, int(sizes.a_rate * WARMUP_SECONDS), post)
        intended_ms.clear()
        sent_ms.clear()
        finished.clear()
        errors.clear()

        count = int(sizes.a_rate * sizes.a_seconds)
        with client_cpu(server.processes) as span:
            started, _ = await open_loop(sizes.a_rate, count, post)
        elapsed = (max(finished) - started) if finished else 0.0
        windows: dict[int, list[float]] = {}
        for done, latency in zip(finished, intended_ms, strict=True):
            windows.setdefault(int((done - started) // WINDOW_SECONDS), []).append(latency)
        client.close()
        return {
            "target_rate": sizes.a_rate,
            "requests": count,
            "ok": len(intended_ms),
            "errors": errors,
            "achieved_rate": round(len(finished) / elapsed, 1) if elapsed else 0.0,
            "latency_ms": summary(intended_ms),
            "latency_from_send_ms": summary(sent_ms),
            f"p99_ms_per_{WINDOW_SECONDS:g}s_window": [
                round(percentile(values, 99) or 0.0, 2) for _, values in sorted(windows.items())
            ],
            **span.as_dict(count),
            "server_problems": server.problems(),
            "server_diagnostics": server.diagnostics(),
        }
