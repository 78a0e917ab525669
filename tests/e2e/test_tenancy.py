"""Tenants, API keys and scopes over REST, on a real server, both backends.

`test_every_route_is_guarded` derives the routes from the server's OpenAPI document: a route
added without a scope check (or without an entry in `BODIES`) fails it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess, wait_for

OPEN = {"/healthz", "/readyz", "/metrics"}
"""Routes that need no key."""

BODIES: dict[tuple[str, str], dict[str, Any] | None] = {
    ("post", "/v1/tasks"): {"agent": "noop", "goal": "guarded"},
    ("post", "/v1/remote-agents"): {"url": "https://remote.invalid/a2a/guarded"},
    ("post", "/v1/tasks/{task_id}/messages"): {"text": "hello"},
    ("post", "/v1/tasks/{task_id}/cancel"): None,
    ("post", "/v1/tasks/{task_id}/accept"): {},
    ("post", "/v1/tasks/{task_id}/reject"): {"reason": "no"},
    ("post", "/v1/keys"): {"name": "guarded"},
    ("post", "/v1/keys/{key_id}/revoke"): None,
    ("post", "/v1/keys/{key_id}/rotate"): {},
    ("post", "/v1/tenants"): {"name": "guarded"},
    ("post", "/v1/tenants/{tenant_id}/suspend"): None,
    ("post", "/v1/tenants/{tenant_id}/resume"): None,
    ("put", "/v1/tenants/{tenant_id}/limits"): {"requests_per_second": 0},
    ("put", "/v1/secrets/{name}"): {"value": "guarded"},
    ("delete", "/v1/secrets/{name}"): {},
}
"""A valid body for every route that changes something (so the check, not the body, is what
answers)."""


@dataclass
class Tenancy:
    server: ServerProcess
    operator: httpx.Client
    task_id: str
    artifact: str
    key_id: str
    other_tenant: str
    other_admin: str
    no_scope: str

    def as_(self, key: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.server.url, headers=headers, timeout=30)


@pytest.fixture
def tenancy(server: ServerProcess) -> Iterator[Tenancy]:
    with server.client() as operator:
        task = operator.post(
            "/v1/tasks", json={"agent": "big-artifact", "goal": "x", "input": {"size": 3}}
        ).json()
        done = wait_for(operator, task["id"], {"completed"})
        member = operator.post("/v1/keys", json={"name": "a member", "role": "member"}).json()
        other = operator.post("/v1/tenants", json={"name": "tenant B"}).json()
        bare = operator.post(
            "/v1/keys", json={"name": "no scopes", "role": "admin", "scopes": []}
        ).json()
        yield Tenancy(
            server=server,
            operator=operator,
            task_id=task["id"],
            artifact=done["artifacts"][0]["name"],
            key_id=member["id"],
            other_tenant=other["id"],
            other_admin=other["admin_key"]["secret"],
            no_scope=bare["secret"],
        )


def _routes(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method, path)
        for path, operations in document["paths"].items()
        for method in operations
        if path not in OPEN
    ]


def _call(client: httpx.Client, method: str, path: str, t: Tenancy) -> httpx.Response:
    filled = path.format(task_id=t.task_id, key_id=t.key_id, tenant_id=t.other_tenant, name="noop")
    if path.endswith("/artifacts/{name}"):
        filled = path.format(task_id=t.task_id, name=t.artifact)
    if method == "get":
        return client.get(filled)
    assert (method, path) in BODIES, f"{method.upper()} {path}: add a valid body to BODIES"
    body = BODIES[(method, path)]
    return client.request(method, filled, json=body) if body is not None else client.post(filled)


def test_every_route_is_guarded(tenancy: Tenancy) -> None:
    """No key: 401. A key without the route's scope: 403. Tenant B on tenant A's task, key
    or agent runs: 404."""
    routes = _routes(tenancy.operator.get("/openapi.json").json())
    assert len(routes) >= 20
    with (
        tenancy.as_(None) as anonymous,
        tenancy.as_(tenancy.no_scope) as bare,
        tenancy.as_(tenancy.other_admin) as other,
    ):
        for method, path in routes:
            where = f"{method.upper()} {path}"
            assert _call(anonymous, method, path, tenancy).status_code == 401, where
            refused = _call(bare, method, path, tenancy)
            assert refused.status_code == 403, f"{where}: {refused.status_code} {refused.text}"
            assert "needs the scope" in refused.json()["detail"], where
            if "{task_id}" in path or "{key_id}" in path or path.endswith(("/failures", "/runs")):
                found = _call(other, method, path, tenancy)
                assert found.status_code == 404, f"{where}: {found.status_code} {found.text}"


def test_a_key_is_shown_once_and_listed_without_its_secret(tenancy: Tenancy) -> None:
    admin = tenancy.operator
    created = admin.post(
        "/v1/keys", json={"name": "ci", "role": "viewer", "expires_in_seconds": 3600}
    )
    assert created.status_code == 201
    key = created.json()
    assert key["secret"].startswith(f"bk_{key['id']}_")
    assert key["scopes"] == ["agents:read", "tasks:read"] and key["expires_at"]
    listed = admin.get("/v1/keys").json()["keys"]
    assert key["id"] in [k["id"] for k in listed]
    assert key["secret"] not in admin.get("/v1/keys").text
    assert "secret" not in admin.get(f"/v1/keys/{key['id']}").json()
    with tenancy.as_(key["secret"]) as viewer:
        assert viewer.get(f"/v1/tasks/{tenancy.task_id}").status_code == 200
        refused = viewer.post("/v1/tasks", json={"agent": "noop", "goal": "x"})
        assert refused.status_code == 403 and "tasks:write" in refused.json()["detail"]
    beyond = admin.post("/v1/keys", json={"name": "x", "role": "viewer", "scopes": ["tasks:write"]})
    assert beyond.status_code == 422 and beyond.json()["field"] == "scopes"


def test_revoke_rotate_and_expire(tenancy: Tenancy) -> None:
    admin = tenancy.operator
    member = admin.post("/v1/keys", json={"name": "to revoke"}).json()
    with tenancy.as_(member["secret"]) as client:
        assert client.get("/v1/tasks").status_code == 200  # cached now
        assert admin.post(f"/v1/keys/{member['id']}/revoke").json()["revoked_at"]
        assert client.get("/v1/tasks").status_code == 401, "revoked at once"

    rotated = admin.post("/v1/keys", json={"name": "to rotate"}).json()
    fresh = admin.post(f"/v1/keys/{rotated['id']}/rotate", json={"grace_seconds": 1}).json()
    assert fresh["id"] == rotated["id"] and fresh["secret"] != rotated["secret"]
    assert fresh["previous_secret_until"]
    with tenancy.as_(rotated["secret"]) as old, tenancy.as_(fresh["secret"]) as new:
        assert old.get("/v1/tasks").status_code == 200, "the old secret works in the grace"
        assert new.get("/v1/tasks").status_code == 200
        time.sleep(1.2)
        assert old.get("/v1/tasks").status_code == 401, "and not after it"
        assert new.get("/v1/tasks").status_code == 200

    brief = admin.post("/v1/keys", json={"name": "brief", "expires_in_seconds": 1}).json()
    with tenancy.as_(brief["secret"]) as client:
        assert client.get("/v1/tasks").status_code == 200
        time.sleep(1.2)
        assert client.get("/v1/tasks").status_code == 401, "expired"


def test_tenants_are_isolated_and_can_be_suspended(tenancy: Tenancy) -> None:
    operator = tenancy.operator
    with tenancy.as_(tenancy.other_admin) as other:
        task = other.post("/v1/tasks", json={"agent": "noop", "goal": "B's"}).json()
        assert [t["id"] for t in other.get("/v1/tasks").json()["tasks"]] == [task["id"]]
        assert operator.get(f"/v1/tasks/{task['id']}").status_code == 404
        assert other.get("/v1/tenants").status_code == 403, "a tenant admin is no operator"
        assert other.get("/v1/agents").status_code == 200, "the public catalog"

        suspended = operator.post(f"/v1/tenants/{tenancy.other_tenant}/suspend").json()
        assert suspended["suspended"] is True
        refused = other.get("/v1/tasks")
        assert refused.status_code == 403 and "suspended" in refused.json()["detail"]
        operator.post(f"/v1/tenants/{tenancy.other_tenant}/resume")
        assert other.get("/v1/tasks").status_code == 200
    listed = operator.get("/v1/tenants").json()["tenants"]
    assert tenancy.other_tenant in [t["id"] for t in listed]
    own = operator.post("/v1/tenants/default/suspend")
    assert own.status_code == 422, "the operator cannot lock itself out"


def test_a_key_cannot_lock_its_caller_out(tenancy: Tenancy) -> None:
    admin = tenancy.operator.post("/v1/keys", json={"name": "self", "role": "admin"}).json()
    with tenancy.as_(admin["secret"]) as client:
        revoked = client.post(f"/v1/keys/{admin['id']}/revoke")
        assert revoked.status_code == 409 and "another admin key" in revoked.json()["detail"]
        hurried = client.post(f"/v1/keys/{admin['id']}/rotate", json={"grace_seconds": 0})
        assert hurried.status_code == 409
        assert client.get("/v1/keys").status_code == 200, "still works"


def test_the_audit_log_records_every_change_and_no_secret(tenancy: Tenancy) -> None:
    operator = tenancy.operator
    made = operator.post("/v1/keys", json={"name": "audited", "role": "admin"}).json()
    secrets = [made["secret"], tenancy.other_admin, tenancy.no_scope, tenancy.server.key]
    with tenancy.as_(made["secret"]) as admin:
        sent = {"X-Request-ID": "req-audit-1"}
        task = admin.post("/v1/tasks", json={"agent": "asker", "goal": "x"}, headers=sent).json()
        admin.post(f"/v1/tasks/{task['id']}/cancel")
        spare = admin.post("/v1/keys", json={"name": "spare"}).json()
        secrets.append(spare["secret"])
        secrets.append(admin.post(f"/v1/keys/{spare['id']}/rotate").json()["secret"])
        admin.post(f"/v1/keys/{spare['id']}/revoke")
        assert admin.post("/v1/tenants", json={"name": "no"}).status_code == 403
        records = admin.get("/v1/audit", params={"key_id": made["id"]}).json()["records"]
        text = admin.get("/v1/audit", params={"limit": 200}).text
    done = [(r["action"], r["target"], r["outcome"]) for r in reversed(records)]
    assert done == [
        ("tasks.dispatch", task["id"], "ok"),
        ("tasks.cancel", task["id"], "ok"),
        ("keys.create", spare["id"], "ok"),
        ("keys.rotate", spare["id"], "ok"),
        ("keys.revoke", spare["id"], "ok"),
        ("tenants.create", None, "forbidden"),
    ]
    first = records[-1]
    assert first["request_id"] == "req-audit-1" and first["address"] == "127.0.0.1"
    assert first["role"] == "admin" and first["key_id"] == made["id"]
    for secret in secrets:
        assert secret not in text and secret.split("_", 2)[-1] not in text
    by_operator = operator.get("/v1/audit", params={"action": "tenants.create"}).json()
    assert tenancy.other_tenant in [r["target"] for r in by_operator["records"]]
    with tenancy.as_(tenancy.other_admin) as other:
        assert made["id"] not in other.get("/v1/audit").text, "another tenant's log"


def test_a_tenant_over_its_request_rate_gets_429_with_retry_after(tenancy: Tenancy) -> None:
    operator = tenancy.operator
    limited = operator.put(
        f"/v1/tenants/{tenancy.other_tenant}/limits", json={"requests_per_second": 3}
    )
    assert limited.status_code == 200 and limited.json()["limits"] == {"requests_per_second": 3}
    try:
        with tenancy.as_(tenancy.other_admin) as other:
            answers = [other.get("/v1/tasks") for _ in range(8)]
            refused = [a for a in answers if a.status_code == 429]
            assert refused and all(a.status_code in (200, 429) for a in answers)
            assert refused[0].json()["code"] == "rate_limited"
            assert int(refused[0].headers["retry-after"]) >= 1
            assert all(operator.get("/v1/tasks").status_code == 200 for _ in range(8)), (
                "another tenant is not slowed"
            )
            time.sleep(1.1)
            assert other.get("/v1/tasks").status_code == 200, "the window moved on"
    finally:
        operator.put(f"/v1/tenants/{tenancy.other_tenant}/limits", json={})
