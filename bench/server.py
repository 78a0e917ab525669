"""Starting and stopping the servers under test, and reading their RSS and CPU from /proc.

Each row starts a fresh server in a temporary data directory, waits for `/healthz`, and
stops it at the end (SIGTERM, then SIGKILL); `ServerProcess` is a context manager so a
failing row still stops its server.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from machine import cpu_seconds

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

# `bureau serve` through the CLI module, so the benchmark works whether or not the
# `bureau` console script is installed yet.
SERVE_SNIPPET = (
    "import sys, argparse\n"
    "from bureau.cli import serve\n"
    "p = argparse.ArgumentParser(); s = p.add_subparsers(); serve.register(s)\n"
    "a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))\n"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def python() -> str:
    return str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable


def rss_bytes(pid: int) -> int:
    """Resident set size of `pid` (VmRSS) in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class ServerProcess:
    """A server subprocess on 127.0.0.1:`port` with its own temporary directory."""

    def __init__(self, name: str, argv: list[str], port: int, workdir: Path) -> None:
        self.name = name
        self.argv = argv
        self.port = port
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.key: str | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def start(self, timeout: float = 60.0) -> None:
        log = (self.workdir / "server.log").open("wb")
        env = {
            **os.environ,
            "BUREAU_LOG_LEVEL": "warning",
            "PYTHONUNBUFFERED": "1",
            "BENCH_DIAGNOSE_LOG": str(self.workdir / "diagnose.log"),
        }
        self.proc = subprocess.Popen(
            self.argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log_tail()}")
            try:
                url = f"http://127.0.0.1:{self.port}/healthz"
                with urllib.request.urlopen(url, timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{self.name} not healthy within {timeout:g} s")
        key_file = self.workdir / "data" / "admin-key"
        if key_file.exists():
            self.key = key_file.read_text().strip()

    def log_tail(self, lines: int = 30) -> str:
        path = self.workdir / "server.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def problems(self) -> list[str]:
        """Tracebacks and errors the server logged (at level warning and up)."""
        path = self.workdir / "server.log"
        if not path.exists():
            return []
        text = path.read_text(errors="replace").splitlines()
        return [line for line in text if "ERROR" in line or "Traceback" in line][:20]

    def diagnostics(self) -> dict[str, Any] | None:
        """GC pauses and loop lag logged by `diagnose_serve.py` (None when not used)."""
        path = self.workdir / "diagnose.log"
        if not path.exists():
            return None
        found: dict[str, list[float]] = {"gc": [], "lag": []}
        for line in path.read_text().splitlines():
            _, kind, _, ms = line.split()
            found[kind].append(float(ms))
        return {
            f"{kind}_pauses": {
                "count": len(values),
                "max_ms": max(values, default=0.0),
                "total_ms": round(sum(values), 1),
            }
            for kind, values in found.items()
        } | {"thresholds_ms": {"gc": 10, "lag": 20}}

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __enter__(self) -> ServerProcess:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def bureau(tmp: Path, extra: list[str] | None = None) -> ServerProcess:
    """A fresh `bureau serve` (embedded SQLite) with the benchmark agents only; with
    BENCH_DIAGNOSE=1, through `diagnose_serve.py`, which logs GC pauses and loop lag."""
    port = free_port()
    data = tmp / "data"
    launcher = (
        [str(BENCH / "diagnose_serve.py")]
        if os.environ.get("BENCH_DIAGNOSE")
        else ["-c", SERVE_SNIPPET]
    )
    argv = [
        python(),
        *launcher,
        "serve",
        "--data-dir",
        str(data),
        "--port",
        str(port),
        "--no-demo-agents",
        "--agents",
        str(BENCH / "agents.py"),
        "--log-level",
        "warning",
        *(extra or []),
    ]
    return ServerProcess("bureau", argv, port, tmp)


def ceiling(tmp: Path) -> ServerProcess:
    """The FastAPI BackgroundTasks endpoint: no durability at all."""
    port = free_port()
    argv = [python(), str(BENCH / "ceiling_app.py"), "--port", str(port)]
    return ServerProcess("fastapi-background", argv, port, tmp)


class TempDir:
    """A temporary directory removed on exit (kept with BENCH_KEEP=1 for debugging)."""

    def __init__(self, prefix: str) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=f"bureau-bench-{prefix}-"))

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(self.path, ignore_errors=True)
