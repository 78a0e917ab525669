"""Task operations: dispatch, read, list, reply, cancel, review, artifacts, webhooks."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from bureau.auth.caller import Caller
from bureau.engine.admission import new_task
from bureau.engine.artifacts import LocalArtifactStore
from bureau.engine.validation import check
from bureau.errors import InvalidRequest, PayloadTooLarge, UsageError
from bureau.service.audit import Auditor
from bureau.service.requests import (
    AcceptBody,
    MessageCreate,
    RejectBody,
    TaskCreate,
    WebhookSpec,
)
from bureau.states import TaskStatus
from bureau.store.codec import iso, now
from bureau.store.limits import LimitBook
from bureau.store.records import ArtifactRecord, NewTask, TaskPage, TaskRecord, WebhookDelivery
from bureau.store.store import Store
from bureau.webhooks.destinations import Network, refusal_of_url


@dataclass(frozen=True)
class TaskDetail:
    """A task with its artifacts; `created` is False for an idempotent replay."""

    task: TaskRecord
    artifacts: list[ArtifactRecord] = field(default_factory=list)
    created: bool = True


def request_hash(body: dict[str, Any]) -> str:
    """The request's fingerprint for `Idempotency-Key`. It always encodes: the request
    models' `JsonBounds` refuse what orjson cannot write (deep nesting, 65-bit integers)."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


class TaskService:
    def __init__(
        self,
        store: Store,
        artifacts: LocalArtifactStore,
        limits: LimitBook,
        *,
        max_deadline_seconds: float,
        webhook_allowed_networks: Sequence[Network] = (),
    ) -> None:
        self._limits = limits
        self._sealer = store.sealer
        self._tasks = store.tasks
        self._catalog = store.catalog
        self._outbox = store.outbox
        self._audit = Auditor(store.audit)
        self._artifacts = artifacts
        self.max_deadline_seconds = max_deadline_seconds
        self.webhook_allowed_networks = list(webhook_allowed_networks)

    async def dispatch(
        self, caller: Caller, request: TaskCreate, *, idempotency_key: str | None = None
    ) -> TaskDetail:
        """Validate `request` against the agent version it names and store the task; it is
        committed before this returns (the 202 of REST). The same `idempotency_key` with
        the same request returns the first task (`created=False`); with another request
        raises `IdempotencyConflict`. Raises `NotFound` (agent), `InvalidRequest` (input,
        profile, deadline, an empty key, a refused webhook URL), `SessionBusy`, `Forbidden`."""
        async with self._audit.record(caller, "tasks.dispatch") as entry:
            new = await self._admit(caller, request, idempotency_key)
            body = request.model_dump(mode="json", exclude_none=True)
            entry.target_of = lambda created: str(created[0].id)
            task, created = await self._tasks.create(new, idempotency_key, request_hash(body))
            if created:
                return TaskDetail(task)
            replayed = await self._detail(caller, task.id)
            return TaskDetail(replayed.task, replayed.artifacts, created=False)

    async def _admit(
        self, caller: Caller, request: TaskCreate, idempotency_key: str | None
    ) -> NewTask:
        """The task `request` makes, checked against the service's rules and the agent."""
        if idempotency_key is not None and not idempotency_key.strip():
            raise InvalidRequest(
                "Idempotency-Key is empty: send a unique key per request, or no header",
                field="Idempotency-Key",
            )
        if request.deadline_seconds and request.deadline_seconds > self.max_deadline_seconds:
            raise InvalidRequest(
                f"deadline_seconds {request.deadline_seconds:g} exceeds the maximum of "
                f"{self.max_deadline_seconds:g}",
                field="deadline_seconds",
            )
        limits = await self._limits.of(caller.tenant_id)
        if limits.input_bytes and request.input:
            size = len(orjson.dumps(request.input))
            if size > limits.input_bytes:
                raise PayloadTooLarge(
                    f"input is {size} bytes as JSON; this tenant's limit is "
                    f"{limits.input_bytes}: send less, or large data as a URL",
                    field="input",
                    limit=limits.input_bytes,
                )
        version = await self._catalog.resolve_version(caller.tenant_id, request.agent)
        new = new_task(
            version,
            tenant_id=caller.tenant_id,
            goal=request.goal,
            input=request.input or {},
            profile=request.profile,
            deadline_seconds=request.deadline_seconds,
            session_id=request.session_id,
            on_busy=request.on_busy,
            metadata=request.metadata,
        )
        url, options = self._webhook(request.webhook)
        return replace(
            new,
            webhook_url=url,
            webhook_options=options,
            weight=limits.weight,
            max_queued=limits.queued_tasks,
            max_parked=limits.parked_tasks,
        )

    def _webhook(self, spec: WebhookSpec | None) -> tuple[str | None, str | None]:
        """The webhook's URL, checked (`InvalidRequest` unless webhooks may go there), and
        its options sealed (None when it has only a URL)."""
        if spec is None:
            return None, None
        url = str(spec.url)
        refused = refusal_of_url(url, self.webhook_allowed_networks)
        if refused is not None:
            raise InvalidRequest(
                f"webhook refused: {refused}; webhooks go to public addresses only "
                "(an operator may allow a network: BUREAU_WEBHOOK_ALLOWED_NETWORKS)",
                field="webhook.url",
            )
        if not spec.headers and spec.format == "bureau":
            return url, None
        if self._sealer is None:
            raise UsageError("this service was started without secret keys")
        options = {"format": spec.format, "headers": spec.headers or {}}
        return url, self._sealer.seal(orjson.dumps(options).decode())

    async def get(self, caller: Caller, task_id: str) -> TaskDetail:
        """The task and its artifacts; raises `NotFound` (also for another tenant's task)."""
        caller.require("tasks.get")
        return await self._detail(caller, task_id)

    async def _detail(self, caller: Caller, task_id: str) -> TaskDetail:
        """What a write operation answers: the task as it is now (its scope was checked)."""
        task, artifacts = await self._tasks.get_with_artifacts(caller.tenant_id, task_id)
        return TaskDetail(task, artifacts)

    async def page(
        self,
        caller: Caller,
        *,
        status: TaskStatus | None = None,
        agent: str | None = None,
        dead_letter: bool = False,
        limit: int = 50,
        cursor: str | None = None,
    ) -> TaskPage:
        """The caller's tenant's tasks, newest first (`dead_letter`: only those that failed
        after exhausting their attempts)."""
        caller.require("tasks.list")
        return await self._tasks.page(
            caller.tenant_id,
            status=status,
            agent=agent,
            dead_letter=dead_letter,
            limit=limit,
            cursor=cursor,
        )

    async def message(self, caller: Caller, task_id: str, message: MessageCreate) -> TaskDetail:
        """Answer the open question (compare-and-set on `question_id`: of concurrent replies
        one wins, the others get `QuestionAlreadyAnswered`) or add context to a running
        task. A reply to a question with a schema must fit it (`data`, or `text`)."""
        async with self._audit.record(caller, "tasks.message", task_id):
            if message.text is None and message.data is None:
                raise InvalidRequest("send `text` or `data`")
            data = message.data
            task = await self._tasks.get(caller.tenant_id, task_id)
            answering = task.status == TaskStatus.INPUT_REQUIRED and (
                message.question_id is None or message.question_id == task.question_id
            )
            schema = (task.question or {}).get("schema") if answering else None
            if schema is not None:
                data = data if data is not None else message.text
                check(schema, data, "the reply")
            await self._tasks.add_message(
                caller.tenant_id,
                task_id,
                text=message.text,
                data=data,
                question_id=message.question_id,
            )
        return await self._detail(caller, task_id)

    async def cancel(self, caller: Caller, task_id: str) -> TaskDetail:
        """Cancel the task and its unfinished children, durably; a running one is stopped.
        Raises `InvalidState` when it already finished."""
        async with self._audit.record(caller, "tasks.cancel", task_id):
            reason = f"canceled by key {caller.key_id}"
            await self._tasks.cancel(caller.tenant_id, task_id, reason)
        return await self._detail(caller, task_id)

    async def set_webhook(
        self, caller: Caller, task_id: str, webhook: WebhookSpec | None
    ) -> TaskDetail:
        """Send the task's later events to `webhook` (checked like a dispatch's), or to no
        webhook (None): what A2A's push-notification configs map onto after dispatch.
        Raises `NotFound`, `InvalidRequest` (a refused URL), `Forbidden`."""
        async with self._audit.record(caller, "tasks.webhook", task_id):
            url, options = self._webhook(webhook)
            await self._tasks.set_webhook(caller.tenant_id, task_id, url, options)
        return await self._detail(caller, task_id)

    async def accept(self, caller: Caller, task_id: str, body: AcceptBody) -> TaskDetail:
        """Accept a completed deliverable (its cost is captured)."""
        review = {**body.model_dump(), "at": iso(now())}
        async with self._audit.record(caller, "tasks.review", task_id):
            await self._tasks.review(
                caller.tenant_id, task_id, accept=True, review=review, redo=False
            )
        return await self._detail(caller, task_id)

    async def reject(self, caller: Caller, task_id: str, body: RejectBody) -> TaskDetail:
        """Reject a completed deliverable (its hold is released); `redo` runs the task again
        with the reason as feedback."""
        review = {"reason": body.reason, "redo": body.redo, "at": iso(now())}
        async with self._audit.record(caller, "tasks.review", task_id):
            await self._tasks.review(
                caller.tenant_id, task_id, accept=False, review=review, redo=body.redo
            )
        return await self._detail(caller, task_id)

    async def artifact(
        self, caller: Caller, task_id: str, name: str
    ) -> tuple[ArtifactRecord, Path]:
        """An artifact's description and where its bytes are; raises `NotFound`."""
        caller.require("tasks.artifact")
        record = await self._tasks.artifact(caller.tenant_id, task_id, name)
        return record, self._artifacts.path(caller.tenant_id, task_id, name)

    async def webhook_deliveries(self, caller: Caller, task_id: str) -> list[WebhookDelivery]:
        """Every webhook delivery for the task, with each attempt's outcome."""
        caller.require("tasks.webhooks")
        return await self._outbox.deliveries(caller.tenant_id, task_id)

    async def webhook_secret(self, caller: Caller) -> str:
        """The tenant's Standard Webhooks signing secret (admins only)."""
        caller.require("webhooks.secret")
        return await self._outbox.signing_secret(caller.tenant_id)
