"""Row (c): pickup latency, 202 → `working`, at a moderate open-loop arrival rate.

Two measures per task. Server-side: from the task's `created_at` (in the 202) to the `at`
of its `status: working` event (both are server clocks, millisecond resolution). Client-
observed: right after the 202 the client long-polls `GET /v1/tasks/{id}/events?after=1`;
the time from receiving the 202 to receiving the `working` event (this includes the
long-poll's own round trip and the notification hop, so it is an upper bound).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from client import Client
from rows.common import Sizes, open_loop, task_body
from server import Target
from stats import client_cpu, parse_iso, summary

WARMUP_SECONDS = 1.0


def _working(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    for event in events:
        if event["type"] == "status" and event["data"].get("status") == "working":
            return event
    return None


async def run(sizes: Sizes, tmp: Path, target: Target) -> dict[str, Any]:
    with target.server(tmp) as server:
        client = Client("127.0.0.1", server.port, server.key, size=128)
        await client.warm(16)
        request = client.request_bytes("POST", "/v1/tasks", task_body("noop"))
        server_ms: list[float] = []
        client_ms: list[float] = []
        errors: dict[str, int] = {}

        async def one(_: int, __: float) -> None:
            try:
                response = await client.send(request)
                accepted = time.perf_counter()
                if response.status != 202:
                    raise RuntimeError(f"dispatch answered {response.status}")
                task = response.json()
                after = 1
                for _attempt in range(5):
                    page = await client.json(
                        "GET", f"/v1/tasks/{task['id']}/events?after={after}&wait=5"
                    )
                    working = _working(page["events"])
                    if working is not None:
                        client_ms.append((time.perf_counter() - accepted) * 1000)
                        picked = parse_iso(working["at"]) - parse_iso(task["created_at"])
                        server_ms.append(picked * 1000)
                        return
                    if page["events"]:
                        after = page["events"][-1]["seq"]
                raise RuntimeError("no working event")
            except Exception as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1

        await open_loop(sizes.c_rate, int(sizes.c_rate * WARMUP_SECONDS), one)
        server_ms.clear()
        client_ms.clear()
        errors.clear()
        count = int(sizes.c_rate * sizes.c_seconds)
        with client_cpu(server.processes) as span:
            await open_loop(sizes.c_rate, count, one)
        client.close()
        return {
            "rate": sizes.c_rate,
            "tasks": count,
            "errors": errors,
            "server_side_ms": summary(server_ms),
            "client_observed_ms": summary(client_ms),
            **span.as_dict(count),
            "server_problems": server.problems(),
            "server_diagnostics": server.diagnostics(),
        }
