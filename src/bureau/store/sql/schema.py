"""The tables. One metadata object shared by SQLite and PostgreSQL.

Times are seconds since the epoch (float); JSON values are stored as text encoded with
orjson, so the same queries run on both dialects. Every row owned by someone carries
`tenant_id`. The queue is the `tasks` table itself (`queue_state`, `available_at`, lease
columns), so enqueueing is part of the transaction that creates the task.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from bureau.states import TERMINAL_STATUSES as _TERMINAL
from bureau.states import TaskStatus

STATUSES = tuple(str(status) for status in TaskStatus)
TERMINAL_STATUSES = tuple(str(status) for status in TaskStatus if status in _TERMINAL)
UNFINISHED = "status NOT IN ({})".format(", ".join(f"'{s}'" for s in TERMINAL_STATUSES))
"""SQL text of "not terminal", shared by a partial index and the query that must match it."""

metadata = MetaData()

schema_info = Table(
    "schema_info",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("webhook_secret", Text, nullable=False),  # sealed (`bureau.store.sealing`)
    Column("created_at", Float, nullable=False),
    Column("suspended_at", Float),
    Column("limits", Text),  # JSON overrides of the configured defaults
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("scopes", Text, nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
    Column("expires_at", Float),
    Column("previous_hash", String(64)),  # a rotated-out secret, valid until previous_until
    Column("previous_until", Float),
)

agent_versions = Table(
    "agent_versions",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("version", String(64), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("description", Text, nullable=False),
    Column("capabilities", Text, nullable=False),
    Column("spec", Text, nullable=False),
    Column("visibility", String(10), nullable=False),
    Column("status", String(12), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("agent", String(63), nullable=False),
    Column("agent_version", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("goal", Text, nullable=False),
    Column("input", Text, nullable=False),
    Column("profile", String(16), nullable=False),
    Column("session_id", String(200)),
    Column("webhook_url", Text),
    Column("webhook_options", Text),  # sealed JSON: headers to send, payload format
    Column("metadata", Text, nullable=False),
    Column("plan", Text),
    Column("progress", Text),
    Column("question", Text),
    Column("question_id", String(40)),
    Column("question_position", Integer),
    Column("deliverable", Text),
    Column("error", Text),
    Column("trace", Text),  # the last failed attempt's traceback: its publisher sees it
    Column("usage", Text, nullable=False),
    Column("cost", String(40), nullable=False),
    Column("price", String(40), nullable=False),
    Column("review_status", String(10)),
    Column("review", Text),
    Column("feedback", Text),
    Column("parent_id", String(40)),
    Column("parent_position", Integer),
    Column("revision", Integer, nullable=False, default=1),
    Column("deadline_seconds", Float, nullable=False),
    Column("attempt", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("last_seq", Integer, nullable=False, default=0),
    # queue and lease
    Column("queue_state", String(8), nullable=False),  # ready | leased | parked | done
    Column("available_at", Float, nullable=False),
    Column("fair_tag", Float, nullable=False, default=0.0),  # claim order: see FAIR_TAG
    Column("lease_owner", String(200)),
    Column("lease_token", Integer, nullable=False, default=0),
    Column("lease_expires_at", Float),
    Column("wake_pending", Boolean, nullable=False, default=False),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("dead_letter", Boolean, nullable=False, default=False),
    Column("deadline_at", Float, nullable=False),
    Column("idle_timeout", Float, nullable=False),
    Column("idle_deadline_at", Float),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("updated_at", Float, nullable=False),
    Index("ix_tasks_queue", "queue_state", "fair_tag"),
    Index("ix_tasks_tenant_created", "tenant_id", "created_at"),
    Index("ix_tasks_parent", "parent_id"),
    Index("ix_tasks_session", "tenant_id", "session_id", "created_at"),
    Index("ix_tasks_review", "review_status", "finished_at"),
    Index("ix_tasks_status", "status"),
    Index("ix_tasks_lease", "queue_state", "lease_expires_at"),
    Index("ix_tasks_idle", "queue_state", "idle_deadline_at"),
    Index(
        "ix_tasks_deadline_unfinished",
        "deadline_at",
        sqlite_where=text(UNFINISHED),
        postgresql_where=text(UNFINISHED),
    ),
)

events = Table(
    "events",
    metadata,
    Column("task_id", String(40), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("type", String(40), nullable=False),
    Column("at", Float, nullable=False),
    Column("data", Text, nullable=False),
)

journal = Table(
    "journal",
    metadata,
    Column("task_id", String(40), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("kind", String(12), nullable=False),
    Column("name", String(200), nullable=False),
    Column("status", String(10), nullable=False),
    Column("result", Text),
    Column("seconds", Float),
    Column("at", Float, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("task_id", String(40), nullable=False),
    Column("created_at", Float, nullable=False),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("task_id", String(40), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("media_type", String(200), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("id", String(200), primary_key=True),
    Column("state", Text, nullable=False),
    Column("expires_at", Float),
    Column("updated_at", Float, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("task_id", String(40), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("seq", Integer, nullable=False),  # the event announced; the body is built to send
    Column("status", String(10), nullable=False),  # pending | delivered | failed | refused
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float),
    Column("created_at", Float, nullable=False),
    Column("delivered_at", Float),
    Index("ix_webhook_due", "status", "next_attempt_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("delivery_id", String(40), primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("at", Float, nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Float, nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("id", String(40), primary_key=True),  # sorts by time: the page cursor
    Column("tenant_id", String(40), nullable=False),
    Column("at", Float, nullable=False),
    Column("key_id", String(40), nullable=False),
    Column("role", String(20), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", String(200)),
    Column("outcome", String(40), nullable=False),  # ok, or the error's code
    Column("address", String(64)),
    Column("request_id", String(64)),
    Index("ix_audit_tenant", "tenant_id", "id"),
)

ledger = Table(
    "ledger",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False, index=True),
    Column("task_id", String(40), nullable=False, index=True),
    Column("kind", String(10), nullable=False),  # hold | capture | release
    Column("amount", String(40), nullable=False),
    Column("at", Float, nullable=False),
    UniqueConstraint("task_id", "kind", "id"),
)

tenant_secrets = Table(
    "tenant_secrets",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("value", Text, nullable=False),  # sealed (`bureau.store.sealing`)
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
