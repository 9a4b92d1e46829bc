"""HotReads: the feed poll's single-statement reads on a per-thread connection (PostgreSQL)."""

import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import TIMESTAMP, BigInteger, String, bindparam, cast, func, literal_column, select

BACKEND = select(func.pg_backend_pid().label("pid"), literal_column("1").label("one"))
ECHO = select(bindparam("value", type_=String).label("value"))
TWO = select(bindparam("zeta", type_=String).label("first"), bindparam("alpha", type_=String).label("second"))
TYPED = select(
    cast(bindparam("n", type_=BigInteger), BigInteger).label("n"),
    literal_column("'\\x00ff'::bytea").label("raw"),
    literal_column("TIMESTAMPTZ '2026-12-01 12:00:00+00'").label("at"),
    literal_column("NULL::text").label("nothing"),
    literal_column("'50%'").label("percent"),
)
WITH_DEFAULT = select(literal_column("1").label("one")).where(
    bindparam("word", type_=String) == "bound in the statement"
)
FAILING = select((literal_column("1") / bindparam("zero", type_=BigInteger)).label("quotient"))


def test_a_thread_keeps_its_connection_and_each_thread_has_its_own(db):
    reads = db.hot_reads
    mine = {reads.first(BACKEND, {}).pid for _ in range(3)}
    assert len(mine) == 1
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(reads.first(BACKEND, {}).pid))
    thread.start()
    thread.join()
    assert theirs and theirs[0] not in mine


def test_a_server_with_a_thread_per_request_keeps_no_connection_of_a_thread_that_ended(db):
    reads = db.hot_reads
    for _ in range(5):  # five requests, each answered by a thread of its own (tend up's threaded server)
        thread = threading.Thread(target=lambda: reads.first(BACKEND, {}))
        thread.start()
        thread.join()
    assert len(reads.links) == 1  # the last one's; the four before it were closed
    ended = [link for link in reads.links if not link.thread.is_alive()]
    reads.first(BACKEND, {})  # this thread's own link closes the ended thread's
    assert [link.thread for link in reads.links] == [threading.current_thread()]
    assert all(link.connection.closed for link in ended)


def test_rows_come_back_by_name_with_their_types_and_no_row_is_none(db):
    reads = db.hot_reads
    assert reads.first(ECHO, {"value": "first"}).value == "first"
    assert reads.first(ECHO, {"value": "second"}).value == "second"  # the same prepared statement, a new value
    assert reads.first(ECHO, {"value": None}).value is None
    assert reads.first(TWO, {"alpha": "a", "zeta": "z"}) == ("z", "a")
    row = reads.first(TYPED, {"n": 2**40})
    assert row == (2**40, b"\x00\xff", datetime(2026, 12, 1, 12, tzinfo=UTC), None, "50%")
    assert row.at.utcoffset().total_seconds() == 0
    nothing = select(literal_column("1")).where(literal_column("1") == bindparam("x"))
    assert reads.first(nothing, {"x": 2}) is None


def test_values_bound_in_the_statement_are_sent_too(db):
    assert db.hot_reads.first(WITH_DEFAULT, {"word": "bound in the statement"}).one == 1
    assert db.hot_reads.first(WITH_DEFAULT, {"word": "something else"}) is None


def test_an_sql_error_is_raised_as_psycopg_raises_it_and_the_connection_goes_on(db):
    reads = db.hot_reads
    pid = reads.first(BACKEND, {}).pid
    with pytest.raises(psycopg.errors.DivisionByZero):
        reads.first(FAILING, {"zero": 0})
    assert reads.first(FAILING, {"zero": 1}).quotient == 1
    assert reads.first(BACKEND, {}).pid == pid


def test_it_refuses_parameters_it_cannot_send_as_text(db):
    with pytest.raises(TypeError):
        db.hot_reads.first(ECHO, {"value": 1.5})


def test_a_broken_connection_is_replaced_and_the_read_retried(db):
    reads = db.hot_reads
    before = reads.first(BACKEND, {}).pid
    assert reads.first(ECHO, {"value": "prepared"}).value == "prepared"
    with psycopg.connect(reads.dsn, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [before]).fetchone()[0]
    after = reads.first(BACKEND, {})
    assert after.one == 1 and after.pid != before
    assert reads.first(ECHO, {"value": "prepared again"}).value == "prepared again"
    assert reads.first(BACKEND, {}).pid == after.pid


def test_all_gives_every_row_in_order_and_takes_aware_instants(db):
    """`all` (the /today statement's read): every row, none as an empty list; an aware instant is sent as such."""
    series = select(func.generate_series(1, cast(bindparam("n", type_=BigInteger), BigInteger)).label("n"))
    assert [row.n for row in db.hot_reads.all(series, {"n": 3})] == [1, 2, 3]
    assert db.hot_reads.all(series, {"n": 0}) == []
    instant = select(cast(bindparam("at", type_=String), TIMESTAMP(timezone=True)).label("at"))
    at = datetime(2026, 12, 1, 7, 30, tzinfo=ZoneInfo("America/New_York"))
    assert db.hot_reads.first(instant, {"at": at}).at == at
    with pytest.raises(TypeError):
        db.hot_reads.first(instant, {"at": at.replace(tzinfo=None)})
