"""The fairness check of the claim order, on a server or a fleet: tenant A enqueues 10,000
tasks that keep the workers busy, then tenant B dispatches one; B's task must start within
2 s while most of A's still wait."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import httpx

from tests.support.server import wait_for

BACKLOG = 10_000
SENDERS = 32
MAX_START_SECONDS = 2.0


async def _enqueue(url: str, key: str, count: int, body: dict[str, Any]) -> None:
    """`count` tasks through `url`, each sent again (same `Idempotency-Key`) when its
    connection breaks: the backlog's size is what matters here, not one request."""
    numbers = iter(range(count))
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:

        async def sender() -> None:
            for number in numbers:
                once = {"Idempotency-Key": f"backlog-{url}-{number}"}
                try:
                    answer = await client.post("/v1/tasks", json=body, headers=once)
                except httpx.TransportError:
                    answer = await client.post("/v1/tasks", json=body, headers=once)
                assert answer.status_code == 202, answer.text

        await asyncio.gather(*(sender() for _ in range(SENDERS)))


def _seconds(stamp: str) -> float:
    return datetime.datetime.fromisoformat(stamp).timestamp()


def check_fair_start(operator: httpx.Client, urls: list[str]) -> str:
    """Make tenants A and B (through `operator`), enqueue A's backlog through the APIs at
    `urls`, dispatch B's task, check it started in time while A's backlog still waited;
    returns A's id."""
    made = [operator.post("/v1/tenants", json={"name": name}).json() for name in "AB"]
    a_key, b_key = (m["admin_key"]["secret"] for m in made)
    backlog = {"agent": "sleeper", "goal": "keep busy", "input": {"seconds": 2}}
    share = BACKLOG // len(urls)

    async def enqueue_all() -> None:
        await asyncio.gather(*(_enqueue(url, a_key, share, backlog) for url in urls))

    asyncio.run(enqueue_all())
    headers = {"Authorization": f"Bearer {b_key}"}
    with httpx.Client(base_url=urls[-1], headers=headers, timeout=30) as b:
        task = b.post("/v1/tasks", json={"agent": "noop", "goal": "my turn"}).json()
        done = wait_for(b, task["id"], {"completed"}, timeout=30)
        waited = _seconds(done["started_at"]) - _seconds(done["created_at"])
    assert waited < MAX_START_SECONDS, f"B's task waited {waited:.2f} s behind A's backlog"
    with httpx.Client(base_url=urls[0], headers={"Authorization": f"Bearer {a_key}"}) as a:
        page = a.get("/v1/tasks", params={"status": "submitted", "limit": 200}).json()
    assert len(page["tasks"]) == 200, "A's backlog had drained: the check proved nothing"
    return str(made[0]["id"])
