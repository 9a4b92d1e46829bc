"""The pages' session and guards: CSRF on every POST, a cookie that dies with its session, headers, bounded SQL."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import event, select

from service.domain import editing
from service.domain.models import Circle, Person
from tests.builders import make_config
from tests.pages.helpers import Pages, csrf_of

ALICE = "+14155550101"


def test_a_post_without_the_csrf_token_is_refused(app, db):
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    refused = alice.client.post("/circles/new", data={"name": "Sneaky"})
    assert refused.status_code == 400 and "did not come from Tend" in refused.get_data(as_text=True)
    wrong = alice.client.post("/circles/new", data={"name": "Sneaky", "csrf_token": "x" * 40})
    assert wrong.status_code == 400
    signed_out_form = alice.client.post("/signin", data={"phone": ALICE})
    assert signed_out_form.status_code == 400  # the sign-in form too: nobody texts a code from another site
    with db.session() as s:
        assert s.scalars(select(Circle)).all() == []


def test_a_token_from_another_session_is_refused(app, db):
    alice, mallory = Pages(app, db), Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    token = csrf_of(mallory.text("/signin"))
    assert alice.client.post("/circles/new", data={"name": "X", "csrf_token": token}).status_code == 400


def cookie_of(pages: Pages) -> str:
    cookie = pages.client.get_cookie("tend_session")
    assert cookie is not None
    return cookie.value


def with_cookie(app, value: str):
    client = app.test_client()
    client.set_cookie("tend_session", value)
    return client


def test_a_signed_out_sessions_cookie_is_refused(app, db):
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    copied = cookie_of(alice)
    assert with_cookie(app, copied).get("/today").status_code == 200
    assert alice.post("/signout", form_page="/settings").status_code == 302
    refused = with_cookie(app, copied).get("/today")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/signin")


def test_sign_out_everywhere_ends_every_device(app, db):
    phone, laptop = Pages(app, db), Pages(app, db)
    phone.sign_in(ALICE, "Alice")
    laptop.sign_in(ALICE, "Alice")
    assert laptop.post("/signout/everywhere", form_page="/settings").status_code == 302
    assert phone.client.get("/today").status_code == 302


def test_a_deleted_accounts_cookie_is_refused(app, db):
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    copied = cookie_of(alice)
    kept = alice.post("/settings/delete", {"confirm": "nope"}, form_page="/settings")
    assert kept.status_code == 422 and "delete&#34; to confirm." in kept.get_data(as_text=True)
    gone = alice.post("/settings/delete", {"confirm": "delete"}, form_page="/settings")
    assert gone.status_code == 302
    assert with_cookie(app, copied).get("/today").status_code == 302
    with db.session() as s:
        assert s.scalar(select(Person).where(Person.phone == ALICE)) is None


def test_the_session_cookie_is_http_only_lax_and_slides(app, db):
    alice = Pages(app, db)
    answer = alice.sign_in(ALICE, "Alice")
    header = next(h for h in answer.headers.getlist("Set-Cookie") if h.startswith("tend_session="))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header and "Expires=" in header
    again = alice.get("/today")
    assert any(h.startswith("tend_session=") for h in again.headers.getlist("Set-Cookie"))  # re-signed: sliding


def test_the_cookie_is_secure_behind_https(tmp_path, pg_url, db, clock, doorbell):
    from service.domain.runtime import Runtime
    from service.web.app import create_app

    config = make_config(tmp_path, DATABASE_URL=pg_url, TEND_PUBLIC_URL="https://tend.example")
    app = create_app(Runtime(config=config, db=db, now=clock, doorbell=doorbell))
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_pages_carry_the_security_headers(app, db):
    alice = Pages(app, db)
    for path in ("/", "/signin"):
        headers = alice.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer" and headers["Cache-Control"] == "no-store"
    alice.sign_in(ALICE, "Alice")
    assert "default-src 'self'" in alice.get("/today").headers["Content-Security-Policy"]


@contextmanager
def counted(db):
    """The SQL statements run meanwhile: through the engine, and the hot path's own prepared reads (HotReads)."""
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    read = db.hot_reads._read

    def hot_read(statement, params, first):
        statements.append(str(statement))
        return read(statement, params, first)

    event.listen(db.engine, "before_cursor_execute", count)
    db.hot_reads._read = hot_read
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
        del db.hot_reads._read


def add_rituals(db, phone: str, how_many: int, now: datetime, first: int = 0) -> None:
    with db.session() as s:
        person = s.scalar(select(Person).where(Person.phone == phone))
        circle = editing_circle(s, person, now)
        for n in range(first, first + how_many):
            editing.create_ritual(
                s,
                circle,
                editing.RitualFields(
                    f"Ritual {n}", datetime(2026, 11, 20, 7 + n, 0), "America/New_York", "FREQ=DAILY", 30, 15
                ),
                now,
            )
        s.commit()


def editing_circle(s, person, now):
    from service.domain import accounts

    existing = [m.circle for m in person.memberships]
    return existing[0] if existing else accounts.create_circle(s, owner=person, name="Home", now=now)


def test_today_and_streaks_make_a_bounded_number_of_statements(app, db, clock, sms):
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    add_rituals(db, ALICE, 1, clock())
    sms.tick()
    with counted(db) as one_today:
        alice.get("/today")
    with counted(db) as one_streaks:
        alice.get("/streaks")
    add_rituals(db, ALICE, 9, clock(), first=1)
    sms.tick()
    with counted(db) as ten_today:
        page = alice.text("/today")
    with counted(db) as ten_streaks:
        streaks = alice.text("/streaks")
    assert page.count('class="entry') >= 10 and streaks.count('class="heatmap"') == 10
    print(f"statements: /today {len(one_today)} -> {len(ten_today)}, /streaks {len(one_streaks)} -> {len(ten_streaks)}")
    assert len(ten_today) == len(one_today) == 2, ten_today  # the session row, then the page's one statement
    assert len(ten_streaks) == len(one_streaks) <= 8, ten_streaks


def test_the_sign_in_form_is_rate_limited_like_the_api(tmp_path, pg_url, db, clock, doorbell):
    from service.domain.runtime import Runtime
    from service.web.app import create_app

    config = make_config(tmp_path, DATABASE_URL=pg_url, TEND_SIGNUP_RATE_LIMIT="2 per hour")
    app = create_app(Runtime(config=config, db=db, now=clock, doorbell=doorbell))
    browser = Pages(app, db)
    answers = [browser.post("/signin", {"phone": f"+1415555010{n}"}) for n in range(3)]
    assert [answer.status_code for answer in answers] == [302, 302, 429]
    limited = answers[-1]
    assert limited.mimetype == "text/html" and "Wait a few minutes" in limited.get_data(as_text=True)
    assert int(limited.headers["Retry-After"]) > 0
    assert browser.client.get("/signin").status_code == 200  # reading the form is not limited


def test_http_errors_on_page_urls_answer_pages_and_the_api_keeps_json(app, db):
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    out_of_range = alice.client.get(f"/circles/{2**64}")
    assert out_of_range.status_code == 404 and out_of_range.mimetype == "text/html"
    assert "There is nothing here." in out_of_range.get_data(as_text=True)
    api = alice.client.get(f"/api/v1/circles/{2**64}")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"


def test_a_page_that_fails_answers_tends_own_error_page(runtime, db, monkeypatch, caplog):
    from service.domain import agenda
    from service.web.app import create_app

    app = create_app(runtime)  # not TESTING: a failure becomes the 500 a person would see
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")

    def broken(*_args, **_kwargs):
        raise RuntimeError("the agenda broke")

    monkeypatch.setattr(agenda, "today", broken)
    failed = alice.client.get("/today")
    body = failed.get_data(as_text=True)
    assert failed.status_code == 500 and failed.mimetype == "text/html"
    assert "Something went wrong on our side" in body and "the agenda broke" not in body
    assert "Content-Security-Policy" in failed.headers
    assert any("the agenda broke" in str(record.exc_info) for record in caplog.records)  # logged, not shown
