"""Schema migrations, for SQLite and PostgreSQL alike.

`MIGRATIONS[n]` takes the schema from version n to n + 1; the version is kept in
`schema_info`. An empty database gets the latest schema at once (`_initial` creates the
tables as `schema.py` defines them now), so later steps only ever upgrade older ones.
`bureau migrate` applies what is missing; `bureau serve` (embedded) does so by itself; the
fleet roles (`bureau api`, `bureau worker`) refuse to run against a database at another
version and say what to run.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, inspect, select, text, update

from bureau.errors import SchemaVersionMismatch
from bureau.store.codec import loads
from bureau.store.sql.schema import (
    audit,
    metadata,
    schema_info,
    tenant_secrets,
    webhook_deliveries,
)


def _initial(conn: Connection) -> None:
    metadata.create_all(conn)


def _traces_and_delivery_references(conn: Connection) -> None:
    """Version 2: `tasks.trace` (a failed attempt's traceback, for the agent's publisher);
    a webhook delivery refers to its event by `seq` instead of holding a copy of the task."""
    conn.execute(text("ALTER TABLE tasks ADD COLUMN trace TEXT"))
    conn.execute(text("ALTER TABLE webhook_deliveries ADD COLUMN seq INTEGER NOT NULL DEFAULT 0"))
    for delivery_id, payload in conn.execute(text("SELECT id, payload FROM webhook_deliveries")):
        conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == delivery_id)
            .values(seq=loads(payload)["data"]["seq"])
        )
    conn.execute(text("ALTER TABLE webhook_deliveries DROP COLUMN payload"))


def _tenancy(conn: Connection) -> None:
    """Version 3: keys expire and rotate (the old secret valid for a grace period); tenants
    can be suspended; the audit log; room for sealed secrets (SQLite does not enforce a
    VARCHAR's length)."""
    audit.create(conn)
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE tenants ALTER COLUMN webhook_secret TYPE TEXT"))
    for statement in (
        "ALTER TABLE api_keys ADD COLUMN expires_at FLOAT",
        "ALTER TABLE api_keys ADD COLUMN previous_hash VARCHAR(64)",
        "ALTER TABLE api_keys ADD COLUMN previous_until FLOAT",
        "ALTER TABLE tenants ADD COLUMN suspended_at FLOAT",
        "ALTER TABLE tenants ADD COLUMN limits TEXT",
    ):
        conn.execute(text(statement))


def _fair_queue(conn: Connection) -> None:
    """Version 4: tasks are claimed in fair-tag order (fair between tenants) instead of
    oldest first; waiting tasks keep their order."""
    conn.execute(text("ALTER TABLE tasks ADD COLUMN fair_tag FLOAT NOT NULL DEFAULT 0"))
    conn.execute(text("UPDATE tasks SET fair_tag = available_at"))
    conn.execute(text("DROP INDEX ix_tasks_queue"))
    conn.execute(text("CREATE INDEX ix_tasks_queue ON tasks (queue_state, fair_tag)"))


def _tenant_secrets(conn: Connection) -> None:
    """Version 5: a tenant's named secrets (sealed), which its agents' MCP servers use."""
    tenant_secrets.create(conn)


def _webhook_options(conn: Connection) -> None:
    """Version 6: a task's webhook may carry headers to send (sealed) and a payload format
    (A2A push notifications)."""
    conn.execute(text("ALTER TABLE tasks ADD COLUMN webhook_options TEXT"))


MIGRATIONS: list[Callable[[Connection], None]] = [
    _initial,
    _traces_and_delivery_references,
    _tenancy,
    _fair_queue,
    _tenant_secrets,
    _webhook_options,
]
LATEST = len(MIGRATIONS)


def current_version(conn: Connection) -> int:
    """0 for an empty database."""
    if not inspect(conn).has_table(schema_info.name):
        return 0
    found = conn.execute(select(schema_info.c.version)).scalar()
    return int(found or 0)


def migrate(conn: Connection) -> tuple[int, int]:
    """Apply the missing migrations in one transaction; returns (from, to) versions."""
    found = current_version(conn)
    if found > LATEST:
        raise SchemaVersionMismatch(
            f"the database is at schema version {found}, newer than this Bureau ({LATEST}); "
            "upgrade Bureau"
        )
    for step in MIGRATIONS[found:] if found else [_initial]:
        step(conn)
    if found == 0:
        conn.execute(schema_info.insert().values(id=1, version=LATEST))
    elif found < LATEST:
        conn.execute(update(schema_info).values(version=LATEST))
    return found, LATEST


def check(conn: Connection) -> None:
    """Raise `SchemaVersionMismatch`, saying what to run, unless the schema is current."""
    found = current_version(conn)
    if found == LATEST:
        return
    if found < LATEST:
        raise SchemaVersionMismatch(
            f"the database is at schema version {found}, this Bureau needs {LATEST}; "
            "run `bureau migrate --database-url ...` first"
        )
    raise SchemaVersionMismatch(
        f"the database is at schema version {found}, newer than this Bureau ({LATEST}); "
        "upgrade Bureau"
    )
