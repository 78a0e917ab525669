"""Idempotent dispatch and compare-and-set replies under real concurrency."""

from __future__ import annotations

import asyncio
import uuid

from tests.support.server import ServerProcess, wait_for


def test_concurrent_duplicates_with_one_idempotency_key_create_one_task(
    server: ServerProcess,
) -> None:
    asyncio.run(_duplicates(server))


def test_of_ten_concurrent_replies_exactly_one_wins(server: ServerProcess) -> None:
    task_id = asyncio.run(_ten_replies(server))
    with server.client() as sync_client:
        done = wait_for(sync_client, task_id, {"completed"})
    assert done["deliverable"] == {"color": "blue"}


async def _duplicates(server: ServerProcess) -> None:
    key = str(uuid.uuid4())
    body = {"agent": "noop", "goal": f"idempotent {key}"}
    async with server.async_client() as client:
        answers = await asyncio.gather(
            *(
                client.post("/v1/tasks", json=body, headers={"Idempotency-Key": key})
                for _ in range(20)
            )
        )
        assert {a.status_code for a in answers} == {202}
        assert len({a.json()["id"] for a in answers}) == 1
        listed = (await client.get("/v1/tasks", params={"agent": "noop", "limit": 200})).json()
        assert sum(t["goal"] == body["goal"] for t in listed["tasks"]) == 1
        other = await client.post(
            "/v1/tasks", json={**body, "goal": "different"}, headers={"Idempotency-Key": key}
        )
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["code"] == "idempotency_conflict"


async def _ten_replies(server: ServerProcess) -> str:
    async with server.async_client() as client:
        task = (await client.post("/v1/tasks", json={"agent": "asker", "goal": "q"})).json()
        for _ in range(200):
            current = (await client.get(f"/v1/tasks/{task['id']}")).json()
            if current["status"] == "input-required":
                break
            await asyncio.sleep(0.02)
        question_id = current["question"]["id"]
        answers = await asyncio.gather(
            *(
                client.post(
                    f"/v1/tasks/{task['id']}/messages",
                    json={"data": "blue", "question_id": question_id},
                )
                for _ in range(10)
            )
        )
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [409] * 9
    assert all(a.json()["code"] == "question_answered" for a in answers if a.status_code == 409)
    return str(task["id"])
