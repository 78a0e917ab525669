"""A fleet on this machine: PostgreSQL, a Redis of its own, two API and two worker processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.databases import database_for
from tests.support.server import ServerProcess, free_port


class RedisProcess:
    """A private redis-server, so a test may stop and restart it."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True
            ).stdout.strip()
            != b"PONG"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


@dataclass
class Fleet:
    apis: list[ServerProcess]
    workers: list[ServerProcess]
    redis: RedisProcess
    database_url: str

    def client(self, index: int = 0, **kwargs: Any) -> httpx.Client:
        return self.apis[index].client(**kwargs)

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        """Run `query`; again when PostgreSQL picks it as a deadlock's victim (a bulk update
        of the queue while the workers claim from it)."""
        import psycopg

        for attempt in range(5):
            try:
                with psycopg.connect(self.database_url) as conn:
                    return conn.execute(query, args).fetchall()  # type: ignore[arg-type]
            except psycopg.errors.DeadlockDetected:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def worker_holding(self, task_id: str) -> ServerProcess:
        (owner,) = self.sql("select lease_owner from tasks where id = %s", task_id)[0]
        pid = int(owner.split(":")[-2])
        holders = [w for w in self.workers if w.pid == pid]
        assert holders, f"task {task_id} is held by {owner}, not by {[w.pid for w in self.workers]}"
        return holders[0]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    base = tmp_path_factory.mktemp("fleet")
    redis = RedisProcess(base)
    redis.start()
    with database_for("postgresql") as settings:
        data_dir = base / "data"
        common = {
            **settings,
            "redis_url": redis.url,
            "lease_seconds": 2,
            "reaper_interval": 0.2,
            "poll_interval": 0.5,
        }
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bureau",
                "migrate",
                "--database-url",
                settings["database_url"],
                "--data-dir",
                str(data_dir),
            ],
            check=True,
            capture_output=True,
            env={**os.environ},
        )
        workers = [
            ServerProcess(data_dir, "worker", shutdown_grace_seconds=1, **common) for _ in range(2)
        ]
        apis = [ServerProcess(data_dir, "api", **common) for _ in range(2)]
        for process in [*workers, *apis]:
            process.start()
        fleet = Fleet(apis, workers, redis, settings["database_url"])
        try:
            yield fleet
        finally:
            for process in [*apis, *workers]:
                process.stop()
            redis.stop()
        apis[0].assert_clean_log()  # the fleet's processes share one data dir and log


@pytest.fixture
def healthy_fleet(fleet: Fleet) -> Fleet:
    """The fleet with every process running (a test may have killed one)."""
    if fleet.redis.process is None or fleet.redis.process.poll() is not None:
        fleet.redis.start()
    for process in [*fleet.workers, *fleet.apis]:
        if process.process is None or process.process.poll() is not None:
            process.start()
    return fleet
