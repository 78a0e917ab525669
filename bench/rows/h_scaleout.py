"""Row (h): scale-out on PostgreSQL, one `bureau api` with 1 worker process against 2.

Row (b)'s method: N no-op tasks from 64 closed-loop senders, completion seen by polling the
`bureau_tasks{status="completed"}` gauge of `GET /metrics` every 100 ms; the worker
processes are separate from the API process in both configurations. Runs alternate
(1 worker, 2 workers, 1, 2, ...), each on a fresh database, so drifting machine noise hits
both alike; the ratio is median(2 workers) / median(1 worker). Each run reports the CPU of
every server process as a share of one core, and the machine's busy cores: on a 2-core
machine that also runs PostgreSQL, Redis and the load generator, a second worker process
can only help while the cores are not already saturated.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path
from typing import Any

from rows.b_throughput import _bureau_completed, _measure
from rows.common import Sizes
from server import Fleet, Target

CONFIGS = (1, 2)


async def run(sizes: Sizes, tmp: Path, target: Target) -> dict[str, Any]:
    assert target.backend == "postgres"
    runs: dict[int, list[dict[str, Any]]] = {workers: [] for workers in CONFIGS}
    for i in range(sizes.h_repeats):
        for workers in CONFIGS:
            workdir = tmp / f"{workers}w-{i}"
            workdir.mkdir()
            with Fleet(workdir, workers) as fleet:
                one = await _measure(fleet, sizes.h_tasks, sizes.b_concurrency, _bureau_completed)
                one["server_problems"] = fleet.problems()
            runs[workers].append(one)
    medians = {w: statistics.median(r["tasks_per_s"] for r in runs[w]) for w in CONFIGS}
    one_worker, two_workers = medians[1], medians[2]
    return {
        "tasks": sizes.h_tasks,
        "repeats": sizes.h_repeats,
        "concurrency": sizes.b_concurrency,
        "tasks_per_s_1_worker": one_worker,
        "tasks_per_s_2_workers": two_workers,
        "ratio_2_over_1": round(two_workers / one_worker, 2) if one_worker else None,
        "nproc": os.cpu_count(),
        "runs_1_worker": runs[1],
        "runs_2_workers": runs[2],
        "server_problems": [p for rs in runs.values() for r in rs for p in r["server_problems"]],
    }
