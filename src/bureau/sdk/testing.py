"""Run an agent in-process, in a publisher's own tests, with no server and no database.

    from bureau.testing import run_agent

    result = await run_agent(csv_analyst, "Which region grew fastest?",
                             input={...}, replies=["revenue"])
    assert result.status == "completed"

The harness applies the same replay model as the engine: a run that parks on a question
or a child task is replayed from the top once the answer is known, and journaled calls
return their recorded results. Replies are consumed in order (a `str` answers with text, a
`dict` with data). Delegations run the agents given in `delegates` in-process, or return
the canned deliverable given there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

import orjson

from bureau.errors import UsageError
from bureau.sdk.context import Context
from bureau.sdk.decorator import AgentDefinition
from bureau.sdk.execution import ParkGate, drive
from bureau.sdk.runtime import JournalEntry
from bureau.sdk.signals import Decline, Fatal, Retry

Delegate = AgentDefinition | Callable[[str, dict[str, Any]], Any] | dict[str, Any]


@dataclass
class RunResult:
    """What a harnessed run produced."""

    status: str
    deliverable: Any = None
    error: str | None = None
    question: dict[str, Any] | None = None
    events: list[tuple[str, Any]] = field(default_factory=list)
    artifacts: dict[str, bytes] = field(default_factory=dict)
    journal: dict[int, JournalEntry] = field(default_factory=dict)
    executions: int = 0
    session: dict[str, Any] = field(default_factory=dict)
    model_calls: list[dict[str, Any]] = field(default_factory=list)
    """Every model attempt (model, usage, cost, or error), replayed ones included."""

    def event_types(self) -> list[str]:
        return [kind for kind, _ in self.events]


class _MemoryRuntime:
    def __init__(self, result: RunResult, models: Any = None) -> None:
        self.result = result
        self.gate = ParkGate()
        self.models = models

    @property
    def journal(self) -> Mapping[int, JournalEntry]:
        return self.result.journal

    def _put(self, position: int, kind: str, name: str, status: str, value: Any) -> None:
        self.result.journal[position] = JournalEntry(position, kind, name, status, value)

    async def step_started(self, position: int, name: str, *, durable: bool) -> None:
        if durable:
            self._put(position, "step", name, "started", None)
        self.result.events.append(("step.started", {"name": name}))

    async def step_completed(
        self, position: int, name: str, result: Any, *, seconds: float, preview: bool = True
    ) -> None:
        try:
            value = orjson.loads(orjson.dumps(result))
        except TypeError as exc:
            raise UsageError(f"step {name!r} returned a value that is not JSON: {exc}") from exc
        self._put(position, "step", name, "completed", value)
        shown = {"name": name, "result": value} if preview else {"name": name}
        self.result.events.append(("step.completed", shown))

    def meter(self, attempts: list[dict[str, Any]]) -> None:
        self.result.model_calls.extend(attempts)

    async def step_failed(self, position: int, name: str, error: str) -> None:
        self.result.events.append(("step.failed", {"name": name, "error": error}))

    async def record(self, position: int, kind: str, name: str, value: Any) -> None:
        self._put(position, kind, name, "completed", value)
        self.result.events.append((kind, value))

    async def ask(self, position: int, text: str, schema: dict[str, Any] | None) -> str:
        question_id = f"q{position}"
        question = {"id": question_id, "text": text, "schema": schema}
        self._put(position, "ask", "ask", "pending", question)
        self.result.events.append(("question", question))
        return question_id

    async def delegate(
        self, position: int, agent: str, goal: str, input: dict[str, Any], profile: str | None
    ) -> str:
        child_id = f"child-{position}"
        child = {"task_id": child_id, "agent": agent, "goal": goal, "input": input}
        self._put(position, "delegate", agent, "pending", child)
        self.result.events.append(("delegate", child))
        return child_id

    async def artifact(
        self, position: int, name: str, content: bytes, media_type: str
    ) -> dict[str, Any]:
        described = {"name": name, "size": len(content), "media_type": media_type}
        self.result.artifacts[name] = content
        self._put(position, "artifact", name, "completed", described)
        self.result.events.append(("artifact", described))
        return described

    async def park(self, reason: str) -> NoReturn:
        await self.gate.park(reason)


async def run_agent(
    definition: AgentDefinition,
    goal: str = "",
    input: dict[str, Any] | None = None,
    *,
    replies: list[str | dict[str, Any]] | None = None,
    delegates: Mapping[str, Delegate] | None = None,
    session: dict[str, Any] | None = None,
    feedback: str | None = None,
    profile: str = "balanced",
    max_executions: int = 100,
    models: Mapping[str, Any] | None = None,
) -> RunResult:
    """Run `definition` to completion, failure, or an unanswered question.

    `Retry` and transient errors are retried up to the agent's `max_attempts` with no delay.
    `models` gives `ctx.llm` its models by name: pydantic-ai models (a scripted one such
    as `pydantic_ai.models.function.FunctionModel`, or a real one).
    """
    result = RunResult(status="working", session=dict(session or {}))
    pending_replies = list(replies or [])
    attempt = 1
    while result.executions < max_executions:
        result.executions += 1
        runtime = _MemoryRuntime(result, _registry(models))
        ctx = Context(
            runtime,
            definition,
            task_id="test-task",
            goal=goal,
            input=dict(input or {}),
            session=result.session,
            feedback=feedback,
            profile=profile,
            attempt=attempt,
        )
        outcome = await drive(definition.fn, ctx, runtime.gate)
        if outcome.completed:
            result.status, result.deliverable = "completed", outcome.value
            return result
        if isinstance(outcome.error, Decline):
            result.status, result.error = "rejected", f"{outcome.error}"
            return result
        if outcome.error is not None:
            retryable = isinstance(outcome.error, Retry) or not isinstance(outcome.error, Fatal)
            if retryable and attempt < definition.retry.max_attempts:
                attempt += 1
                continue
            result.status, result.error = "failed", f"{outcome.error}"
            return result
        if not await _resolve_pending(result, pending_replies, delegates or {}):
            return result
    raise UsageError(f"agent did not finish within {max_executions} executions")


async def _resolve_pending(
    result: RunResult, replies: list[str | dict[str, Any]], delegates: Mapping[str, Delegate]
) -> bool:
    """Answer questions and run children; False when a question has no scripted reply."""
    for position, entry in sorted(result.journal.items()):
        if entry.status != "pending":
            continue
        if entry.kind == "ask":
            if not replies:
                result.status, result.question = "input-required", entry.result
                return False
            reply = replies.pop(0)
            value: dict[str, Any] = (
                {"text": reply, "data": reply} if isinstance(reply, str) else {"data": reply}
            )
            result.journal[position] = JournalEntry(position, "ask", "ask", "completed", value)
            result.events.append(("message", value))
        elif entry.kind == "delegate":
            outcome = await _run_child(entry.result, delegates)
            result.journal[position] = JournalEntry(
                position, "delegate", entry.name, "completed", outcome
            )
    return True


async def _run_child(child: dict[str, Any], delegates: Mapping[str, Delegate]) -> dict[str, Any]:
    agent_name = child["agent"].split("@")[0]
    target = delegates.get(agent_name)
    outcome: dict[str, Any] = {"task_id": child["task_id"], "agent": agent_name}
    if target is None:
        raise UsageError(f"the agent delegated to {agent_name!r}; pass it in delegates=")
    if isinstance(target, AgentDefinition):
        sub = await run_agent(target, child["goal"], child["input"], delegates=delegates)
        outcome.update(status=sub.status, deliverable=sub.deliverable, error=sub.error)
    elif callable(target):
        value = target(child["goal"], child["input"])
        if asyncio.iscoroutine(value):
            value = await value
        outcome.update(status="completed", deliverable=value)
    else:
        outcome.update(status="completed", deliverable=target)
    return outcome


def _registry(models: Mapping[str, Any] | None) -> Any:
    if not models:
        return None
    from bureau.llm.registry import ModelRegistry

    return ModelRegistry(models=models)
