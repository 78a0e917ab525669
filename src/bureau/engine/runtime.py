"""`TaskRuntime`: the engine's implementation of the SDK `Runtime` for one claimed run.

Every write goes through `store.queue` fenced by the lease token of the claim.
Announcements that need not be durable before work continues (`step.started`) are written
in the background, but each later write waits for them, so the log keeps call order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn
from urllib.parse import urlsplit

import orjson

from bureau.engine.admission import new_task
from bureau.engine.artifacts import LocalArtifactStore
from bureau.errors import InvalidRequest, NotFound, PayloadTooLarge, UsageError
from bureau.llm.registry import ModelRegistry
from bureau.llm.usage import ModelUsage
from bureau.sdk.execution import ParkGate
from bureau.sdk.runtime import JournalEntry
from bureau.sdk.signals import Fatal
from bureau.states import EventType
from bureau.store.codec import now
from bureau.store.ids import new_id
from bureau.store.records import ArtifactRecord, JournalRecord, TaskRecord
from bureau.store.store import Store
from bureau.store.views import artifact_view
from bureau.webhooks.destinations import (
    Network,
    RefusedDestination,
    refusal_of_url,
    resolve_public,
)

PREVIEW_BYTES = 2048
ANNOUNCE_AFTER = 0.05  # seconds a step runs before its start is written on its own
NewEvents = list[tuple[str, Any]]


class TaskRuntime:
    def __init__(
        self,
        store: Store,
        task: TaskRecord,
        entries: list[JournalRecord],
        artifact_store: LocalArtifactStore,
        artifact_limit: int = 0,
        allowed_networks: Sequence[Network] = (),
        models: ModelRegistry | None = None,
    ) -> None:
        """`entries` is the journal of the run's revision as loaded when it was claimed;
        `artifact_limit` the task's tenant's limit on an artifact's size (0: the store's)."""
        self.queue = store.queue
        self.catalog = store.catalog
        self.secrets = store.secrets
        self.allowed_networks = list(allowed_networks)
        self.models = models
        self.model_usage = ModelUsage()
        self.task = task
        self.token: int = task.lease_token
        self.gate = ParkGate()
        self.artifacts = artifact_store
        self.artifact_limit = artifact_limit
        self._journal = {
            e.position: JournalEntry(e.position, e.kind, e.name, e.status, e.result)
            for e in entries
        }
        self.compute_seconds = sum(e.seconds or 0.0 for e in entries if e.kind == "step")
        self.steps = sum(1 for e in entries if e.kind == "step" and e.status == "completed")
        self._background: asyncio.Future[Any] | None = None
        self._announcements: dict[int, tuple[asyncio.TimerHandle, tuple[str, Any]]] = {}
        self.delegated = any(e.kind == "delegate" for e in entries)

    @property
    def journal(self) -> Mapping[int, JournalEntry]:
        return self._journal

    async def _after_background(self) -> None:
        if self._background is not None:
            pending, self._background = self._background, None
            await pending

    async def _before_write(self) -> NewEvents:
        """Wait for background writes; returns the step announcements to write along."""
        await self._after_background()
        return self._take_announcements()

    def _remember(self, position: int, kind: str, name: str, status: str, result: Any) -> None:
        self._journal[position] = JournalEntry(position, kind, name, status, result)

    async def step_started(self, position: int, name: str, *, durable: bool) -> None:
        event = (EventType.STEP_STARTED, {"name": name, "position": position})
        if durable:
            await self.queue.journal_step(
                self.task,
                self.token,
                position=position,
                name=name,
                status="started",
                result=None,
                seconds=None,
                events=[*await self._before_write(), event],
                replace=position in self._journal,
            )
            self._remember(position, "step", name, "started", None)
            return
        # Announced with the step's own completion when it is quick (one write instead of
        # two); a step still running after ANNOUNCE_AFTER is announced on its own.
        handle = asyncio.get_running_loop().call_later(ANNOUNCE_AFTER, self._announce_now, position)
        self._announcements[position] = (handle, event)

    def _announce_now(self, position: int) -> None:
        _, event = self._announcements.pop(position)
        previous = self._background

        async def announce() -> None:
            if previous is not None:
                await previous
            await self.queue.append_events(self.task.id, self.token, [event])

        self._background = asyncio.ensure_future(announce())

    def _take_announcements(self) -> NewEvents:
        taken = []
        for handle, event in self._announcements.values():
            handle.cancel()
            taken.append(event)
        self._announcements.clear()
        return taken

    async def flush(self) -> None:
        """Write pending announcements and wait for background writes."""
        pending = await self._before_write()
        if pending:
            await self.queue.append_events(self.task.id, self.token, pending)

    async def step_completed(
        self, position: int, name: str, result: Any, *, seconds: float, preview: bool = True
    ) -> None:
        try:
            encoded = orjson.dumps(result)
        except TypeError as exc:
            raise Fatal(
                f"step {name!r} returned a value that is not JSON-serialisable: {exc}"
            ) from exc
        data: dict[str, Any] = {"name": name, "position": position, "seconds": round(seconds, 6)}
        if preview and len(encoded) <= PREVIEW_BYTES:
            data["result"] = result
        self.compute_seconds += seconds
        self.steps += 1
        await self.queue.journal_step(
            self.task,
            self.token,
            position=position,
            name=name,
            status="completed",
            result=result,
            seconds=seconds,
            events=[*await self._before_write(), (EventType.STEP_COMPLETED, data)],
            replace=position in self._journal,
        )
        self._remember(position, "step", name, "completed", result)

    async def step_failed(self, position: int, name: str, error: str) -> None:
        failed = (EventType.STEP_FAILED, {"name": name, "position": position, "error": error})
        await self.queue.append_events(
            self.task.id, self.token, [*await self._before_write(), failed]
        )

    async def record(self, position: int, kind: str, name: str, value: Any) -> None:
        await self.queue.journal_record(
            self.task,
            self.token,
            position=position,
            kind=kind,
            value=value,
            events=[*await self._before_write(), (kind, value)],
            replace=position in self._journal,
        )
        self._remember(position, kind, name, "completed", value)

    async def ask(self, position: int, text: str, schema: dict[str, Any] | None) -> str:
        question = {"id": new_id("q_"), "text": text, "schema": schema}
        await self.queue.journal_question(
            self.task,
            self.token,
            position=position,
            question=question,
            events=await self._before_write(),
            replace=position in self._journal,
        )
        self._remember(position, "ask", "ask", "pending", {"question_id": question["id"]})
        return str(question["id"])

    async def delegate(
        self, position: int, agent: str, goal: str, input: dict[str, Any], profile: str | None
    ) -> str:
        parent = self.task
        try:
            version = await self.catalog.resolve_version(parent.tenant_id, agent)
            child = new_task(
                version,
                tenant_id=parent.tenant_id,
                goal=goal,
                input=input,
                profile=profile or _inherited(parent.profile, version.spec["profiles"]),
                deadline_seconds=max(1.0, parent.deadline_at - now()),
                metadata={"parent_id": parent.id},
                parent_id=parent.id,
                parent_position=position,
            )
        except (UsageError, InvalidRequest, NotFound) as exc:
            raise Fatal(f"cannot delegate to {agent!r}: {exc}") from exc
        child_id = await self.queue.delegate(
            parent, self.token, position=position, child=child, events=await self._before_write()
        )
        self._remember(position, "delegate", agent, "pending", {"task_id": child_id})
        self.delegated = True
        return child_id

    async def artifact(
        self, position: int, name: str, content: bytes, media_type: str
    ) -> dict[str, Any]:
        task = self.task
        if self.artifact_limit and len(content) > self.artifact_limit:
            raise Fatal(
                f"artifact {name!r} is {len(content)} bytes; this tenant's limit is "
                f"{self.artifact_limit} (payload too large)"
            )
        try:
            digest = await asyncio.to_thread(
                self.artifacts.save, task.tenant_id, task.id, name, content
            )
        except PayloadTooLarge as exc:
            raise Fatal(exc.detail) from exc
        record = ArtifactRecord(
            task_id=task.id,
            name=name,
            media_type=media_type,
            size=len(content),
            sha256=digest,
            revision=task.revision,
            created_at=now(),
        )
        described = dict(artifact_view(record))
        await self.queue.add_artifact(
            task,
            self.token,
            position=position,
            artifact=record,
            described=described,
            events=await self._before_write(),
        )
        self._remember(position, "artifact", name, "completed", described)
        return described

    async def mcp_secrets(self, names: Sequence[str]) -> dict[str, str]:
        """The secrets of the tenant that published the running agent version (never the
        consumer's), of those names it has. Values are never logged."""
        ref = f"{self.task.agent}@{self.task.agent_version}"
        try:
            version = await self.catalog.resolve_version(self.task.tenant_id, ref)
        except NotFound as exc:
            raise Fatal(f"cannot find the publisher of {ref} for its secrets: {exc}") from exc
        return await self.secrets.values(version.tenant_id, names)

    async def mcp_refusal(self, url: str) -> str | None:
        """Why an MCP server URL is refused (the webhook rules: public addresses only,
        unless the operator allows a network), checked on the text and the resolved
        addresses."""
        allowed = self.allowed_networks
        refused = refusal_of_url(url, allowed)
        if refused is not None:
            return refused
        parts = urlsplit(url)
        try:
            await resolve_public(
                parts.hostname or "",
                parts.port or (443 if parts.scheme == "https" else 80),
                allowed,
            )
        except RefusedDestination as exc:
            return str(exc)
        return None

    async def park(self, reason: str) -> NoReturn:
        await self._after_background()
        await self.gate.park(reason)

    def meter(self, attempts: list[dict[str, Any]]) -> None:
        """Count a model call's attempts (when it runs and when it is replayed)."""
        self.model_usage.meter(attempts)

    def usage(self) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "steps": self.steps,
            "compute_seconds": round(self.compute_seconds, 6),
        }
        if self.model_usage.attempts:
            usage["llm"] = self.model_usage.summary()
        return usage


def _inherited(profile: str, offered: list[str]) -> str | None:
    """A child runs in its parent's profile when it offers it, else in its default."""
    return profile if profile in offered else None
