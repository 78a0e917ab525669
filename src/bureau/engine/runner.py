"""Executing one claimed task: build its Context, drive the agent, settle the outcome.

The outcome decides the task's next state in one fenced transaction: completed (with
deliverable, usage and session state), parked (waiting for a reply or a child), retried
later with backoff, or failed (into the dead-letter list once attempts are exhausted).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from bureau.engine.artifacts import LocalArtifactStore
from bureau.engine.backoff import retry_delay
from bureau.engine.runtime import TaskRuntime
from bureau.errors import LeaseLost
from bureau.llm.registry import ModelRegistry
from bureau.sdk.context import Context
from bureau.sdk.decorator import AgentDefinition
from bureau.sdk.execution import Outcome, drive
from bureau.sdk.signals import Decline, Fatal, Retry
from bureau.store.limits import LimitBook
from bureau.store.records import ClaimedTask, TaskRecord
from bureau.store.store import Store
from bureau.webhooks.destinations import Network

log = logging.getLogger("bureau.runner")

MAX_TRACE = 16_000
AgentRegistry = Mapping[tuple[str, str], AgentDefinition]


class Runner:
    def __init__(
        self,
        store: Store,
        agents: AgentRegistry,
        artifact_store: LocalArtifactStore,
        *,
        session_ttl: float = 86400.0,
        limits: LimitBook | None = None,
        allowed_networks: Sequence[Network] = (),
        models: ModelRegistry | None = None,
    ) -> None:
        """`allowed_networks`: private networks agents' outbound connections (their MCP
        servers) may reach anyway (the operator's `webhook_allowed_networks`); `models`
        the models `ctx.llm` may call."""
        self.store = store
        self.models = models
        self.limits = limits
        self.allowed_networks = list(allowed_networks)
        self.queue = store.queue
        self.agents = dict(agents)
        self.artifact_store = artifact_store
        self.session_ttl = session_ttl

    def add(self, definition: AgentDefinition) -> None:
        """Run `definition`'s tasks too (an agent found after start: a remote one)."""
        self.agents[(definition.name, definition.version)] = definition

    async def run(self, claimed: ClaimedTask, settling: Callable[[], None] = lambda: None) -> None:
        """Run the claimed task (held under `claimed.task.lease_token`) until it settles or
        parks.

        Cancellation of the calling coroutine (a cancel signal, lost lease, shutdown)
        cancels the agent and settles nothing: whoever took the lease owns the task now.
        `settling` is called once the agent is done and its outcome is being written.
        """
        task = claimed.task
        definition = self.agents[(task.agent, task.agent_version)]
        limits = await self.limits.of(task.tenant_id) if self.limits else None
        runtime = TaskRuntime(
            self.store,
            task,
            claimed.journal,
            self.artifact_store,
            limits.artifact_bytes if limits else 0,
            self.allowed_networks,
            self.models,
        )
        try:
            ctx = Context(
                runtime,
                definition,
                task_id=task.id,
                goal=task.goal,
                input=task.input,
                session=claimed.session,
                feedback=task.feedback,
                profile=task.profile,
                attempt=task.attempt,
                metadata=task.metadata,
            )
        except Exception as exc:  # the input does not fit the agent's pydantic model
            outcome = Outcome(error=Decline(f"input refused by the agent's model: {exc}"))
        else:
            outcome = await drive(definition.fn, ctx, runtime.gate)
        settling()
        try:
            await self._settle(task, definition, runtime, outcome, claimed.session)
        except LeaseLost:
            log.info("task %s: lease lost before settling; another owner has it", task.id)

    async def _settle(
        self,
        task: TaskRecord,
        definition: AgentDefinition,
        runtime: TaskRuntime,
        outcome: Outcome,
        session_state: dict[str, Any],
    ) -> None:
        await runtime.flush()
        token = runtime.token
        if outcome.completed:
            try:
                deliverable = orjson.loads(orjson.dumps(outcome.value))
            except TypeError as exc:
                outcome = Outcome(error=Fatal(f"the deliverable is not JSON-serialisable: {exc}"))
            else:
                await self.queue.complete(
                    task,
                    token,
                    deliverable=deliverable,
                    reply=outcome.reply,
                    usage=runtime.usage(),
                    session_state=session_state if task.session_id is not None else None,
                    session_ttl=self.session_ttl,
                    delegated=runtime.delegated,
                )
                return
        if outcome.parked:
            await self.queue.park(task.id, token)
            return
        error = outcome.error
        assert error is not None
        if isinstance(error, LeaseLost):
            raise error
        described: dict[str, Any] = {
            "code": _code(error),
            "message": str(error) or type(error).__name__,
        }
        if isinstance(error, Decline):
            log.info("task %s: %s declined it: %s", task.id, definition.ref, error)
            await self.queue.decline(task, token, described)
            return
        if _code(error) == "agent_error":
            described["type"] = type(error).__name__  # what the agent's code raised
        trace = _trace(error)
        log.warning(
            "task %s: attempt %d of %s failed: %s: %s\n%s",
            task.id,
            task.attempt,
            definition.ref,
            type(error).__name__,
            described["message"],
            trace.rstrip(),
        )
        if isinstance(error, Fatal):
            await self.queue.fail(task, token, described, dead_letter=False, trace=trace)
            return
        if task.attempt >= task.max_attempts:
            described["attempts"] = task.attempt
            await self.queue.fail(task, token, described, dead_letter=True, trace=trace)
            return
        after = error.after if isinstance(error, Retry) else None
        delay = after if after is not None else retry_delay(definition.retry, task.attempt)
        await self.queue.retry_later(
            task.id, token, delay=delay, error=described, attempt=task.attempt + 1, trace=trace
        )


def _trace(error: BaseException) -> str:
    """The traceback its publisher sees (the last `MAX_TRACE` characters: the agent's own
    frames are last)."""
    return "".join(traceback.format_exception(error))[-MAX_TRACE:]


def _code(error: BaseException) -> str:
    if isinstance(error, Retry):
        return "retry"
    if isinstance(error, Decline):
        return "declined"
    if isinstance(error, Fatal):
        return "fatal"
    return "agent_error"
