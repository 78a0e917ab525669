"""Tenants, API keys and the agent catalog."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from bureau.errors import NotFound, UsageError
from bureau.store.codec import dumps, iso, loads, now
from bureau.store.records import (
    OPERATOR_SCOPES,
    AgentVersionRecord,
    ApiKeyRecord,
    Reputation,
    TenantRecord,
)
from bureau.store.sql.common import Changes
from bureau.store.sql.schema import (
    agent_versions,
    api_keys,
    journal,
    tasks,
    tenant_secrets,
    tenants,
)
from bureau.store.views import AgentFailure, AgentRun


def insert_api_key(
    conn: Connection,
    tenant_id: str,
    *,
    key_id: str,
    name: str,
    role: str,
    secret_hash: str,
    scopes: list[str] | None,
    expires_at: float | None = None,
) -> ApiKeyRecord:
    values = {
        "id": key_id,
        "tenant_id": tenant_id,
        "name": name,
        "role": role,
        "scopes": dumps(scopes),
        "secret_hash": secret_hash,
        "created_at": now(),
        "expires_at": expires_at,
    }
    conn.execute(insert(api_keys).values(**values))
    return _key(values | {"scopes": scopes, "revoked_at": None})


def _key(row: Mapping[Any, Any], suspended: bool = False) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row["id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        role=row["role"],
        scopes=row["scopes"] if not isinstance(row["scopes"], str) else loads(row["scopes"]),
        secret_hash=row["secret_hash"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        expires_at=row.get("expires_at"),
        previous_hash=row.get("previous_hash"),
        previous_until=row.get("previous_until"),
        tenant_suspended=suspended,
    )


def ensure_default_tenant(
    conn: Connection, *, key_id: str, secret_hash: str, webhook_secret: str
) -> bool:
    """Create the default tenant with this admin key if no tenant exists; False if one did."""
    if conn.execute(select(tenants.c.id).limit(1)).first() is not None:
        return False
    tenant_id = create_tenant(conn, "default", "default", webhook_secret).id
    insert_api_key(
        conn,
        tenant_id,
        key_id=key_id,
        name="operator (created on first start)",
        role="admin",
        secret_hash=secret_hash,
        scopes=OPERATOR_SCOPES,
    )
    return True


def api_key(conn: Connection, key_id: str) -> ApiKeyRecord | None:
    """The unrevoked key with this id (and whether its tenant is suspended), or None."""
    row = conn.execute(
        select(api_keys, tenants.c.suspended_at)
        .join(tenants, tenants.c.id == api_keys.c.tenant_id)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
    ).first()
    return None if row is None else _key(row._mapping, row.suspended_at is not None)


def keys_of(conn: Connection, tenant_id: str) -> list[ApiKeyRecord]:
    """The tenant's keys, revoked ones too, oldest first."""
    rows = conn.execute(
        select(api_keys).where(api_keys.c.tenant_id == tenant_id).order_by(api_keys.c.created_at)
    )
    return [_key(r._mapping) for r in rows]


def key_of(conn: Connection, tenant_id: str, key_id: str) -> ApiKeyRecord:
    """The tenant's key; raises `NotFound`."""
    row = conn.execute(
        select(api_keys).where(api_keys.c.id == key_id, api_keys.c.tenant_id == tenant_id)
    ).first()
    if row is None:
        raise NotFound(f"no key {key_id!r} in this tenant; GET /v1/keys lists them", field="id")
    return _key(row._mapping)


def rotate_key(
    conn: Connection,
    changes: Changes,
    tenant_id: str,
    key_id: str,
    secret_hash: str,
    grace_seconds: float,
) -> ApiKeyRecord:
    """Give the key a new secret; the old one stays valid for `grace_seconds` (0: at once
    invalid, every replica told). Raises `NotFound` for an unknown or revoked key."""
    current = key_of(conn, tenant_id, key_id)
    if current.revoked_at is not None:
        raise NotFound(f"key {key_id!r} is revoked; create a new one", field="id")
    until = now() + grace_seconds
    conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id)
        .values(secret_hash=secret_hash, previous_hash=current.secret_hash, previous_until=until)
    )
    changes.revoked_keys.add(key_id)  # caches drop the old secret; it is checked anew
    return key_of(conn, tenant_id, key_id)


def create_tenant(conn: Connection, tenant_id: str, name: str, webhook_secret: str) -> TenantRecord:
    """`webhook_secret`: sealed (`bureau.store.sealing`)."""
    created = now()
    conn.execute(
        insert(tenants).values(
            id=tenant_id, name=name, webhook_secret=webhook_secret, created_at=created
        )
    )
    return TenantRecord(tenant_id, name, created, None)


def reseal_secrets(conn: Connection, reseal: Callable[[str], str | None]) -> int:
    """Store `reseal(secret)` for every secret of every tenant (its webhook signing secret
    and its named secrets) and every task's webhook options where it is not None; how
    many."""
    changed = 0
    rows = conn.execute(select(tenants.c.id, tenants.c.webhook_secret)).all()
    for tenant_id, stored in rows:
        if (resealed := reseal(stored)) is not None:
            conn.execute(
                update(tenants).where(tenants.c.id == tenant_id).values(webhook_secret=resealed)
            )
            changed += 1
    named = tenant_secrets.c
    for tenant_id, name, stored in conn.execute(select(named.tenant_id, named.name, named.value)):
        if (resealed := reseal(stored)) is not None:
            conn.execute(
                update(tenant_secrets)
                .where(named.tenant_id == tenant_id, named.name == name)
                .values(value=resealed)
            )
            changed += 1
    hooked = select(tasks.c.id, tasks.c.webhook_options).where(tasks.c.webhook_options.is_not(None))
    for task_id, stored in conn.execute(hooked).all():
        if (resealed := reseal(stored)) is not None:
            conn.execute(
                update(tasks).where(tasks.c.id == task_id).values(webhook_options=resealed)
            )
            changed += 1
    return changed


_TENANT = select(
    tenants.c.id, tenants.c.name, tenants.c.created_at, tenants.c.suspended_at, tenants.c.limits
)


def _tenant(row: Any) -> TenantRecord:
    return TenantRecord(row.id, row.name, row.created_at, row.suspended_at, loads(row.limits))


def list_tenants(conn: Connection) -> list[TenantRecord]:
    return [_tenant(r) for r in conn.execute(_TENANT.order_by(tenants.c.created_at))]


def tenant(conn: Connection, tenant_id: str) -> TenantRecord:
    row = conn.execute(_TENANT.where(tenants.c.id == tenant_id)).first()
    if row is None:
        raise NotFound(f"no tenant {tenant_id!r}; GET /v1/tenants lists them", field="id")
    return _tenant(row)


def limit_overrides(conn: Connection) -> dict[str, dict[str, Any]]:
    found = conn.execute(select(tenants.c.id, tenants.c.limits).where(tenants.c.limits.isnot(None)))
    return {row.id: loads(row.limits) for row in found if row.limits}


def set_limits(conn: Connection, tenant_id: str, limits: dict[str, Any]) -> TenantRecord:
    tenant(conn, tenant_id)
    conn.execute(update(tenants).where(tenants.c.id == tenant_id).values(limits=dumps(limits)))
    return tenant(conn, tenant_id)


def suspend_tenant(
    conn: Connection, changes: Changes, tenant_id: str, suspended: bool
) -> TenantRecord:
    """Suspend (every key of the tenant stops working at once, on every replica) or resume
    a tenant; raises `NotFound`."""
    found = conn.execute(
        update(tenants)
        .where(tenants.c.id == tenant_id)
        .values(suspended_at=now() if suspended else None)
    ).rowcount
    if not found:
        raise NotFound(f"no tenant {tenant_id!r}; GET /v1/tenants lists them", field="id")
    key_ids = conn.execute(select(api_keys.c.id).where(api_keys.c.tenant_id == tenant_id))
    changes.revoked_keys.update(key_ids.scalars())
    return tenant(conn, tenant_id)


def revoke_key(conn: Connection, changes: Changes, tenant_id: str, key_id: str) -> bool:
    """Revoke the tenant's key; False when it has no such unrevoked key."""
    revoked = conn.execute(
        update(api_keys)
        .where(
            api_keys.c.id == key_id,
            api_keys.c.tenant_id == tenant_id,
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=now())
    ).rowcount
    if revoked:
        changes.revoked_keys.add(key_id)
    return bool(revoked)


def default_tenant_id(conn: Connection) -> str:
    row = conn.execute(select(tenants.c.id).order_by(tenants.c.created_at).limit(1)).first()
    if row is None:
        raise UsageError("no tenant exists yet; start the server once to create it")
    return str(row.id)


def ensure_tenant(conn: Connection, tenant_id: str, name: str, webhook_secret: str) -> bool:
    """Create the tenant unless it exists; True when it was created."""
    if conn.execute(select(tenants.c.id).where(tenants.c.id == tenant_id)).first() is not None:
        return False
    create_tenant(conn, tenant_id, name, webhook_secret)
    return True


def publish_versions(
    conn: Connection,
    tenant_id: str,
    entries: Sequence[Mapping[str, Any]],
    adopt_from: str | None = None,
) -> None:
    """Add agent versions to the catalog. A published version is immutable. A name owned
    by `adopt_from` passes to `tenant_id` with its versions (demo agents published into the
    default tenant by an earlier Bureau move to the built-in publisher)."""
    at = now()
    for entry in entries:
        name, version = entry["name"], entry["version"]
        owner = conn.execute(
            select(agent_versions.c.tenant_id).where(agent_versions.c.name == name).limit(1)
        ).first()
        if owner is not None and owner.tenant_id == adopt_from:
            conn.execute(
                update(agent_versions)
                .where(agent_versions.c.name == name)
                .values(tenant_id=tenant_id, updated_at=at)
            )
        elif owner is not None and owner.tenant_id != tenant_id:
            raise UsageError(f"agent name {name!r} belongs to another tenant; choose another name")
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


def visible_versions(
    conn: Connection, tenant_id: str, name: str | None = None
) -> list[AgentVersionRecord]:
    """Versions the tenant may see (public, or its own), by name then semver."""
    if name is None:
        rows = conn.execute(_VISIBLE, {"_tenant": tenant_id}).all()
    else:
        rows = conn.execute(_VISIBLE_NAMED, {"_tenant": tenant_id, "_name": name}).all()
    records = [AgentVersionRecord.from_row(r._mapping) for r in rows]
    return sorted(records, key=lambda r: (r.name, _version_key(r.version)))


def remote_versions(conn: Connection) -> list[AgentVersionRecord]:
    """Active versions whose runtime is `a2a-remote`, of every tenant."""
    rows = conn.execute(select(agent_versions).where(agent_versions.c.status == "active")).all()
    records = [AgentVersionRecord.from_row(r._mapping) for r in rows]
    return [r for r in records if r.spec.get("runtime") == "a2a-remote"]


def canceled_remote_runs(
    conn: Connection, names: Sequence[str], since: float
) -> list[tuple[str, str, str, Any]]:
    """Tasks of the remote agents `names` canceled since `since` whose (current revision's)
    `remote.send` step completed: (task id, agent, version, the step's result)."""
    if not names:
        return []
    rows = conn.execute(
        select(tasks.c.id, tasks.c.agent, tasks.c.agent_version, journal.c.result)
        .join(journal, journal.c.task_id == tasks.c.id)
        .where(
            tasks.c.status == "canceled",
            tasks.c.finished_at >= since,
            tasks.c.agent.in_(list(names)),
            journal.c.revision == tasks.c.revision,
            journal.c.kind == "step",
            journal.c.name == "remote.send",
            journal.c.status == "completed",
        )
    ).all()
    return [(r.id, r.agent, r.agent_version, loads(r.result)) for r in rows]


def resolve_version(conn: Connection, tenant_id: str, ref: str) -> AgentVersionRecord:
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


def _own_versions(conn: Connection, tenant_id: str, name: str) -> Any:
    """The versions of the tenant's own agent `name` (a subquery); raises `NotFound`."""
    own = select(agent_versions.c.version).where(
        agent_versions.c.name == name, agent_versions.c.tenant_id == tenant_id
    )
    if conn.execute(own.limit(1)).first() is None:
        raise NotFound(f"this tenant publishes no agent {name!r}", field="name")
    return own


def runs(
    conn: Connection, tenant_id: str, name: str, status: str | None, limit: int
) -> list[AgentRun]:
    """The latest runs of the tenant's own agent, across every consumer, newest first: what
    operating it needs (status, timings, usage, cost, the error and traceback), never the
    consumer's goal, input, question, artifacts or deliverable."""
    own = _own_versions(conn, tenant_id, name)
    query = select(
        tasks.c.id,
        tasks.c.agent_version,
        tasks.c.status,
        tasks.c.profile,
        tasks.c.attempt,
        tasks.c.created_at,
        tasks.c.started_at,
        tasks.c.finished_at,
        tasks.c.usage,
        tasks.c.cost,
        tasks.c.review_status,
        tasks.c.error,
        tasks.c.trace,
    ).where(tasks.c.agent == name, tasks.c.agent_version.in_(own))
    if status is not None:
        query = query.where(tasks.c.status == status)
    rows = conn.execute(query.order_by(tasks.c.created_at.desc()).limit(limit))
    return [
        {
            "task_id": r.id,
            "agent_version": r.agent_version,
            "status": r.status,
            "profile": r.profile,
            "attempt": r.attempt,
            "created_at": iso(r.created_at) or "",
            "started_at": iso(r.started_at),
            "finished_at": iso(r.finished_at),
            "duration_seconds": (
                round(r.finished_at - r.started_at, 3) if r.finished_at and r.started_at else None
            ),
            "usage": loads(r.usage),
            "cost": r.cost,
            "review": r.review_status,
            "error": loads(r.error),
            "traceback": r.trace,
        }
        for r in rows
    ]


def failures(conn: Connection, tenant_id: str, name: str, limit: int) -> list[AgentFailure]:
    """The latest failed attempts of the tenant's own agent, across every consumer: the
    error and traceback only (a consumer's goal and input stay the consumer's)."""
    own = _own_versions(conn, tenant_id, name)
    rows = conn.execute(
        select(
            tasks.c.id,
            tasks.c.agent_version,
            tasks.c.status,
            tasks.c.attempt,
            tasks.c.error,
            tasks.c.trace,
            tasks.c.updated_at,
        )
        .where(tasks.c.agent == name, tasks.c.agent_version.in_(own), tasks.c.trace.is_not(None))
        .order_by(tasks.c.updated_at.desc())
        .limit(limit)
    )
    return [
        {
            "task_id": r.id,
            "agent_version": r.agent_version,
            "status": r.status,
            "attempt": r.attempt,
            "error": loads(r.error),
            "traceback": r.trace,
            "at": iso(r.updated_at) or "",
        }
        for r in rows
    ]


def reputation(conn: Connection, name: str, version: str | None = None) -> Reputation:
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
    # Outcomes the consumer caused are not the agent's: a cancel, a declined task (input or
    # goal refused at admission) and a deadline the consumer set below the agent's SLA.
    finished = counts.get("completed", 0) + counts.get("failed", 0)
    finished -= _missed_consumer_deadlines(conn, name, where)
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


def _missed_consumer_deadlines(conn: Connection, name: str, where: list[Any]) -> int:
    """Failed tasks whose deadline passed when the consumer had set it below the SLA."""
    sla = {
        row.version: loads(row.spec)["sla"]["max_seconds"]
        for row in conn.execute(
            select(agent_versions.c.version, agent_versions.c.spec).where(
                agent_versions.c.name == name
            )
        )
    }
    missed = conn.execute(
        select(tasks.c.agent_version, tasks.c.deadline_seconds).where(
            *where, tasks.c.status == "failed", tasks.c.error.like('%"deadline_exceeded"%')
        )
    )
    return sum(1 for r in missed if r.deadline_seconds < sla.get(r.agent_version, 0))


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 4)
