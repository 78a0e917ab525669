"""The peers of row (b), each in its own virtual environment created by the benchmark.

- DBOS (`dbos_peer.py`, `bench/.venv-dbos`): the same two-step workflow through a DBOS
  queue, system database on SQLite or PostgreSQL.
- Celery + Redis (`celery_peer.py`, `bench/.venv-celery`): two no-op calls per unit, no
  durability: an upper bound for a broker queue.

The venvs are created once and reused (`bench/.venv*/` is git-ignored). Neither DBOS nor
Celery is imported here: each peer runs as a subprocess of its own venv's python and prints
one JSON line, which is parsed and returned.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH = Path(__file__).resolve().parent
DBOS_VENV = BENCH / ".venv-dbos"
DBOS_PYTHON = DBOS_VENV / "bin" / "python"
CELERY_VENV = BENCH / ".venv-celery"
CELERY_PYTHON = CELERY_VENV / "bin" / "python"

# What each venv gets; `import` checks that a reused venv still has it.
DBOS_REQUIREMENTS = ["dbos>=3.4,<4", "psycopg[binary]>=3.2,<4"]  # psycopg: DBOS on PostgreSQL
DBOS_IMPORTS = "import dbos, psycopg"
CELERY_REQUIREMENTS = ["celery[redis]>=5.4,<6", "hiredis>=3,<4"]  # hiredis: redis-py's C parser
CELERY_IMPORTS = "import celery, redis, hiredis"


def _ensure_venv(venv: Path, requirements: list[str], imports: str) -> Path:
    python = venv / "bin" / "python"
    if python.exists():
        check = subprocess.run(
            [str(python), "-c", imports], capture_output=True, check=False, timeout=120
        )
        if check.returncode == 0:
            return python
    print(f"  creating bench/{venv.name} and installing {' '.join(requirements)} (once) ...")
    sys.stdout.flush()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *requirements],
        check=True,
        timeout=900,
    )
    return python


def ensure_dbos_venv() -> Path:
    """`bench/.venv-dbos` with `dbos` and psycopg from PyPI (once; later runs reuse it)."""
    return _ensure_venv(DBOS_VENV, DBOS_REQUIREMENTS, DBOS_IMPORTS)


def ensure_celery_venv() -> Path:
    """`bench/.venv-celery` with `celery[redis]` and hiredis from PyPI (once, then reused)."""
    return _ensure_venv(CELERY_VENV, CELERY_REQUIREMENTS, CELERY_IMPORTS)


def _last_json_line(done: subprocess.CompletedProcess[str], name: str) -> dict[str, Any]:
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{name} peer failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _with_database(server_url: str, database: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


def _pg_admin(python: Path, server_url: str, statement: str) -> None:
    """Run one statement in autocommit on the server's own database (psycopg of the venv)."""
    scheme = urlsplit(server_url).scheme.split("+")[0]  # libpq knows no "+driver"
    url = urlunsplit((scheme, *urlsplit(server_url)[1:]))
    code = "import psycopg, sys; psycopg.connect(sys.argv[1], autocommit=True).execute(sys.argv[2])"
    done = subprocess.run(
        [str(python), "-c", code, url, statement],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{statement!r} failed: {done.stderr[-1000:]}")


def run_dbos(
    workdir: Path,
    count: int,
    concurrency: int,
    polling: float,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Run `dbos_peer.py` in the DBOS venv; its last stdout line is the JSON result.

    Without `database_url` the system database is SQLite (WAL, synchronous=NORMAL) in
    `workdir`. With it, `database_url` names a PostgreSQL *server* (e.g.
    `postgresql://postgres@127.0.0.1:5432/postgres`; its database part is only where the
    admin statements run): a fresh database `bench_dbos_<hex>` is created on it for this run
    and dropped afterwards (`WITH (FORCE)`), also on failure. The result names the database
    (`"database": "postgresql 15.x"` or `"sqlite 3.x"`) and, on PostgreSQL, the temporary
    database's name under `"database_name"`.
    """
    python = ensure_dbos_venv()
    command = [
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
    ]
    if database_url is None:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        return _last_json_line(done, "dbos")
    name = f"bench_dbos_{uuid.uuid4().hex[:12]}"
    _pg_admin(python, database_url, f'CREATE DATABASE "{name}"')
    try:
        command += ["--database-url", _with_database(database_url, name)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        result = _last_json_line(done, "dbos")
    finally:
        _pg_admin(python, database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    result["database_name"] = name
    return result


def run_celery(
    workdir: Path,
    count: int,
    redis_url: str,
    concurrency: int = 0,
    *,
    pool: str = "prefork",
    prefetch_multiplier: int = 64,
    db: int = 13,
    warmup: int = 200,
    timeout: float = 600.0,
    producers: int = 2,
) -> dict[str, Any]:
    """Run `celery_peer.py` in the Celery venv: a real worker, N units per variant, sent by
    `producers` processes released at once (see bench/README.md for how 2 was chosen).

    `redis_url` names the Redis server; the broker queue and the completion counter live in
    the dedicated database `db` (never 0), FLUSHDBed before and after. One worker (`pool`,
    `concurrency` processes, 0 = nproc; prefetch multiplier 64, no result backend, acks on
    receipt) runs both variants, each after `warmup` units: "task" (one task per unit, two
    no-op calls in its body) and "chain" (a chain of two no-op tasks per unit). On a 2-core
    machine prefork -c 2 with prefetch 64 measured best or tied (solo, threads -c 4,
    prefork -c 4 and prefetch 4 were no better).

    Returns {"celery_version", "kombu_version", "redis_version", "python", "tasks",
    "completed", "finished", "seconds", "tasks_per_s", "best_variant", "config", "variants"}:
    the top-level figures are the better variant's; "variants" holds both, each with its
    dispatch time, the client's and the worker's CPU seconds. The worker and its pool
    children are killed at the end, also on failure or timeout.
    """
    python = ensure_celery_venv()
    workdir.mkdir(parents=True, exist_ok=True)
    pgid_file = workdir / "celery-worker.pgid"
    processes = concurrency or os.cpu_count() or 1
    command = [
        str(python),
        str(BENCH / "celery_peer.py"),
        "--redis-url",
        redis_url,
        "--db",
        str(db),
        "--count",
        str(count),
        "--warmup",
        str(warmup),
        "--config",
        f"{pool}:{processes}:{prefetch_multiplier}",
        "--pgid-file",
        str(pgid_file),
        "--producers",
        str(producers),
    ]
    driver = subprocess.Popen(
        command,
        cwd=str(BENCH),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    ok = False
    try:
        stdout, stderr = driver.communicate(timeout=timeout)
        ok = driver.returncode == 0
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"celery peer did not finish in {timeout} s") from exc
    finally:
        if not ok:
            # the worker's group while the file exists (the driver removes it once the worker
            # is stopped), and the driver's own group while it is unreaped (its id is its own)
            groups = [_read(pgid_file)]
            if driver.returncode is None:
                groups.append(str(driver.pid))
            for pgid in filter(None, groups):
                with contextlib.suppress(ProcessLookupError, PermissionError, ValueError):
                    os.killpg(int(pgid), signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                driver.communicate(timeout=10)
        pgid_file.unlink(missing_ok=True)
    done = subprocess.CompletedProcess(command, driver.returncode, stdout, stderr)
    return _last_json_line(done, "celery")


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""
