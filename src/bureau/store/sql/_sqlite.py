"""SQLite backend: WAL mode, group commit on the event loop.

Writes are queued; once per event-loop iteration the queue is drained into one transaction
("commit as soon as the queue drains"), run right on the loop thread: SQLite commits in WAL
mode with `synchronous=NORMAL` take microseconds, and staying on one thread avoids paying
for a thread hop and GIL hand-offs per batch. If any operation of a batch fails, the batch is
rolled back and each operation re-run in a transaction of its own, so one failure never
undoes another. Reads use a second connection, which WAL lets proceed beside the writer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.pool import NullPool

from bureau.store.sql import audit
from bureau.store.sql._batching import Pending, resolve, settle_batch
from bureau.store.sql.queue import claim_statement

T = TypeVar("T")


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()


class SqliteDatabase:
    """A SQLite file opened for one process (other processes may share the file)."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
        event.listen(self.engine, "connect", _pragmas)
        self._writer = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._reader = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._pending: Pending = []
        self._scheduled = False

    def run_sync(self, op: Callable[[Connection], T]) -> T:
        """Run `op` in its own transaction now (startup and maintenance)."""
        result: T = self._transaction([op])[0]
        return result

    async def read(self, op: Callable[[Connection], T]) -> T:
        return op(self._reader)

    async def write(self, op: Callable[[Connection], T], *, interactive: bool = False) -> T:
        """Every write shares the next group commit (one writer: SQLite allows no more)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append((op, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        batch, self._pending = self._pending, []
        resolve(batch, settle_batch(batch, self._transaction))

    def _transaction(self, ops: Sequence[Callable[[Connection], Any]]) -> list[Any]:
        conn = self._writer
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            results = [op(conn) for op in ops]
            audit.flush(conn)
            conn.exec_driver_sql("COMMIT")
        except BaseException:
            audit.discard(conn)
            conn.exec_driver_sql("ROLLBACK")
            raise
        return results

    async def close(self) -> None:
        if self._pending:
            self._flush()
        self._writer.close()
        self._reader.close()
        self.engine.dispose()


CLAIM = claim_statement(skip_locked=False)
"""One writer commits at a time, so SQLite needs no row locks to claim."""
