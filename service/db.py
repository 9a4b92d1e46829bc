"""Engine and sessions: one `Database` per process, shared by web, workers and clock."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from service.config import ConfigError


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite only enforces foreign keys when asked; WAL lets web, worker and clock threads share it."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.hot_reads = HotReads(self.engine)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back on error."""
        with self.sessions() as session, session.begin():
            yield session

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def check_reachable(self) -> None:
        """Fail at start, in one line, when the database cannot be reached."""
        try:
            self.ping()
        except Exception as exc:  # any driver error means "unreachable" to the operator
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200]
            raise ConfigError("DATABASE_URL", f"cannot connect ({reason})") from exc

    def dispose(self) -> None:
        self.engine.dispose()


class HotReads:
    """Single-statement reads on the hottest path (feed polls) without a pool checkout or a pre-ping.

    On PostgreSQL each thread keeps one autocommit psycopg connection and a
    prepared statement; a broken connection is replaced and the read retried
    once. Measured on the feed benchmark, the pool's checkout and pre-ping cost
    more than the query itself. Elsewhere (SQLite) it is a plain engine read.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self.dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.local = threading.local()
        self.compiled: dict[int, tuple[object, str]] = {}  # by id of a module-level statement (kept alive here)

    def first(self, statement, params: dict):
        if not self.postgres:
            with self.engine.connect() as connection:
                return connection.execute(statement, params).first()
        cached = self.compiled.get(id(statement))
        if cached is None:
            cached = self.compiled[id(statement)] = (statement, str(statement.compile(dialect=self.engine.dialect)))
        sql = cached[1]
        for attempt in range(2):
            connection = getattr(self.local, "connection", None)
            if connection is None or connection.closed:
                connection = self.local.connection = psycopg.connect(self.dsn, autocommit=True, row_factory=namedtuple_row)
            try:
                return connection.execute(sql, params, prepare=True).fetchone()
            except psycopg.OperationalError:
                connection.close()
                if attempt:
                    raise
        return None
