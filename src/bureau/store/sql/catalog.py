"""Tenants, API keys and the agent catalog."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import statistics
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, insert, select

from bureau.errors import NotFound, Unauthenticated, UsageError
from bureau.store.codec import dumps, loads, now
from bureau.store.ids import new_id
from bureau.store.sql.schema import agent_versions, api_keys, tasks, tenants

KEY_PREFIX = "bk_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    conn: Connection, tenant_id: str, name: str, role: str, preset: str | None = None
) -> str:
    """Store a key hashed; returns the plaintext, which is never stored.

    `preset` is a key chosen by the operator (`bk_<id>_<secret>`, e.g. from a Kubernetes
    Secret); by default a new one is generated.
    """
    key_id, secret = new_id(), secrets.token_urlsafe(32)
    if preset is not None:
        key_id, _, secret = preset.removeprefix(KEY_PREFIX).partition("_")
        if not preset.startswith(KEY_PREFIX) or not key_id.isalnum() or len(secret) < 24:
            raise UsageError(
                "BUREAU_BOOTSTRAP_ADMIN_KEY must look like bk_<letters and digits>_<secret of "
                "24+ characters>"
            )
    conn.execute(
        insert(api_keys).values(
            id=key_id,
            tenant_id=tenant_id,
            name=name,
            role=role,
            scopes=dumps(["*"]),
            secret_hash=_hash(secret),
            created_at=now(),
        )
    )
    return f"{KEY_PREFIX}{key_id}_{secret}"


def ensure_default_tenant(conn: Connection, preset_key: str | None = None) -> str | None:
    """Create the default tenant and its admin key if no tenant exists.

    Returns the new admin key's plaintext, or None when a tenant already existed.
    """
    if conn.execute(select(tenants.c.id).limit(1)).first() is not None:
        return None
    tenant_id = "default"
    conn.execute(
        insert(tenants).values(
            id=tenant_id,
            name="default",
            webhook_secret="whsec_" + base64.b64encode(os.urandom(24)).decode(),
            created_at=now(),
        )
    )
    return create_api_key(conn, tenant_id, "admin (created on first start)", "admin", preset_key)


def authenticate(conn: Connection, presented: str) -> Row[Any]:
    """The key's row (id, tenant_id, role, scopes) or `Unauthenticated`."""
    key_id, _, secret = presented.removeprefix(KEY_PREFIX).partition("_")
    if not presented.startswith(KEY_PREFIX) or not secret:
        raise Unauthenticated(
            "API key is malformed; send 'Authorization: Bearer bk_...' with a key from "
            "DATA_DIR/admin-key"
        )
    row = conn.execute(
        select(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
    ).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(secret)):
        raise Unauthenticated("API key is unknown or revoked")
    return row


def tenant(conn: Connection, tenant_id: str) -> Row[Any]:
    row = conn.execute(select(tenants).where(tenants.c.id == tenant_id)).first()
    if row is None:
        raise NotFound(f"no tenant {tenant_id!r}")
    return row


def default_tenant_id(conn: Connection) -> str:
    row = conn.execute(select(tenants.c.id).order_by(tenants.c.created_at).limit(1)).first()
    if row is None:
        raise UsageError("no tenant exists yet; start the server once to create it")
    return str(row.id)


def publish_versions(conn: Connection, tenant_id: str, entries: list[Mapping[str, Any]]) -> None:
    """Add agent versions to the catalog. A published version is immutable."""
    at = now()
    for entry in entries:
        name, version = entry["name"], entry["version"]
        owner = conn.execute(
            select(agent_versions.c.tenant_id).where(agent_versions.c.name == name).limit(1)
        ).first()
        if owner is not None and owner.tenant_id != tenant_id:
            raise UsageError(f"agent name {name!r} belongs to another tenant")
        existing = conn.execute(
            select(agent_versions.c.spec).where(
                agent_versions.c.name == name, agent_versions.c.version == version
            )
        ).first()
        spec = dumps(dict(entry))
        if existing is not None:
            if loads(existing.spec) != loads(spec):
                raise UsageError(
                    f"agent {name}@{version} is already published with a different definition; "
                    "published versions are immutable, so bump the version"
                )
            continue
        conn.execute(
            insert(agent_versions).values(
                name=name,
                version=version,
                tenant_id=tenant_id,
                description=entry["description"],
                capabilities=dumps(list(entry["capabilities"])),
                spec=spec,
                visibility=entry["visibility"],
                status="active",
                created_at=at,
                updated_at=at,
            )
        )


def _version_key(version: str) -> tuple[int, ...]:
    core = version.split("-")[0]
    return tuple(int(p) for p in core.split("."))


_VISIBLE = select(agent_versions).where(
    (agent_versions.c.visibility == "public") | (agent_versions.c.tenant_id == bindparam("_tenant"))
)
_VISIBLE_NAMED = _VISIBLE.where(agent_versions.c.name == bindparam("_name"))


def visible_versions(conn: Connection, tenant_id: str, name: str | None = None) -> list[Row[Any]]:
    """Versions the tenant may see (public, or its own), by name then semver."""
    if name is None:
        rows = conn.execute(_VISIBLE, {"_tenant": tenant_id}).all()
    else:
        rows = conn.execute(_VISIBLE_NAMED, {"_tenant": tenant_id, "_name": name}).all()
    return sorted(rows, key=lambda r: (r.name, _version_key(r.version)))


def resolve_version(conn: Connection, tenant_id: str, ref: str) -> Row[Any]:
    """`name` (latest active version) or `name@version`, visible to the tenant."""
    name, _, version = ref.partition("@")
    versions = visible_versions(conn, tenant_id, name)
    if not versions:
        raise NotFound(f"unknown agent {name!r}; GET /v1/agents lists the catalog", field="agent")
    if version:
        for row in versions:
            if row.version == version:
                if row.status == "retired":
                    raise NotFound(f"agent {name}@{version} is retired", field="agent")
                return row
        known = ", ".join(r.version for r in versions)
        raise NotFound(
            f"agent {name!r} has no version {version!r}; known versions: {known}", field="agent"
        )
    active = [r for r in versions if r.status == "active"]
    if not active:
        raise NotFound(f"agent {name!r} has no active version", field="agent")
    return active[-1]


def reputation(conn: Connection, name: str, version: str | None = None) -> dict[str, Any]:
    """Acceptance and completion rates, rating and latency against the SLA, from real runs."""
    where = [tasks.c.agent == name]
    if version is not None:
        where.append(tasks.c.agent_version == version)
    counts: dict[str, int] = {
        status: count
        for status, count in conn.execute(
            select(tasks.c.status, func.count()).where(*where).group_by(tasks.c.status)
        ).tuples()
    }
    reviews: dict[str, int] = {
        status: count
        for status, count in conn.execute(
            select(tasks.c.review_status, func.count())
            .where(*where, tasks.c.review_status.is_not(None))
            .group_by(tasks.c.review_status)
        ).tuples()
    }
    durations = [
        r.finished_at - r.started_at
        for r in conn.execute(
            select(tasks.c.started_at, tasks.c.finished_at)
            .where(*where, tasks.c.status == "completed", tasks.c.started_at.is_not(None))
            .order_by(tasks.c.id.desc())
            .limit(500)
        )
    ]
    finished = sum(counts.get(s, 0) for s in ("completed", "failed", "canceled"))
    reviewed = reviews.get("accepted", 0) + reviews.get("rejected", 0)
    ratings = [
        loads(r.review).get("rating")
        for r in conn.execute(
            select(tasks.c.review).where(*where, tasks.c.review_status == "accepted").limit(500)
        )
    ]
    rated = [r for r in ratings if isinstance(r, int)]
    return {
        "tasks": sum(counts.values()),
        "completion_rate": round(counts.get("completed", 0) / finished, 4) if finished else None,
        "acceptance_rate": round(reviews.get("accepted", 0) / reviewed, 4) if reviewed else None,
        "rating": round(statistics.fmean(rated), 2) if rated else None,
        "latency_p50_seconds": _quantile(durations, 0.5),
        "latency_p95_seconds": _quantile(durations, 0.95),
    }


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 4)
