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
