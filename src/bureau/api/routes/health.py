"""Liveness, readiness and Prometheus metrics (no API key needed)."""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from starlette.responses import Response
from typing_extensions import TypedDict

from bureau.api.deps import NodeDep
from bureau.api.errors import problem
from bureau.api.problems import problems
from bureau.api.responses import OrjsonResponse

router = APIRouter(tags=["health"])
STARTED = time.time()


class Health(TypedDict):
    status: str


@router.get("/healthz", response_model=Health)
async def healthz() -> OrjsonResponse:
    """The process answers."""
    return OrjsonResponse({"status": "ok"})


@router.get("/readyz", response_model=Health, responses=problems(503))
async def readyz(node: NodeDep) -> Response:
    """The database answers."""
    try:
        await node.service.ready()
    except Exception as exc:
        return problem(503, "not_ready", "Not ready", f"database unreachable: {exc}")
    return OrjsonResponse({"status": "ready"})


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(node: NodeDep) -> str:
    """Prometheus text: tasks by status, queue depth, leased tasks, pending webhooks, the
    worker's running tasks and runs started, and whether live notifications flow (0 while
    the notifier is cut off from Redis and readers fall back to polling)."""
    gauges = await node.service.gauges()
    lines = ["# TYPE bureau_tasks gauge"]
    lines += [f'bureau_tasks{{status="{s}"}} {n}' for s, n in gauges.tasks_by_status.items()]
    running = len(node.worker.running) if node.worker else 0
    started = node.worker.runs_started if node.worker else 0
    lines += [
        "# TYPE bureau_queue_depth gauge",
        f"bureau_queue_depth {gauges.queue_depth}",
        "# TYPE bureau_tasks_leased gauge",
        f"bureau_tasks_leased {gauges.leased}",
        "# TYPE bureau_webhooks_pending gauge",
        f"bureau_webhooks_pending {gauges.webhooks_pending}",
        "# TYPE bureau_worker_running gauge",
        f"bureau_worker_running {running}",
        "# TYPE bureau_worker_runs_total counter",
        f"bureau_worker_runs_total {started}",
        "# TYPE bureau_notifier_reliable gauge",
        f"bureau_notifier_reliable {int(node.notifier.reliable)}",
        "# TYPE bureau_process_start_time_seconds gauge",
        f"bureau_process_start_time_seconds {STARTED:.3f}",
    ]
    return "\n".join(lines) + "\n"
