"""SQLite backend: WAL mode, one writer thread that groups commits.

Writes are queued; a single writer drains the queue into one transaction per round
("commit as soon as the queue drains"), each operation inside its own SAVEPOINT so one
failure rolls back only itself. Reads run on the calling thread against a separate
connection, which WAL lets proceed while the writer holds its transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Row, create_engine, event, select, update
from sqlalchemy.pool import NullPool

from bureau.store.codec import now
from bureau.store.sql.common import Changes
from bureau.store.sql.queue import claimable, mark_claimed
from bureau.store.sql.schema import tasks

T = TypeVar("T")
_Batch = list[tuple[Callable[[Connection], Any], "asyncio.Future[Any]"]]


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
        self.engine = create_engine(
            f"sqlite:///{path}",
            poolclass=NullPool,
            connect_args={"check_same_thread": False},
        )
        event.listen(self.engine, "connect", _pragmas)
        self._writer = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._reader = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bureau-sqlite")
        self._pending: _Batch = []
        self._flusher: asyncio.Task[None] | None = None

    def run_sync(self, op: Callable[[Connection], T]) -> T:
        """Run `op` in its own transaction on the writer connection (startup only)."""
        outcome: T = self._run_batch([(op, None)])[0][1]  # type: ignore[list-item]
        return outcome

    async def read(self, op: Callable[[Connection], T]) -> T:
        return op(self._reader)

    async def write(self, op: Callable[[Connection], T]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((op, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                outcomes = await loop.run_in_executor(self._executor, self._run_batch, batch)
            except BaseException as exc:  # the commit itself failed: every op failed
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc if isinstance(exc, Exception) else RuntimeError())
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _run_batch(self, batch: _Batch) -> list[tuple[bool, Any]]:
        conn = self._writer
        outcomes: list[tuple[bool, Any]] = []
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            for op, _ in batch:
                if len(batch) == 1:
                    outcomes.append((True, op(conn)))
                    continue
                conn.exec_driver_sql("SAVEPOINT op")
                try:
                    outcomes.append((True, op(conn)))
                except Exception as exc:
                    conn.exec_driver_sql("ROLLBACK TO op")
                    outcomes.append((False, exc))
                conn.exec_driver_sql("RELEASE op")
            conn.exec_driver_sql("COMMIT")
        except BaseException:
            conn.exec_driver_sql("ROLLBACK")
            raise
        return outcomes

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
        self._executor.shutdown(wait=True)
        self._writer.close()
        self._reader.close()
        self.engine.dispose()


def claim_tasks(
    conn: Connection,
    changes: Changes,
    owner: str,
    agent_refs: Sequence[tuple[str, str]],
    limit: int,
    lease_seconds: float,
) -> list[Row[Any]]:
    """Lease up to `limit` ready tasks, oldest first (one writer, so no row locks needed)."""
    at = now()
    candidates = (
        select(tasks.c.id)
        .where(claimable(agent_refs, at))
        .order_by(tasks.c.available_at)
        .limit(limit)
        .scalar_subquery()
    )
    rows = conn.execute(
        update(tasks)
        .where(tasks.c.id.in_(candidates))
        .values(
            queue_state="leased",
            lease_owner=owner,
            lease_token=tasks.c.lease_token + 1,
            lease_expires_at=at + lease_seconds,
            wake_pending=False,
            updated_at=at,
        )
        .returning(*tasks.c)
    ).all()
    return mark_claimed(conn, changes, rows, at)
