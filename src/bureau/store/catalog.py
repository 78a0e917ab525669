"""`CatalogStore`: tenants, API keys and the agent catalog."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from bureau.errors import UsageError
from bureau.store._transactions import Transactions
from bureau.store.records import AgentVersionRecord, ApiKeyRecord, Reputation, TenantRecord
from bureau.store.sealing import Sealer
from bureau.store.sql import catalog as sql
from bureau.store.views import AgentFailure, AgentRun

CATALOG_TTL = 2.0
"""Seconds a resolved agent version is cached (the catalog changes when workers publish,
which is rare next to dispatches; published versions are immutable)."""


class CatalogStore:
    def __init__(self, transactions: Transactions, sealer: Sealer | None) -> None:
        self._tx = transactions
        self._sealer = sealer
        self._versions: dict[tuple[str, str], tuple[float, AgentVersionRecord]] = {}

    def _new_webhook_secret(self) -> str:
        """A tenant's signing secret, sealed for storage."""
        if self._sealer is None:
            raise UsageError("this store was opened without secret keys; it cannot make tenants")
        return self._sealer.seal("whsec_" + base64.b64encode(os.urandom(24)).decode())

    def ensure_default_tenant(self, *, key_id: str, secret_hash: str) -> bool:
        """Blocking (startup): create the default tenant with this admin key when no tenant
        exists yet. False when a tenant existed (nothing changes)."""
        secret = self._new_webhook_secret()
        return self._tx.run_sync(
            lambda conn: sql.ensure_default_tenant(
                conn, key_id=key_id, secret_hash=secret_hash, webhook_secret=secret
            )
        )

    def reseal_secrets(self) -> int:
        """Blocking (startup): seal every stored secret with the first key (those stored
        plain, or sealed with an older key); returns how many changed."""
        if (sealer := self._sealer) is None:
            return 0
        return self._tx.run_sync(lambda conn: sql.reseal_secrets(conn, sealer.reseal))

    def default_tenant_id(self) -> str:
        """Blocking (startup): the first tenant created; raises `UsageError` if none."""
        return self._tx.run_sync(sql.default_tenant_id)

    async def api_key(self, key_id: str) -> ApiKeyRecord | None:
        """The unrevoked key with this id (its secret as a hash only), or None."""
        return await self._tx.read(lambda conn: sql.api_key(conn, key_id))

    async def add_api_key(
        self,
        tenant_id: str,
        *,
        key_id: str,
        name: str,
        role: str,
        secret_hash: str,
        scopes: list[str] | None,
        expires_at: float | None = None,
    ) -> ApiKeyRecord:
        """Store a new key of the tenant (its secret as a hash only)."""
        return await self._tx.write(
            lambda conn, _: sql.insert_api_key(
                conn,
                tenant_id,
                key_id=key_id,
                name=name,
                role=role,
                secret_hash=secret_hash,
                scopes=scopes,
                expires_at=expires_at,
            )
        )

    async def keys(self, tenant_id: str) -> list[ApiKeyRecord]:
        """The tenant's keys, revoked ones too, oldest first."""
        return await self._tx.read(lambda conn: sql.keys_of(conn, tenant_id))

    async def key(self, tenant_id: str, key_id: str) -> ApiKeyRecord:
        """The tenant's key; raises `NotFound`."""
        return await self._tx.read(lambda conn: sql.key_of(conn, tenant_id, key_id))

    async def rotate_key(
        self, tenant_id: str, key_id: str, *, secret_hash: str, grace_seconds: float
    ) -> ApiKeyRecord:
        """A new secret for the key; the old one works `grace_seconds` more."""
        return await self._tx.write(
            lambda conn, ch: sql.rotate_key(conn, ch, tenant_id, key_id, secret_hash, grace_seconds)
        )

    async def ensure_tenant(self, tenant_id: str, name: str) -> bool:
        """Create the tenant unless it exists (the built-in publisher); True if created."""
        secret = self._new_webhook_secret()
        return await self._tx.write(
            lambda conn, _: sql.ensure_tenant(conn, tenant_id, name, secret)
        )

    async def create_tenant(self, tenant_id: str, name: str) -> TenantRecord:
        secret = self._new_webhook_secret()
        return await self._tx.write(
            lambda conn, _: sql.create_tenant(conn, tenant_id, name, secret)
        )

    async def tenant(self, tenant_id: str) -> TenantRecord:
        """One tenant; raises `NotFound`."""
        return await self._tx.read(lambda conn: sql.tenant(conn, tenant_id))

    async def set_limits(self, tenant_id: str, limits: dict[str, Any]) -> TenantRecord:
        """Replace the tenant's overrides of the configured limits; raises `NotFound`."""
        return await self._tx.write(lambda conn, _: sql.set_limits(conn, tenant_id, limits))

    async def limit_overrides(self) -> dict[str, dict[str, Any]]:
        """Every tenant's overrides of the configured limits, for tenants that have any."""
        return await self._tx.read(sql.limit_overrides)

    async def tenants(self) -> list[TenantRecord]:
        """Every tenant, oldest first (the operator's view)."""
        return await self._tx.read(sql.list_tenants)

    async def suspend_tenant(self, tenant_id: str, suspended: bool) -> TenantRecord:
        """Suspend a tenant (its keys stop working at once, on every replica) or resume it."""
        return await self._tx.write(
            lambda conn, ch: sql.suspend_tenant(conn, ch, tenant_id, suspended)
        )

    async def revoke_key(self, tenant_id: str, key_id: str) -> bool:
        """Revoke the tenant's key at once on every replica (each drops it from its key
        cache on the `keys` notification); False when there is no such unrevoked key."""
        return await self._tx.write(lambda conn, ch: sql.revoke_key(conn, ch, tenant_id, key_id))

    async def visible_versions(
        self, tenant_id: str, name: str | None = None
    ) -> list[AgentVersionRecord]:
        """Versions the tenant may see (public ones and its own), by name, then semver."""
        return await self._tx.read(lambda conn: sql.visible_versions(conn, tenant_id, name))

    async def resolve_version(self, tenant_id: str, ref: str) -> AgentVersionRecord:
        """`name` (its latest active version) or `name@version`, visible to the tenant;
        cached for `CATALOG_TTL` seconds. Raises `NotFound` (unknown agent or version, a
        retired version, no active version), with `field="agent"`."""
        key = (tenant_id, ref)
        hit = self._versions.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        found = await self._tx.read(lambda conn: sql.resolve_version(conn, tenant_id, ref))
        if len(self._versions) > 4096:
            self._versions.clear()
        self._versions[key] = (time.monotonic() + CATALOG_TTL, found)
        return found

    async def failures(self, tenant_id: str, name: str, limit: int) -> list[AgentFailure]:
        """The latest failed attempts of the tenant's own agent `name`, newest first, with
        tracebacks; raises `NotFound` when the tenant publishes no such agent."""
        return await self._tx.read(lambda conn: sql.failures(conn, tenant_id, name, limit))

    async def runs(
        self, tenant_id: str, name: str, status: str | None, limit: int
    ) -> list[AgentRun]:
        """The latest runs of the tenant's own agent `name` across consumers, newest first,
        without what belongs to the consumer; raises `NotFound` as `failures` does."""
        return await self._tx.read(lambda conn: sql.runs(conn, tenant_id, name, status, limit))

    async def reputation(self, name: str, version: str | None = None) -> Reputation:
        """Completion and acceptance rates, rating and latency from the agent's real runs."""
        return await self._tx.read(lambda conn: sql.reputation(conn, name, version))

    async def publish_versions(
        self,
        tenant_id: str,
        entries: Sequence[Mapping[str, Any]],
        adopt_from: str | None = None,
    ) -> None:
        """Add agent versions (catalog entries) owned by the tenant. Publishing a version
        again with the same definition changes nothing. Raises `UsageError` when a name
        belongs to another tenant (but `adopt_from`, whose names pass to this tenant) or a
        version exists with another definition (versions are immutable)."""
        await self._tx.write(
            lambda conn, _: sql.publish_versions(conn, tenant_id, entries, adopt_from)
        )
        self._versions.clear()

    async def remote_versions(self) -> list[AgentVersionRecord]:
        """Every tenant's active versions of remote A2A agents (runtime `a2a-remote`), for
        the workers that run them."""
        return await self._tx.read(sql.remote_versions)

    async def canceled_remote_runs(
        self, names: Sequence[str], since: float
    ) -> list[tuple[str, str, str, Any]]:
        """Tasks of these remote agents canceled since `since` (epoch seconds) after their
        remote task was sent: (task id, agent, version, the journaled send result), so the
        cancel of a task no worker was running (one waiting for an answer) reaches the
        remote too."""
        return await self._tx.read(lambda conn: sql.canceled_remote_runs(conn, names, since))
