"""The public JSON shapes: what REST responses, webhook payloads and the event log show.

Each shape is a `TypedDict` (so mypy checks the functions that build them, and FastAPI
documents them in OpenAPI under these names) built from a typed record by one function.
Money is decimal text; times are ISO 8601 UTC with milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NotRequired
from urllib.parse import quote

from typing_extensions import TypedDict

from bureau.states import DeliveryStatus, ReviewStatus, TaskStatus
from bureau.store.codec import iso
from bureau.store.records import (
    AgentVersionRecord,
    ApiKeyRecord,
    ArtifactRecord,
    AuditRecord,
    Event,
    Reputation,
    TaskRecord,
    TenantRecord,
    WebhookDelivery,
    money_text,
)

__all__ = [
    "Agent",
    "AgentList",
    "AgentSummary",
    "AgentVersion",
    "Artifact",
    "DeliveryAttemptView",
    "Event",
    "EventList",
    "ModelNeeds",
    "Question",
    "Review",
    "Task",
    "TaskList",
    "WebhookDeliveryList",
    "WebhookDeliveryView",
    "WebhookSecret",
]


class Artifact(TypedDict):
    name: str
    size: int
    media_type: str
    sha256: str
    url: str
    created_at: str | None


class Review(TypedDict, total=False):
    """`status` is null until the task completed; `pending` until the consumer (or the
    auto-accept window) decides. The other fields come with the decision."""

    status: ReviewStatus | None
    rating: int | None
    comment: str | None
    reason: str
    redo: bool
    auto: bool
    at: str


class Question(TypedDict):
    """What the agent asks; answer with `POST /v1/tasks/{id}/messages` and this `id`."""

    id: str
    text: str
    schema: dict[str, Any] | None


class Webhook(TypedDict):
    url: str


class Task(TypedDict):
    """A dispatched goal, pinned to one agent version, and everything known about it."""

    id: str
    agent: str
    agent_version: str
    status: TaskStatus
    review: Review
    goal: str
    input: dict[str, Any]
    profile: str
    session_id: str | None
    plan: Any
    progress: Any
    question: Question | None
    deliverable: Any
    artifacts: list[Artifact]
    usage: dict[str, Any]
    cost: str
    price: str
    error: dict[str, Any] | None
    attempt: int
    max_attempts: int
    revision: int
    parent_id: str | None
    metadata: dict[str, Any]
    webhook: Webhook | None
    dead_letter: bool
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    deadline_at: str | None


class TaskList(TypedDict):
    tasks: list[Task]
    next_cursor: str | None


class EventList(TypedDict):
    """Events after the requested `seq`, and the task's status when they were read."""

    events: list[Event]
    status: TaskStatus


class Sla(TypedDict):
    expected_seconds: float
    max_seconds: float


class AgentVersion(TypedDict):
    version: str
    description: str
    capabilities: list[str]
    input_schema: dict[str, Any] | None
    output_schema: dict[str, Any] | None
    price: str
    sla: Sla
    profiles: list[str]
    runtime: str
    accepts_files: list[str]
    """Media types of files the agent takes (A2A file parts), besides JSON input."""
    visibility: str
    status: str
    created_at: str | None


class ModelNeeds(TypedDict):
    """The models an agent calls (`@agent(models=...)`) and whether this deployment
    configures them (`BUREAU_LLM_MODELS`, as the API process reads it)."""

    needs: list[str]
    required: bool
    """False for an agent that runs without its models (and does more with them)."""
    ready: bool
    why: str | None
    """What to configure when it is not ready; null when it is."""


class _AgentTerms(TypedDict):
    """An agent's latest active version's terms, and its reputation."""

    name: str
    description: str
    capabilities: list[str]
    latest_version: str
    price: str
    sla: Sla
    input_schema: dict[str, Any] | None
    profiles: list[str]
    reputation: Reputation
    models: NotRequired[ModelNeeds]
    """Only for an agent that calls models."""


class AgentSummary(_AgentTerms):
    """A catalog entry: the agent's terms and the numbers of its versions."""

    versions: list[str]


class AgentFailure(TypedDict):
    """A failed attempt of one of the caller's own agents, for its publisher to debug."""

    task_id: str
    agent_version: str
    status: str
    """`failed`, or the task's status now if the attempt was retried."""
    attempt: int
    error: Any
    """The error as the consumer sees it: code, message, exception type."""
    traceback: str
    at: str


class AgentFailureList(TypedDict):
    failures: list[AgentFailure]


class AgentRun(TypedDict):
    """A run of one of the caller's own agents, as its publisher sees it: for operating the
    agent, never the consumer's goal, input, questions, artifacts or deliverable."""

    task_id: str
    agent_version: str
    status: str
    profile: str
    attempt: int
    created_at: str
    started_at: str | None
    finished_at: str | None
    duration_seconds: float | None
    usage: dict[str, Any]
    cost: str
    review: str | None
    """The consumer's verdict: `pending`, `accepted`, `rejected`, or none yet."""
    error: Any
    traceback: str | None
    """The last failed attempt's traceback."""


class AgentRunList(TypedDict):
    runs: list[AgentRun]


class Agent(_AgentTerms):
    """One agent with every version it has published."""

    versions: list[AgentVersion]


class AgentList(TypedDict):
    agents: list[AgentSummary]


class DeliveryAttemptView(TypedDict):
    attempt: int
    at: str | None
    status_code: int | None
    error: str | None
    duration_ms: float


class WebhookDeliveryView(TypedDict):
    id: str
    event_type: str
    url: str
    status: DeliveryStatus
    attempts: list[DeliveryAttemptView]
    next_attempt_at: str | None
    delivered_at: str | None
    seq: int
    """The event this delivery announces (`GET /v1/tasks/{id}/events?after=seq-1`)."""


class WebhookDeliveryList(TypedDict):
    deliveries: list[WebhookDeliveryView]


class WebhookSecret(TypedDict):
    secret: str
    scheme: str


def artifact_view(record: ArtifactRecord) -> Artifact:
    return {
        "name": record.name,
        "size": record.size,
        "media_type": record.media_type,
        "sha256": record.sha256,
        "url": f"/v1/tasks/{record.task_id}/artifacts/{quote(record.name, safe='')}",
        "created_at": iso(record.created_at),
    }


def task_view(task: TaskRecord, artifacts: Iterable[ArtifactRecord] = ()) -> Task:
    """The task as `GET /v1/tasks/{id}` shows it."""
    review: Review = {"status": task.review_status, **(task.review or {})}  # type: ignore[typeddict-item]
    return {
        "id": task.id,
        "agent": task.agent,
        "agent_version": task.agent_version,
        "status": task.status,
        "review": review,
        "goal": task.goal,
        "input": task.input,
        "profile": task.profile,
        "session_id": task.session_id,
        "plan": task.plan,
        "progress": task.progress,
        "question": task.question,  # type: ignore[typeddict-item]
        "deliverable": task.deliverable,
        "artifacts": [artifact_view(a) for a in artifacts],
        "usage": task.usage,
        "cost": money_text(task.cost),
        "price": money_text(task.price),
        "error": task.error,
        "attempt": task.attempt,
        "max_attempts": task.max_attempts,
        "revision": task.revision,
        "parent_id": task.parent_id,
        "metadata": task.metadata,
        "webhook": {"url": task.webhook_url} if task.webhook_url else None,
        "dead_letter": task.dead_letter,
        "created_at": iso(task.created_at),
        "started_at": iso(task.started_at),
        "finished_at": iso(task.finished_at),
        "deadline_at": iso(task.deadline_at),
    }


def version_view(record: AgentVersionRecord) -> AgentVersion:
    spec = record.spec
    return {
        "version": record.version,
        "description": record.description,
        "capabilities": record.capabilities,
        "input_schema": spec.get("input_schema"),
        "output_schema": spec.get("output_schema"),
        "price": spec["price"],
        "sla": spec["sla"],
        "profiles": spec["profiles"],
        "runtime": spec.get("runtime", "python"),
        "accepts_files": spec.get("accepts_files", []),
        "visibility": record.visibility,
        "status": record.status,
        "created_at": iso(record.created_at),
    }


def latest_of(versions: list[AgentVersionRecord]) -> AgentVersionRecord:
    """The version a summary shows: the latest active one (`versions` in semver order)."""
    active = [v for v in versions if v.status == "active"] or versions
    return active[-1]


def agent_summary(
    name: str,
    versions: list[AgentVersionRecord],
    reputation: Reputation,
    models: ModelNeeds | None = None,
) -> AgentSummary:
    """`versions` in semver order; the summary shows the latest active one, and `models`
    (what the service says of its models) when it calls any."""
    latest = version_view(latest_of(versions))
    summary: AgentSummary = {
        "name": name,
        "description": latest["description"],
        "capabilities": latest["capabilities"],
        "latest_version": latest["version"],
        "price": latest["price"],
        "sla": latest["sla"],
        "input_schema": latest["input_schema"],
        "profiles": latest["profiles"],
        "reputation": reputation,
        "versions": [v.version for v in versions],
    }
    if models is not None:
        summary["models"] = models
    return summary


def agent_view(
    name: str,
    versions: list[AgentVersionRecord],
    reputation: Reputation,
    models: ModelNeeds | None = None,
) -> Agent:
    summary = agent_summary(name, versions, reputation, models)
    return {**summary, "versions": [version_view(v) for v in versions]}


def delivery_view(delivery: WebhookDelivery) -> WebhookDeliveryView:
    return {
        "id": delivery.id,
        "event_type": delivery.event_type,
        "url": delivery.url,
        "status": delivery.status,
        "attempts": [
            {
                "attempt": a.attempt,
                "at": iso(a.at),
                "status_code": a.status_code,
                "error": a.error,
                "duration_ms": round(a.duration_ms, 2),
            }
            for a in delivery.history
        ],
        "next_attempt_at": (
            iso(delivery.next_attempt_at) if delivery.status == DeliveryStatus.PENDING else None
        ),
        "delivered_at": iso(delivery.delivered_at),
        "seq": delivery.seq,
    }


class KeyView(TypedDict):
    """An API key as its tenant's admins see it: never its secret."""

    id: str
    name: str
    role: str
    scopes: list[str]
    created_at: str | None
    expires_at: str | None
    revoked_at: str | None
    previous_secret_until: str | None
    """After a rotation: until when the old secret still works."""


class KeyList(TypedDict):
    keys: list[KeyView]


class KeyIssued(KeyView):
    secret: str
    """The whole key, `bk_...`: shown this once, stored only as a hash."""


class TenantView(TypedDict):
    id: str
    name: str
    created_at: str | None
    suspended: bool
    limits: dict[str, Any]
    """Overrides of the configured limits (`PUT /v1/tenants/{id}/limits` lists them)."""


class TenantList(TypedDict):
    tenants: list[TenantView]


class TenantCreated(TenantView):
    admin_key: KeyIssued
    """The new tenant's first admin key: shown this once."""


def key_view(record: ApiKeyRecord, scopes: Iterable[str]) -> KeyView:
    """`scopes`: what the key holds (its role's when it was not narrowed)."""
    return {
        "id": record.id,
        "name": record.name,
        "role": record.role,
        "scopes": sorted(scopes),
        "created_at": iso(record.created_at),
        "expires_at": iso(record.expires_at),
        "revoked_at": iso(record.revoked_at),
        "previous_secret_until": iso(record.previous_until),
    }


def tenant_view(record: TenantRecord) -> TenantView:
    return {
        "id": record.id,
        "name": record.name,
        "created_at": iso(record.created_at),
        "suspended": record.suspended_at is not None,
        "limits": record.limits or {},
    }


class AuditView(TypedDict):
    id: str
    at: str | None
    key_id: str
    role: str
    action: str
    target: str | None
    outcome: str
    """`ok`, or the stable code of the error the call ended with."""
    address: str | None
    request_id: str | None


class AuditList(TypedDict):
    records: list[AuditView]
    next_cursor: str | None


def audit_view(record: AuditRecord) -> AuditView:
    return {
        "id": record.id,
        "at": iso(record.at),
        "key_id": record.key_id,
        "role": record.role,
        "action": record.action,
        "target": record.target,
        "outcome": record.outcome,
        "address": record.address,
        "request_id": record.request_id,
    }
