"""Run Bureau's benchmarks (BENCHMARKS.md rows a-f, embedded SQLite) and write the results.

    python3 bench/run.py            # the full run (about 6 minutes)
    python3 bench/run.py --quick    # a smoke test (about 2 minutes)
    python3 bench/run.py --only a,c

Writes bench/results/<timestamp>.json and bench/results/<timestamp>.md. Each row starts
its own server on 127.0.0.1 in a fresh temporary data directory and stops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import resource
import sys
import time
import traceback
from collections.abc import Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = ROOT / ".venv"

ROWS = {
    "a": "rows.a_dispatch",
    "b": "rows.b_throughput",
    "c": "rows.c_pickup",
    "d": "rows.d_steps",
    "e": "rows.e_parked",
    "f": "rows.f_fanout",
}
ROW_TIMEOUT = {"quick": 240.0, "full": 600.0}


def _reexec_in_venv() -> None:
    """Run in the project's venv (Bureau, uvloop and orjson live there)."""
    if Path(sys.prefix).resolve() == VENV.resolve() or os.environ.get("BENCH_NO_REEXEC"):
        return
    python = VENV / "bin" / "python"
    if python.exists():
        os.execv(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])


def _raise_open_files() -> int:
    """Thousands of SSE connections need file descriptors; servers inherit the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _run_loop(main: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


async def _run_rows(selected: list[str], quick: bool, results: dict[str, Any]) -> None:
    from rows.common import Sizes
    from server import TempDir

    sizes = Sizes.for_mode(quick)
    results["sizes"] = sizes.__dict__
    timeout = ROW_TIMEOUT["quick" if quick else "full"]
    for row in selected:
        module = importlib.import_module(ROWS[row])
        print(f"row {row}: {module.__doc__.splitlines()[0] if module.__doc__ else ''}", flush=True)
        started = time.perf_counter()
        try:
            with TempDir(row) as tmp:
                outcome = await asyncio.wait_for(module.run(sizes, tmp), timeout)
        except Exception as exc:
            outcome = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
            print(f"  row {row} failed: {outcome['error']}", flush=True)
        outcome["row_seconds"] = round(time.perf_counter() - started, 1)
        results["rows"][row] = outcome
        print(f"  done in {outcome['row_seconds']} s", flush=True)


def main() -> int:
    _reexec_in_venv()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke test")
    parser.add_argument("--only", default="", help="comma-separated rows, e.g. a,c")
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="start Bureau through diagnose_serve.py: log its GC pauses and event-loop lag",
    )
    args = parser.parse_args()
    selected = [r.strip() for r in args.only.split(",") if r.strip()] or list(ROWS)
    unknown = [r for r in selected if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {', '.join(ROWS)}")

    if args.diagnose:
        os.environ["BENCH_DIAGNOSE"] = "1"

    from machine import describe, jitter_probe
    from report import markdown

    results: dict[str, Any] = {
        "started_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "mode": ("quick" if args.quick else "full") + (" + diagnose" if args.diagnose else ""),
        "machine": {
            **describe(),
            "open_files_limit": _raise_open_files(),
            "jitter": jitter_probe(2.0),
        },
        "client": "raw asyncio HTTP/1.1 client (bench/client.py), uvloop when available",
        "rows": {},
    }
    started = time.perf_counter()
    _run_loop(_run_rows(selected, args.quick, results))
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    for peer in results["rows"].get("b", {}).get("dbos", []):
        results["machine"].setdefault("dbos", peer.get("dbos_version"))

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    json_path = args.out / f"{stamp}.json"
    md_path = args.out / f"{stamp}.md"
    json_path.write_text(json.dumps(results, indent=2, default=str))
    md_path.write_text(markdown(results))
    print(md_path.read_text())
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
