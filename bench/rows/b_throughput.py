"""Row (b): end-to-end throughput of the no-op durable task, with peers in the same run.

Bureau and the FastAPI ceiling: N tasks are dispatched over HTTP as fast as `concurrency`
closed-loop senders allow (each on its own keep-alive connection), and completion is
observed by polling, every 100 ms on one more connection, a count of finished tasks
(Bureau: the `bureau_tasks{status="completed"}` gauge of `GET /metrics`; the ceiling:
`GET /count`). Throughput is N over the time from the first dispatch to the poll that saw
all N finished. Bureau runs `b_repeats` times (3 in a full run, each on a fresh server);
the median run is reported, with all of them beside it.

DBOS runs the same two-step workflow through a queue in its own venv (`dbos_peer.py`),
enqueued from a separate producer process (8 threads): first a sweep of worker concurrency
x queue polling at `b_dbos_sweep` workflows, then Bureau's N with DBOS's defaults and with
the sweep's best; only finished runs count, and the ratio uses the better.

On PostgreSQL (`Target` with backend "postgres") the Bureau part runs on the target's
topology (each repeat on a fresh database), and `run_peers` runs the PostgreSQL peers once:
DBOS with a PostgreSQL system database (a fresh database per configuration) and Celery with
a Redis broker (N units; two no-op calls per unit, no durability; `celery_peer.py`).
`run.py` puts the ratios of every topology over the peers beside them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import peers
from client import Client
from rows.common import Sizes, status_counts, task_body, wait_count
from server import POSTGRES_ADMIN_URL, REDIS_URL, Fleet, ServerProcess, Target, ceiling
from stats import client_cpu

POLL_SECONDS = 0.1  # /metrics counts by status with a table scan: poll gently
WARMUP_TASKS = 200
DBOS_DEFAULT = (0, 1.0)
"""DBOS's own defaults: no per-worker concurrency cap (0), the queue polled every second."""
DBOS_SWEEP = tuple((c, p) for c in (0, 16, 64, 256) for p in (1.0, 0.1, 0.01))
"""Worker concurrency x polling seconds tried at `Sizes.b_dbos_sweep` workflows; the best
is then run at Bureau's N as "tuned"."""
REDIS_SERVER_URL = REDIS_URL.rsplit("/", 1)[0]  # Celery's peer picks its own database


async def _dispatch_all(
    client: Client, request: bytes, count: int, concurrency: int
) -> tuple[float, dict[str, int]]:
    """Send `count` requests from `concurrency` senders; returns (end time, errors)."""
    indexes = iter(range(count))
    errors: dict[str, int] = {}

    async def sender() -> None:
        for _ in indexes:
            try:
                response = await client.send(request)
            except Exception as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                continue
            if response.status != 202:
                errors[str(response.status)] = errors.get(str(response.status), 0) + 1

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return time.perf_counter(), errors


async def _measure(
    server: ServerProcess | Fleet,
    count: int,
    concurrency: int,
    finished: Callable[[Client], Awaitable[int]],
) -> dict[str, Any]:
    client = Client("127.0.0.1", server.port, server.key, size=concurrency)
    poller = Client("127.0.0.1", server.port, server.key, size=1)
    await client.warm(concurrency)
    request = client.request_bytes("POST", "/v1/tasks", task_body("noop"))
    await _dispatch_all(client, request, WARMUP_TASKS, concurrency)
    await wait_count(lambda: finished(poller), WARMUP_TASKS, limit_s=60)
    baseline = await finished(poller)

    async def done() -> int:
        return await finished(poller) - baseline

    with client_cpu(server.processes) as span:
        started = time.perf_counter()
        watch = asyncio.ensure_future(
            wait_count(done, count, limit_s=max(120.0, count / 50), interval=POLL_SECONDS)
        )
        dispatched, errors = await _dispatch_all(client, request, count, concurrency)
        seen, last, _ = await watch
    client.close()
    poller.close()
    elapsed = (seen or time.perf_counter()) - started
    return {
        "tasks": count,
        "completed": last,
        "finished": seen is not None,
        "seconds": round(elapsed, 3),
        "tasks_per_s": round(last / elapsed, 1),
        "dispatch_seconds": round(dispatched - started, 3),
        "dispatch_per_s": round(count / (dispatched - started), 1),
        "errors": errors,
        **span.as_dict(count),
    }


async def _bureau_completed(poller: Client) -> int:
    return (await status_counts(poller)).get("completed", 0)


async def _ceiling_completed(poller: Client) -> int:
    count: int = (await poller.json("GET", "/count"))["count"]
    return count


async def bureau_runs(
    sizes: Sizes, tmp: Path, target: Target, repeats: int, prefix: str = "bureau"
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`repeats` runs of N no-op tasks, each on a fresh server (and database); returns the
    median run and all of them."""
    runs = []
    for i in range(repeats):
        workdir = tmp / f"{prefix}-{i}"
        workdir.mkdir()
        with target.server(workdir) as server:
            one = await _measure(server, sizes.b_tasks, sizes.b_concurrency, _bureau_completed)
            one["server_problems"] = server.problems()
            one["server_diagnostics"] = server.diagnostics()
        runs.append(one)
    return sorted(runs, key=lambda r: r["tasks_per_s"])[len(runs) // 2], runs


async def run(sizes: Sizes, tmp: Path, target: Target) -> dict[str, Any]:
    result, repeats = await bureau_runs(sizes, tmp, target, sizes.b_repeats)
    out: dict[str, Any] = {
        "bureau": result,
        "bureau_repeats_tasks_per_s": [r["tasks_per_s"] for r in repeats],
        "bureau_repeats_steal_share": [r["machine_steal_share"] for r in repeats],
        "concurrency": sizes.b_concurrency,
    }
    if target.backend != "sqlite":
        return out  # the PostgreSQL peers run once, in `run_peers`

    (tmp / "ceiling").mkdir()
    try:
        with ceiling(tmp / "ceiling") as server:
            out["fastapi_background"] = await _measure(
                server, sizes.b_tasks, sizes.b_concurrency, _ceiling_completed
            )
    except Exception as exc:  # the ceiling is optional; report why it is missing
        out["fastapi_background"] = {"error": f"{type(exc).__name__}: {exc}"}

    out.update(await _dbos_runs(sizes, tmp, postgres=False))
    best = out["dbos_best_per_s"]
    if best:
        out["ratio_bureau_over_dbos"] = round(result["tasks_per_s"] / best, 2)
    ceiling_rate = out["fastapi_background"].get("tasks_per_s")
    if ceiling_rate:
        out["ratio_bureau_over_ceiling"] = round(result["tasks_per_s"] / ceiling_rate, 3)
    return out


def _dbos_label(concurrency: int, polling: float) -> str:
    return f"concurrency {concurrency or 'unlimited'}, polling {polling:g} s"


async def _dbos_once(
    tmp: Path, count: int, concurrency: int, polling: float, postgres: bool
) -> dict[str, Any]:
    """One DBOS run (on PostgreSQL `peers.run_dbos` gives it a fresh database and drops
    it); an error is reported in place of the figures."""
    workdir = tmp / f"dbos-{count}-{concurrency}-{polling:g}"
    extra = {"database_url": POSTGRES_ADMIN_URL} if postgres else {}
    label = {"config": _dbos_label(concurrency, polling)}
    try:
        peer = await asyncio.to_thread(
            peers.run_dbos, workdir, count, concurrency, polling, **extra
        )
    except Exception as exc:
        return {**label, "error": f"{type(exc).__name__}: {exc}"}
    return {**label, **peer}


async def _dbos_runs(sizes: Sizes, tmp: Path, *, postgres: bool) -> dict[str, Any]:
    """DBOS as it ships (`DBOS_DEFAULT`) and tuned: the best finished configuration other
    than the default in a sweep over `DBOS_SWEEP` at `sizes.b_dbos_sweep` workflows, both
    at Bureau's N (the better of the two counts)."""
    sweep = [await _dbos_once(tmp, sizes.b_dbos_sweep, c, p, postgres) for c, p in DBOS_SWEEP]
    tuned = [r for r in sweep if r.get("finished") and _config_of(r) != DBOS_DEFAULT]
    runs = [{**await _dbos_once(tmp, sizes.b_tasks, *DBOS_DEFAULT, postgres), "as": "default"}]
    if tuned:  # the best other configuration, also when the default led the (noisy) sweep
        best = _config_of(max(tuned, key=lambda r: r["workflows_per_s"]))
        runs.append({**await _dbos_once(tmp, sizes.b_tasks, *best, postgres), "as": "tuned"})
    return {
        "dbos": runs,
        "dbos_best_per_s": _best_dbos(runs),
        "dbos_sweep": [
            {
                k: r.get(k)
                for k in ("config", "workflows_per_s", "finished", "enqueue_seconds", "error")
            }
            for r in sweep
        ],
    }


def _config_of(run: dict[str, Any]) -> tuple[int, float]:
    queue = run["queue"]
    return queue["worker_concurrency"] or 0, queue["polling_interval_sec"]


def _best_dbos(runs: list[dict[str, Any]]) -> float | None:
    """The better of the full-size runs that finished."""
    return max((r["workflows_per_s"] for r in runs if r.get("finished")), default=None)


async def run_peers(sizes: Sizes, tmp: Path) -> dict[str, Any]:
    """The PostgreSQL-side peers of row (b): DBOS on PostgreSQL, Celery + Redis (N tasks,
    in a Redis database of its own that `peers.run_celery` flushes before and after)."""
    out: dict[str, Any] = await _dbos_runs(sizes, tmp, postgres=True)
    try:
        out["celery"] = await asyncio.to_thread(
            peers.run_celery, tmp / "celery", sizes.b_tasks, REDIS_SERVER_URL
        )
    except Exception as exc:
        out["celery"] = {"error": f"{type(exc).__name__}: {exc}"}
    return out
