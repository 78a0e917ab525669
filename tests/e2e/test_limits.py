"""Limits per tenant on a real server, both backends: running tasks (the excess waits, then
runs), waiting tasks (429), parked tasks (429), body, input and artifact sizes (413).
Each test makes its own tenant and sets its limits as the operator."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.fairness import check_fair_start
from tests.support.server import ServerProcess, wait_for


@pytest.fixture
def tenant(server: ServerProcess) -> Iterator[tuple[httpx.Client, httpx.Client, str]]:
    """(the operator, the new tenant's admin, the tenant's id)."""
    with server.client() as operator:
        made = operator.post("/v1/tenants", json={"name": "limited"}).json()
        headers = {"Authorization": f"Bearer {made['admin_key']['secret']}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as admin:
            yield operator, admin, made["id"]


def _limit(operator: httpx.Client, tenant_id: str, **limits: Any) -> None:
    answer = operator.put(f"/v1/tenants/{tenant_id}/limits", json=limits)
    assert answer.status_code == 200, answer.text
    assert answer.json()["limits"] == limits


def _seconds(stamp: str) -> float:
    return datetime.datetime.fromisoformat(stamp).timestamp()


def _dispatch(client: httpx.Client, agent: str, **input: Any) -> httpx.Response:
    return client.post("/v1/tasks", json={"agent": agent, "goal": "limits", "input": input})


def test_tasks_over_the_running_cap_wait_queued_then_run(
    tenant: tuple[httpx.Client, httpx.Client, str],
) -> None:
    operator, admin, tenant_id = tenant
    _limit(operator, tenant_id, running_tasks=2)
    ids = [_dispatch(admin, "sleeper", seconds=0.6).json()["id"] for _ in range(6)]
    assert all(i.startswith("task_") for i in ids), "not refused: queued"
    done = [wait_for(admin, i, {"completed"}, timeout=60) for i in ids]
    # How many ran at once, from when each started and finished (an end before a start at
    # the same instant: the slot passed from one to the next).
    edges = sorted(
        (_seconds(t[stamp]), change)
        for t in done
        for stamp, change in (("started_at", 1), ("finished_at", -1))
    )
    running = most = 0
    for _, change in edges:
        running += change
        most = max(most, running)
    assert most == 2, f"{most} ran at once under a cap of 2"
    other = _dispatch(operator, "noop").json()
    wait_for(operator, other["id"], {"completed"})


def test_a_dispatch_beyond_the_queue_cap_gets_429(
    tenant: tuple[httpx.Client, httpx.Client, str],
) -> None:
    operator, admin, tenant_id = tenant
    _limit(operator, tenant_id, running_tasks=1, queued_tasks=2)
    first = _dispatch(admin, "sleeper", seconds=2).json()
    wait_for(admin, first["id"], {"working"})
    waiting = [_dispatch(admin, "noop") for _ in range(2)]
    assert [w.status_code for w in waiting] == [202, 202]
    refused = _dispatch(admin, "noop")
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "queue_full"
    assert "2 tasks waiting to run" in refused.json()["detail"]
    assert int(refused.headers["retry-after"]) >= 1
    assert _dispatch(operator, "noop").status_code == 202, "another tenant is not refused"
    for w in waiting:
        wait_for(admin, w.json()["id"], {"completed"}, timeout=30)
    assert _dispatch(admin, "noop").status_code == 202, "room again once they ran"


def test_a_dispatch_beyond_the_parked_cap_gets_429(
    tenant: tuple[httpx.Client, httpx.Client, str],
) -> None:
    operator, admin, tenant_id = tenant
    _limit(operator, tenant_id, parked_tasks=1)
    asking = _dispatch(admin, "asker").json()
    question = wait_for(admin, asking["id"], {"input-required"})["question"]
    refused = _dispatch(admin, "noop")
    for _ in range(100):  # the run parks the task just after it asked
        if refused.status_code == 429:
            break
        time.sleep(0.05)
        refused = _dispatch(admin, "noop")
    assert refused.status_code == 429 and refused.json()["code"] == "queue_full"
    assert "waiting for answers" in refused.json()["detail"]
    reply = {"question_id": question["id"], "data": "red"}
    assert admin.post(f"/v1/tasks/{asking['id']}/messages", json=reply).status_code == 200
    wait_for(admin, asking["id"], {"completed"})
    assert _dispatch(admin, "noop").status_code == 202


def test_bodies_inputs_and_artifacts_over_the_tenants_sizes_get_413(
    tenant: tuple[httpx.Client, httpx.Client, str],
) -> None:
    operator, admin, tenant_id = tenant
    _limit(operator, tenant_id, body_bytes=4000, input_bytes=1000, artifact_bytes=100)

    too_big = _dispatch(admin, "noop", text="x" * 5000)
    assert too_big.status_code == 413, too_big.text
    assert too_big.json()["code"] == "payload_too_large"
    assert "this tenant's limit is 4000" in too_big.json()["detail"]

    big_input = _dispatch(admin, "noop", text="x" * 2000)
    assert big_input.status_code == 413, big_input.text
    assert big_input.json()["field"] == "input"
    assert "this tenant's limit is 1000" in big_input.json()["detail"]

    artifact = _dispatch(admin, "big-artifact", size=500).json()
    failed = wait_for(admin, artifact["id"], {"failed"})
    assert "this tenant's limit is 100" in failed["error"]["message"]
    small = _dispatch(admin, "big-artifact", size=50).json()
    wait_for(admin, small["id"], {"completed"})

    assert _dispatch(operator, "noop", text="x" * 5000).status_code == 202, "others unlimited"


def test_a_tenants_backlog_does_not_delay_another_tenants_task(tmp_path: Path) -> None:
    """Issue 9's fairness check on the embedded server (SQLite); the fleet test runs it on
    PostgreSQL."""
    server = ServerProcess(tmp_path / "server")
    server.start()
    try:
        with server.client() as operator:
            check_fair_start(operator, [server.url])
    finally:
        server.stop()
    server.assert_clean_log()
