"""`bureau keys ...`, `bureau tenants ...` and `bureau failures` against the fake API: what
they send, what they print, and that a secret is printed only when it is issued."""

from __future__ import annotations

import orjson
import pytest

from bureau.cli.main import main
from tests.unit.cli.fake import FAILURE, FakeBureau, bureau

SHOWN_ONCE = "(shown once, store it now; Bureau keeps only its hash):"


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


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["keys", "create", "x", "--role", "owner"], "invalid choice: 'owner'"),
        (["keys", "create", "x", "--expires-in", "0"], "expected a positive number"),
        (["keys", "rotate", "k", "--grace", "-1"], "expected a non-negative number"),
        (["keys", "rotate", "k", "--grace", "nan"], "expected a non-negative number"),
        (["keys", "show"], "the following arguments are required: ID"),
        (["tenants"], "the following arguments are required: ACTION"),
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
    for command in ("keys", "tenants", "failures"):
        assert f"    {command} " in out
