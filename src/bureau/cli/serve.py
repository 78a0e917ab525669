"""Server commands: `serve` (everything in one process), and the fleet roles `api`,
`worker` and `migrate`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from bureau.client import SERVER_URL_FILE
from bureau.config import Settings
from bureau.errors import BureauError, UsageError
from bureau.sdk.decorator import AgentDefinition
from bureau.sdk.loader import load_agents

_SETTINGS = (
    "data_dir",
    "host",
    "port",
    "database_url",
    "redis_url",
    "lease_seconds",
    "worker_concurrency",
    "log_level",
    "shutdown_grace_seconds",
)


PRIVATE = 0o077
"""The server roles' umask: the data directory, database, artifacts and logs they create are
the owner's alone (directories 0700, files 0600)."""


def _common(parser: argparse.ArgumentParser, *, agents: bool, http: bool) -> None:
    """Options of the server roles. Defaults are left to `Settings` (and the environment), so
    a global `bureau --data-dir X serve` is not overwritten by the subcommand."""
    keep: dict[str, Any] = {"default": argparse.SUPPRESS}
    add = parser.add_argument
    add("--data-dir", type=Path, help="default ./.bureau (env BUREAU_DATA_DIR)", **keep)
    add("--database-url", help="default: SQLite in the data dir; or postgresql://", **keep)
    add("--redis-url", help="Redis for wake-ups and fan-out between processes", **keep)
    add("--log-level", choices=["debug", "info", "warning", "error"], **keep)
    if http:
        add("--host", help="default 127.0.0.1", **keep)
        add("--port", type=int, help="default 8000 (8001 for a worker's health port)", **keep)
    if agents:
        add(
            "--agents",
            action="append",
            default=[],
            metavar="PATH_OR_MODULE",
            help="load agents from a .py file, a YAML or TOML file of declarative LLM "
            "agents, a directory or a module (repeatable)",
        )
        add(
            "--no-demo-agents",
            action="store_true",
            help="do not load the demo agents that ship with Bureau",
        )
        add("--lease-seconds", type=float, **keep)
        add("--concurrency", type=int, dest="worker_concurrency", **keep)
        add(
            "--shutdown-grace",
            type=float,
            dest="shutdown_grace_seconds",
            help="seconds running tasks get to finish on SIGTERM",
            **keep,
        )


def register(subparsers: Any) -> None:
    """Add the server commands to the CLI's subparsers."""
    serve = subparsers.add_parser(
        "serve",
        help="run Bureau (API + worker) in one process",
        description="Serve the REST API and run agents in this process. Embedded mode keeps "
        "everything in DATA_DIR (SQLite database, artifacts, admin key).",
    )
    _common(serve, agents=True, http=True)
    serve.set_defaults(func=run_serve)
    api = subparsers.add_parser(
        "api",
        help="run an API replica (no agent code runs here)",
        description="Serve the REST API only; the catalog comes from the database.",
    )
    _common(api, agents=False, http=True)
    api.set_defaults(func=run_api)
    worker = subparsers.add_parser(
        "worker",
        help="run a worker: claims tasks and runs agents",
        description="Run agents, the reaper and webhook delivery. Serves /healthz, /readyz "
        "and /metrics on --port (default 8001).",
    )
    _common(worker, agents=True, http=True)
    worker.set_defaults(func=run_worker)
    migrate = subparsers.add_parser(
        "migrate",
        help="create or upgrade the database schema",
    )
    _common(migrate, agents=False, http=False)
    migrate.set_defaults(func=run_migrate)


def settings_from(args: argparse.Namespace, **defaults: Any) -> Settings:
    overrides = {key: value for key in _SETTINGS if (value := getattr(args, key, None)) is not None}
    settings = Settings(**{**defaults, **overrides})
    if getattr(args, "agents", None):
        settings.agents = [*settings.agents, *args.agents]
    if getattr(args, "no_demo_agents", False):
        settings.demo_agents = False
    return settings


def agents_for(settings: Settings) -> list[AgentDefinition]:
    sources = (["bureau.agents"] if settings.demo_agents else []) + settings.agents
    return load_agents(sources)


def _run(args: argparse.Namespace, role: str, **defaults: Any) -> int:
    from bureau.node import Roles

    roles = {
        "serve": Roles(),
        "api": Roles(api=True, worker=False, migrate=False),
        "worker": Roles(api=False, worker=True, migrate=False),
    }[role]
    os.umask(PRIVATE)
    try:
        settings = settings_from(args, **defaults)
        agents = agents_for(settings) if roles.worker else []
    except BureauError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    except (ValidationError, SettingsError, ValueError) as exc:
        print(f"error: a setting is invalid: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(serve(settings, agents, roles))
    except BureauError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def _loop_factory() -> Any:
    """uvloop when installed (it comes with uvicorn[standard]), else asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_serve(args: argparse.Namespace) -> int:
    return _run(args, "serve")


def run_api(args: argparse.Namespace) -> int:
    return _run(args, "api")


def run_worker(args: argparse.Namespace) -> int:
    return _run(args, "worker", port=8001)


def run_migrate(args: argparse.Namespace) -> int:
    from bureau.notify.local import LocalNotifier
    from bureau.store.store import Store

    os.umask(PRIVATE)
    settings = settings_from(args)
    store = Store(settings.database_url, settings.sqlite_path, LocalNotifier())
    try:
        before, after = store.migrate()
    except BureauError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    finally:
        asyncio.run(store.close())
    print(f"schema at version {after}" + (f" (was {before})" if before != after else ""))
    return 0


async def serve(settings: Settings, agents: list[AgentDefinition], roles: Any) -> None:
    """Listen first (a busy port is reported before anything is created), then take the data
    directory (embedded mode: one server per directory), then prepare the node and serve."""
    import uvicorn

    from bureau.api.app import create_app
    from bureau.api.connections import closing_idle
    from bureau.node import Node

    listening = _listen(settings.host, settings.port)
    with listening, _own_data_dir(settings, embedded=roles.worker and roles.api):
        node = Node(settings, agents, roles)
        await node.prepare()
        config = uvicorn.Config(
            create_app(node, on_started=lambda started: _announce(started, agents)),
            log_level=settings.log_level,
            access_log=False,
            timeout_graceful_shutdown=5,
            timeout_keep_alive=settings.keep_alive_seconds,
            http=closing_idle(settings.request_timeout_seconds),
        )
        try:
            await _server(config, node).serve(sockets=[listening])
        finally:
            _forget_url(settings)


def _listen(host: str, port: int) -> socket.socket:
    """The server's listening socket, or `UsageError` saying the address is taken."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): another server may be "
            "running there; stop it or choose another --port"
        ) from None


@contextlib.contextmanager
def _own_data_dir(settings: Settings, *, embedded: bool) -> Iterator[None]:
    """In embedded mode (`serve` on SQLite) hold an exclusive lock on the data directory for
    the life of the process: two servers on one directory would split its agents and keys.
    (A fleet shares its data directory on purpose: PostgreSQL holds the state.)"""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks of this kind; run one server per dir
        fcntl = None  # type: ignore[assignment]
    if fcntl is None or not embedded or settings.database_url is not None:
        yield
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.data_dir / "lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            raise UsageError(
                f"{settings.data_dir.resolve()} is in use by {holder}; stop that server "
                "or give this one another --data-dir"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"`bureau serve` (pid {os.getpid()})\n")
        lock.flush()
        yield


def _forget_url(settings: Settings) -> None:
    path = settings.data_dir / SERVER_URL_FILE
    with contextlib.suppress(OSError):
        if path.read_text(encoding="utf-8").strip() == _url(settings):
            path.unlink()


def _url(settings: Settings) -> str:
    host = settings.host if ":" not in settings.host else f"[{settings.host}]"
    return f"http://{host}:{settings.port}"


def _server(config: Any, node: Any) -> Any:
    """uvicorn's server, telling open event streams to end as soon as shutdown begins (they
    would otherwise hold the graceful shutdown until its timeout)."""
    import uvicorn

    loop = asyncio.get_running_loop()

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            # A signal handler runs between any two bytecodes of the loop's code, even inside
            # asyncio.Event.wait: setting events from here could be lost. Ask the loop.
            loop.call_soon_threadsafe(node.drain)
            _forget_url(node.settings)  # shutting down: the CLI must not find us any more
            super().handle_exit(sig, frame)

    return Server(config)


def _announce(node: Any, agents: list[AgentDefinition]) -> None:
    settings = node.settings
    url = _url(settings)
    if node.roles.api:  # where the CLI finds this server (`bureau` with this --data-dir)
        (settings.data_dir / SERVER_URL_FILE).write_text(url + "\n", encoding="utf-8")
    role = "serving on" if node.roles.api else "worker health on"
    print(f"Bureau {role} {url}  (data in {settings.data_dir.resolve()})", flush=True)
    if node.roles.worker:
        names = ", ".join(sorted(d.ref for d in agents)) or "none (use --agents)"
        print(f"Agents: {names}", flush=True)
    if node.admin_key_created:
        print(
            f"Created the default tenant. Admin key (shown once): {node.admin_key_created}",
            flush=True,
        )
    print(
        f"Admin key file: {settings.admin_key_path.resolve()} — the `bureau` CLI reads it.",
        flush=True,
    )
