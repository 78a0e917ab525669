"""Scale-out guarantees with real processes: two APIs, two workers, PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_streaming import _read_sse
from tests.fleet.conftest import Fleet
from tests.support.databases import POSTGRES_URL
from tests.support.server import wait_for

pytestmark = pytest.mark.skipif(POSTGRES_URL is None, reason="BUREAU_TEST_DATABASE_URL unset")


async def _dispatch(fleet: Fleet, count: int, agent: str = "noop") -> list[str]:
    """Dispatch round-robin through both APIs; returns the task ids."""
    clients = [api.async_client() for api in fleet.apis]
    gate = asyncio.Semaphore(32)

    batch = uuid.uuid4().hex

    async def one(index: int) -> str:
        # A connection dropped under load is retried with the same Idempotency-Key, as a
        # client should: the key makes the retry create nothing twice.
        headers = {"Idempotency-Key": f"{batch}-{index}"}
        body = {"agent": agent, "goal": f"fleet #{index}"}
        async with gate:
            for attempt in range(3):
                try:
                    response = await clients[(index + attempt) % 2].post(
                        "/v1/tasks", json=body, headers=headers
                    )
                    break
                except httpx.TransportError:
                    if attempt == 2:
                        raise
            assert response.status_code == 202, response.text
            return str(response.json()["id"])

    try:
        return list(await asyncio.gather(*(one(i) for i in range(count))))
    finally:
        for client in clients:
            await client.aclose()


def _wait_all_completed(fleet: Fleet, ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        done = fleet.sql(
            "select count(*) from tasks where id = any(%s) and status = 'completed'", ids
        )[0][0]
        if done == len(ids):
            return
        assert time.monotonic() < deadline, f"only {done} of {len(ids)} tasks completed"
        time.sleep(0.2)


def _assert_each_ran_exactly_once(fleet: Fleet, ids: list[str]) -> None:
    steps = fleet.sql(
        "select task_id, count(*) from journal where task_id = any(%s) and kind = 'step' "
        "group by task_id",
        ids,
    )
    assert len(steps) == len(ids) and {count for _, count in steps} == {2}
    events = fleet.sql(
        "select task_id, string_agg(type || ':' || data, ',' order by seq), count(*), max(seq) "
        "from events where task_id = any(%s) group by task_id",
        ids,
    )
    assert len(events) == len(ids)
    for task_id, log, count, last in events:
        assert count == last, f"task {task_id}: a gap in its event log"
        assert log.count("step.completed") == 2, f"task {task_id} journaled a step twice"
        assert log.count('"completed"') == 1, f"task {task_id} completed twice: {log}"


def test_a_thousand_tasks_through_two_apis_complete_exactly_once(healthy_fleet: Fleet) -> None:
    ids = asyncio.run(_dispatch(healthy_fleet, 1000))
    _wait_all_completed(healthy_fleet, ids, timeout=120)
    _assert_each_ran_exactly_once(healthy_fleet, ids)
    owners = healthy_fleet.sql(
        "select count(distinct e.data) from events e where e.task_id = any(%s) and "
        "e.type = 'status' and e.data like '%%working%%'",
        ids,
    )
    assert owners[0][0] >= 1


def test_kill_9_of_a_worker_resumes_elsewhere_without_rerunning_steps(
    healthy_fleet: Fleet, tmp_path: Path
) -> None:
    counter, release = tmp_path / "counter", tmp_path / "release"
    with healthy_fleet.client(0) as client:
        task = client.post(
            "/v1/tasks",
            json={
                "agent": "crashable",
                "goal": "survive a worker",
                "input": {"counter": str(counter), "release": str(release)},
            },
        ).json()
        deadline = time.monotonic() + 15
        while "second" not in (counter.read_text() if counter.exists() else ""):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        victim = healthy_fleet.worker_holding(task["id"])
        victim.kill()
        killed_at = time.monotonic()
        release.touch()
        done = wait_for(client, task["id"], {"completed"}, timeout=15)
    assert time.monotonic() - killed_at <= 2 + 5, "not resumed within 5 s of the lease expiry"
    runs = counter.read_text().splitlines()
    assert runs.count("first") == 1 and runs.count("second") == 2
    assert done["deliverable"]["first_runs"] == 1


def test_sse_on_one_api_resumes_on_the_other(healthy_fleet: Fleet) -> None:
    with healthy_fleet.client(0) as first, healthy_fleet.client(1) as second:
        task = first.post(
            "/v1/tasks",
            json={"agent": "ticker", "goal": "tick", "input": {"count": 30, "interval": 0.03}},
        ).json()
        url = f"/v1/tasks/{task['id']}/events"
        with first.stream("GET", url, headers={"Accept": "text/event-stream"}) as stream:
            head = _read_sse(stream, stop_after=8)
        headers = {"Accept": "text/event-stream", "Last-Event-ID": str(head[-1]["seq"])}
        with second.stream("GET", url, headers=headers) as stream:
            tail = _read_sse(stream)
    seqs = [e["seq"] for e in head + tail]
    assert seqs == list(range(1, len(seqs) + 1))
    assert tail[-1]["data"]["status"] == "completed"


def _running(worker_url: str) -> int:
    metrics = httpx.get(f"{worker_url}/metrics").text
    return int(
        next(
            line for line in metrics.splitlines() if line.startswith("bureau_worker_running")
        ).split()[-1]
    )


def test_cancel_through_the_other_api_stops_the_run_on_its_worker(healthy_fleet: Fleet) -> None:
    with healthy_fleet.client(0) as first, healthy_fleet.client(1) as second:
        task = first.post(
            "/v1/tasks", json={"agent": "sleeper", "goal": "sleep", "input": {"seconds": 60}}
        ).json()
        wait_for(first, task["id"], {"working"})
        holder = healthy_fleet.worker_holding(task["id"])
        assert _running(holder.url) == 1
        started = time.monotonic()
        second.post(f"/v1/tasks/{task['id']}/cancel")
        wait_for(second, task["id"], {"canceled"}, timeout=5)
        while _running(holder.url) != 0:
            assert time.monotonic() - started < 5, "the worker kept running the canceled task"
            time.sleep(0.05)


def test_redis_restart_mid_run_loses_nothing(healthy_fleet: Fleet) -> None:
    async def run() -> list[str]:
        first = await _dispatch(healthy_fleet, 100)
        healthy_fleet.redis.stop()
        second = await _dispatch(healthy_fleet, 50)
        healthy_fleet.redis.start()
        third = await _dispatch(healthy_fleet, 50)
        return first + second + third

    ids = asyncio.run(run())
    _wait_all_completed(healthy_fleet, ids, timeout=60)
    _assert_each_ran_exactly_once(healthy_fleet, ids)


def test_postgresql_restart_mid_run_is_survived(healthy_fleet: Fleet) -> None:
    clusters = subprocess.run(["ls", "/etc/postgresql"], capture_output=True, text=True)
    version = clusters.stdout.split()[0] if clusters.stdout.strip() else ""
    if not version:
        pytest.skip("no local PostgreSQL cluster to restart")
    first = asyncio.run(_dispatch(healthy_fleet, 100))
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        capture_output=True,
    )
    second = asyncio.run(_dispatch(healthy_fleet, 100))
    _wait_all_completed(healthy_fleet, first + second, timeout=60)
    _assert_each_ran_exactly_once(healthy_fleet, first + second)


def test_sigterm_to_a_busy_worker_hands_its_tasks_to_the_other(healthy_fleet: Fleet) -> None:
    with healthy_fleet.client(0) as client:
        ids = [
            client.post(
                "/v1/tasks",
                json={"agent": "sleeper", "goal": f"drain {i}", "input": {"seconds": 3}},
            ).json()["id"]
            for i in range(6)
        ]
        for task_id in ids:
            wait_for(client, task_id, {"working"})
        busy = healthy_fleet.worker_holding(ids[0])
        assert busy.process is not None
        started = time.monotonic()
        busy.process.send_signal(signal.SIGTERM)
        busy.process.wait(10)
        assert time.monotonic() - started < 1 + 4, "the worker overstayed its grace period"
        for task_id in ids:
            assert wait_for(client, task_id, {"completed"}, timeout=20)["status"] == "completed"
