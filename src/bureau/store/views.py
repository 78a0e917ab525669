"""Public JSON shapes of stored rows: what the REST API, webhooks and events show."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bureau.store.codec import iso, loads


def artifact_public(task_id: str, row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "name": row["name"],
        "size": row["size"],
        "media_type": row["media_type"],
        "sha256": row["sha256"],
        "url": f"/v1/tasks/{task_id}/artifacts/{row['name']}",
        "created_at": iso(row["created_at"]),
    }


def task_public(
    row: Mapping[Any, Any], artifacts: Iterable[Mapping[Any, Any]] = ()
) -> dict[str, Any]:
    """The task as the API shows it (see ARCHITECTURE.md, `GET /v1/tasks/{id}`)."""
    review = loads(row["review"]) or {}
    return {
        "id": row["id"],
        "agent": row["agent"],
        "agent_version": row["agent_version"],
        "status": row["status"],
        "review": {"status": row["review_status"], **review},
        "goal": row["goal"],
        "input": loads(row["input"]),
        "profile": row["profile"],
        "session_id": row["session_id"],
        "plan": loads(row["plan"]),
        "progress": loads(row["progress"]),
        "question": loads(row["question"]),
        "deliverable": loads(row["deliverable"]),
        "artifacts": [artifact_public(row["id"], a) for a in artifacts],
        "usage": loads(row["usage"]),
        "cost": row["cost"],
        "price": row["price"],
        "error": loads(row["error"]),
        "attempt": row["attempt"],
        "max_attempts": row["max_attempts"],
        "revision": row["revision"],
        "parent_id": row["parent_id"],
        "metadata": loads(row["metadata"]),
        "webhook": {"url": row["webhook_url"]} if row["webhook_url"] else None,
        "dead_letter": bool(row["dead_letter"]),
        "created_at": iso(row["created_at"]),
        "started_at": iso(row["started_at"]),
        "finished_at": iso(row["finished_at"]),
        "deadline_at": iso(row["deadline_at"]),
    }


def event_public(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "seq": row["seq"],
        "type": row["type"],
        "at": iso(row["at"]),
        "data": loads(row["data"]),
    }
