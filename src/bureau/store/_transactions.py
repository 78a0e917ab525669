"""Running store operations: one transaction each, changes published once committed."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection

from bureau.notify.base import Notifier
from bureau.store.base import Database
from bureau.store.sql.audit import PENDING
from bureau.store.sql.common import Changes

T = TypeVar("T")


class Transactions:
    """The store's facets run their SQL operations through this: `write` in a transaction
    (group-committed where the backend does so) and, only after it committed, publishes
    what changed on the `Notifier`; `read` against committed state."""

    def __init__(self, db: Database, notifier: Notifier) -> None:
        self.db = db
        self.notifier = notifier

    async def write(
        self, op: Callable[[Connection, Changes], T], *, interactive: bool = False
    ) -> T:
        """`interactive`: a caller (an API request) waits on it (see `Database.write`). The
        first write of an audited operation appends its record in the same transaction
        (`bureau.store.audit`)."""
        committed: list[Changes] = []
        entry = PENDING.get()
        if entry is not None and entry.written:
            entry = None

        def attempt(conn: Connection) -> T:
            changes = Changes()  # fresh on every attempt: a batch may be re-run
            result = op(conn, changes)
            if entry is not None:
                entry.append(conn, "ok", result)
            committed[:] = [changes]
            return result

        result = await self.db.write(attempt, interactive=interactive)
        if entry is not None:
            entry.written = True
        self._publish(committed[0])
        return result

    async def read(self, op: Callable[[Connection], T]) -> T:
        return await self.db.read(op)

    def run_sync(self, op: Callable[[Connection], T]) -> T:
        """Blocking, in a transaction of its own: startup and maintenance only."""
        return self.db.run_sync(op)

    def _publish(self, changes: Changes) -> None:
        for task_id, new_events in changes.events.items():
            self.notifier.publish(f"task:{task_id}", new_events)
        if changes.wake_queue:
            self.notifier.publish("queue", None)
        for task_id in changes.cancel:
            self.notifier.publish("cancel", task_id)
        if changes.webhooks:
            self.notifier.publish("webhooks", None)
        for key_id in changes.revoked_keys:
            self.notifier.publish("keys", key_id)
