"""What callers send: the service's request models (REST uses them as request bodies).

Pydantic checks shape and bounds; the service checks meaning (the agent exists, the input
fits its schema, the question is open).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StrictBool


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookSpec(_Body):
    url: AnyHttpUrl


class TaskCreate(_Body):
    agent: str = Field(min_length=1, max_length=140, description="`name` or `name@version`")
    goal: str = Field(max_length=100_000)
    input: dict[str, Any] | None = None
    profile: Literal["fast", "balanced", "thorough"] | None = None
    session_id: str | None = Field(default=None, min_length=1, max_length=200)
    on_busy: Literal["queue", "reject", "interrupt"] = "queue"
    webhook: WebhookSpec | None = None
    deadline_seconds: float | None = Field(default=None, gt=0)
    metadata: dict[str, Any] | None = None


class MessageCreate(_Body):
    text: str | None = Field(default=None, max_length=100_000)
    data: Any = None
    question_id: str | None = None


class AcceptBody(_Body):
    rating: int | None = Field(default=None, ge=1, le=5)
    comment: str | None = Field(default=None, max_length=10_000)


class RejectBody(_Body):
    reason: str = Field(min_length=1, max_length=10_000)
    redo: StrictBool = False
