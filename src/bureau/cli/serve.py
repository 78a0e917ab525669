"""`bureau serve`: the whole service in one process (API, worker, reaper, webhooks)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from bureau.config import Settings
from bureau.errors import BureauError
from bureau.sdk.decorator import AgentDefinition
from bureau.sdk.loader import load_agents


def register(subparsers: Any) -> None:
    """Add the server commands to the CLI's subparsers."""
    serve = subparsers.add_parser(
        "serve",
        help="run Bureau (API + worker) in one process",
        description="Serve the REST API and run agents in this process. Embedded mode keeps "
        "everything in DATA_DIR (SQLite database, artifacts, admin key).",
    )
    serve.add_argument("--data-dir", type=Path, help="default ./.bureau (env BUREAU_DATA_DIR)")
    serve.add_argument("--host", help="default 127.0.0.1")
    serve.add_argument("--port", type=int, help="default 8000")
    serve.add_argument(
        "--agents",
        action="append",
        default=[],
        metavar="PATH_OR_MODULE",
        help="load agents from a .py file, a directory or a module (repeatable)",
    )
    serve.add_argument(
        "--no-demo-agents",
        action="store_true",
        help="do not load the demo agents that ship with Bureau",
    )
    serve.add_argument("--database-url", help="default: SQLite in the data dir")
    serve.add_argument("--redis-url", help="scale-out only")
    serve.add_argument("--lease-seconds", type=float)
    serve.add_argument("--concurrency", type=int, dest="worker_concurrency")
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(func=run_serve)


def settings_from(args: argparse.Namespace) -> Settings:
    overrides = {
        key: value
        for key in (
            "data_dir",
            "host",
            "port",
            "database_url",
            "redis_url",
            "lease_seconds",
            "worker_concurrency",
            "log_level",
        )
        if (value := getattr(args, key, None)) is not None
    }
    settings = Settings(**overrides)
    if getattr(args, "agents", None):
        settings.agents = [*settings.agents, *args.agents]
    if getattr(args, "no_demo_agents", False):
        settings.demo_agents = False
    return settings


def agents_for(settings: Settings) -> list[AgentDefinition]:
    sources = (["bureau.agents"] if settings.demo_agents else []) + settings.agents
    return load_agents(sources)


def run_serve(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
        agents = agents_for(settings)
    except BureauError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        asyncio.run(serve(settings, agents))
    except BureauError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


async def serve(settings: Settings, agents: list[AgentDefinition]) -> None:
    import uvicorn

    from bureau.api.app import create_app
    from bureau.node import Node

    node = Node(settings, agents)
    await node.prepare()
    config = uvicorn.Config(
        create_app(node, on_started=lambda started: _announce(started, agents)),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    await uvicorn.Server(config).serve()


def _announce(node: Any, agents: list[AgentDefinition]) -> None:
    settings = node.settings
    url = f"http://{settings.host}:{settings.port}"
    names = ", ".join(sorted(d.ref for d in agents)) or "none (use --agents)"
    print(f"Bureau serving on {url}  (data in {settings.data_dir.resolve()})", flush=True)
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
