"""Weekly digests (SPEC §7): at each person's local digest slot, store their week and text them a link to it.

Correctness lives in the database, as for reminders: `next_digest_at` is the
person's next slot (UTC, indexed), due people are claimed with
`FOR NO KEY UPDATE SKIP LOCKED` and advanced in the same transaction, and a
Digest is unique per (person, week), so any number of clocks send each week's
digest once. NO KEY: a plain FOR UPDATE would also block every insert that
refers to those people (an inbound SMS, a check-in) until the batch commits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from service.core.digest_text import digest_sms_text
from service.core.schedule import local_to_utc, parse_timezone
from service.core.streaks import COUNTED, KEPT, Outcome, counted_in, kept_rate
from service.domain import outbox, streak_figures
from service.domain.db import insert_for, on_postgres
from service.domain.models import (
    SUBJECT_MODELS,
    Digest,
    Occurrence,
    OccurrenceOutcome,
    Person,
    PersonStatus,
    Promise,
    Ritual,
    SmsKind,
    SubjectKind,
    subject_key,
    table,
)
from service.domain.tokens import token_digest

DAY, WEEK = timedelta(days=1), timedelta(days=7)
# When one day holds several occurrences, its cell shows the most telling outcome.
CELL_PRIORITY = ("missed", "kept", "skipped", "pending")


def schedule_unscheduled(session: Session, now: datetime, limit: int) -> int:
    """Give up to `limit` people without a slot (new, or whose slot moved) their next one; returns how many."""
    people = session.scalars(
        select(Person)
        .where(Person.next_digest_at.is_(None))
        .limit(limit)
        .with_for_update(skip_locked=True, key_share=True)
    ).all()
    for person in people:
        person.next_digest_at = next_slot(person, now)
    return len(people)


def due_people(session: Session, now: datetime, limit: int) -> list[int]:
    """The people whose digest is due, earliest first (read only: the digest worker claims them)."""
    return list(
        session.scalars(
            select(Person.id).where(Person.next_digest_at <= now).order_by(Person.next_digest_at).limit(limit)
        )
    )


TOKEN_LIFETIME = timedelta(days=60)  # a digest page's link works this long


def make_due(session: Session, person_ids: Sequence[int], public_url: str, now: datetime, *, secret: str) -> int:
    """Make the digests of these people that are still due; returns how many were made.

    People are claimed with NO KEY UPDATE SKIP LOCKED and their slot advanced in
    the same transaction, so a repeated or concurrent call makes each digest once.
    """
    due = session.scalars(
        select(Person)
        .where(Person.id.in_(person_ids), Person.next_digest_at <= now)
        .order_by(Person.next_digest_at)
        .with_for_update(skip_locked=True, key_share=True)
    ).all()
    return len(make_digests(session, due, public_url, now, secret=secret))


def next_slot(person: Person, after: datetime) -> datetime:
    """The first instant strictly after `after` that is the person's local digest weekday and time."""
    zone = parse_timezone(person.timezone)
    local_day = after.astimezone(zone).date()
    for offset in range(15):  # two weeks: a slot earlier today pushes to next week even across a DST jump
        day = local_day + timedelta(days=offset)
        if day.weekday() == person.digest_weekday:
            slot = local_to_utc(datetime.combine(day, person.digest_time), zone)
            if slot > after:
                return slot
    raise AssertionError("a weekday recurs within two weeks")


def latest_slot(person: Person, at: datetime) -> datetime:
    """The person's last slot at or before `at`: after an outage the digest covers the week just ended."""
    slot = next_slot(person, at - timedelta(days=8))
    while (following := next_slot(person, slot)) <= at:
        slot = following
    return slot


def _insert_digests(postgres: bool):
    """INSERT ... ON CONFLICT DO NOTHING RETURNING (person_id, id): a week's digest is made once."""
    digests = table(Digest)
    return (
        insert_for(postgres)(digests)
        .on_conflict_do_nothing(index_elements=[digests.c.person_id, digests.c.week_start])
        .returning(digests.c.person_id, digests.c.id)
    )


# Built once per backend, run with every row of a batch at once (one statement, compiled once).
_INSERT_DIGESTS = {postgres: _insert_digests(postgres) for postgres in (False, True)}


@dataclass(frozen=True)
class Week:
    """The week a digest covers: the 7 days before `slot`, the first of them `start` in the person's zone."""

    person_id: int
    slot: datetime
    start: date


def make_digests(
    session: Session, people: Sequence[Person], public_url: str, now: datetime, *, secret: str
) -> dict[int, int]:
    """Store each person's digest of the week ending at their latest slot, queue its SMS, advance the slot.

    One set of statements for the whole batch, however many people it holds (a slot may be everyone's):
    their weeks, the digests, the SMS and the new slots are each read or written at once. Returns person id →
    new digest id; a week whose digest already exists is left out. The SMS goes only to an active person.
    """
    if not people:
        return {}
    weeks = {}
    for person in people:
        slot = latest_slot(person, now)
        weeks[person.id] = Week(person.id, slot, slot.astimezone(parse_timezone(person.timezone)).date() - (WEEK - DAY))
    payloads = week_payloads(session, weeks.values(), now)
    tokens = {person.id: _token(secret, person.id, weeks[person.id].start, now) for person in people}
    session.execute(
        update(table(Person)).where(table(Person).c.id == bindparam("person")).values(next_digest_at=bindparam("next")),
        [{"person": person.id, "next": next_slot(person, now)} for person in people],
    )
    made: dict[int, int] = dict(
        session.execute(
            _INSERT_DIGESTS[on_postgres(session)],
            [
                {
                    "person_id": person.id,
                    "week_start": weeks[person.id].start,
                    "token_hash": token_digest(tokens[person.id]),
                    "expires_at": now + TOKEN_LIFETIME,
                    "payload": payloads[person.id],
                    "created_at": now,
                }
                for person in people
            ],
        ).all()
    )
    outbox.queue_sms_rows(
        session,
        [
            {
                "person_id": person.id,
                "kind": SmsKind.DIGEST,
                "dedupe_key": f"digest:{person.id}:{weeks[person.id].start.isoformat()}",
                "body": digest_sms_text(payloads[person.id], page_url(public_url, tokens[person.id])),
                "due_at": now,
                "occurrence_id": None,
                "item": None,
            }
            for person in people
            if person.id in made and person.sms_status == PersonStatus.ACTIVE
        ],
        rung=now,
    )
    return made


def page_url(public_url: str, token: str) -> str:
    return f"{public_url}/d/{token}"


def latest_digest(session: Session, person_id: int) -> Digest | None:
    return session.scalar(
        select(Digest).where(Digest.person_id == person_id).order_by(Digest.week_start.desc()).limit(1)
    )


def _token(secret: str, person_id: int, week_start: date, created_at: datetime) -> str:
    """A digest page's token: keyed by the server's secret, so the database alone never holds or yields it."""
    microseconds = (created_at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    message = f"digest:{person_id}:{week_start.isoformat()}:{microseconds}".encode()
    return base64.urlsafe_b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode().rstrip("=")


def digest_token(digest: Digest, secret: str) -> str:
    """The token of a stored digest's page, for the API's link to it."""
    return _token(secret, digest.person_id, digest.week_start, digest.created_at)


def digest_by_token(session: Session, token: str, now: datetime) -> Digest | None:
    """The digest behind a page token, unless it has expired (60 days after it was made)."""
    return session.scalar(select(Digest).where(Digest.token_hash == token_digest(token), Digest.expires_at > now))


def week_payloads(session: Session, of: Iterable[Week], now: datetime) -> dict[int, dict[str, Any]]:
    """Per person, their week [slot - 7 days, slot): per subject kept/expected and a cell per day, plus figures.

    Day cells are the seven 24-hour spans ending at the slot, so a daily
    ritual fills one cell per day whatever its time. Reliability is kept ÷
    (kept + missed) for this week and the week before; null when none counted.
    The best current streak is the stored one (service/domain/streak_figures.py).

    Four statements for any number of people, none reading further back than the week before: the
    subjects they take part in, their stored figures (which also name the subjects of anything they
    have counted), and those subjects' occurrences of the two weeks, found through the (subject, at)
    indexes, with these people's outcomes.
    """
    weeks = {week.person_id: week for week in of}
    if not weeks:
        return {}
    subjects = streak_figures.subjects_of_people(session, weeks)
    streaks = streak_figures.current_streaks(session, weeks)
    keys = {(kind, subject_id) for found in subjects.values() for kind, subject_id, _ in found}
    keys.update(key for found in streaks.values() for key in found)
    since = min(week.slot for week in weeks.values()) - 2 * WEEK
    until = max(week.slot for week in weeks.values())
    rows = (
        session.execute(
            select(
                OccurrenceOutcome.person_id,
                Occurrence.at,
                Occurrence.ritual_id,
                Occurrence.promise_id,
                Ritual.title,
                Promise.title,
                OccurrenceOutcome.outcome,
            )
            .join(OccurrenceOutcome, OccurrenceOutcome.occurrence_id == Occurrence.id)
            .outerjoin(Ritual, Ritual.id == Occurrence.ritual_id)
            .outerjoin(Promise, Promise.id == Occurrence.promise_id)
            .where(
                Occurrence.of_any(keys),
                OccurrenceOutcome.person_id.in_(list(weeks)),
                Occurrence.at >= since,
                or_(Occurrence.at < until, OccurrenceOutcome.outcome.in_(sorted(COUNTED))),
            )
            .order_by(Occurrence.at)
        ).all()
        if keys
        else []
    )
    lived: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        lived[row[0]].append(row[1:])
    return {
        person_id: _payload(week, lived[person_id], _best_streak(subjects[person_id], streaks[person_id]), now)
        for person_id, week in weeks.items()
    }


def _payload(week: Week, rows: Iterable[Any], best_streak: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """One person's digest payload from their outcomes of the two weeks before the slot, in time order."""
    slot = week.slot
    week_begins = slot - WEEK
    subjects: dict[tuple[SubjectKind, int], dict[str, Any]] = {}
    cells: dict[tuple[SubjectKind, int], list[set[str]]] = defaultdict(lambda: [set() for _ in range(7)])
    last_week: list[str] = []
    this_week: list[str] = []
    for at, ritual_id, promise_id, ritual_title, promise_title, outcome in rows:
        if not counted_in(at, outcome, slot - 2 * WEEK, slot, now):
            continue
        if at < week_begins:
            last_week.append(outcome)
            continue
        this_week.append(outcome)
        state = "kept" if outcome in KEPT else outcome
        key = subject_key(ritual_id, promise_id)
        subject = subjects.setdefault(
            key, {"kind": key[0], "id": key[1], "title": ritual_title or promise_title, "kept": 0, "expected": 0}
        )
        subject["kept"] += state == "kept"
        subject["expected"] += state in ("kept", Outcome.MISSED)
        cells[key][min(6, (at - week_begins) // DAY)].add(state)
    for key, subject in subjects.items():
        subject["days"] = [next((s for s in CELL_PRIORITY if s in day), None) for day in cells[key]]
    reliability, before = _rounded(kept_rate(this_week)), _rounded(kept_rate(last_week))
    return {
        "week_start": week.start.isoformat(),
        "subjects": sorted(
            subjects.values(), key=lambda s: (list(SUBJECT_MODELS).index(s["kind"]), s["title"].casefold(), s["id"])
        ),
        "best_streak": best_streak,
        "reliability": reliability,
        "reliability_change": None if reliability is None or before is None else round(reliability - before, 3),
    }


def _rounded(rate: float | None) -> float | None:
    return None if rate is None else round(rate, 3)


def _best_streak(
    subjects: Sequence[tuple[SubjectKind, int, str]], streaks: dict[tuple[SubjectKind, int], int]
) -> dict[str, Any] | None:
    """The longest stored current streak among the subjects the person takes part in (the first one on a tie)."""
    best = max(subjects, key=lambda subject: streaks.get(subject[:2], 0), default=None)
    if best is None or streaks.get(best[:2], 0) == 0:
        return None
    kind, subject_id, title = best
    return {"kind": kind, "id": subject_id, "title": title, "current_streak": streaks[kind, subject_id]}


SAMPLE_EVERY = timedelta(minutes=10)


def send_sample(session: Session, person: Person, public_url: str, now: datetime, *, secret: str) -> Digest:
    """A digest of the 7 days up to now, texted at once ("send me a sample" in settings, `tend digest send --now`).

    It is stored like a weekly one (its page works from its link) under the week it covers; a weekly
    digest of that same week is replaced by it. At most one sample SMS per person per 10 minutes, and one still
    waiting to go takes the new text rather than a second one being queued. It goes at once, quiet hours or
    not (the person just asked for it: `sending.ASKED_FOR`).
    """
    week_start = now.astimezone(parse_timezone(person.timezone)).date() - (WEEK - DAY)
    payload = week_payloads(session, [Week(person.id, now, week_start)], now)[person.id]
    token = _token(secret, person.id, week_start, now)
    digest = session.scalar(select(Digest).where(Digest.person_id == person.id, Digest.week_start == week_start))
    if digest is None:
        digest = Digest(person_id=person.id, week_start=week_start)
        session.add(digest)
    digest.token_hash, digest.expires_at = token_digest(token), now + TOKEN_LIFETIME
    digest.payload, digest.created_at = payload, now
    session.flush()
    if person.sms_status == PersonStatus.ACTIVE:
        bucket = int(now.timestamp() // SAMPLE_EVERY.total_seconds())
        outbox.replace_waiting(  # a second sample asked for before the first went replaces it: one text
            session,
            person,
            SmsKind.SAMPLE,
            digest_sms_text(payload, page_url(public_url, token)),
            f"digest_sample:{person.id}:{bucket}",
            now,
        )
    return digest
