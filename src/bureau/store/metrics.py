"""`MetricsStore`: the counts behind `/metrics` and the readiness probe."""

from __future__ import annotations

from bureau.store._transactions import Transactions
from bureau.store.records import Gauges
from bureau.store.sql import metrics as sql


class MetricsStore:
    def __init__(self, transactions: Transactions) -> None:
        self._tx = transactions

    async def gauges(self) -> Gauges:
        """Tasks by status, the ready queue's depth, leased tasks, pending webhooks."""
        return await self._tx.read(sql.gauges)

    async def ping(self) -> None:
        """Raises unless the database answers a query."""
        await self._tx.read(sql.ping)
