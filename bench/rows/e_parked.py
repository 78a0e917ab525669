"""Row (e): parked tasks — many tasks waiting in `input-required`, and reply → resumed.

The `asker` agent asks one question and parks (the engine keeps no coroutine for it); after
the reply it runs one more journaled step and completes. The row parks as many tasks as it
can within its time budget (the spec's 100,000 in a full run), reads the server's VmRSS
before and after, then answers a random sample at a steady rate and times, per task, the
reply (sent) → the resumed run's first journaled step (`step.completed` of `after`, seen
on an SSE subscription opened beforehand) and → `completed`. The `status: working` that
the reply itself writes is not counted as "resumed": it is committed with the message,
before any code of the agent runs again.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

from client import Client, SseRecorder, subscribe
from rows.common import Sizes, open_loop, status_counts, task_body, until, wait_count
from server import ServerProcess, Target, bureau
from stats import client_cpu, parse_iso, summary

SENDERS = 64
WARMUP_TASKS = 200
REPLY_RATE = 20.0


async def _park(
    client: Client, count: int, budget: float
) -> tuple[list[str], float, dict[str, int]]:
    """Dispatch up to `count` asker tasks within `budget` seconds; returns their ids."""
    request = client.request_bytes("POST", "/v1/tasks", task_body("asker"))
    ids: list[str] = []
    errors: dict[str, int] = {}
    deadline = time.perf_counter() + budget
    remaining = iter(range(count))

    async def sender() -> None:
        for _ in remaining:
            if time.perf_counter() > deadline:
                return
            try:
                response = await client.send(request)
            except Exception as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                continue
            if response.status == 202:
                ids.append(response.json()["id"])
            else:
                errors[str(response.status)] = errors.get(str(response.status), 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(SENDERS)))
    return ids, time.perf_counter() - started, errors


async def _parked(poller: Client) -> int:
    return (await status_counts(poller)).get("input-required", 0)


async def _settled_rss(server: ServerProcess, seconds: float = 2.0) -> int:
    """RSS after the server had `seconds` to settle (median of a few readings)."""
    readings = []
    for _ in range(5):
        await asyncio.sleep(seconds / 5)
        readings.append(server.rss())
    return sorted(readings)[2]


async def _answer(
    client: Client, ids: list[str], rate: float
) -> tuple[dict[str, float], dict[str, SseRecorder], dict[str, int]]:
    """Subscribe to each task's events, then reply to them at `rate` per second."""
    recorders: dict[str, SseRecorder] = {}
    for task_id in ids:
        recorders[task_id] = await subscribe(client, task_id)
    await asyncio.wait_for(asyncio.gather(*(r.first_data for r in recorders.values())), timeout=30)
    # the question is on every stream before any reply is sent
    await until(lambda: all(r.received(b'"type":"question"') for r in recorders.values()), 30)
    sent: dict[str, float] = {}
    errors: dict[str, int] = {}

    async def reply(i: int, _: float) -> None:
        task_id = ids[i]
        request = client.request_bytes("POST", f"/v1/tasks/{task_id}/messages", {"text": "go on"})
        sent[task_id] = time.time()
        response = await client.send(request)
        if response.status != 200:
            errors[str(response.status)] = errors.get(str(response.status), 0) + 1

    await open_loop(rate, len(ids), reply)
    await asyncio.wait([asyncio.ensure_future(_ended(r)) for r in recorders.values()], timeout=60)
    for recorder in recorders.values():
        recorder.close()
    return sent, recorders, errors


async def _ended(recorder: SseRecorder) -> None:
    await recorder.ended


def _timings(sent: dict[str, float], recorders: dict[str, SseRecorder]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"resumed": [], "completed": [], "server_resumed": []}
    for task_id, at in sent.items():
        message_at = None
        for arrived, event in recorders[task_id].events():
            kind, data = event["type"], event["data"]
            if kind == "message":
                message_at = parse_iso(event["at"])
            elif kind == "step.completed" and data.get("name") == "after":
                out["resumed"].append((arrived - at) * 1000)
                if message_at is not None:
                    out["server_resumed"].append((parse_iso(event["at"]) - message_at) * 1000)
            elif kind == "status" and data.get("status") == "completed":
                out["completed"].append((arrived - at) * 1000)
    return out


async def run(sizes: Sizes, tmp: Path, target: Target) -> dict[str, Any]:
    assert target.backend == "sqlite", "this row runs on embedded SQLite only"
    with bureau(tmp) as server:
        client = Client("127.0.0.1", server.port, server.key, size=SENDERS + 8)
        poller = Client("127.0.0.1", server.port, server.key, size=1)
        await client.warm(SENDERS)
        warm_ids, _, _ = await _park(client, WARMUP_TASKS, 60)
        await wait_count(lambda: _parked(poller), len(warm_ids), limit_s=60)
        await _answer(client, warm_ids, 200.0)
        rss_before = await _settled_rss(server)

        with client_cpu(server.pid) as span:
            started = time.perf_counter()
            ids, dispatch_s, errors = await _park(client, sizes.e_parked, sizes.e_budget_s)
            seen, parked, _ = await wait_count(
                lambda: _parked(poller), len(ids), limit_s=120, interval=1.0
            )
        park_s = (seen or time.perf_counter()) - started
        rss_after = await _settled_rss(server)
        growth = rss_after - rss_before

        sample = random.Random(7).sample(ids, min(sizes.e_sample, len(ids)))
        sent, recorders, reply_errors = await _answer(client, sample, REPLY_RATE)
        timings = _timings(sent, recorders)
        client.close()
        poller.close()
        return {
            "target_parked": sizes.e_parked,
            "dispatched": len(ids),
            "parked": parked,
            "all_parked": seen is not None,
            "budget_s": sizes.e_budget_s,
            "stopped_by_budget": len(ids) < sizes.e_parked,
            "dispatch_seconds": round(dispatch_s, 1),
            "parked_per_s": round(parked / park_s, 1) if park_s > 0 else None,
            "errors": errors,
            "rss_before_mb": round(rss_before / 2**20, 1),
            "rss_after_mb": round(rss_after / 2**20, 1),
            "rss_growth_mb": round(growth / 2**20, 1),
            "rss_growth_bytes_per_parked_task": round(growth / parked) if parked else None,
            "reply_sample": len(sample),
            "reply_rate": REPLY_RATE,
            "reply_errors": reply_errors,
            "reply_to_resumed_ms": summary(timings["resumed"]),
            "reply_to_completed_ms": summary(timings["completed"]),
            "server_message_to_resumed_step_ms": summary(timings["server_resumed"]),
            **span.as_dict(len(ids)),
            "server_problems": server.problems(),
            "server_diagnostics": server.diagnostics(),
        }
