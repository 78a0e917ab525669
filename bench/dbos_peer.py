"""The DBOS peer for row (b); runs inside `bench/.venv-dbos`, prints one JSON line.

The same work unit as Bureau's `noop` agent: a workflow of two no-op steps, enqueued on a
DBOS queue by `--producers` other processes (`DBOSClient`, `--threads` threads each), as
Bureau's tasks come from a separate client process. The system database is either SQLite
in WAL mode with synchronous=NORMAL (the settings Bureau uses; the default, a file in
--dir) or the PostgreSQL database named by --database-url (used as is: the caller hands
over a fresh, dedicated database; DBOS creates it if it is missing and builds its `dbos`
schema there). Throughput is N divided by the time from the release of the producers to
the moment the last workflow is seen in status SUCCESS (polled every 100 ms, as the Bureau
client polls its server).

Usage: python dbos_peer.py --dir DIR --count N [--concurrency C] [--polling S]
                           [--producers P] [--threads T]
                           [--database-url postgresql://user@host:port/dbname]
--concurrency 0 (the default) and --polling 1.0 are DBOS's own defaults: no per-worker cap,
the queue polled every second.
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from producers import Producers, serve_once, shares


@event.listens_for(Engine, "connect")
def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def _sqlite_counter(path: Path) -> tuple[Callable[[], int], str]:
    reader = sqlite3.connect(path)

    def succeeded() -> int:
        row = reader.execute(
            "SELECT count(*) FROM workflow_status WHERE status = 'SUCCESS'"
        ).fetchone()
        return int(row[0])

    return succeeded, f"sqlite {sqlite3.sqlite_version}"


def _postgres_counter(url: str) -> tuple[Callable[[], int], str]:
    import psycopg  # installed with dbos (its PostgreSQL driver)

    # psycopg takes libpq URLs; drop a SQLAlchemy driver suffix such as "+psycopg".
    scheme, rest = url.split("://", 1)
    reader = psycopg.connect(f"{scheme.split('+')[0]}://{rest}", autocommit=True)
    version_row = reader.execute("SHOW server_version").fetchone()
    version = str(version_row[0]).split()[0] if version_row else "?"

    def succeeded() -> int:
        row = reader.execute(
            "SELECT count(*) FROM dbos.workflow_status WHERE status = 'SUCCESS'"
        ).fetchone()
        return int(row[0]) if row else 0

    return succeeded, f"postgresql {version}"


WORKFLOW, QUEUE = "bench_noop", "bench"


def produce(url: str, count: int, threads: int) -> None:
    """A producer process: enqueue `count` workflows through `DBOSClient` (DBOS's way to
    enqueue from another process) from `threads` threads."""
    from dbos import DBOSClient, EnqueueOptions

    client = DBOSClient(system_database_url=url)
    options: EnqueueOptions = {"workflow_name": WORKFLOW, "queue_name": QUEUE}
    last: list[str] = []

    def part(n: int) -> None:
        for _ in range(n):
            handle = client.enqueue(options)
        if n:
            last.append(handle.get_workflow_id())

    def work() -> dict[str, Any]:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(part, shares(count, threads)))
        return {"last_workflow_id": last[-1] if last else None}

    try:
        serve_once(work)
    finally:
        client.destroy()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=0, help="0: DBOS's default (no cap)")
    parser.add_argument("--polling", type=float, default=1.0, help="1.0 is DBOS's default")
    parser.add_argument("--producers", type=int, default=1, help="enqueuing processes")
    parser.add_argument("--threads", type=int, default=8, help="enqueuing threads per producer")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--database-url", default=None, help="postgresql://... (else SQLite)")
    parser.add_argument("--produce-into", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.produce_into:
        produce(args.produce_into, args.count, args.threads)
        return 0

    from dbos import DBOS

    args.dir.mkdir(parents=True, exist_ok=True)
    if args.database_url:
        system_database_url = args.database_url
    else:
        path = args.dir / "dbos.sqlite"
        with sqlite3.connect(path) as conn:  # WAL is a property of the file: set it first
            conn.execute("PRAGMA journal_mode=WAL")
        system_database_url = f"sqlite:///{path}"
    logging.disable(logging.WARNING)
    DBOS(config={"name": "bench", "system_database_url": system_database_url, "log_level": "ERROR"})

    @DBOS.step()  # type: ignore[untyped-decorator]  # (mypy sees no dbos here)
    def one() -> int:
        return 1

    @DBOS.step()  # type: ignore[untyped-decorator]
    def two() -> int:
        return 1

    @DBOS.workflow(name=WORKFLOW)  # type: ignore[untyped-decorator]
    def noop() -> dict[str, int]:
        return {"sum": one() + two()}

    DBOS.launch()
    try:
        queue = DBOS.register_queue(  # a database-backed queue: registered once launched
            QUEUE,
            worker_concurrency=args.concurrency or None,
            polling_interval_sec=args.polling,
        )
        warm = [queue.enqueue(noop) for _ in range(10)]
        for handle in warm:
            handle.get_result()
        if args.database_url:
            succeeded, database = _postgres_counter(args.database_url)
        else:
            succeeded, database = _sqlite_counter(path)

        baseline = succeeded()
        script, url = str(Path(__file__).resolve()), system_database_url
        producers = Producers(
            [
                [script, "--count", str(n), "--threads", str(args.threads), "--produce-into", url]
                for n in shares(args.count, args.producers)
            ]
        )
        cpu = time.process_time()
        started = producers.go()
        finished = None
        deadline = started + args.timeout
        done = 0
        try:
            while time.perf_counter() < deadline:
                done = succeeded() - baseline
                if done >= args.count:
                    finished = time.perf_counter()
                    break
                time.sleep(0.1)
            produced = producers.results(timeout=60)
        finally:
            producers.kill()
        cpu = time.process_time() - cpu
        last = produced[-1]["last_workflow_id"]
        sample = DBOS.retrieve_workflow(last).get_result() if finished and last else None
        elapsed = (finished or time.perf_counter()) - started
        print(
            json.dumps(
                {
                    "dbos_version": metadata.version("dbos"),
                    "database": database,
                    "sqlite": sqlite3.sqlite_version,
                    "python": sys.version.split()[0],
                    "workflows": args.count,
                    "completed": done,
                    "finished": finished is not None,
                    "seconds": round(elapsed, 3),
                    "enqueue_seconds": round(max(p["seconds"] for p in produced), 3),
                    "workflows_per_s": round(done / elapsed, 1),
                    "process_cpu_s": round(cpu, 3),
                    "producers_cpu_s": round(sum(p["cpu_s"] for p in produced), 3),
                    "queue": {
                        "worker_concurrency": args.concurrency or None,
                        "polling_interval_sec": args.polling,
                    },
                    "enqueue": {"producers": args.producers, "threads_each": args.threads},
                    "last_result": sample,
                }
            )
        )
    finally:
        DBOS.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
