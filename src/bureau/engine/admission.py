"""Admitting work to an agent version: the one place a task to create is built, for a
consumer's dispatch (through the service) and for an agent's `ctx.delegate` alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bureau.engine.validation import check_task_input
from bureau.errors import InvalidRequest
from bureau.store.records import AgentVersionRecord, NewTask


def new_task(
    version: AgentVersionRecord,
    *,
    tenant_id: str,
    goal: str,
    input: dict[str, Any],
    profile: str | None,
    deadline_seconds: float | None,
    session_id: str | None = None,
    on_busy: str = "queue",
    webhook_url: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    parent_id: str | None = None,
    parent_position: int | None = None,
) -> NewTask:
    """The task to store for `version`, its input checked against the version's input
    schema. `profile` defaults to `balanced`, `deadline_seconds` to the version's SLA
    maximum. Raises `InvalidRequest` naming the field to fix."""
    spec = version.spec
    check_task_input(spec, input)
    chosen = profile or "balanced"
    if chosen not in spec["profiles"]:
        known = ", ".join(spec["profiles"])
        raise InvalidRequest(
            f"agent {version.name} has no profile {chosen!r}; it has: {known}", field="profile"
        )
    return NewTask(
        tenant_id=tenant_id,
        agent=version.name,
        agent_version=version.version,
        goal=goal,
        input=input,
        profile=chosen,
        price=version.price,
        max_attempts=spec["max_attempts"],
        idle_timeout=spec["idle_timeout_seconds"],
        deadline_seconds=float(deadline_seconds or spec["sla"]["max_seconds"]),
        session_id=session_id,
        on_busy=on_busy,
        webhook_url=webhook_url,
        metadata=metadata,
        parent_id=parent_id,
        parent_position=parent_position,
    )
