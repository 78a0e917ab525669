"""Percentiles and small summaries (no numpy: the benchmark runs on the project's venv)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from machine import CpuWatch, cpu_seconds, service_cpu_seconds


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float], digits: int = 3) -> dict[str, float | int | None]:
    """count, p50, p90, p99, max, mean of `values` (in whatever unit they are in)."""

    def r(value: float | None) -> float | None:
        return None if value is None else round(value, digits)

    return {
        "count": len(values),
        "p50": r(percentile(values, 50)),
        "p90": r(percentile(values, 90)),
        "p99": r(percentile(values, 99)),
        "max": r(max(values) if values else None),
        "mean": r(sum(values) / len(values) if values else None),
    }


def parse_iso(text: str) -> float:
    """Seconds since the epoch of an ISO timestamp such as `2025-01-01T00:00:00.123Z`."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass
class CpuSpan:
    """Client CPU used inside a `with client_cpu() as span:` block, and the wall time."""

    cpu: float = 0.0
    wall: float = 0.0
    server_cpu: float | None = None
    server_cpu_by_process: dict[str, float] = field(default_factory=dict)
    service_cpu: dict[str, float] = field(default_factory=dict)  # PostgreSQL, Redis
    machine: dict[str, float] = field(default_factory=dict)

    @property
    def share(self) -> float:
        """Fraction of one core the client used."""
        return self.cpu / self.wall if self.wall else 0.0

    def as_dict(self, operations: int | None = None) -> dict[str, object]:
        out: dict[str, object] = {
            "client_cpu_s": round(self.cpu, 3),
            "wall_s": round(self.wall, 3),
            "client_cpu_share_of_one_core": round(self.share, 3),
            **self.machine,
        }
        if self.server_cpu is not None and self.wall:
            server_share = self.server_cpu / self.wall
            out["server_cpu_share_of_one_core"] = round(server_share, 3)
            busy = self.machine.get("machine_busy_cores", 0.0)
            services = {name: cpu / self.wall for name, cpu in self.service_cpu.items()}
            if any(share >= 0.005 for share in services.values()):
                out["service_cpu_share_of_one_core"] = {
                    name: round(share, 3) for name, share in services.items()
                }
            others = busy - server_share - self.share - sum(services.values())
            out["other_processes_busy_cores"] = round(max(0.0, others), 2)
            if len(self.server_cpu_by_process) > 1:
                out["server_cpu_share_by_process"] = {
                    name: round(cpu / self.wall, 3)
                    for name, cpu in self.server_cpu_by_process.items()
                }
        if operations:
            out["client_cpu_ms_per_op"] = round(self.cpu * 1000 / operations, 4)
        return out


def _cpu_of(processes: Mapping[str, int]) -> dict[str, float]:
    found = {}
    for name, pid in processes.items():
        with contextlib.suppress(OSError):  # a process that exited (row g kills one)
            found[name] = cpu_seconds(pid)
    return found


@contextmanager
def client_cpu(server: int | Mapping[str, int] | None = None) -> Iterator[CpuSpan]:
    """Measure the client's CPU (and the server's: a pid, or name → pid of every server
    process) and the machine's load over the block; other processes' load is what the
    machine did beyond the two."""
    span = CpuSpan()
    watch = CpuWatch()
    processes = {"server": server} if isinstance(server, int) else dict(server or {})
    before = _cpu_of(processes)
    services = service_cpu_seconds()
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        yield span
    finally:
        span.cpu = time.process_time() - cpu
        span.wall = time.perf_counter() - wall
        span.machine = watch.result()
        if processes:
            after = _cpu_of(processes)
            span.server_cpu_by_process = {
                name: after[name] - before[name] for name in after if name in before
            }
            span.server_cpu = sum(span.server_cpu_by_process.values())
        after_services = service_cpu_seconds()
        span.service_cpu = {
            name: max(0.0, after_services[name] - services[name]) for name in services
        }
