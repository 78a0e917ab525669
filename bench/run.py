"""Run Bureau's benchmarks (BENCHMARKS.md rows a-h, SQLite and PostgreSQL) and write the results.

    python3 bench/run.py                      # the full run, both backends (about 20 minutes)
    python3 bench/run.py --quick              # a smoke test (about 5 minutes)
    python3 bench/run.py --backend postgres --only a,g

Embedded SQLite runs rows a-f; PostgreSQL + Redis runs rows a-d in two topologies (one
`bureau serve` process; one `bureau api` and two `bureau worker` processes), row b's
PostgreSQL peers (DBOS, Celery + Redis), g (kill -9 recovery) and h (scale-out).
Writes bench/results/<timestamp>.json and bench/results/<timestamp>.md. Each row starts
its own servers on 127.0.0.1 in a fresh temporary data directory (and, on PostgreSQL, a
fresh database) and stops them (and drops it) at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import resource
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = ROOT / ".venv"

ROWS = {
    "a": "rows.a_dispatch",
    "b": "rows.b_throughput",
    "c": "rows.c_pickup",
    "d": "rows.d_steps",
    "e": "rows.e_parked",
    "f": "rows.f_fanout",
    "g": "rows.g_recovery",
    "h": "rows.h_scaleout",
}
BACKEND_ROWS = {"sqlite": "abcdef", "postgres": "abcdgh"}
ROW_TIMEOUT = {"quick": 240.0, "full": 600.0}


@dataclass
class Job:
    """One row on one backend and topology; `key` names its entry in the results."""

    key: str
    row: str
    backend: str
    topology: str
    title: str
    call: Callable[[Any, Path], Awaitable[dict[str, Any]]]


def _plan(selected: list[str], backends: list[str]) -> list[Job]:
    from server import Target

    jobs = []
    for backend in backends:
        for row in selected:
            if row not in BACKEND_ROWS[backend]:
                continue
            module = importlib.import_module(ROWS[row])
            title = module.__doc__.splitlines()[0] if module.__doc__ else ""
            if backend == "sqlite":
                targets = [Target("sqlite")]
            elif row in "abcd":
                targets = [Target("postgres", 0), Target("postgres", 2)]
            elif row == "g":
                targets = [Target("postgres", 2)]
            else:  # h starts its own fleets: api + 1 worker, api + 2 workers
                targets = [Target("postgres", 1)]
            for target in targets:
                key = f"{row}/{target.key if row != 'h' else 'pg'}"
                topology = target.label if row != "h" else "api + 1 worker vs api + 2 workers"

                def call(sizes: Any, tmp: Path, run: Any = module.run, t: Any = target) -> Any:
                    return run(sizes, tmp, t)

                jobs.append(Job(key, row, backend, topology, title, call))
            if backend == "postgres" and row == "b":
                jobs.append(
                    Job(
                        "b/pg-peers",
                        "b",
                        backend,
                        "peers: DBOS on PostgreSQL, Celery + Redis",
                        "Row (b) peers on the PostgreSQL side",
                        module.run_peers,
                    )
                )
    return jobs


def _reexec_in_venv() -> None:
    """Run in the project's venv (Bureau, uvloop and orjson live there)."""
    if Path(sys.prefix).resolve() == VENV.resolve() or os.environ.get("BENCH_NO_REEXEC"):
        return
    python = VENV / "bin" / "python"
    if python.exists():
        os.execv(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])


def _raise_open_files() -> int:
    """Thousands of SSE connections need file descriptors; servers inherit the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _run_loop(main: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


async def _run_rows(
    jobs: list[Job], quick: bool, results: dict[str, Any], unavailable: str | None
) -> None:
    from rows.common import Sizes
    from server import SLOW_STOPS, TempDir

    sizes = Sizes.for_mode(quick)
    results["sizes"] = sizes.__dict__
    timeout = ROW_TIMEOUT["quick" if quick else "full"]
    for job in jobs:
        print(f"{job.key} ({job.topology}): {job.title}", flush=True)
        started = time.perf_counter()
        SLOW_STOPS.clear()
        try:
            if job.backend == "postgres" and unavailable:
                raise RuntimeError(unavailable)
            with TempDir(job.key.replace("/", "-")) as tmp:
                outcome = await asyncio.wait_for(job.call(sizes, tmp), timeout)
        except Exception as exc:
            outcome = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
            print(f"  {job.key} failed: {outcome['error']}", flush=True)
        outcome = {"row": job.row, "backend": job.backend, "topology": job.topology, **outcome}
        if SLOW_STOPS:
            outcome["slow_stops"] = list(SLOW_STOPS)
            print(f"  SIGKILLed at the end: {'; '.join(SLOW_STOPS)}", flush=True)
        outcome["row_seconds"] = round(time.perf_counter() - started, 1)
        results["rows"][job.key] = outcome
        print(f"  done in {outcome['row_seconds']} s", flush=True)


def _peer_ratios(rows: dict[str, Any]) -> None:
    """Bureau on each PostgreSQL topology over the PostgreSQL peers of the same run."""
    peers = rows.get("b/pg-peers")
    if not peers or "error" in peers:
        return
    dbos = peers.get("dbos_best_per_s")
    celery = peers.get("celery", {}).get("tasks_per_s")
    ratios = {}
    for key, result in rows.items():
        rate = result.get("bureau", {}).get("tasks_per_s") if key.startswith("b/pg-") else None
        if rate:
            ratios[key.removeprefix("b/")] = {
                "tasks_per_s": rate,
                "over_dbos": round(rate / dbos, 2) if dbos else None,
                "over_celery": round(rate / celery, 2) if celery else None,
            }
    peers["ratios"] = ratios


def main() -> int:
    _reexec_in_venv()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke test")
    parser.add_argument("--only", default="", help="comma-separated rows, e.g. a,c")
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgres", "both"],
        default="both",
        help="embedded SQLite (rows a-f), PostgreSQL + Redis (rows a-d, g, h), or both",
    )
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="start Bureau through diagnose_serve.py: log its GC pauses and event-loop lag",
    )
    args = parser.parse_args()
    selected = [r.strip() for r in args.only.split(",") if r.strip()] or list(ROWS)
    unknown = [r for r in selected if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {', '.join(ROWS)}")
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    jobs = _plan(selected, backends)
    if not jobs:
        parser.error(
            f"nothing to run: rows {','.join(selected)} on {args.backend} "
            f"(SQLite has rows {BACKEND_ROWS['sqlite']}, PostgreSQL {BACKEND_ROWS['postgres']})"
        )

    if args.diagnose:
        os.environ["BENCH_DIAGNOSE"] = "1"

    from machine import describe, jitter_probe
    from report import markdown
    from server import POSTGRES_ADMIN_URL, REDIS_URL, service_versions

    services: dict[str, str] = {}
    unavailable = None
    if any(job.backend == "postgres" for job in jobs):
        services = service_versions()
        if any(v.startswith("unreachable") for v in services.values()):
            unavailable = (
                f"PostgreSQL ({POSTGRES_ADMIN_URL}) or Redis ({REDIS_URL}) unreachable: "
                f"{services}; set BENCH_POSTGRES_URL / BENCH_REDIS_URL"
            )
            print(f"warning: {unavailable}", flush=True)

    results: dict[str, Any] = {
        "started_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "mode": ("quick" if args.quick else "full") + (" + diagnose" if args.diagnose else ""),
        "backends": backends,
        "machine": {
            **describe(),
            **services,
            "open_files_limit": _raise_open_files(),
            "jitter": jitter_probe(2.0),
        },
        "client": "raw asyncio HTTP/1.1 client (bench/client.py), uvloop when available",
        "rows": {},
    }
    started = time.perf_counter()
    _run_loop(_run_rows(jobs, args.quick, results, unavailable))
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    _peer_ratios(results["rows"])
    for key in ("b/sqlite", "b/pg-peers"):
        for peer in results["rows"].get(key, {}).get("dbos", []):
            if peer.get("dbos_version"):
                results["machine"].setdefault("dbos", peer["dbos_version"])
    celery = results["rows"].get("b/pg-peers", {}).get("celery", {})
    if celery.get("celery_version"):
        results["machine"]["celery"] = celery["celery_version"]

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    json_path = args.out / f"{stamp}.json"
    md_path = args.out / f"{stamp}.md"
    json_path.write_text(json.dumps(results, indent=2, default=str))
    md_path.write_text(markdown(results))
    print(md_path.read_text())
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
