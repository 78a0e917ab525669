"""Keys: created on first start (file mode 0600), or bootstrapped from the environment."""

from __future__ import annotations

import stat

import httpx

from tests.support.server import ServerProcess

PRESET = "bk_bootstrap01_" + "s" * 32


def test_first_start_writes_the_admin_key_privately(server: ServerProcess) -> None:
    path = server.data_dir / "admin-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (
        httpx.get(
            f"{server.url}/v1/agents", headers={"Authorization": f"Bearer {server.key}"}
        ).status_code
        == 200
    )


def test_bootstrap_admin_key_is_used_and_never_printed(own_server: ServerProcess) -> None:
    own_server.env["BUREAU_BOOTSTRAP_ADMIN_KEY"] = PRESET
    own_server.start()
    assert own_server.key == PRESET
    assert (
        httpx.get(
            f"{own_server.url}/v1/tasks", headers={"Authorization": f"Bearer {PRESET}"}
        ).status_code
        == 200
    )
    own_server.stop()
    assert PRESET not in own_server.log.read_text()


def test_two_authorization_headers_are_refused_not_the_first_taken(server: ServerProcess) -> None:
    """RFC 6750 3.1: ambiguous credentials are a malformed request, on REST as on the doors."""
    pairs = [("Authorization", f"Bearer {server.key}"), ("Authorization", "Bearer bk_other")]
    with httpx.Client(base_url=server.url) as client:
        answer = client.get("/v1/tasks", headers=pairs)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert "one Authorization header" in answer.json()["detail"]
