"""`bureau keys ...`, `bureau tenants ...`, `bureau audit`, `bureau failures` and `bureau runs`
against the fake API: what they send, what they print, and that a secret is printed only when
it is issued."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from bureau.cli.main import main
from tests.unit.cli.fake import FAILURE, FakeBureau, bureau, problem

SHOWN_ONCE = "(shown once, store it now; Bureau keeps only its hash):"
AUDIT = [
    {
        "id": f"aud_{n}",
        "at": f"2025-01-01T00:00:0{n}.000Z",
        "key_id": "key_1",
        "role": "admin",
        "action": action,
        "target": target,
        "outcome": outcome,
        "address": "127.0.0.1",
        "request_id": f"req_{n}",
    }
    for n, action, target, outcome in [
        (3, "tasks.cancel", "task_7", "conflict"),
        (2, "keys.create", "key_2", "ok"),
        (1, "tasks.dispatch", None, "ok"),
    ]
]
RUNS = [
    {
        "task_id": "task_9",
        "agent_version": "1.0.0",
        "status": "failed",
        "profile": "default",
        "attempt": 2,
        "created_at": "2025-01-01T00:00:09.000Z",
        "started_at": "2025-01-01T00:00:09.500Z",
        "finished_at": "2025-01-01T00:00:11.000Z",
        "duration_seconds": 1.5,
        "usage": {"steps": 1, "compute_seconds": 1.2},
        "cost": "0",
        "review": None,
        "error": FAILURE["error"],
        "traceback": FAILURE["traceback"],
    },
    {
        "task_id": "task_8",
        "agent_version": "1.0.0",
        "status": "completed",
        "profile": "default",
        "attempt": 1,
        "created_at": "2025-01-01T00:00:08.000Z",
        "started_at": "2025-01-01T00:00:08.000Z",
        "finished_at": "2025-01-01T00:01:38.000Z",
        "duration_seconds": 90.0,
        "usage": {"steps": 2, "compute_seconds": 0.5},
        "cost": "0.02",
        "review": "accepted",
        "error": None,
        "traceback": None,
    },
]


class AuditedBureau(FakeBureau):
    """The fake API with an audit log (paged by the last id seen, as the API does) and the
    runs of csv-analyst, the one agent its tenant publishes."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        path, params = request.url.path, request.url.params
        if path == "/v1/audit":
            self.requests.append(request)
            return httpx.Response(200, json=self.audit_page(params))
        if path == "/v1/agents/csv-analyst/runs":
            self.requests.append(request)
            status = params.get("status")
            found = [run for run in RUNS if status in (None, run["status"])]
            return httpx.Response(200, json={"runs": found[: int(params["limit"])]})
        if path.endswith("/runs"):
            self.requests.append(request)
            name = path.split("/")[3]
            return problem(404, "not_found", f"this tenant publishes no agent {name!r}")
        return super().handle(request)

    @staticmethod
    def audit_page(params: httpx.QueryParams) -> dict[str, Any]:
        found = [
            record
            for record in AUDIT
            if params.get("action") in (None, record["action"])
            and params.get("key_id") in (None, record["key_id"])
        ]
        if "cursor" in params:
            found = found[[r["id"] for r in found].index(params["cursor"]) + 1 :]
        limit = int(params["limit"])
        page = found[:limit]
        return {"records": page, "next_cursor": page[-1]["id"] if len(page) == limit else None}


@pytest.fixture
def audited() -> AuditedBureau:
    return AuditedBureau()


def test_keys_create_prints_the_secret_once(
    fake: FakeBureau, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["keys", "create", "ci", "--role", "viewer", "--scope", "tasks:read"]
    assert bureau(fake, *argv, "--scope", "agents:read", "--expires-in", "60") == 0
    assert fake.bodies("POST", "/v1/keys") == [
        {
            "name": "ci",
            "role": "viewer",
            "scopes": ["tasks:read", "agents:read"],
            "expires_in_seconds": 60.0,
        }
    ]
    out = capsys.readouterr().out
    secret = f"bk_key_1_s{len(fake.requests)}"
    assert out.startswith("Created key key_1  'ci'  role viewer  active\n")
    assert f"\n\nSecret {SHOWN_ONCE}\n  {secret}\n" in out
    assert out.count(secret) == 1


def test_keys_create_defaults_to_the_roles_scopes(
    fake: FakeBureau, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bureau(fake, "keys", "create", "bot", "--json") == 0
    assert fake.bodies("POST", "/v1/keys") == [{"name": "bot", "role": "member"}]
    issued = orjson.loads(capsys.readouterr().out)
    assert issued["secret"].startswith("bk_key_1_")
    assert issued["scopes"] == ["agents:read", "tasks:read", "tasks:write"]


def test_keys_list_and_show_never_print_a_secret(
    fake: FakeBureau, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.issue_key({"name": "ci", "role": "viewer"})
    fake.issue_key({"name": "old", "role": "member", "scopes": []})
    fake.keys["key_2"]["revoked_at"] = "2025-01-02T00:00:00Z"
    fake.issue_key({"name": "gone", "role": "viewer"})
    fake.keys["key_3"]["expires_at"] = "2000-01-01T00:00:00Z"
    assert bureau(fake, "keys", "list") == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["ID", "NAME", "ROLE", "STATUS", "CREATED", "EXPIRES", "SCOPES"]
    assert rows[0].split() == [
        "key_1",
        "ci",
        "viewer",
        "active",
        "2025-01-01T00:00:00Z",
        "never",
        "agents:read,tasks:read",
    ]
    assert rows[1].split()[3] == "revoked" and rows[1].endswith("-")
    assert rows[2].split()[3:6] == ["expired", "2025-01-01T00:00:00Z", "2000-01-01T00:00:00Z"]
    assert bureau(fake, "keys", "show", "key_2") == 0
    assert capsys.readouterr().out == (
        "key_2  'old'  role member  revoked\n"
        "  scopes: none\n"
        "  created 2025-01-01T00:00:00Z, expires never, revoked 2025-01-02T00:00:00Z\n"
    )
    assert bureau(fake, "keys", "list", "--json") == 0
    assert "bk_" not in capsys.readouterr().out


def test_keys_rotate_prints_the_new_secret_and_the_grace(
    fake: FakeBureau, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.issue_key({"name": "ci"})
    assert bureau(fake, "keys", "rotate", "key_1", "--grace", "90") == 0
    assert bureau(fake, "keys", "rotate", "key_1", "--grace", "0") == 0
    assert fake.bodies("POST", "/v1/keys/key_1/rotate") == [
        {"grace_seconds": 90.0},
        {"grace_seconds": 0.0},
    ]
    first, second = capsys.readouterr().out.split("key_1: rotated.")[1:]
    assert (
        first == f"\n\nNew secret {SHOWN_ONCE}\n  bk_key_1_new\nThe old secret works until +90s.\n"
    )
    assert second.endswith("\nThe old secret no longer works.\n")


def test_keys_revoke(fake: FakeBureau, capsys: pytest.CaptureFixture[str]) -> None:
    fake.issue_key({"name": "ci"})
    assert bureau(fake, "keys", "revoke", "key_1") == 0
    assert capsys.readouterr().out == "key_1: revoked at 2025-01-02T00:00:00Z\n"
    assert bureau(fake, "keys", "revoke", "key_9") == 1
    assert "no key 'key_9' in this tenant (not_found, HTTP 404)" in capsys.readouterr().err


def test_tenants_create_list_suspend_resume(
    fake: FakeBureau, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bureau(fake, "tenants", "create", "acme") == 0
    secret = f"bk_key_1_s{len(fake.requests)}"
    assert capsys.readouterr().out == (
        f"Created tenant ten_1  'acme'  active\n\nAdmin key key_1 {SHOWN_ONCE}\n  {secret}\n"
    )
    assert bureau(fake, "tenants", "suspend", "ten_1") == 0
    assert capsys.readouterr().out == "ten_1  'acme'  suspended\n"
    assert bureau(fake, "tenants", "list") == 0
    assert capsys.readouterr().out.splitlines()[1].split() == ["ten_1", "suspended", "2025", "acme"]
    assert bureau(fake, "tenants", "resume", "ten_1", "--json") == 0
    assert orjson.loads(capsys.readouterr().out)["suspended"] is False


def test_failures_show_the_error_and_traceback(
    fake: FakeBureau, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bureau(fake, "failures", "csv-analyst", "--limit", "5") == 0
    assert fake.requests[-1].url.params["limit"] == "5"
    assert capsys.readouterr().out == (
        "task_9  csv-analyst@1.0.0  attempt 2  failed  2025-01-01T00:00:00Z\n"
        "  error: agent_error (KeyError): no column 'x'\n"
        "  | Traceback (most recent call last):\n"
        '  |   File "agent.py", line 3\n'
        "  | KeyError: 'x'\n"
    )
    assert bureau(fake, "failures", "csv-analyst", "--limit", "0", "--json") == 0
    assert orjson.loads(capsys.readouterr().out) == {"failures": []}
    assert bureau(fake, "failures", "csv-analyst") == 0
    assert fake.requests[-1].url.params["limit"] == "20"
    assert capsys.readouterr().out.startswith(f"{FAILURE['task_id']}  ")


def test_audit_lists_the_records_newest_first(
    audited: AuditedBureau, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bureau(audited, "audit") == 0
    assert dict(audited.requests[-1].url.params) == {"limit": "50"}
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == "AT KEY ROLE ACTION OUTCOME ADDRESS TARGET REQUEST".split()
    assert [row.split() for row in rows] == [
        "2025-01-01T00:00:03.000Z key_1 admin tasks.cancel conflict 127.0.0.1 task_7 req_3".split(),
        "2025-01-01T00:00:02.000Z key_1 admin keys.create ok 127.0.0.1 key_2 req_2".split(),
        "2025-01-01T00:00:01.000Z key_1 admin tasks.dispatch ok 127.0.0.1 - req_1".split(),
    ]


def test_audit_filters_and_hints_at_the_next_page(
    audited: AuditedBureau, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bureau(audited, "audit", "--action", "keys.create", "--key", "key_1") == 0
    assert dict(audited.requests[-1].url.params) == {
        "action": "keys.create",
        "key_id": "key_1",
        "limit": "50",
    }
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [row.split()[3] for row in rows] == ["keys.create"]
    assert bureau(audited, "audit", "--key", "key_1", "--limit", "2") == 0
    out = capsys.readouterr().out
    assert out.endswith("\nMore: bureau audit --key key_1 --limit 2 --cursor aud_2\n")
    assert bureau(audited, "audit", "--limit", "2", "--cursor", "aud_2") == 0
    assert audited.requests[-1].url.params["cursor"] == "aud_2"
    out = capsys.readouterr().out
    assert "aud_" not in out and "More:" not in out
    assert out.splitlines()[1].split()[3] == "tasks.dispatch"
    assert bureau(audited, "audit", "--action", "tenants.create") == 0
    assert capsys.readouterr().out == "No audit records.\n"


def test_audit_all_follows_the_cursor_to_the_end(
    audited: AuditedBureau, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bureau(audited, "audit", "--all", "--limit", "1", "--json") == 0
    assert [r.url.params.get("cursor") for r in audited.requests] == [
        None,
        "aud_3",
        "aud_2",
        "aud_1",
    ]
    assert orjson.loads(capsys.readouterr().out) == {"records": AUDIT, "next_cursor": None}
    assert bureau(audited, "audit", "--all") == 0
    assert audited.requests[-1].url.params["limit"] == "200"
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1 + len(AUDIT) and "More:" not in out


def test_audit_json_is_the_page(audited: AuditedBureau, capsys: pytest.CaptureFixture[str]) -> None:
    assert bureau(audited, "audit", "--limit", "1", "--json") == 0
    assert orjson.loads(capsys.readouterr().out) == {"records": AUDIT[:1], "next_cursor": "aud_3"}


def test_runs_table_with_errors_and_a_traceback_hint(
    audited: AuditedBureau, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "120")  # the last column is cut to the terminal's width
    assert bureau(audited, "runs", "csv-analyst") == 0
    assert dict(audited.requests[-1].url.params) == {"limit": "50"}
    out = capsys.readouterr().out
    assert out == (
        "TASK    VERSION  STATUS     DURATION  COST  REVIEW    ERROR\n"
        "task_9  1.0.0    failed     1.5s      0     -         "
        "agent_error (KeyError): no column 'x'\n"
        "task_8  1.0.0    completed  1m30s     0.02  accepted\n"
        "\n"
        "1 run with a traceback: bureau runs csv-analyst --tracebacks\n"
    )
    assert "Traceback" not in out


def test_runs_tracebacks_under_the_table(
    audited: AuditedBureau, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bureau(audited, "runs", "csv-analyst", "--tracebacks") == 0
    assert capsys.readouterr().out.endswith(
        "task_8  1.0.0    completed  1m30s     0.02  accepted\n"
        "\n"
        "task_9  attempt 2:\n"
        "  | Traceback (most recent call last):\n"
        '  |   File "agent.py", line 3\n'
        "  | KeyError: 'x'\n"
    )


def test_runs_filters_and_json_has_the_tracebacks(
    audited: AuditedBureau, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bureau(audited, "runs", "csv-analyst", "--status", "completed", "--limit", "5") == 0
    assert dict(audited.requests[-1].url.params) == {"status": "completed", "limit": "5"}
    out = capsys.readouterr().out
    assert "task_8" in out and "task_9" not in out and "traceback" not in out
    assert bureau(audited, "runs", "csv-analyst", "--json") == 0
    assert orjson.loads(capsys.readouterr().out) == {"runs": RUNS}
    assert bureau(audited, "runs", "csv-analyst", "--status", "canceled") == 0
    assert capsys.readouterr().out == "No runs of csv-analyst.\n"


def test_runs_of_an_agent_not_published_is_an_api_error(
    audited: AuditedBureau, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bureau(audited, "runs", "doc-digest") == 1
    assert capsys.readouterr().err == (
        "error: this tenant publishes no agent 'doc-digest' (not_found, HTTP 404)\n"
    )


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["keys", "create", "x", "--role", "owner"], "invalid choice: 'owner'"),
        (["keys", "create", "x", "--expires-in", "0"], "expected a positive number"),
        (["keys", "rotate", "k", "--grace", "-1"], "expected a non-negative number"),
        (["keys", "rotate", "k", "--grace", "nan"], "expected a non-negative number"),
        (["keys", "show"], "the following arguments are required: ID"),
        (["tenants"], "the following arguments are required: ACTION"),
        (["runs"], "the following arguments are required: NAME"),
        (["runs", "x", "--status", "done"], "invalid choice: 'done'"),
        (["audit", "--limit", "many"], "invalid int value: 'many'"),
    ],
)
def test_argument_errors_exit_2(
    fake: FakeBureau, capsys: pytest.CaptureFixture[str], argv: list[str], complaint: str
) -> None:
    assert bureau(fake, *argv) == 2
    assert complaint in capsys.readouterr().err
    assert fake.requests == []


def test_help_lists_the_admin_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("keys", "tenants", "audit", "failures", "runs"):
        assert f"    {command} " in out
