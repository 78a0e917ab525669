"""Opening the database a URL names, with its dialect's claim statement."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from bureau.store.base import Database
from bureau.store.sql.queue import capped_candidates_statement, claim_tasks


def open_database(url: str | None, default_sqlite: Path) -> tuple[Database, Any]:
    """The backend for `url` (SQLite at `default_sqlite` when None) and its claim operation
    (`claim_tasks` bound to the dialect's statement)."""
    if url is None or url.startswith("sqlite"):
        from bureau.store.sql import _sqlite

        path = Path(url.split("///", 1)[1]) if url else default_sqlite
        claim = partial(
            claim_tasks,
            statement=_sqlite.CLAIM,
            capped_statement=capped_candidates_statement(skip_locked=False),
        )
        return _sqlite.SqliteDatabase(path), claim
    from bureau.store.sql import _postgres

    claim = partial(
        claim_tasks,
        statement=_postgres.CLAIM,
        capped_statement=capped_candidates_statement(skip_locked=True),
    )
    return _postgres.PostgresDatabase(url), claim
