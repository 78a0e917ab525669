"""Liveness, readiness and Prometheus metrics (no API key needed)."""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from sqlalchemy import Connection, func, select, text

from bureau.api.deps import NodeDep
from bureau.api.errors import problem
from bureau.api.responses import OrjsonResponse
from bureau.store.sql.schema import STATUSES, tasks, webhook_deliveries

router = APIRouter(tags=["health"])
STARTED = time.time()


@router.get("/healthz", response_class=OrjsonResponse)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_class=OrjsonResponse, response_model=None)
async def readyz(node: NodeDep) -> object:
    try:
        await node.store.read(lambda conn: conn.execute(text("SELECT 1")).scalar())
    except Exception as exc:
        return problem(503, "not_ready", "Not ready", f"database unreachable: {exc}")
    return {"status": "ready"}


def _gauges(conn: Connection) -> list[str]:
    lines = ["# TYPE bureau_tasks gauge"]
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in conn.execute(
        select(tasks.c.status, func.count()).group_by(tasks.c.status)
    ).tuples():
        counts[status] = count
    lines += [f'bureau_tasks{{status="{status}"}} {count}' for status, count in counts.items()]
    lines.append("# TYPE bureau_queue_depth gauge")
    depth = conn.execute(
        select(func.count()).where(
            tasks.c.queue_state == "ready", tasks.c.available_at <= time.time()
        )
    ).scalar()
    lines.append(f"bureau_queue_depth {depth}")
    lines.append("# TYPE bureau_tasks_leased gauge")
    leased = conn.execute(select(func.count()).where(tasks.c.queue_state == "leased")).scalar()
    lines.append(f"bureau_tasks_leased {leased}")
    lines.append("# TYPE bureau_webhooks_pending gauge")
    pending = conn.execute(
        select(func.count()).where(webhook_deliveries.c.status == "pending")
    ).scalar()
    lines.append(f"bureau_webhooks_pending {pending}")
    return lines


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(node: NodeDep) -> str:
    lines = await node.store.read(_gauges)
    running = len(node.worker.running) if node.worker else 0
    lines += [
        "# TYPE bureau_worker_running gauge",
        f"bureau_worker_running {running}",
        "# TYPE bureau_process_start_time_seconds gauge",
        f"bureau_process_start_time_seconds {STARTED:.3f}",
    ]
    return "\n".join(lines) + "\n"
