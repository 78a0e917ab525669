"""`SecretStore`: a tenant's named secrets (tokens its agents' MCP servers need).

Values are sealed at rest with the store's `Sealer` and opened only for the run that uses
them; nothing here ever returns a value to an API caller (`names` lists names and times).
"""

from __future__ import annotations

from collections.abc import Sequence

from typing_extensions import TypedDict

from bureau.errors import UsageError
from bureau.store._transactions import Transactions
from bureau.store.codec import iso
from bureau.store.sealing import Sealer
from bureau.store.sql import secrets as sql


class SecretView(TypedDict):
    """A secret as the API shows it: never its value."""

    name: str
    created_at: str | None
    updated_at: str | None


class SecretStore:
    def __init__(self, transactions: Transactions, sealer: Sealer | None) -> None:
        self._tx = transactions
        self._sealer = sealer

    def _sealing(self) -> Sealer:
        if self._sealer is None:
            raise UsageError("this store was opened without secret keys; it cannot hold secrets")
        return self._sealer

    async def put(self, tenant_id: str, name: str, value: str) -> SecretView:
        """Store the secret sealed, replacing a value of the same name."""
        sealed = self._sealing().seal(value)
        created, updated = await self._tx.write(
            lambda conn, _: sql.put_secret(conn, tenant_id, name, sealed), interactive=True
        )
        return {"name": name, "created_at": iso(created), "updated_at": iso(updated)}

    async def names(self, tenant_id: str) -> list[SecretView]:
        """The tenant's secrets by name, without values."""
        rows = await self._tx.read(lambda conn: sql.secret_names(conn, tenant_id))
        return [
            {"name": name, "created_at": iso(created), "updated_at": iso(updated)}
            for name, created, updated in rows
        ]

    async def delete(self, tenant_id: str, name: str) -> bool:
        """False when the tenant has no such secret."""
        return await self._tx.write(
            lambda conn, _: sql.delete_secret(conn, tenant_id, name), interactive=True
        )

    async def values(self, tenant_id: str, names: Sequence[str]) -> dict[str, str]:
        """The plaintext of those of `names` the tenant has (absent names are left out)."""
        sealer = self._sealing()
        stored = await self._tx.read(lambda conn: sql.sealed_values(conn, tenant_id, names))
        return {name: sealer.open(value) for name, value in stored.items()}
