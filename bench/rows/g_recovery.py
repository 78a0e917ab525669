"""Row (g): recovery after `kill -9` of a worker mid-task (PostgreSQL: api + 2 workers).

K `recover` tasks run on a fleet of one API and two worker processes with a short lease
(`g_lease_seconds`). Each task's first step logs that it ran; its second step logs each
(re)start with the worker's pid and holds until the benchmark creates a release file.
Worker-1 (concurrency K/2) takes the first K/2 tasks; then worker-2 (concurrency K) starts
and takes the rest, keeping room for K/2 more. When every task is holding, worker-1 gets
SIGKILL. The leases it held stop being renewed; they run
out at the `lease_expires_at` read from the database right after the kill (at most one
lease from the kill). Per task of the killed worker:

- resumed: the time the second step restarted on the other worker (its log line), from
  the kill and from the task's lease expiry;
- detected: the `retry` event (`worker_lost`) the reaper wrote, from the lease expiry;
- re-runs of completed steps: first-step log lines beyond one per task, and `step.completed`
  events of the first step beyond one per task (both must be 0).

Then the release file lets every task finish; all K must complete.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from client import Client
from rows.common import Sizes, dispatch, poll_status, until
from server import Fleet, Target
from stats import parse_iso, summary

WORKERS = 2
HOLD_LIMIT_S = 120.0  # a held step gives up after this long even without the release file


def _read_log(path: Path) -> list[tuple[str, str, int, int, float]]:
    """(task, step, pid, attempt, time) per line the agents wrote."""
    if not path.exists():
        return []
    lines = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 5:
            task, step, pid, attempt, at = parts
            lines.append((task, step, int(pid), int(attempt), float(at)))
    return lines


def _holding(path: Path) -> set[str]:
    return {task for task, step, *_ in _read_log(path) if step == "hold"}


async def _final_status(client: Client, task_id: str) -> str:
    try:
        return str((await poll_status(client, task_id, limit_s=60.0))["status"])
    except TimeoutError:
        return "not finished in 60 s"


async def _all_holding(log: Path, count: int, limit_s: float = 60.0) -> None:
    if not await until(lambda: len(_holding(log)) >= count, limit_s=limit_s):
        raise RuntimeError(f"only {len(_holding(log))} of {count} tasks reached step two")


async def run(sizes: Sizes, tmp: Path, target: Target) -> dict[str, Any]:
    assert target.backend == "postgres" and target.workers == WORKERS
    count, lease = sizes.g_tasks, sizes.g_lease_seconds
    log, release = tmp / "steps.log", tmp / "release"
    half = count // 2
    # worker-1 (the victim) can hold only the first half; worker-2 starts once it holds
    # them, takes the second half, and has room left for the victim's tasks
    fleet = Fleet(tmp, WORKERS, lease_seconds=lease, concurrency=[half, count], start_workers=1)
    with fleet:
        client = Client("127.0.0.1", fleet.port, fleet.key, size=16)
        body = {"log": str(log), "release": str(release), "limit": HOLD_LIMIT_S}
        ids = []
        for batch, worker in ((half, None), (count - half, fleet.workers[1])):
            if worker is not None:
                fleet.start_process(worker)
            ids += [(await dispatch(client, "recover", body))["id"] for _ in range(batch)]
            await _all_holding(log, len(ids))

        owners = dict(fleet.sql("select id, lease_owner from tasks where id = any(%s)", ids))
        by_pid: dict[int, list[str]] = {}
        for task_id, owner in owners.items():
            by_pid.setdefault(int(owner.split(":")[-2]), []).append(task_id)
        held = {w.name: len(by_pid.get(w.pid, [])) for w in fleet.workers}
        victim = fleet.workers[0]
        victim_pid = victim.pid
        lost = by_pid.get(victim_pid, [])
        if not lost or len(lost) == count:
            raise RuntimeError(f"tasks not spread over both workers: {held}")

        killed_at = time.time()
        victim.kill()
        leases = fleet.sql("select id, lease_expires_at from tasks where id = any(%s)", lost)
        expiry = {task_id: at for task_id, at in leases if at is not None}
        if len(expiry) != len(lost):
            raise RuntimeError(f"{len(lost) - len(expiry)} tasks of the killed worker unleased")

        def resumed() -> dict[str, float]:
            return {
                task: at
                for task, step, pid, _, at in _read_log(log)
                if step == "hold" and pid != victim_pid and task in expiry
            }

        limit = lease + 30.0
        all_resumed = await until(lambda: len(resumed()) >= len(lost), limit_s=limit)
        resumed_at = resumed()
        release.touch()
        finals = await asyncio.gather(*(_final_status(client, i) for i in ids))

        detected: dict[str, float] = {}
        first_step_completions = 0
        for task_id in ids:
            page = await client.json("GET", f"/v1/tasks/{task_id}/events?after=0")
            for event in page["events"]:
                if event["type"] == "retry" and task_id in expiry:
                    detected.setdefault(task_id, parse_iso(event["at"]))
                if event["type"] == "step.completed" and event["data"]["name"] == "record":
                    first_step_completions += 1
        client.close()
        problems = fleet.problems()

    lines = _read_log(log)
    record_runs = sum(1 for _, step, *_ in lines if step == "record")
    after_kill = [resumed_at[t] - killed_at for t in resumed_at]
    after_expiry = [resumed_at[t] - expiry[t] for t in resumed_at]
    expiry_after_kill = [expiry[t] - killed_at for t in lost]
    return {
        "tasks": count,
        "lease_seconds": lease,
        "reaper_interval_s": 1.0,  # the default of `Settings.reaper_interval`
        "tasks_per_worker": held,
        "killed": victim.name,
        "tasks_on_killed_worker": len(lost),
        "resumed": len(resumed_at),
        "all_resumed": all_resumed,
        "completed": finals.count("completed"),
        "final_statuses": sorted(set(finals)),
        "resume_after_kill_s": summary(after_kill),
        "resume_after_lease_expiry_s": summary(after_expiry),
        "lease_expiry_after_kill_s": summary(expiry_after_kill),
        "detected_after_lease_expiry_s": summary(
            [detected[t] - expiry[t] for t in detected if t in expiry]
        ),
        "completed_steps_rerun": record_runs - count,
        "first_step_completed_events_extra": first_step_completions - count,
        "server_problems": problems,
    }
