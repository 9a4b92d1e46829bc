"""The migrations build exactly the schema the models describe, on PostgreSQL and SQLite, and step back down."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from service.domain.migrate import downgrade, upgrade
from service.domain.models import Base


def drift(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()


def test_the_migrated_postgresql_schema_matches_the_models(pg_url):
    assert drift(pg_url) == []  # the session database was built by `upgrade`


def test_sqlite_migrates_up_down_and_up_again_to_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'tend.db'}"
    upgrade(url)
    assert drift(url) == []
    downgrade(url, "base")
    engine = create_engine(url)
    assert inspect(engine).get_table_names() == ["alembic_version"]
    engine.dispose()
    upgrade(url)
    assert drift(url) == []
