"""The outside probe of issue 8, replayed against a running server.

Sends what the probe and a first-time user sent (webhooks aimed at internal addresses, a dead
receiver beside a healthy one, deep and wide bodies, huge numbers, odd headers, idle
connections) while a thread times `/healthz`, and reports:

- every 5xx answer (there must be none);
- every connection that reached a trap listening where refused webhooks point (none);
- the slowest `/healthz` answer during the run (under 100 ms);
- each check that did not hold.

Run it against a server started with `BUREAU_WEBHOOK_ALLOWED_NETWORKS='["127.0.0.2/32"]'`
(the receivers listen on 127.0.0.2; the traps on 127.0.0.1 and ::1 must stay refused) and the
test agents (`--agents tests.support.agents`):

    python -m tests.probe http://127.0.0.1:8000 "$(cat .bureau/admin-key)"

`tests/e2e/test_probe.py` runs it on every test run.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

RECEIVER_HOST = "127.0.0.2"
HEALTHZ_LIMIT = 0.1
JSON = {"content-type": "application/json"}


@dataclass
class Report:
    server_errors: list[str] = field(default_factory=list)
    trapped: list[str] = field(default_factory=list)
    slowest_healthz: float = 0.0
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        clean = not (self.server_errors or self.trapped or self.failed)
        return clean and self.slowest_healthz < HEALTHZ_LIMIT

    def check(self, holds: bool, what: str) -> None:
        if not holds:
            self.failed.append(what)


class Trap:
    """Listens where refused webhooks point; any connection is a failure of the probe."""

    def __init__(self, host: str, family: socket.AddressFamily) -> None:
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections: list[str] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except OSError:
                continue
            self.connections.append(str(peer))
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


class Receiver:
    """A webhook receiver on 127.0.0.2: healthy (204 at once) or dead (never answers)."""

    def __init__(self, healthy: bool) -> None:
        self.arrivals: list[float] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["content-length"]))
                if not healthy:
                    time.sleep(30)  # the sender's timeout ends it
                    return
                receiver.arrivals.append(time.monotonic())
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer((RECEIVER_HOST, 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://{RECEIVER_HOST}:{self.http.server_address[1]}/hook"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


_HEALTHZ_TIMER = """
import select, sys, time, httpx
slowest = 0.0
with httpx.Client(base_url=sys.argv[1], timeout=10) as client:
    client.get("/healthz")
    print("timing", flush=True)
    while not select.select([sys.stdin], [], [], 0.02)[0]:
        started = time.perf_counter()
        client.get("/healthz")
        slowest = max(slowest, time.perf_counter() - started)
print(slowest, flush=True)
"""


@contextmanager
def healthz_timer(url: str, report: Report) -> Iterator[None]:
    """Times `/healthz` every 20 ms until the block ends; the slowest goes in the report.
    The timer is a process of its own: in this one, building and sending the probe's large
    bodies would hold the GIL and count against the server."""
    timer = subprocess.Popen(
        [sys.executable, "-c", _HEALTHZ_TIMER, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert timer.stdin is not None and timer.stdout is not None
    with timer:
        try:
            assert timer.stdout.readline().strip() == "timing", "the /healthz timer did not start"
            yield
        finally:
            timer.stdin.close()  # its end of input: stop
            last = timer.stdout.read().split()
            timer.wait(timeout=30)
    if timer.returncode != 0 or not last:
        raise RuntimeError(f"the /healthz timer failed (exit {timer.returncode})")
    report.slowest_healthz = max(report.slowest_healthz, float(last[-1]))


def probe(url: str, key: str) -> Report:
    report = Report()

    def answered(response: httpx.Response) -> None:
        if response.status_code >= 500:
            where = f"{response.request.method} {response.request.url.path}"
            report.server_errors.append(f"{where}: {response.status_code}")

    headers = {"authorization": f"Bearer {key}"}
    wide = _wide_body()  # built before the timer starts: it takes this process a while
    traps = [Trap("127.0.0.1", socket.AF_INET), Trap("::1", socket.AF_INET6)]
    client = httpx.Client(
        base_url=url, headers=headers, timeout=30, event_hooks={"response": [answered]}
    )
    try:
        with healthz_timer(url, report):
            _ssrf(client, report, traps)
            _starvation(client, report)
            _deep_input(client, report)
            _large_bodies(client, report, wide)
            _numbers(client, report)
            _smaller(client, report)
            time.sleep(1.0)  # deliveries the sender may still attempt
    finally:
        client.close()
        for trap in traps:
            trap.close()
            report.trapped += trap.connections
    return report


def _ssrf(client: httpx.Client, report: Report, traps: list[Trap]) -> None:
    """Item 1: webhook URLs aimed at internal addresses are refused at dispatch."""
    v4, v6 = traps[0].port, traps[1].port
    urls = [
        f"http://127.0.0.1:{v4}/hook",
        f"http://localhost:{v4}/hook",
        f"http://2130706433:{v4}/hook",
        f"http://0x7f.1:{v4}/hook",
        f"http://0:{v4}/hook",
        f"http://[::ffff:127.0.0.1]:{v4}/hook",
        f"http://[::1]:{v6}/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        f"http://user:secret@127.0.0.2:{v4}/hook",
    ]
    for hook in urls:
        body = {"agent": "noop", "goal": "probe", "webhook": {"url": hook}}
        answer = client.post("/v1/tasks", json=body)
        report.check(answer.status_code == 422, f"webhook {hook} got {answer.status_code}")
        report.check("secret" not in answer.text, f"the answer for {hook} repeats a credential")


def _starvation(client: httpx.Client, report: Report) -> None:
    """Item 2: a dead receiver's backlog does not delay a healthy one."""
    dead, healthy = Receiver(healthy=False), Receiver(healthy=True)
    try:
        for _ in range(40):
            client.post(
                "/v1/tasks", json={"agent": "noop", "goal": "x", "webhook": {"url": dead.url}}
            )
        time.sleep(0.5)  # the dead receiver's deliveries are in flight
        sent = time.monotonic()
        client.post(
            "/v1/tasks", json={"agent": "noop", "goal": "x", "webhook": {"url": healthy.url}}
        )
        while not healthy.arrivals and time.monotonic() - sent < 5:
            time.sleep(0.02)
        waited = (healthy.arrivals or [float("inf")])[0] - sent
        report.check(waited < 1.0, f"the healthy receiver waited {waited:.2f} s")
    finally:
        dead.close()
        healthy.close()


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"x": value}
    return value


def _deep_input(client: httpx.Client, report: Report) -> None:
    """Item 3: input nested deeper than the bound is refused; every read still answers."""
    for depth in (33, 251, 252, 600):
        body = json.dumps({"agent": "noop", "goal": "x", "input": {"x": _nested(depth)}})
        answer = client.post("/v1/tasks", content=body, headers=JSON)
        report.check(answer.status_code == 422, f"input {depth} deep got {answer.status_code}")
    listed = client.get("/v1/tasks", params={"limit": 100})
    report.check(listed.status_code == 200, f"GET /v1/tasks got {listed.status_code}")
    report.check(client.get("/v1/dead-letters").status_code == 200, "dead letters unreadable")


def _wide_body() -> bytes:
    """The probe's 14 MB body of 1.2 million keys in `metadata`."""
    keys = b",".join(b'"k%d": 1' % i for i in range(1_200_000))
    return b'{"agent": "noop", "goal": "x", "metadata": {' + keys + b"}}"


def _large_bodies(client: httpx.Client, report: Report, wide: bytes) -> None:
    """Item 4: bodies costly to parse are refused without holding the loop."""
    answer = client.post("/v1/tasks", content=wide, headers=JSON)
    report.check(answer.status_code == 413, f"1.2 million keys got {answer.status_code}")
    few = {"agent": "noop", "goal": "x", "metadata": {f"k{i}": i for i in range(65)}}
    answer = client.post("/v1/tasks", json=few)
    report.check(answer.status_code == 422, f"65 metadata keys got {answer.status_code}")


def _numbers(client: httpx.Client, report: Report) -> None:
    """Item 5: huge numbers and odd headers are 4xx problems, never 500s."""
    big = '{"agent": "noop", "goal": "x", "input": {"n": 18446744073709551616}}'
    answer = client.post("/v1/tasks", content=big, headers=JSON)
    report.check(answer.status_code == 422, f"a 65-bit integer got {answer.status_code}")
    task = client.post("/v1/tasks", json={"agent": "noop", "goal": "x"}).json()
    events = f"/v1/tasks/{task['id']}/events"
    answer = client.get(events, params={"after": "9223372036854775808"})
    report.check(400 <= answer.status_code < 500, f"after=2^63 got {answer.status_code}")
    for last_event_id in (b"99999999999999999999999", "²".encode()):
        stream_headers = {b"accept": b"text/event-stream", b"last-event-id": last_event_id}
        with client.stream("GET", events, headers=stream_headers) as stream:
            code = stream.status_code
        report.check(code < 500, f"Last-Event-ID {last_event_id!r} got {code}")


def _smaller(client: httpx.Client, report: Report) -> None:
    """Item 6: the smaller ones."""
    body = {"agent": "noop", "goal": "x"}
    answer = client.post("/v1/tasks", json=body, headers={"idempotency-key": ""})
    report.check(answer.status_code == 422, f"an empty Idempotency-Key got {answer.status_code}")
    answer = client.delete("/v1/tasks")
    report.check(answer.status_code == 405 and "allow" in answer.headers, "405 without Allow")
    report.check(answer.headers.get("x-content-type-options") == "nosniff", "no nosniff")
    nan = '{"agent": "noop", "goal": "x", "input": {"n": NaN}}'
    answer = client.post("/v1/tasks", content=nan, headers=JSON)
    report.check(answer.status_code == 422, f"NaN got {answer.status_code}")

    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b" " * 1024 * 1024

    answer = client.post("/v1/tasks", content=chunks(), headers=JSON)
    report.check(answer.status_code == 413, f"a 40 MiB chunked body got {answer.status_code}")
    host, port = client.base_url.host, client.base_url.port or 80
    idle = socket.create_connection((host, port))  # sends nothing: closed by the server later
    idle.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("key")
    args = parser.parse_args()
    report = probe(args.url, args.key)
    print(f"5xx answers: {len(report.server_errors)} {report.server_errors}")
    print(f"connections to refused destinations: {len(report.trapped)}")
    print(f"slowest /healthz: {report.slowest_healthz * 1000:.1f} ms")
    for failure in report.failed:
        print(f"FAILED: {failure}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
