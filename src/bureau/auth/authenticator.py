"""Turning a presented credential into a `Caller`."""

from __future__ import annotations

import time

from bureau.auth.caller import Caller, Role
from bureau.auth.keys import parse_key, secret_matches
from bureau.auth.scopes import granted
from bureau.errors import Forbidden, Unauthenticated
from bureau.store.records import ApiKeyRecord
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
        if record is None:
            raise Unauthenticated("API key is unknown or revoked")
        valid_until = _valid_until(record, secret)
        if valid_until is not None and valid_until <= time.time():
            raise Unauthenticated("API key is unknown, revoked or expired")
        if record.tenant_suspended:
            raise Forbidden("this key's tenant is suspended; ask the operator")
        role = Role(record.role)
        caller = Caller(record.tenant_id, record.id, role, granted(role, record.scopes))
        if len(self._cache) >= CACHE_ENTRIES:
            self._cache.clear()
        left = (
            CACHE_SECONDS if valid_until is None else min(CACHE_SECONDS, valid_until - time.time())
        )
        self._cache[presented] = (time.monotonic() + left, caller)
        return caller


def _valid_until(record: ApiKeyRecord, secret: str) -> float | None:
    """Until when `secret` opens the key (None: no end); 0 when it does not open it. The
    previous secret of a rotated key opens it until its grace period ends."""
    if secret_matches(secret, record.secret_hash):
        return record.expires_at
    if record.previous_hash and secret_matches(secret, record.previous_hash):
        return min(record.previous_until or 0.0, record.expires_at or float("inf"))
    return 0.0
