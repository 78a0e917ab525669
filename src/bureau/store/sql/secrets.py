"""A tenant's named secrets, stored sealed: the SQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, delete, insert, select, update

from bureau.store.codec import now
from bureau.store.sql.schema import tenant_secrets


def put_secret(conn: Connection, tenant_id: str, name: str, sealed: str) -> tuple[float, float]:
    """Insert or replace the secret; returns its (created_at, updated_at)."""
    at = now()
    where = (tenant_secrets.c.tenant_id == tenant_id, tenant_secrets.c.name == name)
    created = conn.execute(select(tenant_secrets.c.created_at).where(*where)).scalar()
    if created is None:
        conn.execute(
            insert(tenant_secrets).values(
                tenant_id=tenant_id, name=name, value=sealed, created_at=at, updated_at=at
            )
        )
        return at, at
    conn.execute(update(tenant_secrets).where(*where).values(value=sealed, updated_at=at))
    return float(created), at


def secret_names(conn: Connection, tenant_id: str) -> list[tuple[str, float, float]]:
    """(name, created_at, updated_at) of every secret of the tenant, by name."""
    rows = conn.execute(
        select(tenant_secrets.c.name, tenant_secrets.c.created_at, tenant_secrets.c.updated_at)
        .where(tenant_secrets.c.tenant_id == tenant_id)
        .order_by(tenant_secrets.c.name)
    )
    return [(row.name, float(row.created_at), float(row.updated_at)) for row in rows]


def sealed_values(conn: Connection, tenant_id: str, names: Sequence[str]) -> dict[str, str]:
    """The stored (sealed) values of those of `names` the tenant has."""
    rows = conn.execute(
        select(tenant_secrets.c.name, tenant_secrets.c.value).where(
            tenant_secrets.c.tenant_id == tenant_id, tenant_secrets.c.name.in_(list(names))
        )
    )
    return {row.name: row.value for row in rows}


def delete_secret(conn: Connection, tenant_id: str, name: str) -> bool:
    """False when the tenant has no such secret."""
    deleted = conn.execute(
        delete(tenant_secrets).where(
            tenant_secrets.c.tenant_id == tenant_id, tenant_secrets.c.name == name
        )
    ).rowcount
    return bool(deleted)
