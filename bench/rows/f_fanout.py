"""Row (f): SSE fan-out — many subscribers on one task, delivery latency and memory.

A `ticker` task parks on a question while N raw SSE subscribers connect (in batches, each
on its own connection) and catch up with the log. The server's VmRSS before and after the
subscribers connect gives the memory per subscriber. Then the client answers "go" and the
task emits progress events at a fixed interval; each event's message is the server's wall
clock when the agent emitted it. Delivery latency = arrival at the subscriber (stamped in
`data_received`, parsed afterwards) - that emission time; latency from the event's
committed `at` (millisecond resolution) is reported beside it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from client import Client, SseRecorder, subscribe
from rows.common import Sizes, dispatch, poll_status, until
from server import ServerProcess, Target, bureau
from stats import client_cpu, parse_iso, summary

BATCH = 100


async def _connect(client: Client, task_id: str, count: int) -> list[SseRecorder]:
    """Open `count` subscriptions in batches; each has caught up to the question."""
    recorders: list[SseRecorder] = []
    for start in range(0, count, BATCH):
        batch = await asyncio.gather(
            *(subscribe(client, task_id) for _ in range(min(BATCH, count - start)))
        )
        await asyncio.wait_for(asyncio.gather(*(r.first_data for r in batch)), timeout=30)
        recorders.extend(batch)
    if await until(lambda: all(r.received(b'"type":"question"') for r in recorders), 30):
        return recorders
    raise TimeoutError("subscribers did not all receive the question")


async def _rss(server: ServerProcess) -> int:
    readings = []
    for _ in range(5):
        await asyncio.sleep(0.3)
        readings.append(server.rss())
    return sorted(readings)[2]


async def _round(
    client: Client, server: ServerProcess, subscribers: int, count: int, interval: float
) -> dict[str, Any]:
    task = await dispatch(client, "ticker", {"count": count, "interval": interval})
    await poll_status(client, task["id"], ("input-required",))
    rss_before = await _rss(server)
    recorders = await _connect(client, task["id"], subscribers)
    rss_after = await _rss(server)
    with client_cpu(server.pid) as span:
        await client.json("POST", f"/v1/tasks/{task['id']}/messages", {"text": "go"})
        await asyncio.wait(
            [asyncio.ensure_future(_ended(r)) for r in recorders],
            timeout=count * interval + 60,
        )
    for recorder in recorders:
        recorder.close()
    await poll_status(client, task["id"])
    emitted_ms: list[float] = []
    committed_ms: list[float] = []
    complete = 0
    for recorder in recorders:
        progress = 0
        for arrived, event in recorder.events():
            if event["type"] != "progress":
                continue
            progress += 1
            emitted_ms.append((arrived - float(event["data"]["message"])) * 1000)
            committed_ms.append((arrived - parse_iso(event["at"])) * 1000)
        complete += progress == count
    return {
        "subscribers": subscribers,
        "events": count,
        "interval_s": interval,
        "subscribers_with_every_event": complete,
        "deliveries": len(emitted_ms),
        "delivery_ms": summary(emitted_ms),
        "delivery_from_committed_at_ms": summary(committed_ms),
        "rss_before_mb": round(rss_before / 2**20, 1),
        "rss_after_mb": round(rss_after / 2**20, 1),
        "memory_per_subscriber_kb": round((rss_after - rss_before) / subscribers / 1024, 2),
        **span.as_dict(len(emitted_ms)),
    }


async def _ended(recorder: SseRecorder) -> None:
    await recorder.ended


async def run(sizes: Sizes, tmp: Path, target: Target) -> dict[str, Any]:
    assert target.backend == "sqlite", "this row runs on embedded SQLite only"
    with bureau(tmp) as server:
        client = Client("127.0.0.1", server.port, server.key, size=4)
        await _round(client, server, 50, 3, 0.05)  # warm-up: the code paths, not the figures
        result = await _round(client, server, sizes.f_subscribers, sizes.f_events, sizes.f_interval)
        client.close()
        result["server_problems"] = server.problems()
        result["server_diagnostics"] = server.diagnostics()
        return result
