"""Recording state-changing calls in the audit log, and reading it back.

Each operation that changes something wraps its work in `Auditor.record`, its scope check
included, so a refused call is recorded too. The record goes into the transaction of the
operation's first write (`bureau.store.audit`), or on its own when nothing was written.
Records hold ids and codes only: never a secret, never a request body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bureau.auth.caller import Caller
from bureau.errors import BureauError
from bureau.store.audit import AuditEntry, AuditStore
from bureau.store.records import AuditRecord
from bureau.store.store import Store


class Auditor:
    def __init__(self, audit: AuditStore) -> None:
        self._audit = audit

    @asynccontextmanager
    async def record(
        self, caller: Caller, action: str, target: str | None = None
    ) -> AsyncIterator[AuditEntry]:
        """Check `caller` may do `action`, run the block, and have one record say how it
        ended (`ok`, or the error's code) whatever happened. The block may set the entry's
        `target_of` (the target from its write's result, e.g. a created id)."""
        fields = {
            "tenant_id": caller.tenant_id,
            "key_id": caller.key_id,
            "role": caller.role.value,
            "action": action,
            "address": caller.address,
            "request_id": caller.request_id,
        }
        outcome = "internal"
        with self._audit.recording(AuditEntry(fields, target)) as entry:
            try:
                caller.require(action)
                yield entry
                outcome = "ok"
            except BureauError as exc:
                outcome = exc.code
                raise
            finally:
                await self._audit.finish(entry, outcome)


class AuditService:
    def __init__(self, store: Store) -> None:
        self._audit = store.audit

    async def page(
        self,
        caller: Caller,
        *,
        action: str | None = None,
        key_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> list[AuditRecord]:
        """The caller's tenant's audit records, newest first (`cursor`: the last id seen)."""
        caller.require("audit.read")
        return await self._audit.page(
            caller.tenant_id, action=action, key_id=key_id, limit=limit, cursor=cursor
        )
