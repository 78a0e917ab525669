"""Scale-out guarantees with real processes: two APIs, two workers, PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_streaming import _read_sse
from tests.fleet.conftest import Fleet
from tests.support.agents import beacon_pids
from tests.support.databases import POSTGRES_URL
from tests.support.fairness import check_fair_start
from tests.support.server import wait_for

pytestmark = pytest.mark.skipif(POSTGRES_URL is None, reason="BUREAU_TEST_DATABASE_URL unset")


async def _dispatch(
    fleet: Fleet, count: int, agent: str = "noop", input: dict[str, Any] | None = None
) -> list[str]:
    """Dispatch round-robin through both APIs; returns the task ids."""
    clients = [api.async_client() for api in fleet.apis]
    gate = asyncio.Semaphore(32)

    batch = uuid.uuid4().hex

    async def one(index: int) -> str:
        # A connection dropped under load is retried with the same Idempotency-Key, as a
        # client should: the key makes the retry create nothing twice.
        headers = {"Idempotency-Key": f"{batch}-{index}"}
        body = {"agent": agent, "goal": f"fleet #{index}", "input": input or {}}
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
    before = [_metric(w.url, "bureau_worker_runs_total") for w in healthy_fleet.workers]
    ids = asyncio.run(_dispatch(healthy_fleet, 1000))
    _wait_all_completed(healthy_fleet, ids, timeout=120)
    _assert_each_ran_exactly_once(healthy_fleet, ids)
    after = [_metric(w.url, "bureau_worker_runs_total") for w in healthy_fleet.workers]
    runs = [b - a for a, b in zip(before, after, strict=True)]
    assert sum(runs) == 1000, f"runs per worker: {runs}"
    assert all(runs), f"one worker took all the work: {runs}"


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


def _metric(url: str, name: str) -> int:
    """One unlabelled metric of a process's `/metrics`."""
    metrics = httpx.get(f"{url}/metrics").text
    return int(
        float(
            next(line for line in metrics.splitlines() if line.startswith(name + " ")).split()[-1]
        )
    )


def _running(worker_url: str) -> int:
    return _metric(worker_url, "bureau_worker_running")


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


def test_redis_restart_mid_run_loses_nothing_and_notifications_come_back(
    healthy_fleet: Fleet,
) -> None:
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

    processes = [*healthy_fleet.apis, *healthy_fleet.workers]
    deadline = time.monotonic() + 15
    while not all(_metric(p.url, "bureau_notifier_reliable") for p in processes):
        assert time.monotonic() < deadline, "a process never reconnected to Redis"
        time.sleep(0.1)
    # Reliable again, a long-poll on one API waits for a notification instead of re-reading
    # the log every second: an answer through the other API ends it at once.
    with healthy_fleet.client(0) as first, healthy_fleet.client(1) as second:
        task = first.post("/v1/tasks", json={"agent": "asker", "goal": "after redis"}).json()
        waiting = wait_for(first, task["id"], {"input-required"})
        last = second.get(f"/v1/tasks/{task['id']}/events").json()["events"][-1]["seq"]
        with ThreadPoolExecutor(1) as pool:
            poll = pool.submit(
                second.get, f"/v1/tasks/{task['id']}/events", params={"after": last, "wait": 20}
            )
            time.sleep(0.3)  # the long-poll is waiting
            answered_at = time.monotonic()
            first.post(
                f"/v1/tasks/{task['id']}/messages",
                json={"data": "red", "question_id": waiting["question"]["id"]},
            ).raise_for_status()
            events = poll.result(timeout=25).json()["events"]
            took = time.monotonic() - answered_at
    assert events and events[0]["type"] == "message"
    assert took < 0.9, f"the long-poll took {took:.2f} s: notifications did not come back"


def test_postgresql_restart_with_tasks_in_flight_is_survived(healthy_fleet: Fleet) -> None:
    clusters = subprocess.run(["ls", "/etc/postgresql"], capture_output=True, text=True)
    version = clusters.stdout.split()[0] if clusters.stdout.strip() else ""
    assert version, "no local PostgreSQL cluster to restart"
    ticking = [
        asyncio.run(_dispatch(healthy_fleet, 1, "ticker", {"count": 40, "interval": 0.1}))[0]
        for _ in range(10)
    ]
    first = asyncio.run(_dispatch(healthy_fleet, 100))
    with healthy_fleet.client(0) as client:
        for task_id in ticking:
            wait_for(client, task_id, {"working"})
    in_flight = healthy_fleet.sql(
        "select count(*) from tasks where id = any(%s) and status = 'working'", ticking
    )[0][0]
    assert in_flight >= 5, f"only {in_flight} tasks were running when PostgreSQL restarted"
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        capture_output=True,
    )
    second = asyncio.run(_dispatch(healthy_fleet, 100))
    _wait_all_completed(healthy_fleet, ticking + first + second, timeout=90)
    _assert_each_ran_exactly_once(healthy_fleet, first + second)
    logs = healthy_fleet.sql(
        "select task_id, count(*), max(seq), count(*) filter (where type = 'status' and "
        "data like '%%\"completed\"%%') from events where task_id = any(%s) group by task_id",
        ticking,
    )
    assert all(count == last and done == 1 for _, count, last, done in logs), logs


def test_sigterm_to_a_busy_worker_hands_its_tasks_to_the_other(
    healthy_fleet: Fleet, tmp_path: Path
) -> None:
    """Runs longer than the grace: the worker stops them when the grace ends, hands back
    their leases, and the other worker runs them."""
    release = tmp_path / "release"
    beacons = [tmp_path / f"beacon-{i}" for i in range(6)]
    with healthy_fleet.client(0) as client:
        ids = [
            client.post(
                "/v1/tasks",
                json={
                    "agent": "beacon",
                    "goal": f"drain {i}",
                    "input": {"beacon": str(beacon), "release": str(release)},
                },
            ).json()["id"]
            for i, beacon in enumerate(beacons)
        ]
        for task_id in ids:
            wait_for(client, task_id, {"working"})
        busy = healthy_fleet.worker_holding(ids[0])
        (other,) = [w for w in healthy_fleet.workers if w is not busy]
        moved = [b for b in beacons if busy.pid in beacon_pids(b)]
        assert busy.process is not None
        started = time.monotonic()
        busy.process.send_signal(signal.SIGTERM)
        busy.process.wait(10)
        assert time.monotonic() - started < 1 + 4, "the worker overstayed its grace period"
        deadline = time.monotonic() + 10
        while not all(other.pid in beacon_pids(b) for b in moved):
            assert time.monotonic() < deadline, "the other worker did not take the tasks over"
            time.sleep(0.05)
        release.touch()
        for task_id in ids:
            assert wait_for(client, task_id, {"completed"}, timeout=20)["status"] == "completed"


def test_a_tenants_backlog_does_not_delay_another_tenants_task(healthy_fleet: Fleet) -> None:
    """Issue 9's fairness check on the PostgreSQL fleet (two APIs, two workers)."""
    with healthy_fleet.client() as operator:
        backlogged = check_fair_start(operator, [api.url for api in healthy_fleet.apis])
    healthy_fleet.sql(  # the rest of the backlog is not the next tests' business
        "update tasks set queue_state = 'done', status = 'canceled' "
        "where tenant_id = %s and queue_state = 'ready' returning id",
        backlogged,
    )


def _bearer(url: str, secret: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {secret}"}, timeout=10)


def _until(check: Any, seconds: float) -> float:
    """Poll `check()` until true; returns how long it took (AssertionError past `seconds`)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, f"not within {seconds} s"
        time.sleep(0.02)
    return time.monotonic() - started


def test_a_key_revoked_on_one_api_fails_on_the_other_within_a_second(
    healthy_fleet: Fleet,
) -> None:
    one, two = (api.url for api in healthy_fleet.apis)
    with healthy_fleet.client(0) as operator:
        key = operator.post("/v1/keys", json={"name": "doomed", "role": "member"}).json()
        made = operator.post("/v1/tenants", json={"name": "to suspend"}).json()
        with _bearer(two, key["secret"]) as other, _bearer(two, made["admin_key"]["secret"]) as b:
            assert other.get("/v1/tasks").status_code == 200, "known (cached) on replica 2"
            assert b.get("/v1/tasks").status_code == 200
            assert operator.post(f"/v1/keys/{key['id']}/revoke").status_code == 200
            took = _until(lambda: other.get("/v1/tasks").status_code == 401, 1.0)
            assert operator.post(f"/v1/tenants/{made['id']}/suspend").status_code == 200
            _until(lambda: b.get("/v1/tasks").status_code == 403, 1.0)
    assert took < 1.0
    with _bearer(one, key["secret"]) as same:
        assert same.get("/v1/tasks").status_code == 401


def test_request_rates_are_counted_across_apis_and_per_process_without_redis(
    healthy_fleet: Fleet,
) -> None:
    with healthy_fleet.client(0) as operator:
        made = operator.post("/v1/tenants", json={"name": "rated"}).json()
        secret = made["admin_key"]["secret"]
        limited = operator.put(f"/v1/tenants/{made['id']}/limits", json={"requests_per_second": 4})
        assert limited.status_code == 200
    clients = [_bearer(api.url, secret) for api in healthy_fleet.apis]
    try:
        # replica 2 reads the new limit within LimitBook's reload interval (5 s)
        _until(lambda: clients[1].get("/v1/tasks").status_code == 429, 8.0)
        time.sleep(1.1)
        answers = [clients[i % 2].get("/v1/tasks").status_code for i in range(10)]
        assert answers.count(200) <= 4, f"two replicas allowed more than 4/s: {answers}"
        assert set(answers) <= {200, 429}

        healthy_fleet.redis.stop()
        time.sleep(1.1)
        alone = [clients[0].get("/v1/tasks").status_code for _ in range(8)]
        assert set(alone) <= {200, 429} and 429 in alone and 200 in alone, alone
    finally:
        healthy_fleet.redis.start()
        for client in clients:
            client.close()
