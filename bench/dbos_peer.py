"""The DBOS peer for row (b); runs inside `bench/.venv-dbos`, prints one JSON line.

The same work unit as Bureau's `noop` agent: a workflow of two no-op steps, enqueued on a
DBOS queue, with the system database on SQLite in WAL mode with synchronous=NORMAL (the
settings Bureau uses). Throughput is N divided by the time from the first enqueue to the
moment the last workflow is seen in status SUCCESS (polled every 100 ms, as the Bureau
client polls its server).

Usage: python dbos_peer.py --dir DIR --count N [--concurrency C] [--polling S]
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--polling", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()

    from dbos import DBOS

    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / "dbos.sqlite"
    with sqlite3.connect(path) as conn:  # WAL is a property of the file: set it first
        conn.execute("PRAGMA journal_mode=WAL")
    logging.disable(logging.WARNING)
    DBOS(config={"name": "bench", "system_database_url": f"sqlite:///{path}", "log_level": "ERROR"})

    @DBOS.step()  # type: ignore[untyped-decorator]  # (mypy sees no dbos here)
    def one() -> int:
        return 1

    @DBOS.step()  # type: ignore[untyped-decorator]
    def two() -> int:
        return 1

    @DBOS.workflow()  # type: ignore[untyped-decorator]
    def noop() -> dict[str, int]:
        return {"sum": one() + two()}

    DBOS.launch()
    try:
        queue = DBOS.register_queue(  # a database-backed queue: registered once launched
            "bench", worker_concurrency=args.concurrency, polling_interval_sec=args.polling
        )
        warm = [queue.enqueue(noop) for _ in range(10)]
        for handle in warm:
            handle.get_result()
        reader = sqlite3.connect(path)

        def succeeded() -> int:
            row = reader.execute(
                "SELECT count(*) FROM workflow_status WHERE status = 'SUCCESS'"
            ).fetchone()
            return int(row[0])

        baseline = succeeded()
        started = time.perf_counter()
        cpu = time.process_time()
        handles = [queue.enqueue(noop) for _ in range(args.count)]
        enqueued = time.perf_counter()
        finished = None
        deadline = started + args.timeout
        done = 0
        while time.perf_counter() < deadline:
            done = succeeded() - baseline
            if done >= args.count:
                finished = time.perf_counter()
                break
            time.sleep(0.1)
        cpu = time.process_time() - cpu
        sample = handles[-1].get_result() if finished else None
        elapsed = (finished or time.perf_counter()) - started
        print(
            json.dumps(
                {
                    "dbos_version": metadata.version("dbos"),
                    "sqlite": sqlite3.sqlite_version,
                    "python": sys.version.split()[0],
                    "workflows": args.count,
                    "completed": done,
                    "finished": finished is not None,
                    "seconds": round(elapsed, 3),
                    "enqueue_seconds": round(enqueued - started, 3),
                    "workflows_per_s": round(done / elapsed, 1),
                    "process_cpu_s": round(cpu, 3),
                    "queue": {
                        "worker_concurrency": args.concurrency,
                        "polling_interval_sec": args.polling,
                    },
                    "last_result": sample,
                }
            )
        )
    finally:
        DBOS.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
