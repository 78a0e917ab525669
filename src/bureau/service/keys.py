"""API keys and tenants: a tenant's admins manage its keys; the operator manages tenants.

A secret is returned once, when a key is created or rotated, and stored only as a hash.
Revoking, rotating (once its grace ends) and suspending a tenant take effect at once on
every replica: the store tells every `Authenticator` to forget the keys concerned.
"""

from __future__ import annotations

import time

from bureau.auth.caller import Caller
from bureau.auth.keys import issue_key
from bureau.auth.scopes import Role, granted
from bureau.errors import Conflict, InvalidRequest
from bureau.service.audit import Auditor
from bureau.service.requests import KeyCreate, KeyRotate, TenantCreate, TenantLimits
from bureau.store.catalog import CatalogStore
from bureau.store.ids import new_id
from bureau.store.limits import LimitBook
from bureau.store.records import ApiKeyRecord
from bureau.store.store import Store
from bureau.store.views import (
    KeyIssued,
    KeyView,
    TenantCreated,
    TenantView,
    key_view,
    tenant_view,
)

MIN_OWN_GRACE_SECONDS = 60.0


def shown(record: ApiKeyRecord) -> KeyView:
    return key_view(record, granted(Role(record.role), record.scopes))


def issued(record: ApiKeyRecord, secret: str) -> KeyIssued:
    return {**shown(record), "secret": secret}


class KeyService:
    def __init__(self, store: Store) -> None:
        self._catalog = store.catalog
        self._audit = Auditor(store.audit)

    async def create(self, caller: Caller, body: KeyCreate) -> KeyIssued:
        """A new key of the caller's tenant; raises `InvalidRequest` for scopes the role
        does not hold."""
        async with self._audit.record(caller, "keys.create") as entry:
            entry.target_of = lambda record: str(record.id)
            return await create_key(self._catalog, caller.tenant_id, body)

    async def list(self, caller: Caller) -> list[KeyView]:
        caller.require("keys.read")
        return [shown(k) for k in await self._catalog.keys(caller.tenant_id)]

    async def get(self, caller: Caller, key_id: str) -> KeyView:
        caller.require("keys.read")
        return shown(await self._catalog.key(caller.tenant_id, key_id))

    async def revoke(self, caller: Caller, key_id: str) -> KeyView:
        """Revoke the key at once on every replica; raises `NotFound`, or `Conflict` for the
        caller's own key (another admin key revokes it: nobody locks themselves out)."""
        async with self._audit.record(caller, "keys.revoke", key_id):
            if key_id == caller.key_id:
                raise Conflict("a key cannot revoke itself; revoke it with another admin key")
            await self._catalog.key(caller.tenant_id, key_id)  # NotFound for another tenant's
            await self._catalog.revoke_key(caller.tenant_id, key_id)
        return shown(await self._catalog.key(caller.tenant_id, key_id))

    async def rotate(self, caller: Caller, key_id: str, body: KeyRotate) -> KeyIssued:
        """A new secret for the key; the old one works for `grace_seconds` more. Rotating
        the caller's own key needs a grace period (its client must switch secrets first)."""
        async with self._audit.record(caller, "keys.rotate", key_id):
            if key_id == caller.key_id and body.grace_seconds < MIN_OWN_GRACE_SECONDS:
                raise Conflict(
                    f"rotating the key you call with needs grace_seconds of at least "
                    f"{MIN_OWN_GRACE_SECONDS:g}, so this client can switch to the new secret"
                )
            key = issue_key(key_id=key_id)
            record = await self._catalog.rotate_key(
                caller.tenant_id,
                key_id,
                secret_hash=key.secret_hash,
                grace_seconds=body.grace_seconds,
            )
        return issued(record, key.plaintext)


async def create_key(catalog: CatalogStore, tenant_id: str, body: KeyCreate) -> KeyIssued:
    """Issue a key for `tenant_id`, the one place keys are made."""
    allowed = granted(body.role, None)
    if body.scopes is not None and (beyond := sorted(set(body.scopes) - allowed)):
        raise InvalidRequest(
            f"role {body.role!r} does not hold {', '.join(beyond)}; ask for a role that "
            "does, or fewer scopes",
            field="scopes",
        )
    key = issue_key()
    expires_at = time.time() + body.expires_in_seconds if body.expires_in_seconds else None
    record = await catalog.add_api_key(
        tenant_id,
        key_id=key.key_id,
        name=body.name,
        role=body.role,
        secret_hash=key.secret_hash,
        scopes=None if body.scopes is None else sorted(body.scopes),
        expires_at=expires_at,
    )
    return issued(record, key.plaintext)


class TenantService:
    def __init__(self, store: Store, limits: LimitBook) -> None:
        self._catalog = store.catalog
        self._audit = Auditor(store.audit)
        self._limits = limits

    async def create(self, caller: Caller, body: TenantCreate) -> TenantCreated:
        """A new tenant with its first admin key (shown once)."""
        async with self._audit.record(caller, "tenants.create") as entry:
            entry.target_of = lambda created: str(created.id)
            tenant = await self._catalog.create_tenant(new_id("ten_"), body.name)
        admin = await create_key(
            self._catalog,
            tenant.id,
            KeyCreate(name="admin (created with the tenant)", role=Role.ADMIN),
        )
        return {**tenant_view(tenant), "admin_key": admin}

    async def list(self, caller: Caller) -> list[TenantView]:
        caller.require("tenants.read")
        return [tenant_view(t) for t in await self._catalog.tenants()]

    async def suspend(self, caller: Caller, tenant_id: str, suspended: bool) -> TenantView:
        """Suspend a tenant (its keys stop working at once) or resume it; raises
        `NotFound`, or `InvalidRequest` for the caller's own tenant."""
        action = "tenants.suspend" if suspended else "tenants.resume"
        async with self._audit.record(caller, action, tenant_id):
            if tenant_id == caller.tenant_id and suspended:
                raise InvalidRequest("the operator's own tenant cannot be suspended", field="id")
            return tenant_view(await self._catalog.suspend_tenant(tenant_id, suspended))

    async def set_limits(self, caller: Caller, tenant_id: str, body: TenantLimits) -> TenantView:
        """Replace the tenant's limit overrides (taking effect within seconds on every
        replica, at once on this one); raises `NotFound`."""
        async with self._audit.record(caller, "tenants.limits", tenant_id):
            limits = body.model_dump(exclude_none=True)
            tenant = await self._catalog.set_limits(tenant_id, limits)
        self._limits.forget()
        return tenant_view(tenant)
