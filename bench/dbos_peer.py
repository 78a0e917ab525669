"""The DBOS peer for row (b); runs inside `bench/.venv-dbos`, prints one JSON line.

The same work unit as Bureau's `noop` agent: a workflow of two no-op steps, enqueued on a
DBOS queue. The system database is either SQLite in WAL mode with synchronous=NORMAL (the
settings Bureau uses; the default, a file in --dir) or the PostgreSQL database named by
--database-url (used as is: the caller hands over a fresh, dedicated database; DBOS creates
it if it is missing and builds its `dbos` schema there). Throughput is N divided by the time
from the first enqueue to the moment the last workflow is seen in status SUCCESS (polled
every 100 ms, as the Bureau client polls its server).

Usage: python dbos_peer.py --dir DIR --count N [--concurrency C] [--polling S]
                           [--database-url postgresql://user@host:port/dbname]
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--polling", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--database-url", default=None, help="postgresql://... (else SQLite)")
    args = parser.parse_args()

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
        if args.database_url:
            succeeded, database = _postgres_counter(args.database_url)
        else:
            succeeded, database = _sqlite_counter(path)

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
                    "database": database,
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
