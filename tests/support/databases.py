"""Fresh databases for test servers: SQLite always, PostgreSQL when its URL is set.

`BUREAU_TEST_DATABASE_URL` names a PostgreSQL server (and a database to connect to for
administration); each test server gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

POSTGRES_URL = os.environ.get("BUREAU_TEST_DATABASE_URL")
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(POSTGRES_URL is None, reason="BUREAU_TEST_DATABASE_URL unset"),
    ),
]


def _admin(statement: str) -> None:
    import psycopg

    assert POSTGRES_URL is not None
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(statement)


@contextmanager
def database_for(backend: str) -> Iterator[dict[str, str]]:
    """Settings (as env overrides) that point a server at a fresh database."""
    if backend == "sqlite":
        yield {}
        return
    assert POSTGRES_URL is not None
    name = f"bureau_test_{uuid.uuid4().hex[:12]}"
    _admin(f"CREATE DATABASE {name}")
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield {"database_url": f"{base}/{name}"}
    finally:
        _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
