"""A tenant's secrets: its admins put, list and delete them; its agents' MCP servers use them.

A value is write-only: stored sealed, never returned, never logged, never audited (records
hold the secret's name only).
"""

from __future__ import annotations

import re

from pydantic import Field

from bureau.auth.caller import Caller
from bureau.errors import InvalidRequest, NotFound
from bureau.service.audit import Auditor
from bureau.service.requests import _Body
from bureau.store.secrets import SecretView
from bureau.store.store import Store

SECRET_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
MAX_SECRET_BYTES = 64 * 1024


class SecretPut(_Body):
    value: str = Field(
        min_length=1,
        max_length=MAX_SECRET_BYTES,
        description="The secret (at most 64 KiB); stored sealed and never returned",
    )


class SecretService:
    def __init__(self, store: Store) -> None:
        self._secrets = store.secrets
        self._audit = Auditor(store.audit)

    async def put(self, caller: Caller, name: str, body: SecretPut) -> SecretView:
        """Store (or replace) the tenant's secret `name`; raises `InvalidRequest` for a bad
        name or a value over 64 KiB."""
        async with self._audit.record(caller, "secrets.put", _checked(name)):
            if len(body.value.encode()) > MAX_SECRET_BYTES:
                raise InvalidRequest(
                    f"a secret's value is at most {MAX_SECRET_BYTES} bytes", field="value"
                )
            return await self._secrets.put(caller.tenant_id, name, body.value)

    async def list(self, caller: Caller) -> list[SecretView]:
        """The tenant's secrets: names and times, never values."""
        caller.require("secrets.list")
        return await self._secrets.names(caller.tenant_id)

    async def delete(self, caller: Caller, name: str) -> None:
        """Delete the tenant's secret; raises `NotFound`."""
        async with self._audit.record(caller, "secrets.delete", _checked(name)):
            if not await self._secrets.delete(caller.tenant_id, name):
                raise NotFound(f"no secret {name!r}; GET /v1/secrets lists them", field="name")


def _checked(name: str) -> str:
    if not SECRET_NAME.match(name):
        raise InvalidRequest(
            f"secret name {name[:100]!r} must be 1 to 100 letters, digits, '_', '.' or '-'",
            field="name",
        )
    return name
