"""Turning a consumer's request into a stored task, and checking replies to questions."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from bureau.engine.validation import check, check_task_input
from bureau.errors import InvalidRequest
from bureau.store.codec import loads
from bureau.store.sql.tasks import NewTask
from bureau.store.store import Store


def request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def dispatch(
    store: Store,
    tenant_id: str,
    body: dict[str, Any],
    *,
    idempotency_key: str | None,
    max_deadline_seconds: float,
) -> tuple[dict[str, Any], bool]:
    """Validate against the pinned agent version and store the task (202 semantics)."""
    version = await store.resolve_version(tenant_id, body["agent"])
    spec = loads(version.spec)
    task_input = body.get("input") or {}
    check_task_input(spec, task_input)
    deadline = body.get("deadline_seconds") or spec["sla"]["max_seconds"]
    if deadline > max_deadline_seconds:
        raise InvalidRequest(
            f"deadline_seconds {deadline:g} exceeds the maximum of {max_deadline_seconds:g}",
            field="deadline_seconds",
        )
    profile = body.get("profile") or "balanced"
    if profile not in spec["profiles"]:
        raise InvalidRequest(f"agent {version.name} has no profile {profile!r}", field="profile")
    webhook = body.get("webhook")
    new = NewTask(
        tenant_id=tenant_id,
        agent=version.name,
        agent_version=version.version,
        goal=body["goal"],
        input=task_input,
        profile=profile,
        price=spec["price"],
        max_attempts=spec["max_attempts"],
        idle_timeout=spec["idle_timeout_seconds"],
        deadline_seconds=float(deadline),
        session_id=body.get("session_id"),
        on_busy=body.get("on_busy") or "queue",
        webhook_url=str(webhook["url"]) if webhook else None,
        metadata=body.get("metadata"),
    )
    return await store.create_task(new, idempotency_key, request_hash(body))


async def check_reply(
    store: Store,
    tenant_id: str,
    task_id: str,
    data: Any,
    text: str | None,
    question_id: str | None,
) -> Any:
    """Validate a reply against the open question's schema; returns the data to record."""
    row = await store.task_row(tenant_id, task_id)
    if row.status != "input-required" or (question_id and question_id != row.question_id):
        return data
    question = loads(row.question) or {}
    schema = question.get("schema")
    if schema is None:
        if text is None and data is None:
            raise InvalidRequest("the reply needs `text` (or `data`)")
        return data
    value = data if data is not None else text
    if value is None:
        raise InvalidRequest("the question has a schema: send the answer as `data` (or `text`)")
    check(schema, value, "the reply")
    return value
