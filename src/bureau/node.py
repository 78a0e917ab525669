"""A Bureau node: the database, store, notifier and background services of one process.

`Node.start()` prepares the schema, makes sure a tenant and admin key exist (writing the
key to `DATA_DIR/admin-key`), publishes the loaded agents to the catalog, and starts the
worker, the reaper and the webhook sender as configured by its role.
"""

from __future__ import annotations

import gc
import logging
import os
from dataclasses import dataclass

from bureau.auth.caller import Caller, Role
from bureau.auth.keys import issue_key
from bureau.config import Settings
from bureau.engine.artifacts import LocalArtifactStore
from bureau.engine.reaper import Reaper
from bureau.engine.runner import Runner
from bureau.engine.worker import Worker, WorkerOptions
from bureau.interop._a2a_parts import push_body
from bureau.llm.registry import ModelRegistry
from bureau.notify.base import Notifier
from bureau.notify.local import LocalNotifier
from bureau.notify.redis import RedisNotifier
from bureau.remote.registry import RemoteAgents
from bureau.sdk.decorator import AgentDefinition
from bureau.service import Service
from bureau.store.limits import LimitBook
from bureau.store.sealing import Sealer, local_key
from bureau.store.store import Store
from bureau.webhooks.sender import WebhookSender

log = logging.getLogger("bureau")


def _is_demo(definition: AgentDefinition) -> bool:
    """One of the demo agents Bureau ships (`bureau.agents`)."""
    return definition.fn.__module__.startswith("bureau.agents")


@dataclass(frozen=True)
class Roles:
    """What this process does. `serve` is everything and migrates the schema itself."""

    api: bool = True
    worker: bool = True
    migrate: bool = True


class Node:
    def __init__(
        self,
        settings: Settings,
        agents: list[AgentDefinition],
        roles: Roles = Roles(),
    ) -> None:
        self.settings = settings
        self.remote_settings = settings.remote
        self.agents = agents
        self.roles = roles
        self.notifier: Notifier = (
            RedisNotifier(settings.redis_url) if settings.redis_url else LocalNotifier()
        )
        keys = [k.get_secret_value() for k in settings.secret_keys]
        sealer = Sealer(keys or [local_key(settings.data_dir)])
        self.store = Store(settings.database_url, settings.sqlite_path, self.notifier, sealer)
        self.artifact_store = LocalArtifactStore(
            settings.artifacts_dir, settings.max_artifact_bytes
        )
        self.limits = LimitBook(self.store.catalog, settings.tenant_limits())
        self.service = Service(
            self.store,
            self.artifact_store,
            max_deadline_seconds=settings.max_deadline_seconds,
            long_poll_max_seconds=settings.long_poll_max_seconds,
            heartbeat_seconds=settings.sse_heartbeat_seconds,
            webhook_allowed_networks=settings.webhook_allowed_networks,
            limits=self.limits,
            redis_url=settings.redis_url,
            models=list(settings.llm.models),
        )
        self.worker: Worker | None = None
        self.remote_agents: RemoteAgents | None = None
        self.reaper: Reaper | None = None
        self.webhooks: WebhookSender | None = None
        self.admin_key_created: str | None = None
        self._prepared = False

    async def prepare(self) -> None:
        """Schema, default tenant and admin key, catalog. Raises `BureauError` with a message
        for the operator (wrong schema version, an agent version published differently)."""
        if self._prepared:
            return
        if self.roles.migrate:
            self.store.migrate()
        else:
            self.store.check_schema()
        self.store.catalog.reseal_secrets()  # after a key rotation, or from plain text
        preset = self.settings.bootstrap_admin_key
        key = issue_key(preset.get_secret_value() if preset else None)
        catalog = self.store.catalog
        if catalog.ensure_default_tenant(key_id=key.key_id, secret_hash=key.secret_hash):
            self._write_admin_key(key.plaintext)
            self.admin_key_created = None if preset else key.plaintext
        default = catalog.default_tenant_id()
        demo = [d.catalog_entry() for d in self.agents if _is_demo(d)]
        own = [d.catalog_entry() for d in self.agents if not _is_demo(d)]
        if demo:
            await self.service.catalog.publish_builtin(demo, default)
        if own:
            await self.service.catalog.publish(await self._publisher(default), own)
        self._prepared = True

    async def _publisher(self, default: str) -> Caller:
        """Who publishes this process's own agents: the owner of `BUREAU_PUBLISHER_KEY`
        (needs `agents:publish`), else `BUREAU_PUBLISH_TENANT`, else the default tenant;
        the last two as this node, which holds the database's credentials."""
        key = self.settings.publisher_key
        if key is not None:
            return await self.service.auth.bearer(f"Bearer {key.get_secret_value()}")
        tenant_id = self.settings.publish_tenant or default
        await self.store.catalog.tenant(tenant_id)  # NotFound names a wrong one
        return Caller(tenant_id=tenant_id, key_id="node", role=Role.ADMIN)

    async def start(self) -> None:
        """Prepare, then start the background services of this node's roles."""
        await self.prepare()
        await self.notifier.start()
        gc.freeze()  # long-lived startup objects leave the collector's scans
        if self.roles.worker:
            runner = Runner(
                self.store,
                {(d.name, d.version): d for d in self.agents},
                self.artifact_store,
                session_ttl=self.settings.session_ttl_seconds,
                limits=self.limits,
                allowed_networks=self.settings.webhook_allowed_networks,
                models=ModelRegistry(self.settings.llm),
            )
            self.worker = Worker(
                self.store,
                runner,
                [(d.name, d.version) for d in self.agents],
                WorkerOptions(
                    concurrency=self.settings.worker_concurrency,
                    lease_seconds=self.settings.lease_seconds,
                    poll_interval=self.settings.poll_interval,
                ),
                self.limits,
            )
            if self.remote_settings.agents:
                await self._start_remote_agents(self.worker)
            await self.worker.start()
            self.reaper = Reaper(
                self.store,
                interval=self.settings.reaper_interval,
                auto_accept_seconds=self.settings.auto_accept_seconds,
            )
            self.reaper.start()
            self.webhooks = WebhookSender(
                self.store,
                timeout=self.settings.webhook_timeout_seconds,
                max_attempts=self.settings.webhook_max_attempts,
                poll_interval=self.settings.poll_interval,
                allowed_networks=self.settings.webhook_allowed_networks,
                formats={"a2a": push_body},
            )
            self.webhooks.start()

    async def _start_remote_agents(self, worker: Worker) -> None:
        """Run the catalog's remote A2A agents in this worker, and those published later."""
        remote = RemoteAgents(
            self.store,
            self.remote_settings,
            self.settings.webhook_allowed_networks,
            cancel_requested=worker.cancel_requested.__contains__,
        )
        worker.add_agents(await remote.load())
        remote.start(worker.add_agents)
        self.remote_agents = remote

    def drain(self) -> None:
        """Shutdown begins: open event streams end now (clients resume elsewhere)."""
        self.service.events.drain()

    def _write_admin_key(self, key: str) -> None:
        path = self.settings.admin_key_path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        os.chmod(path, 0o600)

    async def stop(self) -> None:
        if self.remote_agents is not None:
            await self.remote_agents.stop()
        if self.worker is not None:
            await self.worker.stop(self.settings.shutdown_grace_seconds)
        if self.reaper is not None:
            await self.reaper.stop()
        if self.webhooks is not None:
            await self.webhooks.stop()
        await self.notifier.close()
        await self.store.close()
