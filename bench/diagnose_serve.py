"""`bureau serve` with diagnostics, for `run.py --diagnose`: logs the server's own pauses.

Writes one line per notable pause to `$BENCH_DIAGNOSE_LOG`: garbage-collector runs of
10 ms or more (`gc` callbacks), and event-loop lag of 20 ms or more (a probe task that
sleeps 5 ms and measures how late it wakes). Everything else is the real `bureau serve`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
from typing import Any

from bureau.cli import serve
from bureau.node import Node

LOG = open(os.environ.get("BENCH_DIAGNOSE_LOG", os.devnull), "a", buffering=1)  # noqa: SIM115
_gc_started = 0.0


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    global _gc_started
    if phase == "start":
        _gc_started = time.perf_counter()
        return
    took = (time.perf_counter() - _gc_started) * 1000
    if took >= 10:
        LOG.write(f"{time.time():.3f} gc gen{info['generation']} {took:.1f}\n")


async def _lag_probe() -> None:
    while True:
        before = time.perf_counter()
        await asyncio.sleep(0.005)
        late = (time.perf_counter() - before - 0.005) * 1000
        if late >= 20:
            LOG.write(f"{time.time():.3f} lag - {late:.1f}\n")


_start = Node.start
_probes: set[asyncio.Task[None]] = set()


async def _start_with_probe(self: Node) -> None:
    await _start(self)
    _probes.add(asyncio.create_task(_lag_probe()))


def main() -> int:
    gc.callbacks.append(_on_gc)
    Node.start = _start_with_probe  # type: ignore[method-assign]
    parser = argparse.ArgumentParser()
    serve.register(parser.add_subparsers())
    args = parser.parse_args(sys.argv[1:])
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
