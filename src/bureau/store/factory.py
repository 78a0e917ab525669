"""Opening the database a URL names, with its dialect's claim statement."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from bureau.store.base import Database
from bureau.store.sql.queue import claim_tasks


def open_database(url: str | None, default_sqlite: Path) -> tuple[Database, Any]:
    """The backend for `url` (SQLite at `default_sqlite` when None) and its claim operation
    (`claim_tasks` bound to the dialect's statement)."""
    if url is None or url.startswith("sqlite"):
        from bureau.store.sql import _sqlite

        path = Path(url.split("///", 1)[1]) if url else default_sqlite
        return _sqlite.SqliteDatabase(path), partial(claim_tasks, statement=_sqlite.CLAIM)
    from bureau.store.sql import _postgres

    return _postgres.PostgresDatabase(url), partial(claim_tasks, statement=_postgres.CLAIM)
