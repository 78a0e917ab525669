"""Who may do what: the one table of operation → required scope, and roles as bundles of
scopes. Every service operation starts with `caller.require(<operation>)`; REST today and
A2A and MCP later share it. A key holds its role's scopes, or fewer when it was narrowed."""

from __future__ import annotations

from enum import StrEnum

from bureau.store.records import OPERATOR_SCOPES


class Role(StrEnum):
    ADMIN = "admin"
    PUBLISHER = "publisher"
    MEMBER = "member"
    VIEWER = "viewer"


class Scope(StrEnum):
    AGENTS_READ = "agents:read"
    AGENTS_OPERATE = "agents:operate"  # a publisher's view of its own agents' runs
    AGENTS_PUBLISH = "agents:publish"  # a worker publishing its agents into the tenant
    TASKS_READ = "tasks:read"
    TASKS_WRITE = "tasks:write"
    WEBHOOKS_SECRET = "webhooks:secret"
    KEYS_MANAGE = "keys:manage"
    AUDIT_READ = "audit:read"
    SECRETS_MANAGE = "secrets:manage"  # the tenant's secrets its agents' MCP servers use
    TENANTS_MANAGE = "tenants:manage"  # the platform operator only


OPERATIONS: dict[str, Scope] = {
    "agents.list": Scope.AGENTS_READ,
    "agents.get": Scope.AGENTS_READ,
    "agents.failures": Scope.AGENTS_OPERATE,
    "agents.runs": Scope.AGENTS_OPERATE,
    "agents.publish": Scope.AGENTS_PUBLISH,
    "agents.publish_remote": Scope.AGENTS_PUBLISH,
    "tasks.dispatch": Scope.TASKS_WRITE,
    "tasks.get": Scope.TASKS_READ,
    "tasks.list": Scope.TASKS_READ,
    "tasks.events": Scope.TASKS_READ,
    "tasks.artifact": Scope.TASKS_READ,
    "tasks.webhooks": Scope.TASKS_READ,
    "tasks.message": Scope.TASKS_WRITE,
    "tasks.cancel": Scope.TASKS_WRITE,
    "tasks.review": Scope.TASKS_WRITE,
    "tasks.webhook": Scope.TASKS_WRITE,
    "webhooks.secret": Scope.WEBHOOKS_SECRET,
    "keys.create": Scope.KEYS_MANAGE,
    "keys.read": Scope.KEYS_MANAGE,
    "keys.revoke": Scope.KEYS_MANAGE,
    "keys.rotate": Scope.KEYS_MANAGE,
    "audit.read": Scope.AUDIT_READ,
    "secrets.put": Scope.SECRETS_MANAGE,
    "secrets.list": Scope.SECRETS_MANAGE,
    "secrets.delete": Scope.SECRETS_MANAGE,
    "tenants.create": Scope.TENANTS_MANAGE,
    "tenants.read": Scope.TENANTS_MANAGE,
    "tenants.suspend": Scope.TENANTS_MANAGE,
    "tenants.resume": Scope.TENANTS_MANAGE,
    "tenants.limits": Scope.TENANTS_MANAGE,
}
"""Every operation a door may call, and the scope it needs."""

_VIEWER = frozenset({Scope.AGENTS_READ, Scope.TASKS_READ})
_MEMBER = _VIEWER | {Scope.TASKS_WRITE}
_PUBLISHER = _MEMBER | {Scope.AGENTS_OPERATE, Scope.AGENTS_PUBLISH}
ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.VIEWER: _VIEWER,
    Role.MEMBER: _MEMBER,
    Role.PUBLISHER: _PUBLISHER,
    Role.ADMIN: _PUBLISHER
    | {Scope.WEBHOOKS_SECRET, Scope.KEYS_MANAGE, Scope.AUDIT_READ, Scope.SECRETS_MANAGE},
}
"""A tenant's roles; `tenants:manage` belongs to no role: only the operator's key has it."""


def granted(role: Role, stored: list[str] | None) -> frozenset[Scope]:
    """The scopes a key holds: its role's (`None` stored), all for the operator's key, else
    its stored ones that its role allows (a scope above the role is never honoured)."""
    if stored is None:
        return ROLE_SCOPES[role]
    if stored == OPERATOR_SCOPES:
        return frozenset(Scope)
    known = {scope.value for scope in Scope}
    return frozenset(Scope(s) for s in stored if s in known) & ROLE_SCOPES[role]
