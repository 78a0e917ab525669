"""`TaskRuntime`: the engine's implementation of the SDK `Runtime` for one claimed run.

Every write is fenced by the lease token of the claim. Announcements that need not be
durable before work continues (`step.started`) are written in the background, but each
later write waits for them, so the log keeps call order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, NoReturn

import orjson
from sqlalchemy import Connection, Row, insert, update

from bureau.engine.artifacts import LocalArtifactStore
from bureau.engine.validation import check_task_input
from bureau.errors import InvalidRequest, NotFound, PayloadTooLarge, UsageError
from bureau.sdk.execution import ParkGate
from bureau.sdk.runtime import JournalEntry
from bureau.sdk.signals import Fatal
from bureau.store.codec import dumps, loads, now
from bureau.store.ids import new_id
from bureau.store.sql import catalog, queue
from bureau.store.sql import tasks as task_ops
from bureau.store.sql.common import Changes, status_event
from bureau.store.sql.schema import artifacts
from bureau.store.store import Store
from bureau.store.views import artifact_public

PREVIEW_BYTES = 2048
ANNOUNCE_AFTER = 0.05  # seconds a step runs before its start is written on its own


class TaskRuntime:
    def __init__(
        self,
        store: Store,
        row: Row[Any],
        entries: list[Row[Any]],
        artifact_store: LocalArtifactStore,
    ) -> None:
        """`entries` is the journal of the run's revision as loaded when it was claimed."""
        self.store = store
        self.row = row
        self.token: int = row.lease_token
        self.gate = ParkGate()
        self.artifacts = artifact_store
        self._journal = {
            e.position: JournalEntry(e.position, e.kind, e.name, e.status, loads(e.result))
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

    async def _entry(
        self,
        position: int,
        kind: str,
        name: str,
        entry_status: str,
        result: Any,
        events: list[tuple[str, Any]],
        seconds: float | None = None,
        **values: Any,
    ) -> None:
        await self._after_background()
        task_id, token = self.row.id, self.token
        replace = position in self._journal
        events = self._take_announcements() + events
        await self.store.write(
            lambda conn, ch: queue.journal_entry(
                conn,
                ch,
                task_id,
                token,
                position=position,
                kind=kind,
                name=name,
                entry_status=entry_status,
                result=result,
                new_events=events,
                seconds=seconds,
                replace=replace,
                **values,
            )
        )
        self._journal[position] = JournalEntry(position, kind, name, entry_status, result)

    def _idle(self) -> dict[str, float]:
        return {"idle_deadline_at": now() + self.row.idle_timeout}

    async def step_started(self, position: int, name: str, *, durable: bool) -> None:
        event = ("step.started", {"name": name, "position": position})
        if durable:
            await self._entry(position, "step", name, "started", None, [event])
            return
        # Announced with the step's own completion when it is quick (one write instead of
        # two); a step still running after ANNOUNCE_AFTER is announced on its own.
        handle = asyncio.get_running_loop().call_later(ANNOUNCE_AFTER, self._announce_now, position)
        self._announcements[position] = (handle, event)

    def _announce_now(self, position: int) -> None:
        _, event = self._announcements.pop(position)
        previous = self._background
        task_id, token = self.row.id, self.token

        async def announce() -> None:
            if previous is not None:
                await previous
            await self.store.write(
                lambda conn, ch: queue.add_events(conn, ch, task_id, token, [event])
            )

        self._background = asyncio.ensure_future(announce())

    def _take_announcements(self) -> list[tuple[str, Any]]:
        taken = []
        for handle, event in self._announcements.values():
            handle.cancel()
            taken.append(event)
        self._announcements.clear()
        return taken

    async def flush(self) -> None:
        """Write pending announcements and wait for background writes."""
        pending = self._take_announcements()
        await self._after_background()
        if pending:
            task_id, token = self.row.id, self.token
            await self.store.write(
                lambda conn, ch: queue.add_events(conn, ch, task_id, token, pending)
            )

    async def step_completed(
        self, position: int, name: str, result: Any, *, seconds: float
    ) -> None:
        try:
            encoded = orjson.dumps(result)
        except TypeError as exc:
            raise Fatal(
                f"step {name!r} returned a value that is not JSON-serialisable: {exc}"
            ) from exc
        data: dict[str, Any] = {"name": name, "position": position, "seconds": round(seconds, 6)}
        if len(encoded) <= PREVIEW_BYTES:
            data["result"] = result
        self.compute_seconds += seconds
        self.steps += 1
        await self._entry(
            position,
            "step",
            name,
            "completed",
            result,
            [("step.completed", data)],
            seconds,
            **self._idle(),
        )

    async def step_failed(self, position: int, name: str, error: str) -> None:
        await self._after_background()
        task_id, token = self.row.id, self.token
        events = [
            *self._take_announcements(),
            ("step.failed", {"name": name, "position": position, "error": error}),
        ]
        await self.store.write(lambda conn, ch: queue.add_events(conn, ch, task_id, token, events))

    async def record(self, position: int, kind: str, name: str, value: Any) -> None:
        await self._entry(
            position,
            kind,
            name,
            "completed",
            value,
            [(kind, value)],
            None,
            **{kind: dumps(value), **self._idle()},
        )

    async def ask(self, position: int, text: str, schema: dict[str, Any] | None) -> str:
        question = {"id": new_id("q_"), "text": text, "schema": schema}
        await self._entry(
            position,
            "ask",
            "ask",
            "pending",
            {"question_id": question["id"]},
            [status_event("input-required"), ("question", question)],
            status="input-required",
            question=dumps(question),
            question_id=question["id"],
            question_position=position,
        )
        return str(question["id"])

    async def delegate(
        self, position: int, agent: str, goal: str, input: dict[str, Any], profile: str | None
    ) -> str:
        await self._after_background()
        parent, token = self.row, self.token
        announced = self._take_announcements()

        def op(conn: Connection, changes: Changes) -> str:
            version = catalog.resolve_version(conn, parent.tenant_id, agent)
            spec = loads(version.spec)
            check_task_input(spec, input)
            child, _ = task_ops.create_task(
                conn,
                changes,
                task_ops.NewTask(
                    tenant_id=parent.tenant_id,
                    agent=version.name,
                    agent_version=version.version,
                    goal=goal,
                    input=input,
                    profile=profile or parent.profile,
                    price=spec["price"],
                    max_attempts=spec["max_attempts"],
                    idle_timeout=spec["idle_timeout_seconds"],
                    deadline_seconds=max(1.0, parent.deadline_at - now()),
                    metadata={"parent_id": parent.id},
                    parent_id=parent.id,
                    parent_position=position,
                ),
            )
            queue.journal_entry(
                conn,
                changes,
                parent.id,
                token,
                position=position,
                kind="delegate",
                name=agent,
                entry_status="pending",
                result={"task_id": child.id},
                new_events=[
                    *announced,
                    (
                        "delegated",
                        {
                            "task_id": child.id,
                            "agent": f"{version.name}@{version.version}",
                            "goal": goal,
                        },
                    ),
                ],
            )
            return str(child.id)

        try:
            child_id = await self.store.write(op)
        except (UsageError, InvalidRequest, NotFound) as exc:
            raise Fatal(f"cannot delegate to {agent!r}: {exc}") from exc
        self._journal[position] = JournalEntry(
            position, "delegate", agent, "pending", {"task_id": child_id}
        )
        self.delegated = True
        return child_id

    async def artifact(
        self, position: int, name: str, content: bytes, media_type: str
    ) -> dict[str, Any]:
        row = self.row
        try:
            digest = await asyncio.to_thread(
                self.artifacts.save, row.tenant_id, row.id, name, content
            )
        except PayloadTooLarge as exc:
            raise Fatal(exc.detail) from exc
        at = now()
        record = {
            "name": name,
            "media_type": media_type,
            "size": len(content),
            "sha256": digest,
            "created_at": at,
        }
        described = artifact_public(row.id, record)
        await self._after_background()
        token = self.token
        announced = self._take_announcements()

        def op(conn: Connection, changes: Changes) -> None:
            queue.journal_entry(
                conn,
                changes,
                row.id,
                token,
                position=position,
                kind="artifact",
                name=name,
                entry_status="completed",
                result=described,
                new_events=[*announced, ("artifact", described)],
                idle_deadline_at=now() + row.idle_timeout,
            )
            updated = conn.execute(
                update(artifacts)
                .where(artifacts.c.task_id == row.id, artifacts.c.name == name)
                .values(
                    media_type=media_type,
                    size=len(content),
                    sha256=digest,
                    revision=row.revision,
                    created_at=at,
                )
            )
            if updated.rowcount == 0:
                conn.execute(
                    insert(artifacts).values(
                        task_id=row.id, tenant_id=row.tenant_id, revision=row.revision, **record
                    )
                )

        await self.store.write(op)
        self._journal[position] = JournalEntry(position, "artifact", name, "completed", described)
        return described

    async def park(self, reason: str) -> NoReturn:
        await self._after_background()
        await self.gate.park(reason)

    def usage(self) -> dict[str, Any]:
        return {"steps": self.steps, "compute_seconds": round(self.compute_seconds, 6)}
