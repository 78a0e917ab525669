"""A real Bureau server in a separate process, for end-to-end tests."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

AGENTS = str(Path(__file__).with_name("agents.py"))
AGENT_FAILURE = re.compile(r" WARNING bureau\.runner: task \S+: attempt \d+ of \S+ failed: ")


def unexpected(log: str) -> str:
    """A server log without the records of the test agents' failed attempts (the runner
    logs each one with its traceback, on purpose)."""
    records = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", log)
    return "\n".join(r for r in records if not AGENT_FAILURE.search(r.partition("\n")[0]))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """`bureau serve` (or another role) on a free port with the test agents; restartable
    after kill -9."""

    def __init__(
        self,
        data_dir: Path,
        role: str = "serve",
        *,
        demo_agents: bool = False,
        agents: str = AGENTS,
        **settings: Any,
    ) -> None:
        self.role = role
        self.demo_agents = demo_agents
        self.agents = agents
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "BUREAU_LOG_LEVEL": "warning",
            **{f"BUREAU_{k.upper()}": str(v) for k, v in settings.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "server.log"

    def start(self, timeout: float = 20.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "bureau",
            self.role,
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
        ]
        if self.role in ("serve", "worker"):
            command += ["--agents", self.agents]
            command += [] if self.demo_agents else ["--no-demo-agents"]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not start in {timeout}s:\n{self.log.read_text()}")

    @property
    def key(self) -> str:
        return (self.data_dir / "admin-key").read_text().strip()

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=30, **kwargs
        )

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {self.key}"}, **kwargs
        )

    def assert_clean_log(self) -> None:
        """No traceback and no Python warning in the server's log (see `unexpected`)."""
        log = self.log.read_text()
        ours = unexpected(log)
        assert "Traceback" not in ours and "Warning" not in ours, f"the server logged:\n{log}"

    def kill(self) -> None:
        """`kill -9`: no shutdown code runs."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def wait_for(
    client: httpx.Client, task_id: str, statuses: set[str], timeout: float = 15.0
) -> dict[str, Any]:
    """Poll until the task reaches one of `statuses`; returns the task."""
    deadline = time.monotonic() + timeout
    task: dict[str, Any] = {}
    while time.monotonic() < deadline:
        task = client.get(f"/v1/tasks/{task_id}").json()
        if task["status"] in statuses:
            return task
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} stayed {task.get('status')}, wanted {statuses}: {task}")
