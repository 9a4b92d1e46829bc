"""The migrations build exactly the schema the models describe, on PostgreSQL and SQLite, and step back down."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

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


def test_consent_is_backfilled_only_where_a_person_gave_it(tmp_path):
    """0013: people who verified a code or joined keep `active` through STOP and START; the merely invited do not."""
    url = f"sqlite:///{tmp_path / 'tend.db'}"
    upgrade(url, "0007_together_notes")
    at = "2026-12-01 12:00:00.000000+00:00"
    people = {1: "active", 2: "opted_out", 3: "opted_out", 4: "opted_out", 5: "opted_out", 6: "invited"}
    engine = create_engine(url)
    with engine.begin() as db:
        for number, status in people.items():
            db.execute(
                text(
                    "INSERT INTO people (id, name, phone, timezone, digest_weekday, digest_time, sms_status, created_at)"
                    " VALUES (:id, '', :phone, 'UTC', 6, '18:00:00', :status, :at)"
                ),
                {"id": number, "phone": f"+1415555010{number}", "status": status, "at": at},
            )
        db.execute(
            text("INSERT INTO sessions (id, person_id, token_hash, door, created_at) VALUES (1, 2, 'x', 'api', :at)"),
            {"at": at},
        )
        db.execute(
            text(
                "INSERT INTO sign_in_codes (id, phone, code_hash, tries, expires_at, used, created_at)"
                " VALUES (1, '+14155550103', 'x', 0, :at, 1, :at), (2, '+14155550105', 'y', 0, :at, 0, :at)"
            ),
            {"at": at},
        )
        db.execute(text("INSERT INTO circles (id, name, created_at) VALUES (1, 'Us', :at)"), {"at": at})
        db.execute(
            text(
                "INSERT INTO memberships (circle_id, person_id, status, joined_order, created_at)"
                " VALUES (1, 4, 'active', 1, :at), (1, 5, 'invited', 2, :at), (1, 6, 'invited', 3, :at)"
            ),
            {"at": at},
        )
    upgrade(url)
    with engine.connect() as db:
        consented = db.execute(text("SELECT id FROM people WHERE consented_at IS NOT NULL ORDER BY id")).scalars().all()
    engine.dispose()
    assert consented == [1, 2, 3, 4]  # active; a session; a used code; a joined circle (not 5's unused code, nor 6)
