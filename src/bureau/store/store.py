"""`Store`: the one door to durable state. Its facets name every operation Bureau performs.

- `tasks`   (`TaskStore`): what consumers do — create, read, list, reply, cancel, review;
- `queue`   (`QueueStore`): what workers and the reaper do — claim, journal, settle, sweep;
- `catalog` (`CatalogStore`): tenants, API keys, agent versions, reputation;
- `outbox`  (`WebhookOutbox`): webhook deliveries;
- `metrics` (`MetricsStore`): gauges and the readiness probe;
- `secrets` (`SecretStore`): a tenant's named secrets, sealed (its agents' MCP servers').

Each operation runs in one transaction and returns only once it committed (see
`bureau.store.base.Database`); its docstring says what it fences, compares-and-sets,
appends and raises. Typed records (`bureau.store.records`) cross this boundary; nothing
outside `bureau.store` sees SQL, rows or connections.
"""

from __future__ import annotations

from pathlib import Path

from bureau.notify.base import Notifier
from bureau.store import migrations
from bureau.store._transactions import Transactions
from bureau.store.audit import AuditStore
from bureau.store.catalog import CatalogStore
from bureau.store.factory import open_database
from bureau.store.metrics import MetricsStore
from bureau.store.outbox import WebhookOutbox
from bureau.store.queue import QueueStore
from bureau.store.sealing import Sealer
from bureau.store.secrets import SecretStore
from bureau.store.tasks import TaskStore


class Store:
    def __init__(
        self,
        database_url: str | None,
        default_sqlite: Path,
        notifier: Notifier,
        sealer: Sealer | None = None,
    ) -> None:
        """Open the database `database_url` names (SQLite at `default_sqlite` when None).
        `sealer` seals and opens per-tenant secrets; without one (`bureau migrate`) the store
        cannot make tenants or sign webhooks."""
        db, claim = open_database(database_url, default_sqlite)
        self.dialect = db.dialect
        self.notifier = notifier
        self.sealer = sealer
        self._tx = Transactions(db, notifier)
        self.tasks = TaskStore(self._tx)
        self.queue = QueueStore(self._tx, claim)
        self.catalog = CatalogStore(self._tx, sealer)
        self.outbox = WebhookOutbox(self._tx, sealer)
        self.metrics = MetricsStore(self._tx)
        self.audit = AuditStore(self._tx)
        self.secrets = SecretStore(self._tx, sealer)

    def migrate(self) -> tuple[int, int]:
        """Blocking: apply missing schema migrations; returns (from, to) versions. Raises
        `SchemaVersionMismatch` for a database newer than this Bureau."""
        return self._tx.run_sync(migrations.migrate)

    def check_schema(self) -> None:
        """Blocking: raise `SchemaVersionMismatch` (saying what to run) unless the database
        is at this Bureau's schema version."""
        self._tx.run_sync(migrations.check)

    async def close(self) -> None:
        """Commit queued writes and release connections."""
        await self._tx.db.close()
