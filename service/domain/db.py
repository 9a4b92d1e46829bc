"""Engine and sessions: one `Database` per process, shared by web, workers and clock."""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import pq
from psycopg.adapt import Transformer
from psycopg.errors import error_from_result
from sqlalchemy import create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from service.config import ConfigError


def on_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_for(postgres: bool):
    """The dialect's INSERT, which has ON CONFLICT (PostgreSQL's and SQLite's share that API)."""
    return postgresql.insert if postgres else sqlite.insert


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite only enforces foreign keys when asked; WAL lets web, worker and clock threads share it."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, pre_ping: bool = True) -> Engine:
    """An engine whose errors never show SQL parameters: they hold phone numbers (full numbers stay out of logs).

    `pre_ping`: test each pooled PostgreSQL connection with a round trip before use, for callers that would fail
    on one the server dropped while it sat in the pool; a caller that does its transaction again instead spares it.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=pre_ping, pool_size=5, max_overflow=10, hide_parameters=True)


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Units of work (unit_of_work.run) are done again on a dropped connection: no pre-ping on their checkouts.
        self.retrying_engine = self.engine if self.is_sqlite else make_engine(url, pre_ping=False)
        self.retrying_sessions = sessionmaker(self.retrying_engine, expire_on_commit=False)
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
        self.hot_reads.close()
        self.retrying_engine.dispose()
        self.engine.dispose()


class Direct:
    """A Core statement of a hot path, run in the session's transaction straight through psycopg on PostgreSQL.

    SQLAlchemy's execution of one Core statement (parameters, cache key, result set-up) costs 100–300 µs of CPU
    here; the same statement compiled once and run through a psycopg cursor about 20 µs (bench.checkins). The
    statement's own type processing is kept (UTC datetimes); engine `before_cursor_execute` listeners still see
    it, pending ORM changes are flushed first as `Session.execute` does, and driver errors become SQLAlchemy's
    (a dropped connection is invalidated). Elsewhere (SQLite) it is the session's own execute. Rows have their
    columns as attributes.
    """

    def __init__(self, statement):
        self.statement = statement
        self.compiled: dict[int, _Compiled] = {}  # by id of the dialect

    def __call__(self, session: Session, params: dict[str, Any]):
        connection = session.connection()
        if connection.dialect.name != "postgresql":
            return session.execute(self.statement, params)
        if session.autoflush:
            session.flush()
        compiled = self.compiled.get(id(connection.dialect)) or self._compile(connection)
        values = compiled.values(params)
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        connection.dispatch.before_cursor_execute(connection, cursor, compiled.sql, values, None, False)
        try:
            cursor.execute(compiled.sql, values)
            return _Rows(cursor, compiled)
        except psycopg.Error as error:
            connection._handle_dbapi_exception(error, compiled.sql, values, cursor, None)  # SQLAlchemy's wrapping

    def _compile(self, connection: Connection) -> _Compiled:
        self.compiled[id(connection.dialect)] = compiled = _Compiled(self.statement, connection.dialect)
        return compiled


class _Compiled:
    """A statement's SQL for one dialect, its bound values, and the type processing of its values and columns."""

    def __init__(self, statement, dialect) -> None:
        # IN lists of the statement's own values expand once; the caller's parameters are given at each run
        compiled = statement.compile(dialect=dialect)
        given = {key: None for key, bind in compiled.binds.items() if bind.required}
        expanded = compiled.construct_expanded_state(given)
        self.sql = expanded.statement
        self.defaults = {key: value for key, value in expanded.parameters.items() if key not in given}
        self.bind_processors = dict(expanded.processors)
        self.result_types = [column.type.dialect_impl(dialect) for column in compiled._result_columns]
        self.dialect = dialect
        self.row: Any = None  # a namedtuple class, and the columns' processors: from the first result's columns
        self.result_processors: list = []

    def values(self, params: dict[str, Any]) -> dict[str, Any]:
        values = self.defaults | params
        for key, process in self.bind_processors.items():
            values[key] = process(values[key])
        return values

    def rows(self, cursor: psycopg.Cursor) -> list:
        if self.row is None:
            columns = cursor.description or []
            self.result_processors = [
                kind.result_processor(self.dialect, column.type_code)
                for kind, column in zip(self.result_types, columns, strict=True)
            ]
            self.row = namedtuple("Row", [column.name for column in columns], rename=True)  # type: ignore[misc]
        make, processors = self.row._make, self.result_processors
        if not any(processors):
            return [make(values) for values in cursor.fetchall()]
        return [
            make([value if process is None else process(value) for process, value in zip(processors, values)])
            for values in cursor.fetchall()
        ]


class _Rows:
    """The part of SQLAlchemy's `Result` the hot paths use, over a psycopg cursor."""

    def __init__(self, cursor: psycopg.Cursor, compiled: _Compiled):
        self.rowcount = cursor.rowcount
        result = cursor.pgresult  # not `description`, which builds its column objects at each call
        self.rows = compiled.rows(cursor) if result is not None and result.nfields else []

    def __iter__(self):
        return iter(self.rows)

    def all(self) -> list:
        return self.rows

    def first(self):
        return self.rows[0] if self.rows else None

    def scalar(self):
        return self.rows[0][0] if self.rows else None

    def scalar_one(self):
        (row,) = self.rows
        return row[0]

    def scalars(self) -> list:
        return [row[0] for row in self.rows]


CONNECT_TIMEOUT_SECONDS = 5  # a poll waiting longer on a new connection is better answered by an error


class HotReads:
    """Single-statement reads on the hottest paths (feed polls, /today) without a pool checkout or a pre-ping.

    On PostgreSQL each thread keeps one autocommit connection with the
    statements prepared on it, and runs them straight through libpq
    (`PGconn.exec_prepared`, which lets go of the GIL while it waits), its
    values loaded by psycopg's own loaders (instants in UTC, the session's
    zone, as `UTCDateTime` gives them); a broken connection is replaced and
    the read retried once. Measured on the feed benchmark, the pool's
    checkout and pre-ping cost more than the query itself, and a read through
    a psycopg cursor (query conversion, non-blocking waits) about 2.5 times the
    CPU of one through here; and a read outside the pool's transactions keeps
    its prepared statement (psycopg forgets them all at every ROLLBACK).
    Parameters are `str`, `int`, aware `datetime` or None. Elsewhere (SQLite)
    it is a plain engine read.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self.dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.local = threading.local()
        self.links: list[_Link] = []  # every thread's, so that `close` reaches them all
        self.prepared: dict[int, _Prepared] = {}  # by id of a module-level statement (kept alive in it)
        self.lock = threading.Lock()

    def first(self, statement, params: dict):
        """The first row (with its columns as attributes), or None."""
        rows = self._read(statement, params, first=True)
        return rows[0] if rows else None

    def all(self, statement, params: dict) -> list:
        """Every row (with its columns as attributes)."""
        return self._read(statement, params, first=False)

    def _read(self, statement, params: dict, first: bool) -> list:
        if not self.postgres:
            with self.engine.connect() as connection:
                result = connection.execute(statement, params)
                return list(result.fetchmany(1)) if first else list(result.all())
        prepared = self.prepared.get(id(statement))
        if prepared is None:
            with self.lock:
                prepared = self.prepared.setdefault(id(statement), _Prepared(statement, len(self.prepared)))
        values = prepared.values(params)
        for attempt in range(2):
            link = getattr(self.local, "link", None)
            if link is not None and link.broken:
                self._forget(link)
                link = None
            if link is None:
                link = self.local.link = _Link(self.dsn)
                with self.lock:
                    self.links.append(link)
            try:
                return link.rows(prepared, values, 1 if first else None)
            except psycopg.OperationalError:
                self._forget(link)
                if attempt:
                    raise
        return []

    def close(self) -> None:
        """Close every thread's connection (the process is done with this database)."""
        with self.lock:
            links, self.links = self.links, []
        for link in links:
            link.close()

    def _forget(self, link: _Link) -> None:
        with self.lock:
            if link in self.links:
                self.links.remove(link)
        link.close()


_POSITIONAL = PGDialect_psycopg(paramstyle="numeric_dollar")  # $1, $2 as libpq takes them


class _Prepared:
    """A statement as libpq prepares it: its name, its SQL with $n placeholders and the order of its parameters."""

    def __init__(self, statement, number: int):
        compiled = statement.compile(dialect=_POSITIONAL)
        self.statement = statement
        self.name = f"tend_hot_{number}".encode()
        self.sql = str(compiled).encode()
        self.names = list(compiled.positiontup or ())
        self.defaults = compiled.params  # values bound in the statement itself
        self.row: Any = None  # a namedtuple class, made from the first result's column names

    def values(self, params: dict) -> list[bytes | None]:
        return [_text(params[name] if name in params else self.defaults[name]) for name in self.names]

    def make_row(self, result: pq.abc.PGresult):
        if self.row is None:
            names = [(result.fname(i) or b"").decode() for i in range(result.nfields)]
            self.row = namedtuple("Row", names, rename=True)  # type: ignore[misc]
        return self.row._make


def _text(value: object) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, (str, int)):
        return str(value).encode()
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.isoformat().encode()
    raise TypeError(f"HotReads takes str, int, aware datetime or None parameters, not {type(value).__name__}")


class _Link:
    """One thread's connection for HotReads and the statements prepared on it."""

    def __init__(self, dsn: str):
        self.connection = psycopg.connect(dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)
        self.connection.execute("SET TIME ZONE 'UTC'")
        self.pgconn = self.connection.pgconn
        self.transformer = Transformer(self.connection)
        self.ready: set[bytes] = set()

    @property
    def broken(self) -> bool:
        return self.pgconn.status != pq.ConnStatus.OK

    def rows(self, prepared: _Prepared, values: list[bytes | None], most: int | None) -> list:
        """The statement's rows (at most `most`)."""
        if prepared.name not in self.ready:
            self.check(self.pgconn.prepare(prepared.name, prepared.sql))
            self.ready.add(prepared.name)
        result = self.check(self.pgconn.exec_prepared(prepared.name, values))  # type: ignore[arg-type]  # None is NULL
        count = result.ntuples if most is None else min(most, result.ntuples)
        if not count:
            return []
        self.transformer.set_pgresult(result)
        return self.transformer.load_rows(0, count, prepared.make_row(result))

    def check(self, result: pq.abc.PGresult) -> pq.abc.PGresult:
        if result.status in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
            return result
        if self.broken:
            raise psycopg.OperationalError(self.pgconn.get_error_message())
        raise error_from_result(result, encoding=self.connection.info.encoding)

    def close(self) -> None:
        self.connection.close()
