"""The Celery + Redis peer for row (b); runs inside `bench/.venv-celery`, prints one JSON line.

No durability at all (no result backend, acks on receipt): an upper bound for a broker queue.
The module is both the Celery app (the worker imports it with `-A celery_peer`) and the
driver (`python celery_peer.py ...`), which:

1. FLUSHDBs a dedicated Redis database (never db 0) that holds the broker queue and the
   completion counter, so leftovers never count;
2. per worker config (pool, concurrency, prefetch multiplier), starts a real `celery worker`
   process in its own process group, and for each variant warms up with --warmup units sent
   from this process, then releases --producers processes (2 by default; one serial sender
   cannot keep a Celery worker busy) that dispatch N units between them as fast as they can,
   and polls the counter every 100 ms until it reads N. Throughput =
   N / (release of the producers -> the poll that saw N).
   - "task": one Celery task per unit whose body makes two no-op calls;
   - "chain": a chain of two no-op Celery tasks per unit (each step is a broker round trip,
     the closer analogue of two journaled steps).
   The unit's last call INCRs the counter;
3. stops the worker (SIGTERM to its group, then SIGKILL), also on failure. While it runs,
   the worker's process group id is in --pgid-file, so a caller that has to kill this driver
   can still kill the worker.

Usage: python celery_peer.py --redis-url redis://127.0.0.1:6379/ --count N
                             [--db 13] [--config prefork:2:64 ...] [--warmup 200]
                             [--producers 2]
"""

from __future__ import annotations

import os
from typing import Any

import redis
from celery import Celery, chain

from producers import Producers, serve_once, shares

BROKER_ENV = "CELERY_PEER_BROKER"
COUNTER = "bench:done"

app = Celery("celery_peer", broker=os.environ.get(BROKER_ENV, "redis://127.0.0.1:6379/13"))
app.conf.update(
    task_default_queue="bench",
    task_ignore_result=True,
    task_store_errors_even_if_ignored=False,
    task_acks_late=False,
    worker_prefetch_multiplier=int(os.environ.get("CELERY_PEER_PREFETCH", "4")),
    worker_enable_remote_control=False,
    worker_send_task_events=False,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)

_counter: dict[int, redis.Redis] = {}  # one client per (forked) process


def _done() -> None:
    pid = os.getpid()
    client = _counter.get(pid)
    if client is None:
        client = _counter[pid] = redis.Redis.from_url(app.conf.broker_url)
    client.incr(COUNTER)


def _noop() -> int:
    return 1


@app.task(name="bench.unit")
def unit() -> int:
    """Variant "task": one task, two no-op calls."""
    total = _noop() + _noop()
    _done()
    return total


@app.task(name="bench.step_one")
def step_one() -> int:
    return _noop()


@app.task(name="bench.step_two")
def step_two() -> int:
    total = _noop()
    _done()
    return total


def _dispatch_task() -> None:
    unit.apply_async()


def _dispatch_chain() -> None:
    chain(step_one.si(), step_two.si()).apply_async()


VARIANTS = {"task": _dispatch_task, "chain": _dispatch_chain}


def _group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) of the live processes in process group `pgid`."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def main() -> int:
    import argparse
    import contextlib
    import json
    import signal
    import subprocess
    import sys
    import tempfile
    import time
    from importlib import metadata
    from pathlib import Path
    from urllib.parse import urlsplit, urlunsplit

    parser = argparse.ArgumentParser()
    parser.add_argument("--redis-url", required=True, help="the server; the db part is ignored")
    parser.add_argument("--db", type=int, default=13, help="dedicated db index, FLUSHDBed")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        help="pool:concurrency:prefetch_multiplier, e.g. prefork:2:64 (repeatable)",
    )
    parser.add_argument("--variants", default="task,chain")
    parser.add_argument("--timeout", type=float, default=120.0, help="per measured batch")
    parser.add_argument("--pgid-file", type=Path, default=None)
    parser.add_argument("--producers", type=int, default=2, help="dispatching processes")
    parser.add_argument("--produce", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.produce:  # a producer process: send --count units of that variant
        app.conf.broker_url = args.redis_url

        def send() -> None:
            with app.producer_or_acquire():
                for _ in range(args.count):
                    VARIANTS[args.produce]()

        serve_once(send)
        return 0
    if args.db == 0:
        parser.error("--db 0 is never flushed; pick a dedicated index")
    parts = urlsplit(args.redis_url)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{args.db}", "", ""))
    configs = []
    for spec in args.config or [f"prefork:{os.cpu_count() or 1}:64"]:
        pool, concurrency, prefetch = spec.split(":")
        configs.append((pool, int(concurrency), int(prefetch)))
    variants = [v for v in args.variants.split(",") if v]

    def terminate(_sig: int, _frame: Any) -> None:
        raise SystemExit(1)  # so that the worker is stopped on the way out

    signal.signal(signal.SIGTERM, terminate)
    app.conf.broker_url = url
    client = redis.Redis.from_url(url)
    client.flushdb()
    redis_version = str(client.info("server")["redis_version"])
    bench_dir = str(Path(__file__).resolve().parent)

    def wait_for(target: int, deadline: float) -> tuple[int, float | None]:
        """Poll the counter every 100 ms until it reads `target` (or the deadline)."""
        seen = 0
        while True:
            seen = int(client.get(COUNTER) or 0)
            now = time.perf_counter()
            if seen >= target:
                return seen, now
            if now >= deadline:
                return seen, None
            time.sleep(0.1)

    def batch(variant: str, n: int, timeout: float, producers: int) -> dict[str, Any]:
        """`n` units of `variant`: sent from this process (`producers` 0: the warm-up, which
        also waits for the worker) or from `producers` processes released at once."""
        client.set(COUNTER, 0)
        if producers == 0:
            started, cpu = time.perf_counter(), time.process_time()
            with app.producer_or_acquire():  # warm the connection pool; apply_async reuses it
                for _ in range(n):
                    VARIANTS[variant]()
            sent, client_cpu = time.perf_counter() - started, time.process_time() - cpu
        else:
            script = str(Path(__file__).resolve())
            group = Producers(
                [
                    [script, "--redis-url", url, "--count", str(share), "--produce", variant]
                    for share in shares(n, producers)
                ]
            )
            try:
                started = group.go()
                seen, finished = wait_for(n, started + timeout)
                produced = group.results(timeout=60)
            finally:
                group.kill()
            sent = max(p["seconds"] for p in produced)
            client_cpu = sum(p["cpu_s"] for p in produced)
        if producers == 0:
            seen, finished = wait_for(n, started + timeout)
        elapsed = (finished or time.perf_counter()) - started
        return {
            "completed": seen,
            "finished": finished is not None,
            "seconds": round(elapsed, 3),
            "dispatch_seconds": round(sent, 3),
            "tasks_per_s": round(min(seen, n) / elapsed, 1),
            "producers": producers or 1,
            "client_cpu_s": round(client_cpu, 3),
        }

    def stop(worker: subprocess.Popen[bytes]) -> None:
        """SIGTERM to the worker's group (warm shutdown), SIGKILL if it lingers."""
        for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, sig)
            try:
                worker.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                continue
            # the main process is gone; make sure no pool child outlives it
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
            return

    results: list[dict[str, Any]] = []
    try:
        for pool, concurrency, prefetch in configs:
            client.flushdb()
            env = {**os.environ, BROKER_ENV: url, "CELERY_PEER_PREFETCH": str(prefetch)}
            env["PYTHONPATH"] = bench_dir + os.pathsep + env.get("PYTHONPATH", "")
            command = [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "celery_peer",
                "worker",
                "--pool",
                pool,
                "--concurrency",
                str(concurrency),
                "--prefetch-multiplier",
                str(prefetch),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "WARNING",
            ]
            config = {"pool": pool, "concurrency": concurrency, "prefetch_multiplier": prefetch}
            with tempfile.TemporaryFile() as log:  # a file: a full pipe would block the worker
                worker = subprocess.Popen(
                    command,
                    cwd=bench_dir,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                    start_new_session=True,
                )
                if args.pgid_file:
                    args.pgid_file.write_text(str(worker.pid))
                try:
                    for name in variants:
                        warm = batch(name, args.warmup, 60.0, 0)  # also waits for the worker
                        if not warm["finished"]:
                            raise RuntimeError(f"warm-up of {name} on {config} did not finish")
                        cpu = _group_cpu(worker.pid)
                        one = batch(name, args.count, args.timeout, args.producers)
                        one["worker_cpu_s"] = round(_group_cpu(worker.pid) - cpu, 3)
                        results.append({"variant": name, **config, "tasks": args.count, **one})
                except Exception:
                    log.seek(0)
                    print(log.read()[-3000:].decode(errors="replace"), file=sys.stderr)
                    raise
                finally:
                    stop(worker)
                    if args.pgid_file:  # gone: the worker is known to be stopped
                        args.pgid_file.unlink(missing_ok=True)
    finally:
        client.flushdb()

    finished = [r for r in results if r["finished"]] or results
    best = max(finished, key=lambda r: r["tasks_per_s"])
    print(
        json.dumps(
            {
                "celery_version": metadata.version("celery"),
                "kombu_version": metadata.version("kombu"),
                "redis_version": redis_version,
                "python": sys.version.split()[0],
                "tasks": args.count,
                "completed": best["completed"],
                "finished": best["finished"],
                "seconds": best["seconds"],
                "tasks_per_s": best["tasks_per_s"],
                "best_variant": best["variant"],
                "config": {
                    "pool": best["pool"],
                    "concurrency": best["concurrency"],
                    "prefetch_multiplier": best["prefetch_multiplier"],
                    "redis_db": args.db,
                    "warmup_units": args.warmup,
                    "result_backend": None,
                    "acks_late": False,
                    "poll_interval_s": 0.1,
                },
                "variants": results,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
