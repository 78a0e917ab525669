"""The audit log: one row per state-changing call, appended, never updated or deleted."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, select

from bureau.store.codec import now
from bureau.store.ids import new_id
from bureau.store.records import AuditRecord
from bureau.store.sql.schema import audit


@dataclass
class AuditEntry:
    """A record in the making: who and what (`fields`), and the target, known now or from
    the result of the write (`target_of`, e.g. a created task's id)."""

    fields: dict[str, Any]
    target: str | None = None
    target_of: Callable[[Any], str] | None = None
    written: bool = field(default=False)

    def append(self, conn: Connection, outcome: str, result: Any = None) -> None:
        if self.target is None and self.target_of is not None and result is not None:
            self.target = self.target_of(result)
        queue(conn, {**self.fields, "target": self.target, "outcome": outcome})


PENDING: ContextVar[AuditEntry | None] = ContextVar("bureau_audit", default=None)


_INSERT = insert(audit)
_QUEUED = "bureau_audit_rows"


def queue(conn: Connection, entry: dict[str, Any]) -> None:
    """Add a record to the transaction's; `flush` inserts them all in one statement before
    it commits (a group-committed batch of dispatches costs one INSERT, not one each)."""
    conn.info.setdefault(_QUEUED, []).append({"id": new_id("aud_"), "at": now(), **entry})


def flush(conn: Connection) -> None:
    """Insert the transaction's queued records; the backends call it before COMMIT."""
    if rows := conn.info.pop(_QUEUED, None):
        conn.execute(_INSERT, rows)


def discard(conn: Connection) -> None:
    """Forget the queued records of a transaction rolled back."""
    conn.info.pop(_QUEUED, None)


def page(
    conn: Connection,
    tenant_id: str,
    *,
    action: str | None,
    key_id: str | None,
    limit: int,
    cursor: str | None,
) -> list[AuditRecord]:
    """The tenant's records, newest first, `limit` of them after `cursor` (an id)."""
    where = [audit.c.tenant_id == tenant_id]
    if action:
        where.append(audit.c.action == action)
    if key_id:
        where.append(audit.c.key_id == key_id)
    if cursor:
        where.append(audit.c.id < cursor)
    rows = conn.execute(select(audit).where(*where).order_by(audit.c.id.desc()).limit(limit))
    return [AuditRecord(**r._mapping) for r in rows]
