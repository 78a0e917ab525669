"""The Redis notifier between processes: order, no echo, isolation per Redis database."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bureau.auth.authenticator import CACHE_SECONDS, Authenticator
from bureau.auth.keys import issue_key
from bureau.errors import Unauthenticated
from bureau.notify.redis import RedisNotifier
from bureau.store.sealing import Sealer, new_secret_key
from bureau.store.store import Store
from tests.fleet.conftest import RedisProcess

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server")


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    process = RedisProcess(Path(tmp_path_factory.mktemp("redis")))
    process.start()
    try:
        yield process
    finally:
        process.stop()


async def _until(predicate: Any, limit: float = 5.0) -> None:
    """Wait for a condition set by listener callbacks (polled: they have no event to await)."""
    for _ in range(int(limit / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("condition not reached")


async def _exchange(port: int) -> None:
    base = f"redis://127.0.0.1:{port}"
    sender, receiver, elsewhere = (
        RedisNotifier(f"{base}/5"),
        RedisNotifier(f"{base}/5"),
        RedisNotifier(f"{base}/6"),
    )
    heard: dict[str, list[Any]] = {"sender": [], "receiver": [], "elsewhere": []}
    for name, notifier in (("sender", sender), ("receiver", receiver), ("elsewhere", elsewhere)):
        notifier.subscribe("task:1", heard[name].append)
        await notifier.start()
    try:
        await _until(lambda: sender.reliable and receiver.reliable and elsewhere.reliable)
        for i in range(500):  # published in one burst: they travel in a few frames
            sender.publish("task:1", [{"seq": i}])
        await _until(lambda: len(heard["receiver"]) == 500)
        assert heard["receiver"] == [[{"seq": i}] for i in range(500)]

        # Garbage on the channel (another program) is skipped; later messages still arrive.
        await receiver._client.publish(receiver._channel, b"not a frame")
        sender.publish("task:1", "after")
        await _until(lambda: heard["receiver"][-1] == "after")
        await asyncio.sleep(0.2)
    finally:
        for notifier in (sender, receiver, elsewhere):
            await notifier.close()
    assert heard["sender"] == [[{"seq": i}] for i in range(500)] + ["after"]  # once, no echo
    assert heard["elsewhere"] == []  # another Redis database is another deployment


def test_messages_arrive_in_order_once_and_only_within_one_redis_database(
    redis: RedisProcess,
) -> None:
    asyncio.run(_exchange(redis.port))


async def _revoke_across_replicas(port: int, tmp_path: Path) -> None:
    notifiers = [RedisNotifier(f"redis://127.0.0.1:{port}/7") for _ in range(2)]
    sealer = Sealer([new_secret_key()])
    stores = [Store(None, tmp_path / "bureau.db", n, sealer) for n in notifiers]
    try:
        stores[0].migrate()
        key = issue_key()
        assert stores[0].catalog.ensure_default_tenant(
            key_id=key.key_id, secret_hash=key.secret_hash
        )
        tenant = stores[0].catalog.default_tenant_id()
        extra = issue_key()
        await stores[0].catalog.add_api_key(
            tenant,
            key_id=extra.key_id,
            name="ci",
            role="member",
            secret_hash=extra.secret_hash,
            scopes=None,
        )
        replica = Authenticator(stores[1])  # another API replica
        for notifier in notifiers:
            await notifier.start()
        await _until(lambda: all(n.reliable for n in notifiers))
        assert (await replica.key(extra.plaintext)).key_id == extra.key_id  # now cached

        assert await stores[0].catalog.revoke_key(tenant, extra.key_id)
        started = time.monotonic()
        while time.monotonic() - started < CACHE_SECONDS / 2:
            try:
                await replica.key(extra.plaintext)
            except Unauthenticated:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the revoked key still worked on the other replica")
        assert time.monotonic() - started < 1.0
        assert (await replica.key(key.plaintext)).key_id == key.key_id, "other keys still work"
        assert not await stores[0].catalog.revoke_key(tenant, extra.key_id), "revoked already"
    finally:
        for store in stores:
            await store.close()
        for notifier in notifiers:
            await notifier.close()


def test_a_revoked_key_stops_working_at_once_on_every_replica(
    redis: RedisProcess, tmp_path: Path
) -> None:
    asyncio.run(_revoke_across_replicas(redis.port, tmp_path))
