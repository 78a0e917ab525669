"""The peers' own virtual environment (DBOS), created by the benchmark when missing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
DBOS_VENV = BENCH / ".venv-dbos"
DBOS_PYTHON = DBOS_VENV / "bin" / "python"


def ensure_dbos_venv() -> Path:
    """`bench/.venv-dbos` with `dbos` installed from PyPI (once; later runs reuse it)."""
    if DBOS_PYTHON.exists():
        check = subprocess.run(
            [str(DBOS_PYTHON), "-c", "import dbos"], capture_output=True, check=False
        )
        if check.returncode == 0:
            return DBOS_PYTHON
    print("  creating bench/.venv-dbos and installing dbos (once) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(DBOS_VENV)], check=True, timeout=300)
    subprocess.run(
        [str(DBOS_PYTHON), "-m", "pip", "install", "--quiet", "dbos"],
        check=True,
        timeout=900,
    )
    return DBOS_PYTHON


def run_dbos(workdir: Path, count: int, concurrency: int, polling: float) -> dict[str, Any]:
    """Run `dbos_peer.py` in the DBOS venv; its last stdout line is the JSON result."""
    python = ensure_dbos_venv()
    done = subprocess.run(
        [
            str(python),
            str(BENCH / "dbos_peer.py"),
            "--dir",
            str(workdir),
            "--count",
            str(count),
            "--concurrency",
            str(concurrency),
            "--polling",
            str(polling),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"dbos peer failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result
