"""Opening the database a URL names."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from bureau.store.base import Database
from bureau.store.sql.queue import claim_tasks
from bureau.store.store import ClaimOperation


def open_database(url: str | None, default_sqlite: Path) -> tuple[Database, ClaimOperation]:
    """The backend for `url` (SQLite in the data dir when None) and its claim operation."""
    if url is None or url.startswith("sqlite"):
        from bureau.store.sql import _sqlite

        path = Path(url.split("///", 1)[1]) if url else default_sqlite
        return _sqlite.SqliteDatabase(path), partial(claim_tasks, statement=_sqlite.CLAIM)
    from bureau.store.sql import _postgres

    return _postgres.PostgresDatabase(url), partial(claim_tasks, statement=_postgres.CLAIM)
