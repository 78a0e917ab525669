"""PostgreSQL backend: group commit on writer threads, reads on pooled threads.

Writes are queued and run by a writer thread: while its transaction runs, new operations
wait, and the next transaction takes all of them ("commit as soon as the queue drains"), so
under load one commit and one thread hop serve many operations. If any operation of a batch
fails, the batch is rolled back and each operation re-run in a transaction of its own, so
one failure never undoes another. There are two writers: one for the engine (workers,
reaper, webhooks) and one for API requests, so a dispatch never queues behind the engine's
batches. A single engine writer means the engine's batches (which lock many tasks' rows)
never wait on each other; a rare deadlock with an API request or another process is
detected by PostgreSQL and retried.
Reads run in autocommit (one round trip) on a pool of threads.
A transaction that fails on a lost connection, a serialization failure, a deadlock or (once)
a unique-key race is retried: operations are pure functions of the database state, so
running one again is safe. Claims use `FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, create_engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from bureau.errors import UsageError
from bureau.store.sql import audit
from bureau.store.sql._batching import Pending, Transaction, resolve, settle_batch
from bureau.store.sql.queue import claim_statement

T = TypeVar("T")
log = logging.getLogger("bureau.store")

CLAIM = claim_statement(skip_locked=True)
RETRYABLE_CODES = frozenset({"40001", "40P01"})  # serialization failure, deadlock
RECONNECT_SECONDS = 60.0
MAX_BATCH = 256


def engine_url(url: str) -> str:
    """`postgresql://...` with the psycopg 3 driver SQLAlchemy needs."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise UsageError(f"not a PostgreSQL URL: {url!r}")


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise UsageError(
                "PostgreSQL needs the driver: pip install 'bureau[postgres]'"
            ) from None
        self.engine = create_engine(
            engine_url(url),
            pool_size=pool_size * 2,
            max_overflow=pool_size,
            pool_recycle=1800,
        )
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._readers = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="bureau-pg")
        self._writers = {
            interactive: _Writer(
                self._transaction, "bureau-pg-api" if interactive else "bureau-pg-w"
            )
            for interactive in (False, True)
        }

    def run_sync(self, op: Callable[[Connection], T]) -> T:
        result: T = self._transaction([op])[0]
        return result

    async def read(self, op: Callable[[Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._read, op)

    def _read(self, op: Callable[[Connection], T]) -> T:
        started = time.monotonic()
        while True:
            try:
                with self._autocommit.connect() as conn:
                    return op(conn)
            except DBAPIError as exc:
                if not (exc.connection_invalidated or _is_disconnect(exc)):
                    raise
                if time.monotonic() - started > RECONNECT_SECONDS:
                    raise
                time.sleep(0.2)

    async def write(self, op: Callable[[Connection], T], *, interactive: bool = False) -> T:
        return await self._writers[interactive].write(op)

    def _transaction(self, ops: Sequence[Callable[[Connection], Any]]) -> list[Any]:
        started = time.monotonic()
        raced = False
        delay = 0.05
        while True:
            try:
                with self.engine.begin() as conn:
                    try:
                        results = [op(conn) for op in ops]
                        audit.flush(conn)
                    except BaseException:
                        audit.discard(conn)
                        raise
                    return results
            except IntegrityError:
                if raced:
                    raise
                raced = True  # e.g. two dispatches with one Idempotency-Key: re-read
            except (OperationalError, DBAPIError) as exc:
                code = getattr(exc.orig, "sqlstate", None)
                lost = isinstance(exc, DBAPIError) and exc.connection_invalidated
                if code not in RETRYABLE_CODES and not lost and not _is_disconnect(exc):
                    raise
                if time.monotonic() - started > RECONNECT_SECONDS:
                    raise
                log.warning("database unavailable or conflicting (%s); retrying", code or exc)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def close(self) -> None:
        for writer in self._writers.values():
            await writer.close()
        self._readers.shutdown(wait=True)
        self.engine.dispose()


class _Writer:
    """One writer thread: queued operations run in batches, one transaction each."""

    def __init__(self, transaction: Transaction, name: str) -> None:
        self._transaction = transaction
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._pending: Pending = []
        self._batch: asyncio.Future[Any] | None = None

    async def write(self, op: Callable[[Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append((op, future))
        if self._batch is None:
            self._next_batch(loop)
        return await future

    def _next_batch(self, loop: asyncio.AbstractEventLoop) -> None:
        batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        running = loop.run_in_executor(self._thread, settle_batch, batch, self._transaction)
        self._batch = running

        def settled(done: asyncio.Future[list[tuple[bool, Any]]]) -> None:
            self._batch = None
            if done.cancelled():  # the loop is closing
                for _, future in batch:
                    future.cancel()
            elif (error := done.exception()) is not None:  # not an operation's own error
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
            else:
                resolve(batch, done.result())
            if self._pending:
                self._next_batch(loop)

        running.add_done_callback(settled)

    async def close(self) -> None:
        while self._batch is not None:
            await asyncio.wait([self._batch])
        self._thread.shutdown(wait=True)


def _is_disconnect(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return any(
        hint in text for hint in ("connection", "server closed", "terminating", "could not connect")
    )
