"""`bureau keys ...`, `bureau tenants ...`, `bureau audit`, `bureau failures` and `bureau runs`
as a user runs them: the real CLI in a subprocess against a real server, both backends."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import orjson

from tests.support.server import ServerProcess, wait_for

SECRET = re.compile(r"\bbk_\S+")


def bureau(server: ServerProcess, key: str, *argv: str, code: int = 0) -> str:
    """Run `python -m bureau ARGV` with KEY; returns its stdout (checked: exit code `code`)."""
    env = {**os.environ, "BUREAU_URL": server.url, "BUREAU_API_KEY": key}
    env.pop("BUREAU_DATA_DIR", None)
    done = subprocess.run(
        [sys.executable, "-m", "bureau", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == code, f"bureau {' '.join(argv)}: {done.stdout}{done.stderr}"
    return done.stdout if code == 0 else done.stderr


def test_tenant_and_key_lifecycle_from_the_command_line(server: ServerProcess) -> None:
    operator = server.key
    created = bureau(server, operator, "tenants", "create", "cli tenant")
    tenant = re.match(r"Created tenant (ten_\S+)  'cli tenant'  active\n", created)
    assert tenant and "(shown once, store it now" in created
    (admin,) = SECRET.findall(created)

    viewer = orjson.loads(
        bureau(server, admin, "keys", "create", "a viewer", "--role", "viewer", "--json")
    )
    assert viewer["secret"].startswith(f"bk_{viewer['id']}_")
    assert viewer["scopes"] == ["agents:read", "tasks:read"]
    listed = bureau(server, admin, "keys", "list")
    assert f"{viewer['id']}  a viewer" in listed and not SECRET.search(listed), listed

    rotated = bureau(server, admin, "keys", "rotate", viewer["id"], "--grace", "60")
    (fresh,) = SECRET.findall(rotated)
    assert fresh != viewer["secret"] and "The old secret works until " in rotated
    bureau(server, viewer["secret"], "task", "list")  # in its grace period
    revoked = bureau(server, admin, "keys", "revoke", viewer["id"])
    assert revoked.startswith(f"{viewer['id']}: revoked at ")
    assert "HTTP 401" in bureau(server, fresh, "task", "list", code=1)

    tenant_id = tenant[1]
    suspended = bureau(server, operator, "tenants", "suspend", tenant_id)
    assert suspended == f"{tenant_id}  'cli tenant'  suspended\n"
    assert "suspended" in bureau(server, admin, "keys", "list", code=1)
    assert bureau(server, operator, "tenants", "resume", tenant_id).endswith("  active\n")
    bureau(server, admin, "keys", "list")


def test_failures_shows_the_traceback(server: ServerProcess) -> None:
    with server.client() as client:
        task = client.post("/v1/tasks", json={"agent": "refuser", "goal": "fail"}).json()
        wait_for(client, task["id"], {"failed"})
    shown = bureau(server, server.key, "failures", "refuser", "--limit", "1")
    assert shown.startswith(f"{task['id']}  refuser@1.0.0  attempt 1  failed  ")
    assert "  error: fatal: cannot do this goal\n" in shown
    assert "  | Traceback (most recent call last):\n" in shown
    assert shown.rstrip().endswith("Fatal: cannot do this goal")


def test_audit_lists_the_calls_just_made(server: ServerProcess) -> None:
    created = orjson.loads(
        bureau(server, server.key, "keys", "create", "audited", "--role", "viewer", "--json")
    )
    header, newest, *_ = bureau(server, server.key, "audit", "--limit", "5").splitlines()
    assert header.split() == "AT KEY ROLE ACTION OUTCOME ADDRESS TARGET REQUEST".split()
    assert newest.split()[2:7] == ["admin", "keys.create", "ok", "127.0.0.1", created["id"]]

    shown = bureau(server, server.key, "audit", "--action", "keys.create", "--limit", "1")
    assert shown.splitlines()[1].split()[3:7] == ["keys.create", "ok", "127.0.0.1", created["id"]]
    assert "\nMore: bureau audit --action keys.create --limit 1 --cursor " in shown

    page = orjson.loads(bureau(server, server.key, "audit", "--action", "keys.create", "--json"))
    assert page["records"][0]["target"] == created["id"]
    assert {r["action"] for r in page["records"]} == {"keys.create"}
    everything = orjson.loads(
        bureau(
            server,
            server.key,
            "audit",
            "--action",
            "keys.create",
            "--all",
            "--limit",
            "1",
            "--json",
        )
    )
    assert everything["records"][: len(page["records"])] == page["records"]
    assert everything["next_cursor"] is None

    refused = bureau(server, created["secret"], "audit", code=1)
    assert "(forbidden, HTTP 403)" in refused, refused


def test_runs_shows_the_publishers_runs(server: ServerProcess) -> None:
    with server.client() as client:
        task = client.post("/v1/tasks", json={"agent": "noop", "goal": "run me"}).json()
        wait_for(client, task["id"], {"completed"})
    shown = bureau(server, server.key, "runs", "noop", "--limit", "200")
    assert shown.splitlines()[0].split() == "TASK VERSION STATUS DURATION COST REVIEW ERROR".split()
    (row,) = [line for line in shown.splitlines() if line.startswith(task["id"])]
    assert row.split()[1:3] == ["1.0.0", "completed"], shown
    runs = orjson.loads(
        bureau(server, server.key, "runs", "noop", "--status", "completed", "--json")
    )
    (run,) = [r for r in runs["runs"] if r["task_id"] == task["id"]]
    assert run["usage"]["steps"] == 2 and run["error"] is None
    assert {r["status"] for r in runs["runs"]} == {"completed"}

    missing = bureau(server, server.key, "runs", "doc-digest", code=1)
    assert missing == "error: this tenant publishes no agent 'doc-digest' (not_found, HTTP 404)\n"
