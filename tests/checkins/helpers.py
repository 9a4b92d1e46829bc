"""Bringing a couple to the moment a reminder (of a ritual, of a promise) has gone out, and reading what followed."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from service.domain.models import CheckIn, Occurrence, OccurrenceOutcome, OutboundSms
from tests.builders import FIRST_OCCURRENCE, FIRST_REMINDER, add_promise, add_ritual, couple
from tests.texting import signed


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def reminded_couple(client, people, db, clock, sms, fake_twilio, rituals=({},), at=FIRST_REMINDER):
    """Alice and Bob active in one circle with these rituals; the clock moved to `at` and reminders sent."""
    circle = couple(client, people, db)
    created = [add_ritual(client, people, circle, **changes) for changes in rituals]
    sms.tick()
    fake_twilio.reset()
    clock.set(at)
    sms.tick()
    return circle, created


PROMISE_DUE = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)  # the default promise: 18:00 in New York
PROMISE_REMINDER = PROMISE_DUE - timedelta(minutes=30)


def reminded_promise(client, people, db, clock, sms, fake_twilio) -> dict:
    """Alice promised Bob a call at 18:00 (reminded 17:30, grace 60 minutes); the clock at the reminder, sent."""
    circle = couple(client, people, db)
    promise = add_promise(client, people, circle, title="call at 6", due="2026-12-01T18:00", remind_before_minutes=30)
    sms.tick()
    fake_twilio.reset()
    clock.set(PROMISE_REMINDER)
    sms.tick()
    assert fake_twilio.bodies_to(people.PHONES["Alice"])[0].startswith("Tend: your promise to Bob: call at 6")
    return promise


def webhooks_at_once(app, forms: list[dict[str, str]], auth_token: str) -> list[requests.Response]:
    """Post these signed inbound SMS to a threaded server of the app, all released at the same moment."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/webhooks/twilio/sms"
    start = threading.Barrier(len(forms))
    answers: list[requests.Response] = []

    def post(form: dict[str, str]) -> None:
        headers = signed("/webhooks/twilio/sms", form, auth_token)
        start.wait()
        answers.append(requests.post(url, data=form, headers=headers, timeout=30))

    threads = [threading.Thread(target=post, args=(form,)) for form in forms]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.shutdown()
    return answers


def checkin_count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(CheckIn))


def outcome_of(
    db, person_id: int, *, ritual_id: int | None = None, promise_id: int | None = None, at: datetime = FIRST_OCCURRENCE
) -> str | None:
    """The person's outcome of one occurrence of a ritual or promise."""
    column, subject_id = (Occurrence.ritual_id, ritual_id) if ritual_id else (Occurrence.promise_id, promise_id)
    with db.session() as s:
        return s.scalar(
            select(OccurrenceOutcome.outcome)
            .join(Occurrence, Occurrence.id == OccurrenceOutcome.occurrence_id)
            .where(OccurrenceOutcome.person_id == person_id, Occurrence.at == at, column == subject_id)
        )


def sent_reminder_sid(db, person_id: int) -> str:
    with db.session() as s:
        return s.scalar(
            select(OutboundSms.sid)
            .where(OutboundSms.person_id == person_id, OutboundSms.kind == "reminder", OutboundSms.sid.is_not(None))
            .order_by(OutboundSms.sent_at.desc())
        )


def joined_by_text(client, people, sms, texts, circle: int, label: str) -> str:
    """Alice invites Dana under `label`; Dana replies JOIN and never chooses a name. Dana's phone."""
    dana = people.PHONES["Dana"]
    response = client.post(
        f"/api/v1/circles/{circle}/members", headers=people.headers("Alice"), json={"name": label, "phone": dana}
    )
    assert response.status_code == 201, response.get_json()
    sms.drain()
    assert texts.send(dana, "JOIN").startswith("You joined")
    return dana
