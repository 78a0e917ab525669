"""`AuditStore`: the audit log, appended in the transaction of the change it records.

`Auditor` (in the service) opens an `AuditEntry` around an operation with `recording`; the
first write the operation makes appends the entry in its own transaction (see
`Transactions.write`), so a committed change always has its record and costs no extra
round trip. An operation that ends without writing (refused, or failing before its write)
has its record appended on its own by `finish`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bureau.store._transactions import Transactions
from bureau.store.records import AuditRecord
from bureau.store.sql import audit as sql
from bureau.store.sql.audit import PENDING, AuditEntry

__all__ = ["AuditEntry", "AuditStore"]


class AuditStore:
    def __init__(self, transactions: Transactions) -> None:
        self._tx = transactions

    @contextmanager
    def recording(self, entry: AuditEntry) -> Iterator[AuditEntry]:
        """Let the next write in this context append `entry` in its transaction."""
        token = PENDING.set(entry)
        try:
            yield entry
        finally:
            PENDING.reset(token)

    async def finish(self, entry: AuditEntry, outcome: str) -> None:
        """Append `entry` on its own unless a write already did."""
        if not entry.written:
            entry.written = True
            await self._tx.write(lambda conn, _: entry.append(conn, outcome))

    async def page(
        self,
        tenant_id: str,
        *,
        action: str | None = None,
        key_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> list[AuditRecord]:
        """The tenant's records, newest first."""
        return await self._tx.read(
            lambda conn: sql.page(
                conn, tenant_id, action=action, key_id=key_id, limit=limit, cursor=cursor
            )
        )
