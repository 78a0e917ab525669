"""Producer processes for the peers of row (b): the load comes from other processes, as
Bureau's comes from the benchmark client, not from a loop inside the measured process.

Stdlib only: the peers import it from their own venvs. A producer is this venv's Python
running the peer's script with producer arguments; it sets itself up (imports, connects),
prints "ready", waits for "go" on stdin, does its share of the work, and prints one JSON
line ({"seconds": ..., "cpu_s": ..., ...}) before it exits.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any


class Producers:
    """Start `len(argvs)` producers and wait until each is ready; `go()` releases them all
    at once and returns the time; `results()` waits for their JSON lines."""

    def __init__(self, argvs: Sequence[Sequence[str]], ready_timeout: float = 60.0) -> None:
        self.processes = [
            subprocess.Popen(
                [sys.executable, *argv],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for argv in argvs
        ]
        deadline = time.monotonic() + ready_timeout
        for process in self.processes:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            if line != "ready" or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"a producer did not start (said {line!r})")

    def go(self) -> float:
        started = time.perf_counter()
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        return started

    def results(self, timeout: float) -> list[dict[str, Any]]:
        out = []
        for process in self.processes:
            stdout, _ = process.communicate(timeout=timeout)
            if process.returncode != 0:
                raise RuntimeError(f"a producer failed ({process.returncode})")
            out.append(json.loads(stdout.strip().splitlines()[-1]))
        return out

    def kill(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def shares(count: int, producers: int) -> list[int]:
    """`count` split into `producers` near-equal parts."""
    return [count // producers + (i < count % producers) for i in range(producers)]


def serve_once(work: Any) -> None:
    """The producer side: say ready, wait for go, run `work()` (which returns a dict of
    extra figures), print the figures with its wall and CPU seconds."""
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit(1)
    started, cpu = time.perf_counter(), time.process_time()
    extra = work()
    figures = {"seconds": time.perf_counter() - started, "cpu_s": time.process_time() - cpu}
    print(json.dumps({**figures, **(extra or {})}), flush=True)
