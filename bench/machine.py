"""The machine and software the figures were measured on."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import sys
from importlib import metadata
from typing import Any


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        return None
    return None


def describe() -> dict[str, Any]:
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout
    return {
        "nproc": int(nproc) if nproc.strip().isdigit() else os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gib": _memory_gib(),
        "loadavg_at_start": os.getloadavg(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "packages": {
            name: _version(name)
            for name in (
                "bureau",
                "fastapi",
                "starlette",
                "uvicorn",
                "uvloop",
                "httptools",
                "sqlalchemy",
                "orjson",
            )
        },
    }


def _cpu_times() -> list[int]:
    with open("/proc/stat") as stat:
        return [int(v) for v in stat.readline().split()[1:9]]


class CpuWatch:
    """Whole-machine CPU over an interval, from /proc/stat: how many cores were busy, and
    the share stolen by the hypervisor (a noisy neighbour shows up here, not in our
    processes' own CPU time)."""

    def __init__(self) -> None:
        self.start = _cpu_times()
        self.started = os.times().elapsed

    def result(self) -> dict[str, float]:
        end = _cpu_times()
        delta = [b - a for a, b in zip(self.start, end, strict=True)]
        user, nice, system, _idle, _iowait, irq, softirq, steal = delta
        total = sum(delta) or 1
        wall = (os.times().elapsed - self.started) or 1e-9
        ticks = os.sysconf("SC_CLK_TCK")
        busy = user + nice + system + irq + softirq
        return {
            "machine_busy_cores": round(busy / ticks / wall, 2),
            "machine_steal_share": round(steal / total, 3),
        }


def jitter_probe(seconds: float = 3.0) -> dict[str, float]:
    """Oversleep of a 1 ms sleep, in ms: the latency floor the machine itself imposes."""
    import time

    late: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        before = time.perf_counter()
        time.sleep(0.001)
        late.append((time.perf_counter() - before - 0.001) * 1000)
    late.sort()
    return {
        "sleep_1ms_oversleep_p50_ms": round(late[len(late) // 2], 3),
        "sleep_1ms_oversleep_p99_ms": round(late[int(len(late) * 0.99)], 3),
        "sleep_1ms_oversleep_max_ms": round(late[-1], 3),
    }


SERVICES = {"postgres": "postgres", "redis-server": "redis"}


def service_cpu_seconds() -> dict[str, float]:
    """CPU seconds so far of the database and broker processes on this machine (PostgreSQL
    and its backends, redis-server), by service; a process gone by the end of a window
    drops out of it, so this is a lower bound."""
    found = dict.fromkeys(SERVICES.values(), 0.0)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/comm") as comm:
                service = SERVICES.get(comm.read().strip())
            if service is not None:
                found[service] += cpu_seconds(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process `pid`."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
