"""Typed records: what crosses the store's boundary instead of database rows.

Every record is built from a row by `from_row` inside the store; JSON columns arrive
decoded, money as `Decimal`, statuses as the enums of `bureau.states`. Records are frozen:
a change goes through a store operation, never through a record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from typing_extensions import TypedDict

from bureau.states import DeliveryStatus, ReviewStatus, TaskStatus
from bureau.store.codec import loads


class Event(TypedDict):
    """One entry of a task's event log (`seq` is per task, gapless, from 1)."""

    seq: int
    type: str
    at: str | None
    data: Any


def money(value: str | Decimal | int) -> Decimal:
    """A stored amount (decimal text) as a `Decimal`."""
    return value if isinstance(value, Decimal) else Decimal(value)


def money_text(value: Decimal) -> str:
    """How an amount is stored and shown: plain decimal text, no exponent, no trailing
    zeros ("0.03", "12", "0")."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """A task as stored: what was asked, where it is, and its queue and lease state."""

    id: str
    tenant_id: str
    agent: str
    agent_version: str
    status: TaskStatus
    goal: str
    input: dict[str, Any]
    profile: str
    session_id: str | None
    webhook_url: str | None
    metadata: dict[str, Any]
    plan: Any
    progress: Any
    question: dict[str, Any] | None
    question_id: str | None
    question_position: int | None
    deliverable: Any
    error: dict[str, Any] | None
    usage: dict[str, Any]
    cost: Decimal
    price: Decimal
    review_status: ReviewStatus | None
    review: dict[str, Any] | None
    feedback: str | None
    parent_id: str | None
    parent_position: int | None
    revision: int
    deadline_seconds: float
    attempt: int
    max_attempts: int
    last_seq: int
    queue_state: str
    available_at: float
    lease_owner: str | None
    lease_token: int
    lease_expires_at: float | None
    dead_letter: bool
    deadline_at: float
    idle_timeout: float
    idle_deadline_at: float | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    updated_at: float

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> TaskRecord:
        review_status = row["review_status"]
        return cls(
            id=row["id"],
            tenant_id=row["tenant_id"],
            agent=row["agent"],
            agent_version=row["agent_version"],
            status=TaskStatus(row["status"]),
            goal=row["goal"],
            input=loads(row["input"]),
            profile=row["profile"],
            session_id=row["session_id"],
            webhook_url=row["webhook_url"],
            metadata=loads(row["metadata"]),
            plan=loads(row["plan"]),
            progress=loads(row["progress"]),
            question=loads(row["question"]),
            question_id=row["question_id"],
            question_position=row["question_position"],
            deliverable=loads(row["deliverable"]),
            error=loads(row["error"]),
            usage=loads(row["usage"]),
            cost=money(row["cost"]),
            price=money(row["price"]),
            review_status=None if review_status is None else ReviewStatus(review_status),
            review=loads(row["review"]),
            feedback=row["feedback"],
            parent_id=row["parent_id"],
            parent_position=row["parent_position"],
            revision=row["revision"],
            deadline_seconds=row["deadline_seconds"],
            attempt=row["attempt"],
            max_attempts=row["max_attempts"],
            last_seq=row["last_seq"],
            queue_state=row["queue_state"],
            available_at=row["available_at"],
            lease_owner=row["lease_owner"],
            lease_token=row["lease_token"],
            lease_expires_at=row["lease_expires_at"],
            dead_letter=bool(row["dead_letter"]),
            deadline_at=row["deadline_at"],
            idle_timeout=row["idle_timeout"],
            idle_deadline_at=row["idle_deadline_at"],
            created_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            updated_at=row["updated_at"],
        )


@dataclass(frozen=True, slots=True)
class NewTask:
    """A validated dispatch, resolved to one agent version: what `create_task` stores."""

    tenant_id: str
    agent: str
    agent_version: str
    goal: str
    input: dict[str, Any]
    profile: str
    price: Decimal
    max_attempts: int
    idle_timeout: float
    deadline_seconds: float
    session_id: str | None = None
    on_busy: str = "queue"
    webhook_url: str | None = None
    webhook_options: str | None = None
    """Sealed JSON (`bureau.store.sealing`): the webhook's headers and payload format."""
    metadata: Mapping[str, Any] | None = None
    parent_id: str | None = None
    parent_position: int | None = None
    weight: float = 1.0
    """The tenant's share when tenants compete for workers (its fair tag's step)."""
    max_queued: int = 0
    """Refuse the task when its tenant has this many ready to run (0: no limit)."""
    max_parked: int = 0
    """Refuse the task when its tenant has this many parked, waiting (0: no limit)."""


@dataclass(frozen=True, slots=True)
class RunningCaps:
    """How many tasks each tenant may have running at once (0: no cap): `default`, or the
    tenant's own in `tenants`."""

    default: int = 0
    tenants: Mapping[str, int] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.default > 0 or any(self.tenants.values())

    def of(self, tenant_id: str) -> int:
        return self.tenants.get(tenant_id, self.default)


@dataclass(frozen=True, slots=True)
class TaskPage:
    """One page of a task listing, newest first; `next_cursor` is None on the last page."""

    tasks: list[TaskRecord]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class ArtifactRecord:
    """A file a task produced (its bytes live in the artifact store)."""

    task_id: str
    name: str
    media_type: str
    size: int
    sha256: str
    revision: int
    created_at: float

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> ArtifactRecord:
        return cls(
            task_id=row["task_id"],
            name=row["name"],
            media_type=row["media_type"],
            size=row["size"],
            sha256=row["sha256"],
            revision=row["revision"],
            created_at=row["created_at"],
        )


@dataclass(frozen=True, slots=True)
class JournalRecord:
    """One durable call of a run: a step, question, child task, artifact, plan or progress.

    `status` is `completed` (result is final), `pending` (a question or child is
    outstanding) or `started` (a non-idempotent step began, no completion recorded).
    """

    position: int
    kind: str
    name: str
    status: str
    result: Any = None
    seconds: float | None = None


@dataclass(frozen=True, slots=True)
class ClaimedTask:
    """A task a worker just leased under `task.lease_token`, with what its run needs (loaded
    in the claiming transaction): the journal of its revision and its session state."""

    task: TaskRecord
    journal: list[JournalRecord]
    session: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AgentVersionRecord:
    """A published, immutable agent version; `spec` is its catalog entry."""

    name: str
    version: str
    tenant_id: str
    description: str
    capabilities: list[str]
    spec: dict[str, Any]
    visibility: str
    status: str
    created_at: float

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def price(self) -> Decimal:
        return money(self.spec["price"])

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> AgentVersionRecord:
        return cls(
            name=row["name"],
            version=row["version"],
            tenant_id=row["tenant_id"],
            description=row["description"],
            capabilities=loads(row["capabilities"]),
            spec=loads(row["spec"]),
            visibility=row["visibility"],
            status=row["status"],
            created_at=row["created_at"],
        )


class Reputation(TypedDict):
    """An agent's record from real runs (None where there is nothing to measure yet)."""

    tasks: int
    completion_rate: float | None
    acceptance_rate: float | None
    rating: float | None
    latency_p50_seconds: float | None
    latency_p95_seconds: float | None


OPERATOR_SCOPES = ["*"]
"""The stored scopes of the key created at first start: every scope, `tenants:manage` too."""


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """A stored API key: its secret only as a hash."""

    id: str
    tenant_id: str
    name: str
    role: str
    scopes: list[str] | None
    """None: every scope of its role."""
    secret_hash: str
    created_at: float
    revoked_at: float | None
    expires_at: float | None = None
    previous_hash: str | None = None
    previous_until: float | None = None
    tenant_suspended: bool = False


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One state-changing call: who (key, role, address), what (action, target), when,
    and how it ended (`ok`, or the error's code). Never a secret, never a request body."""

    id: str
    tenant_id: str
    at: float
    key_id: str
    role: str
    action: str
    target: str | None
    outcome: str
    address: str | None
    request_id: str | None


@dataclass(frozen=True, slots=True)
class TenantRecord:
    id: str
    name: str
    created_at: float
    suspended_at: float | None
    limits: dict[str, Any] | None = None
    """Overrides of the configured limits, e.g. `{"requests_per_second": 50}`."""


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    attempt: int
    at: float
    status_code: int | None
    error: str | None
    duration_ms: float


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """A webhook the outbox holds for a task's event, with its attempts so far."""

    id: str
    tenant_id: str
    task_id: str
    url: str
    event_type: str
    seq: int
    status: DeliveryStatus
    attempts: int
    next_attempt_at: float | None
    created_at: float
    delivered_at: float | None
    history: list[DeliveryAttempt] = field(default_factory=list)

    @classmethod
    def from_row(
        cls, row: Mapping[Any, Any], history: list[DeliveryAttempt] | None = None
    ) -> WebhookDelivery:
        return cls(
            id=row["id"],
            tenant_id=row["tenant_id"],
            task_id=row["task_id"],
            url=row["url"],
            event_type=row["event_type"],
            seq=row["seq"],
            status=DeliveryStatus(row["status"]),
            attempts=row["attempts"],
            next_attempt_at=row["next_attempt_at"],
            created_at=row["created_at"],
            delivered_at=row["delivered_at"],
            history=history or [],
        )


@dataclass(frozen=True, slots=True)
class Gauges:
    """Counts for `/metrics`, read in one pass."""

    tasks_by_status: dict[TaskStatus, int]
    queue_depth: int
    leased: int
    webhooks_pending: int


@dataclass(frozen=True)
class DeliveryContent:
    """What a webhook delivery reports, read when it is sent: the task as it is now, its
    artifacts, when the announced event happened, and the webhook's options (headers to
    send, payload format) when the delivery goes to the task's current webhook URL (a
    delivery queued for an earlier URL never gets a later URL's headers)."""

    task: TaskRecord
    artifacts: list[ArtifactRecord]
    at: float | None
    options: dict[str, Any]
