"""The words of the task lifecycle, defined once: task statuses, review states, event types.

Imported by the store, the service, the REST door, the Python client and the CLI. Each is a
`StrEnum`, so a member is its own JSON string (`TaskStatus.COMPLETED == "completed"`).
"""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    """Where a task is in its lifecycle (A2A 1.0 task states)."""

    SUBMITTED = "submitted"
    WORKING = "working"
    INPUT_REQUIRED = "input-required"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    REJECTED = "rejected"


TERMINAL_STATUSES = frozenset(
    {TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELED, TaskStatus.REJECTED}
)
"""Statuses a task never leaves (but a rejected deliverable's redo starts a new revision)."""

STOP_STATUSES = TERMINAL_STATUSES | {TaskStatus.INPUT_REQUIRED}
"""Statuses at which someone outside the task has to act or look: a waiting client stops."""


class ReviewStatus(StrEnum):
    """The consumer's review of a completed task's deliverable."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class EventType(StrEnum):
    """The `type` of an event in a task's log."""

    STATUS = "status"
    PLAN = "plan"
    PROGRESS = "progress"
    STEP_STARTED = "step.started"
    STEP_COMPLETED = "step.completed"
    STEP_FAILED = "step.failed"
    QUESTION = "question"
    MESSAGE = "message"
    DELEGATED = "delegated"
    ARTIFACT = "artifact"
    DELIVERABLE = "deliverable"
    RETRY = "retry"
    REVIEW = "review"


class DeliveryStatus(StrEnum):
    """A webhook delivery: pending until the receiver answered 2xx or attempts ran out, or
    refused when its destination is not allowed (nothing is sent)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    REFUSED = "refused"


def is_terminal_status_event(event_type: str, data: object) -> bool:
    """Whether an event announces a terminal status (a stream of the task may end)."""
    return (
        event_type == EventType.STATUS
        and isinstance(data, dict)
        and data.get("status") in TERMINAL_STATUSES
    )
