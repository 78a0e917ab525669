"""`bureau.client.Client` against the fake API: key discovery, errors, dispatch, wait."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest

from bureau.client import ApiError, BureauUnreachable, Client, MissingApiKey
from tests.unit.cli.fake import API_KEY, QUESTION, REPORT, URL, FakeBureau


def client_for(fake: FakeBureau, api_key: str | None = None) -> Client:
    return Client(url=URL, api_key=api_key, transport=fake.transport)


def test_key_from_argument_wins_over_environment(
    fake: FakeBureau, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUREAU_API_KEY", "from-env")
    with client_for(fake, api_key=API_KEY) as client:
        assert client.agents()[0]["name"] == "csv-analyst"
    assert fake.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


def test_key_from_environment(fake: FakeBureau, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUREAU_API_KEY", API_KEY)
    with client_for(fake) as client:
        client.agents()
    assert fake.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


def test_key_from_the_data_dir_file(
    fake: FakeBureau, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "admin-key").write_text(API_KEY + "\n")
    monkeypatch.setenv("BUREAU_DATA_DIR", str(tmp_path / "data"))
    with client_for(fake) as client:
        client.agents()
    assert fake.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


def test_key_from_the_default_data_dir(fake: FakeBureau, tmp_path: Path) -> None:
    (tmp_path / ".bureau").mkdir()
    (tmp_path / ".bureau" / "admin-key").write_text(API_KEY)
    with client_for(fake) as client:
        client.agents()
    assert fake.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


def test_missing_key_names_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(MissingApiKey) as caught:
        Client(data_dir=tmp_path / "nowhere")
    message = str(caught.value)
    assert "BUREAU_API_KEY" in message
    assert str(tmp_path / "nowhere" / "admin-key") in message


def test_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUREAU_URL", "http://elsewhere:9000/")
    with Client(api_key="k") as client:
        assert client.url == "http://elsewhere:9000"
        assert client.absolute("/v1/tasks/t/artifacts/a.md") == (
            "http://elsewhere:9000/v1/tasks/t/artifacts/a.md"
        )


def test_problem_json_becomes_api_error(fake: FakeBureau) -> None:
    with client_for(fake, api_key=API_KEY) as client, pytest.raises(ApiError) as caught:
        client.task("task_404")
    error = caught.value
    assert (error.status, error.code) == (404, "not_found")
    assert error.detail == "no task 'task_404' in this tenant"
    assert error.body["type"] == "https://bureau.dev/problems/not_found"
    assert str(error) == "no task 'task_404' in this tenant (not_found, HTTP 404)"


def test_wrong_key_is_a_401_api_error(fake: FakeBureau) -> None:
    with client_for(fake, api_key="wrong") as client, pytest.raises(ApiError) as caught:
        client.agents()
    assert (caught.value.status, caught.value.code) == (401, "unauthenticated")


def test_an_error_without_problem_body_still_raises_api_error() -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(502, text="<html>Bad gateway</html>"))
    with (
        Client(url=URL, api_key="k", transport=transport) as client,
        pytest.raises(ApiError) as caught,
    ):
        client.agents()
    assert (caught.value.status, caught.value.code) == (502, "http_error")
    assert "Bad gateway" in caught.value.detail


def test_connection_refused_says_to_start_the_server() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    transport = httpx.MockTransport(refuse)
    with (
        Client(url=URL, api_key="k", transport=transport) as client,
        pytest.raises(BureauUnreachable) as caught,
    ):
        client.agents()
    assert str(caught.value) == f"cannot reach Bureau at {URL} — is `bureau serve` running?"


def test_dispatch_sends_the_body_and_idempotency_key(fake: FakeBureau) -> None:
    with client_for(fake, api_key=API_KEY) as client:
        task = client.dispatch(
            "csv-analyst@1.0.0",
            "which region grows?",
            {"csv": "a,b\n1,2\n"},
            profile="fast",
            webhook_url="https://example.com/hook",
            idempotency_key="key-1",
        )
    assert task["id"] == "task_1"
    request = fake.requests[-1]
    assert request.headers["idempotency-key"] == "key-1"
    assert orjson.loads(request.content) == {
        "agent": "csv-analyst@1.0.0",
        "goal": "which region grows?",
        "input": {"csv": "a,b\n1,2\n"},
        "profile": "fast",
        "webhook": {"url": "https://example.com/hook"},
    }


def test_wait_returns_when_the_task_needs_input(fake: FakeBureau) -> None:
    with client_for(fake, api_key=API_KEY) as client:
        task_id = client.dispatch("csv-analyst", "go")["id"]
        task = client.wait(task_id, timeout=5)
    assert task["status"] == "input-required"
    assert task["question"] == QUESTION


def test_reply_then_wait_for_the_deliverable_and_download_it(fake: FakeBureau) -> None:
    with client_for(fake, api_key=API_KEY) as client:
        task_id = client.dispatch("csv-analyst", "go")["id"]
        client.reply(task_id, data="revenue", question_id="q_1")
        task = client.wait(task_id, timeout=5)
        assert task["status"] == "completed"
        assert client.artifact(task_id, "report.md") == REPORT
        with pytest.raises(ApiError) as caught:
            client.reply(task_id, data="units", question_id="q_1")
    assert (caught.value.status, caught.value.code) == (409, "question_answered")
    assert fake.bodies("POST", f"/v1/tasks/{task_id}/messages")[0] == {
        "data": "revenue",
        "question_id": "q_1",
    }


def test_wait_long_polls_the_event_log(fake: FakeBureau) -> None:
    task_id = fake.create_task({"agent": "csv-analyst", "goal": "go"})["id"]
    fake.tasks[task_id]["status"] = "working"

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):  # the question arrives during the poll
            fake.tasks[task_id]["status"] = "input-required"
        return fake.handle(request)

    with Client(url=URL, api_key=API_KEY, transport=httpx.MockTransport(handle)) as client:
        task = client.wait(task_id, timeout=5)
    assert task["status"] == "input-required"
    polls = [r for r in fake.requests if r.url.path.endswith("/events")]
    assert len(polls) == 1
    assert polls[0].url.params["after"] == "0"
    assert 0 < float(polls[0].url.params["wait"]) <= 5


def test_keys_and_tenants(fake: FakeBureau) -> None:
    with client_for(fake, api_key=API_KEY) as client:
        issued = client.create_key("ci", role="viewer", scopes=[], expires_in_seconds=60)
        assert issued["secret"].startswith("bk_key_1_")
        listed = client.keys()
        assert [key["id"] for key in listed] == ["key_1"]
        assert "secret" not in client.key("key_1")
        assert client.rotate_key("key_1", grace_seconds=0)["secret"] == "bk_key_1_new"
        assert client.revoke_key("key_1")["revoked_at"]
        tenant = client.create_tenant("acme")
        assert tenant["admin_key"]["role"] == "admin"
        assert client.suspend_tenant(tenant["id"])["suspended"] is True
        assert client.resume_tenant(tenant["id"])["suspended"] is False
        assert [found["id"] for found in client.tenants()] == [tenant["id"]]
        assert client.failures("csv-analyst", limit=1)[0]["task_id"] == "task_9"
    assert fake.bodies("POST", "/v1/keys")[0] == {
        "name": "ci",
        "role": "viewer",
        "scopes": [],  # no scope at all, not the role's
        "expires_in_seconds": 60,
    }
    assert fake.bodies("POST", "/v1/keys/key_1/rotate") == [{"grace_seconds": 0}]
    assert fake.requests[-1].url.params["limit"] == "1"


def test_ids_are_percent_encoded_in_paths(fake: FakeBureau) -> None:
    with client_for(fake, api_key=API_KEY) as client:
        for call in (client.key, client.revoke_key, client.suspend_tenant):
            with pytest.raises(ApiError):
                call("a/b c")
        with pytest.raises(ApiError):
            client.failures("a/b")
    paths = [request.url.raw_path.decode() for request in fake.requests]
    assert paths == [
        "/v1/keys/a%2Fb%20c",
        "/v1/keys/a%2Fb%20c/revoke",
        "/v1/tenants/a%2Fb%20c/suspend",
        "/v1/agents/a%2Fb/failures?limit=20",
    ]
