"""Starting and stopping the servers under test, and reading their RSS and CPU from /proc.

Each row starts a fresh server in a temporary data directory, waits for `/healthz`, and
stops it at the end (SIGTERM, then SIGKILL); `ServerProcess` is a context manager so a
failing row still stops its server. On PostgreSQL a `Fleet` is one `bureau serve`, or one
`bureau api` with N `bureau worker` processes, on a fresh database (dropped at the end) and
a flushed Redis database; `Target` says which a row gets.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from machine import cpu_seconds

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

# PostgreSQL server (a database to connect to for CREATE/DROP DATABASE) and the Redis
# database Bureau gets in the benchmarks; never index 0, since it is flushed before use.
POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2")
STOP_SECONDS = 15.0  # SIGTERM, then SIGKILL after this long
# A fleet's processes get less: the workers' shutdown grace is 2 s and uvicorn's 5 s, and
# the databases are dropped anyway.
FLEET_STOP_SECONDS = 8.0

_LIVE: set[ServerProcess] = set()  # killed at exit if a row could not stop them
_DATABASES: set[str] = set()  # dropped at exit if a row could not drop them
SLOW_STOPS: list[str] = []  # servers that needed SIGKILL to stop (run.py reports them)

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


class Started:
    """`with x:` starts `x` and always stops it, also when starting fails half-way."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ServerProcess(Started):
    """A server subprocess on 127.0.0.1:`port` with its own temporary directory."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        port: int,
        workdir: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = argv
        self.port = port
        self.workdir = workdir
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.key: str | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def processes(self) -> dict[str, int]:
        """Name → pid of every server process (for CPU accounting)."""
        return {self.name: self.pid}

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def start(self, timeout: float = 60.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "BUREAU_LOG_LEVEL": "warning",
            "PYTHONUNBUFFERED": "1",
            "BENCH_DIAGNOSE_LOG": str(self.workdir / "diagnose.log"),
            **self.env,
        }
        with (self.workdir / "server.log").open("wb") as log:
            self.proc = subprocess.Popen(
                self.argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        _LIVE.add(self)
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

    def terminate(self) -> None:
        """Send SIGTERM (a graceful stop); `stop` waits for it."""
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """`kill -9`: no shutdown code runs."""
        if self.alive:
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(timeout=10)
        _LIVE.discard(self)

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                SLOW_STOPS.append(f"{self.name} still running {timeout:.0f} s after SIGTERM")
        _LIVE.discard(self)


def _launcher(role: str) -> list[str]:
    """`python -c SERVE_SNIPPET` (or `diagnose_serve.py` with BENCH_DIAGNOSE=1, which logs
    GC pauses and loop lag) and the role's arguments."""
    if os.environ.get("BENCH_DIAGNOSE") and role != "migrate":
        return [python(), str(BENCH / "diagnose_serve.py"), role]
    return [python(), "-c", SERVE_SNIPPET, role]


def _role_argv(role: str, data: Path, port: int, extra: list[str] | None = None) -> list[str]:
    argv = [*_launcher(role), "--data-dir", str(data), "--port", str(port)]
    if role in ("serve", "worker"):
        argv += ["--no-demo-agents", "--agents", str(BENCH / "agents.py")]
    return [*argv, "--log-level", "warning", *(extra or [])]


def bureau(tmp: Path, extra: list[str] | None = None) -> ServerProcess:
    """A fresh `bureau serve` (embedded SQLite) with the benchmark agents only; with
    BENCH_DIAGNOSE=1, through `diagnose_serve.py`, which logs GC pauses and loop lag."""
    port = free_port()
    return ServerProcess("bureau", _role_argv("serve", tmp / "data", port, extra), port, tmp)


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


# -- PostgreSQL + Redis ------------------------------------------------------------------


def _admin_sql(statement: str, url: str = POSTGRES_ADMIN_URL) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def _database_url(name: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


class PostgresDatabase:
    """A fresh database on the benchmark's PostgreSQL server, dropped on exit (also when the
    benchmark exits with it still there)."""

    def __init__(self, prefix: str = "bureau_bench") -> None:
        self.name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.url = _database_url(self.name)

    def create(self) -> str:
        _admin_sql(f"CREATE DATABASE {self.name}")
        _DATABASES.add(self.name)
        return self.url

    def drop(self) -> None:
        if self.name in _DATABASES:
            _admin_sql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            _DATABASES.discard(self.name)

    def __enter__(self) -> str:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.drop()


def flush_redis(url: str) -> None:
    """FLUSHDB on `url`'s database; refuses database 0 (it may hold someone else's data)."""
    import redis

    index = url.rsplit("/", 1)[-1]
    if not index.isdigit() or int(index) == 0:
        raise ValueError(f"refusing to flush Redis database {index!r} of {url}; use 1 or more")
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()


def service_versions() -> dict[str, str]:
    """PostgreSQL and Redis server versions (or why they could not be read)."""
    found: dict[str, str] = {}
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            found["postgresql"] = str(row[0]).split()[0] if row else "?"
    except Exception as exc:
        found["postgresql"] = f"unreachable ({type(exc).__name__})"
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_timeout=5, socket_connect_timeout=5)
        try:
            found["redis"] = str(client.info("server")["redis_version"])
        finally:
            client.close()
    except Exception as exc:
        found["redis"] = f"unreachable ({type(exc).__name__})"
    return found


class Fleet(Started):
    """Bureau on PostgreSQL + Redis, sharing one fresh database, one data directory and one
    admin key (`BUREAU_BOOTSTRAP_ADMIN_KEY`): `workers=0` is one `bureau serve` process (API
    and worker); `workers=N` is one `bureau api` and N `bureau worker` processes.

    The same interface as `ServerProcess` for the rows (`port`, `key`, `pid` of the process
    serving the API, `processes`, `problems()`), plus `sql()` and the worker processes.
    Entering creates the database, flushes the Redis database, runs `bureau migrate`, and
    starts the workers (the first `start_workers` of them; `start_process` starts the
    others later), then the API; leaving stops them all (SIGTERM together, SIGKILL
    what is left after 15 s) and drops the database, also on failure.
    """

    def __init__(
        self,
        tmp: Path,
        workers: int,
        *,
        lease_seconds: float | None = None,
        concurrency: int | list[int] | None = None,
        redis_url: str = REDIS_URL,
        shutdown_grace: float = 2.0,
        start_workers: int | None = None,
    ) -> None:
        self.tmp = tmp
        self.database = PostgresDatabase()
        self.redis_url = redis_url
        self.key = f"bk_bench{secrets.token_hex(4)}_{secrets.token_hex(24)}"
        self.data = tmp / "data"
        env = {
            "BUREAU_DATABASE_URL": self.database.url,
            "BUREAU_REDIS_URL": redis_url,
            "BUREAU_BOOTSTRAP_ADMIN_KEY": self.key,
        }
        common = ["--shutdown-grace", f"{shutdown_grace:g}"]
        if lease_seconds is not None:
            common += ["--lease-seconds", f"{lease_seconds:g}"]
        slots = concurrency if isinstance(concurrency, list) else [concurrency] * max(1, workers)

        def process(name: str, role: str, options: list[str]) -> ServerProcess:
            port = free_port()
            argv = _role_argv(role, self.data, port, options)
            return ServerProcess(name, argv, port, tmp / name, env)

        def options(i: int) -> list[str]:
            return common + (["--concurrency", str(slots[i])] if slots[i] is not None else [])

        if workers == 0:
            self.api = process("serve", "serve", options(0))
            self.workers = [self.api]
        else:
            self.workers = [
                process(f"worker-{i + 1}", "worker", options(i)) for i in range(workers)
            ]
            self.api = process("api", "api", [])
        self.env = env
        self.start_workers = len(self.workers) if start_workers is None else start_workers

    @property
    def all(self) -> list[ServerProcess]:
        return list(dict.fromkeys([*self.workers, self.api]))

    @property
    def port(self) -> int:
        return self.api.port

    @property
    def pid(self) -> int:
        return self.api.pid

    @property
    def processes(self) -> dict[str, int]:
        return {p.name: p.pid for p in self.all if p.alive}

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.database.url, connect_timeout=10) as conn:
            return conn.execute(query, args).fetchall()  # type: ignore[arg-type]

    def worker_by_pid(self, pid: int) -> ServerProcess | None:
        return next((w for w in self.workers if w.alive and w.pid == pid), None)

    def _migrate(self) -> None:
        argv = [*_launcher("migrate"), "--data-dir", str(self.data), "--log-level", "warning"]
        done = subprocess.run(
            argv,
            cwd=ROOT,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"bureau migrate failed: {done.stderr[-2000:]}")

    def start(self) -> None:
        self.database.create()
        flush_redis(self.redis_url)
        self._migrate()
        deferred = self.workers[self.start_workers :] if self.api not in self.workers else []
        for server in self.all:  # one at a time: the first creates the default tenant
            if server not in deferred:
                self.start_process(server)

    def start_process(self, server: ServerProcess) -> None:
        """Start one of the fleet's processes (a worker left out by `start_workers`)."""
        server.start()
        server.key = self.key

    def stop(self) -> None:
        try:
            stop_all(self.all, FLEET_STOP_SECONDS)
        finally:
            self.database.drop()

    def problems(self) -> list[str]:
        found = []
        for server in self.all:
            found += [f"{server.name}: {line}" for line in server.problems()]
        return found[:20]

    def diagnostics(self) -> dict[str, Any] | None:
        return {
            server.name: found for server in self.all if (found := server.diagnostics())
        } or None


def stop_all(servers: list[ServerProcess], timeout: float = STOP_SECONDS) -> None:
    """SIGTERM to every server at once, then wait; SIGKILL what is left after `timeout`."""
    for server in servers:
        server.terminate()
    deadline = time.monotonic() + timeout
    for server in servers:
        server.stop(timeout=max(0.1, deadline - time.monotonic()))


@dataclass(frozen=True)
class Target:
    """Where a row runs: embedded SQLite (one `bureau serve`), or PostgreSQL + Redis with
    `workers` worker processes beside one `bureau api` (0: one `bureau serve`)."""

    backend: str  # "sqlite" or "postgres"
    workers: int = 0

    @property
    def key(self) -> str:
        if self.backend == "sqlite":
            return "sqlite"
        return "pg-serve" if self.workers == 0 else f"pg-api+{self.workers}w"

    @property
    def label(self) -> str:
        if self.backend == "sqlite":
            return "SQLite, 1 process"
        if self.workers == 0:
            return "PostgreSQL, serve (1 process)"
        return f"PostgreSQL, api + {self.workers} workers"

    def server(self, tmp: Path, **options: Any) -> ServerProcess | Fleet:
        if self.backend == "sqlite":
            return bureau(tmp)
        return Fleet(tmp, self.workers, **options)


@atexit.register
def _cleanup() -> None:
    """Last resort when a row could not clean up (an interrupt): kill, then drop."""
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.kill()
    for name in list(_DATABASES):
        with contextlib.suppress(Exception):
            _admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
