"""Signed webhooks (Standard Webhooks), retried after failures, every attempt recorded."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest

from tests.support.server import ServerProcess, wait_for


class Receiver:
    """An HTTP receiver that fails its first `failures` requests with 500."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.accepted: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.calls += 1
                if receiver.calls <= receiver.failures:
                    self.send_response(500)
                else:
                    receiver.accepted.append(
                        ({k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/hook"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver(failures=2)
    yield running
    running.http.shutdown()
    running.http.server_close()


def _expected_signature(secret: str, headers: dict[str, str], body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def test_webhooks_are_signed_and_retried(server: ServerProcess, receiver: Receiver) -> None:
    with server.client() as client:
        secret = client.get("/v1/webhooks/secret").json()["secret"]
        task = client.post(
            "/v1/tasks",
            json={"agent": "noop", "goal": "notify me", "webhook": {"url": receiver.url}},
        ).json()
        wait_for(client, task["id"], {"completed"})
        deadline = time.monotonic() + 20
        while len(receiver.accepted) < 4:
            assert time.monotonic() < deadline, f"only {len(receiver.accepted)} webhooks arrived"
            time.sleep(0.1)
        deliveries = client.get(f"/v1/tasks/{task['id']}/webhooks").json()["deliveries"]
    kinds = []
    for headers, body in receiver.accepted:
        assert headers["webhook-signature"] == _expected_signature(secret, headers, body)
        assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
        payload = orjson.loads(body)
        assert payload["data"]["task"]["id"] == task["id"]
        kinds.append(payload["type"])
    assert kinds == ["task.submitted", "task.working", "task.deliverable", "task.completed"]
    first = deliveries[0]
    assert [a["status_code"] for a in first["attempts"]] == [500, 500, 204]
    assert first["status"] == "delivered"
    assert len({h["webhook-id"] for h, _ in receiver.accepted}) == 4


def test_a_webhook_sends_its_headers_which_are_never_shown(
    server: ServerProcess, receiver: Receiver
) -> None:
    """Headers a webhook carries (the receiver's own credentials) go with every delivery,
    beside the signature; Bureau never shows them again."""
    token = "Bearer receiver-token-61c2e0"
    with server.client() as client:
        task = client.post(
            "/v1/tasks",
            json={
                "agent": "noop",
                "goal": "notify me with my token",
                "webhook": {"url": receiver.url, "headers": {"Authorization": token}},
            },
        ).json()
        wait_for(client, task["id"], {"completed"})
        deadline = time.monotonic() + 20
        while len(receiver.accepted) < 4:
            assert time.monotonic() < deadline, f"only {len(receiver.accepted)} webhooks arrived"
            time.sleep(0.1)
        shown = client.get(f"/v1/tasks/{task['id']}").text
        shown += client.get(f"/v1/tasks/{task['id']}/webhooks").text
        shown += client.get("/v1/audit", params={"limit": 20}).text
        for headers in (
            {"Host": "evil.example"},
            {"Webhook-Signature": "v1,forged"},
            {"X-Note": "line\r\nInjected: yes"},
            {"Bad Name": "x"},
            {f"X-{n}": "x" for n in range(9)},
        ):
            refused = client.post(
                "/v1/tasks",
                json={
                    "agent": "noop",
                    "goal": "g",
                    "webhook": {"url": receiver.url, "headers": headers},
                },
            )
            assert refused.status_code == 422, (headers, refused.text)
            assert refused.headers["content-type"] == "application/problem+json"
    assert all(h["authorization"] == token for h, _ in receiver.accepted)
    assert token not in shown and "receiver-token" not in server.log.read_text()


REFUSED_URLS = [
    "http://127.0.0.1/hook",
    "http://localhost:8080/hook",
    "http://2130706433/hook",
    "http://0x7f.1/hook",
    "http://0/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::1]/hook",
    "http://10.0.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:22/",
    "http://user:secret@example.com/hook",
    "ftp://example.com/hook",
]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_webhooks_to_private_destinations_are_refused(
    own_server: ServerProcess, receiver: Receiver
) -> None:
    """Issue 8.1: dispatch refuses what the URL text shows (every form of loopback, private,
    link-local, credentials), and a name that resolves to a private address at delivery is
    refused then: nothing reaches the receiver, and the delivery says refused."""
    import socket

    own_server.start()
    port = receiver.http.server_address[1]
    with own_server.client() as client:
        for url in REFUSED_URLS:
            answer = client.post(
                "/v1/tasks", json={"agent": "noop", "goal": "x", "webhook": {"url": url}}
            )
            assert answer.status_code == 422, (url, answer.text)
            assert "webhook" in answer.json()["detail"], url
        assert "secret" not in str(client.get("/v1/tasks").json())
        # The machine's own name is not an address, so dispatch takes it; it resolves to
        # loopback here, so the sender refuses it without connecting.
        name = socket.gethostname()
        resolved = {info[4][0] for info in socket.getaddrinfo(name, port)}
        assert resolved, f"{name} does not resolve"
        task = client.post(
            "/v1/tasks",
            json={"agent": "noop", "goal": "x", "webhook": {"url": f"http://{name}:{port}/h"}},
        ).json()
        wait_for(client, task["id"], {"completed"})
        deadline = time.monotonic() + 10
        while True:
            deliveries = client.get(f"/v1/tasks/{task['id']}/webhooks").json()["deliveries"]
            if deliveries and all(d["status"] != "pending" for d in deliveries):
                break
            assert time.monotonic() < deadline, deliveries
            time.sleep(0.1)
    assert {d["status"] for d in deliveries} == {"refused"}
    assert all(len(d["attempts"]) == 1 for d in deliveries)
    assert all("refused" in d["attempts"][0]["error"] for d in deliveries)
    assert receiver.calls == 0, "the receiver was reached"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_dead_receiver_does_not_delay_a_healthy_one(own_server: ServerProcess) -> None:
    """Issue 8.2: deliveries to a receiver that never answers (each attempt waits for the
    10 s timeout) filled the sender's window, and another receiver waited for minutes."""
    import socket

    from tests.conftest import LOOPBACK

    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead.listen(1000)  # the kernel accepts connections; nobody ever answers
    healthy = Receiver(failures=0)
    own_server.env["BUREAU_WEBHOOK_ALLOWED_NETWORKS"] = LOOPBACK
    own_server.start()
    try:
        with own_server.client() as client:
            dead_hook = {"url": f"http://127.0.0.1:{dead.getsockname()[1]}/hook"}
            for i in range(40):
                client.post(
                    "/v1/tasks", json={"agent": "noop", "goal": f"#{i}", "webhook": dead_hook}
                ).raise_for_status()
            time.sleep(1.0)  # the sender is now busy with the dead receiver
            started = time.monotonic()
            client.post(
                "/v1/tasks", json={"agent": "noop", "goal": "x", "webhook": {"url": healthy.url}}
            ).raise_for_status()
            while not healthy.accepted:
                assert time.monotonic() - started < 10, "the healthy receiver was never served"
                time.sleep(0.01)
            took = time.monotonic() - started
    finally:
        own_server.stop()  # first: its attempts to the dead receiver end with the server
        dead.close()
        healthy.http.shutdown()
        healthy.http.server_close()
    assert took < 1.0, f"the healthy receiver waited {took:.1f} s behind the dead one"
