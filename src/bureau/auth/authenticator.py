"""Turning a presented credential into a `Caller`."""

from __future__ import annotations

import time

from bureau.auth.caller import Caller, Role
from bureau.auth.keys import parse_key, secret_matches
from bureau.errors import Unauthenticated
from bureau.store.store import Store

CACHE_SECONDS = 10.0
"""How long a verified key is trusted without asking the database again. A revocation
evicts it at once (the `keys` notification); this bounds the window should that be lost."""
CACHE_ENTRIES = 10_000


class Authenticator:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: dict[str, tuple[float, Caller]] = {}
        store.notifier.subscribe("keys", self._evict)

    def _evict(self, key_id: object) -> None:
        """Forget the cached callers of a revoked key."""
        for presented, (_, caller) in list(self._cache.items()):
            if caller.key_id == key_id:
                del self._cache[presented]

    async def bearer(self, authorization: str | None) -> Caller:
        """The caller of an `Authorization: Bearer <key>` header; raises `Unauthenticated`
        saying what to send."""
        if not authorization:
            raise Unauthenticated(
                "missing API key: send 'Authorization: Bearer <key>' (the admin key is in "
                "DATA_DIR/admin-key)"
            )
        scheme, _, presented = authorization.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise Unauthenticated("the Authorization header must be 'Bearer <key>'")
        return await self.key(presented.strip())

    async def key(self, presented: str) -> Caller:
        """The caller holding API key `presented`; raises `Unauthenticated`."""
        hit = self._cache.get(presented)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        key_id, secret = parse_key(presented)
        record = await self._store.catalog.api_key(key_id)
        if record is None or not secret_matches(secret, record.secret_hash):
            raise Unauthenticated("API key is unknown or revoked")
        caller = Caller(tenant_id=record.tenant_id, key_id=record.id, role=Role(record.role))
        if len(self._cache) >= CACHE_ENTRIES:
            self._cache.clear()
        self._cache[presented] = (time.monotonic() + CACHE_SECONDS, caller)
        return caller
