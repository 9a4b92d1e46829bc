"""Fixtures that run a test module on a fresh, migrated SQLite file instead of tests/conftest.py's PostgreSQL.

A module takes them with `pg_url, db = sqlite_database.pg_url, sqlite_database.db`.
"""

import pytest

from service.domain.db import Database
from service.domain.migrate import upgrade


@pytest.fixture
def pg_url(tmp_path):
    """Overrides the PostgreSQL database of tests/conftest.py: a fresh, migrated SQLite file."""
    url = f"sqlite:///{tmp_path}/tend.db"
    upgrade(url)
    return url


@pytest.fixture
def db(pg_url):
    database = Database(pg_url)
    assert database.is_sqlite
    yield database
    database.dispose()
