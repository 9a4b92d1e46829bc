"""Setting up by text (SPEC §4): NEW, PROMISE, MOVE, DROP and INVITE make a draft, echoed in words; OK saves it.

A part of the SMS conversation (`conversation.respond` hands these commands
here): every save goes through the same domain functions as the API and the
pages (`editing`, `accounts`, `feed_store`), so every rule of SPEC §3 holds.

Decisions the spec leaves open:

- One draft per person: a new command replaces the draft before it. A draft
  lives 30 minutes; OK after that says there is nothing to save.
- A question (which circle, which member) is part of the draft: a bare
  number answers it, and the echo follows.
- A refusal at OK (a rule of §3) is said in the domain's words and the draft
  is dropped; nothing of it is written.
- A new ritual starts on the next day its rule allows at that time; a moved
  one keeps its timezone only if the person's is the same (times are read in
  the person's zone).
- FEED makes a new person-scope feed each time: a feed's token is stored only
  as a digest, so an existing feed's link cannot be texted again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from service.core import phones, phrases, picker, sms_text
from service.core.replies import Reply
from service.core.schedule import occurrence_local
from service.domain import accounts, agenda, editing, feed_store, subjects
from service.domain.db import insert_for, on_postgres
from service.domain.errors import Conflict, DomainError, NotFound
from service.domain.models import (
    Circle,
    FeedScope,
    Membership,
    MembershipStatus,
    Person,
    Promise,
    Ritual,
    SmsKind,
    Subject,
    SubjectKind,
    TextedSetup,
    table,
)
from service.domain.outbox import queue_sms

DRAFT_LIFETIME = timedelta(minutes=30)
DEFAULT_DURATION_MINUTES = 30
DEFAULT_REMIND_BEFORE_MINUTES = 15
PROMISE_REMIND_BEFORE_MINUTES = 30
MAX_LISTED = 10


@dataclass(frozen=True)
class Links:
    """What the SMS door knows of the running service: where feeds are served, and which countries Tend texts."""

    public_url: str
    sms_countries: tuple[str, ...]


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    label: str | None
    active: bool  # joined, and may be texted (accounts.ACTIVE_MEMBER)


@dataclass(frozen=True)
class CircleView:
    """A circle the person joined, with its members in joining order: what drafts and echoes name."""

    id: int
    name: str
    members: list[Member]


def respond(session: Session, person: Person, reply: Reply, now: datetime, links: Links) -> str:
    """The answer to one set-up command of an active person."""
    local_now = occurrence_local(now, person.timezone).replace(tzinfo=None)
    try:
        match reply.command:
            case "new":
                return _new(session, person, phrases.read_new(reply.words, local_now), now)
            case "promise":
                return _promise(session, person, reply.words, local_now, now)
            case "invite":
                return _invite(session, person, reply.words, now, links)
            case "move" | "drop":
                return _change(session, person, reply, local_now, now)
            case "choose":
                return _choose(session, person, reply.item or 0, now)
            case "ok":
                return _save(session, person, now, links)
            case "list":
                return _list(session, person, now)
            case "feed":
                _, token = feed_store.create_feed(
                    session, owner=person, scope=FeedScope.PERSON, circle_id=None, now=now
                )
                return sms_text.feed_text(f"{links.public_url}/feeds/{token}.ics")
    except phrases.Unreadable as unreadable:
        return sms_text.ask_again_text(unreadable.question)
    except DomainError as refused:
        return sms_text.refused_text(refused.message)
    return sms_text.help_text()


_SETUPS = table(TextedSetup)


def _upsert(postgres: bool, *columns: str):
    """One statement that sets these columns of the person's row, inserting it when there is none."""
    statement = insert_for(postgres)(_SETUPS).values(
        person_id=bindparam("person_id"), **{c: bindparam(c, type_=_SETUPS.c[c].type) for c in columns}
    )
    return statement.on_conflict_do_update(
        index_elements=[_SETUPS.c.person_id], set_={c: statement.excluded[c] for c in columns}
    )


_KEEP = {postgres: _upsert(postgres, "draft", "draft_until") for postgres in (False, True)}
_LIST = {postgres: _upsert(postgres, "listed") for postgres in (False, True)}
_STATE = select(_SETUPS.c.draft, _SETUPS.c.draft_until, _SETUPS.c.listed).where(
    _SETUPS.c.person_id == bindparam("person_id")
)
_m, _c, _p = table(Membership).c, table(Circle).c, table(Person).c
_mine = table(Membership).alias("mine")
# The circles a person joined and everyone in them: one statement for a NEW, PROMISE or INVITE.
_CIRCLES = (
    select(
        _c.id,
        _c.name,
        _m.person_id,
        _m.status,
        _p.name.label("member"),
        _m.label,
        accounts.ACTIVE_MEMBER.label("active"),
    )
    .select_from(table(Circle))
    .join(
        _mine,
        and_(
            _mine.c.circle_id == _c.id,
            _mine.c.person_id == bindparam("person_id"),
            _mine.c.status == MembershipStatus.ACTIVE,
        ),
    )
    .join(table(Membership), _m.circle_id == _c.id)
    .join(table(Person), _p.id == _m.person_id)
    .order_by(_c.id, _m.joined_order)
)


def _circles(session: Session, person_id: int) -> list[CircleView]:
    views: dict[int, CircleView] = {}
    for row in session.execute(_CIRCLES, {"person_id": person_id}):
        view = views.setdefault(row.id, CircleView(row.id, row.name, []))
        shown = accounts.shown_name(row.status, row.member, row.label)
        view.members.append(Member(row.person_id, shown, row.label, bool(row.active)))
    return list(views.values())


def _keep(session: Session, person: Person, draft: dict[str, Any], now: datetime) -> None:
    session.execute(
        _KEEP[on_postgres(session)], {"person_id": person.id, "draft": draft, "draft_until": now + DRAFT_LIFETIME}
    )


def _state(session: Session, person: Person) -> Any:
    """The person's row: draft, its expiry and latest LIST; None when they never set anything up by text."""
    return session.execute(_STATE, {"person_id": person.id}).first()


def _draft(session: Session, person: Person, now: datetime) -> dict[str, Any] | None:
    state = _state(session, person)
    if state is None or state.draft is None or state.draft_until is None or state.draft_until <= now:
        return None
    return dict(state.draft)


def _ask_or_echo(
    session: Session, person: Person, draft: dict[str, Any], circles: list[CircleView], now: datetime
) -> str:
    """Keep the draft; echo it, or first ask which circle when the person has several."""
    if not circles:
        return sms_text.refused_text("Join or start a circle first.")
    if len(circles) > 1:
        _keep(session, person, draft | {"options": [c.id for c in circles]}, now)
        return sms_text.choose_text("Which circle?", [c.name for c in circles])
    draft |= {"circle": circles[0].id}
    _check_title(session, draft, circles[0])
    _keep(session, person, draft, now)
    return _echo(session, person, draft, circles)


def _check_title(session: Session, draft: dict[str, Any], circle: CircleView) -> None:
    """A new ritual's title, asked of the rule OK applies (editing.check_title) once its circle is known, so that
    the draft is never one OK refuses; the answer says how to go on."""
    if draft["kind"] != "new_ritual":
        return
    try:
        editing.check_title(session, circle.id, draft["title"])
    except Conflict as taken:
        raise phrases.Unreadable(sms_text.title_taken_text(draft["title"], circle.name)) from taken


def _short_enough(text: str, column: Any, example: str) -> None:
    """A title or name as long as its column holds (the API's fields bound it the same), or asked again."""
    if len(text) > column.type.length:
        raise phrases.Unreadable(f"That is too long: at most {column.type.length} characters, e.g. {example}.")


def _new(session: Session, person: Person, reading: phrases.Reading, now: datetime) -> str:
    _short_enough(reading.title, table(Ritual).c.title, phrases.EXAMPLE_NEW)
    draft: dict[str, Any] = {
        "kind": "new_ritual",
        "title": reading.title,
        "start": reading.start.isoformat(),
        "rule": reading.rule,
    }
    return _ask_or_echo(session, person, draft, _circles(session, person.id), now)


def _promise(session: Session, person: Person, words: str, local_now: datetime, now: datetime) -> str:
    name, _, rest = words.partition(" ")
    reading = phrases.read_promise(rest, local_now)
    _short_enough(reading.title, table(Promise).c.title, phrases.EXAMPLE_PROMISE)
    circles = _circles(session, person.id)
    named = [
        (circle, member)
        for circle in circles
        for member in circle.members
        if member.id != person.id and name.casefold() in (member.name.casefold(), (member.label or "").casefold())
    ]
    if not name or not named:
        raise phrases.Unreadable(f"Who is it for? Start with their name, e.g. {phrases.EXAMPLE_PROMISE}.")
    matches = [(circle, member) for circle, member in named if member.active]
    if not matches:  # only members who have not joined: refused by the rule every door asks (SPEC §3, Consent)
        circle, member = named[0]
        subjects.check_recipient(accounts.circle_for(session, person, circle.id), person.id, member.id)
    draft: dict[str, Any] = {
        "kind": "new_promise",
        "title": reading.title,
        "start": reading.start.isoformat(),
        "rule": reading.rule,
    }
    if len(matches) > 1:
        _keep(session, person, draft | {"options": [[c.id, m.id] for c, m in matches]}, now)
        return sms_text.choose_text(f"Which {name}?", [f"{m.name} ({c.name})" for c, m in matches])
    circle, member = matches[0]
    draft |= {"circle": circle.id, "to": member.id}
    _keep(session, person, draft, now)
    return _echo(session, person, draft, circles)


def _name_and_number(words: str, countries: tuple[str, ...]) -> tuple[str, str]:
    """INVITE's words split into the name and the number ("+1 415 555 0123", "(415) 555-0123").

    The number starts at the first word that begins like one and reads as one to its end, so that digits in
    a name ("Call 415-555-0199 +14155550188") stay in the name, which the name rule then judges.
    """
    starts = [found.start() for found in re.finditer(r"(?<!\S)[+(\d]", words)]
    for start in starts:
        try:
            phones.e164(words[start:], countries[0])
        except phones.PhoneError:
            continue
        return words[:start], words[start:]
    return (words[: starts[0]], words[starts[0] :]) if starts else (words, "")


def _invite(session: Session, person: Person, words: str, now: datetime, links: Links) -> str:
    name, phone = _name_and_number(words, links.sms_countries)
    if not name.strip():
        raise phrases.Unreadable("Give a name and a number, e.g. INVITE Sam +14155550123.")
    # The rules of SPEC §3 (names, destinations) are the domain's; asked here so the draft is never one OK refuses.
    label = accounts.valid_name(" ".join(name.split()))
    number = accounts.destination(phone, links.sms_countries)
    draft: dict[str, Any] = {"kind": "invite", "name": label, "phone": number}
    return _ask_or_echo(session, person, draft, _circles(session, person.id), now)


def _change(session: Session, person: Person, reply: Reply, local_now: datetime, now: datetime) -> str:
    state = _state(session, person)
    listed = (state.listed if state is not None else None) or []
    if not 1 <= (reply.item or 0) <= len(listed):
        return sms_text.no_listed_item_text(reply.item or 0)
    key = listed[(reply.item or 0) - 1]
    subject = _subject(session, person, key)
    if reply.command == "drop":
        draft: dict[str, Any] = {"kind": "drop", "subject": key}
    else:
        start, rule = phrases.read_move(reply.words, subject.starts, subject.rrule, local_now)
        draft = {"kind": "move", "subject": key, "start": start.isoformat(), "rule": rule}
    _keep(session, person, draft, now)
    return _echo(session, person, draft, [])


def _subject(session: Session, person: Person, key: str) -> Subject:
    """A listed item (`kind:id`) the person may change: a ritual they see, or a promise they made (404 / 403
    otherwise)."""
    kind, _, subject_id = key.partition(":")
    subject = subjects.subject_for(session, person.id, SubjectKind(kind), int(subject_id))
    editing.may_change(person, subject)
    return subject


def _when(subject: Subject) -> str:
    """A saved ritual's or promise's schedule, in the words of the answer to OK."""
    return sms_text.schedule_words(subject.kind, picker.in_words(subject.rrule, subject.starts))


def _choose(session: Session, person: Person, number: int, now: datetime) -> str:
    draft = _draft(session, person, now)
    if draft is None or "options" not in draft:
        return sms_text.help_text()
    options = draft["options"]
    if not 1 <= number <= len(options):
        return sms_text.no_listed_item_text(number)
    chosen = options[number - 1]
    answered = {k: v for k, v in draft.items() if k != "options"}
    answered |= {"circle": chosen[0], "to": chosen[1]} if isinstance(chosen, list) else {"circle": chosen}
    circles = _circles(session, person.id)
    circle = next((c for c in circles if c.id == answered["circle"]), None)
    if circle is not None:  # a circle left since: _echo says it is not found
        _check_title(session, answered, circle)
    _keep(session, person, answered, now)
    return _echo(session, person, answered, circles)


def _others(circle: CircleView, person: Person, among: list[int] | None = None) -> list[str]:
    """The names of the other active members (of `among`, when given), as the echo names them."""
    return [m.name for m in circle.members if m.active and m.id != person.id and (among is None or m.id in among)]


def _echo(session: Session, person: Person, draft: dict[str, Any], circles: list[CircleView]) -> str:
    """The draft said back in words: what OK will save. `circles`: the person's, for a new thing."""
    kind = draft["kind"]
    if kind in ("new_ritual", "new_promise", "invite"):
        circle = next((c for c in circles if c.id == draft["circle"]), None)
        if circle is None:
            raise NotFound("Circle")
        if kind == "invite":
            return sms_text.draft_invite_text(draft["name"], circle.name)
        when = picker.in_words(draft["rule"], datetime.fromisoformat(draft["start"]))
        if kind == "new_ritual":
            return sms_text.draft_ritual_text(
                draft["title"], when, _others(circle, person), DEFAULT_REMIND_BEFORE_MINUTES
            )
        (to,) = [m.name for m in circle.members if m.id == draft["to"]]
        return sms_text.draft_promise_text(draft["title"], when, to)
    subject = _subject(session, person, draft["subject"])
    names = accounts.names_in(session, [subject.circle_id], subject.involved())
    others = [names.of(subject.circle_id, i) for i in subject.involved() if i != person.id]
    if kind == "drop":
        return sms_text.draft_drop_text(subject.title, others)
    when = picker.in_words(draft["rule"], datetime.fromisoformat(draft["start"]))
    return sms_text.draft_move_text(subject.title, when, others)


def _save(session: Session, person: Person, now: datetime, links: Links) -> str:
    """OK: save the draft through the domain's own functions; a refusal writes nothing of it."""
    draft = _draft(session, person, now)
    session.execute(_KEEP[on_postgres(session)], {"person_id": person.id, "draft": None, "draft_until": None})
    if draft is None or "options" in draft:
        return sms_text.no_draft_text()
    with session.begin_nested():
        return sms_text.saved_text(_apply(session, person, draft, now, links))


def _apply(session: Session, person: Person, draft: dict[str, Any], now: datetime, links: Links) -> str:
    kind = draft["kind"]
    start = datetime.fromisoformat(draft["start"]) if "start" in draft else None
    if kind == "invite":
        circle = accounts.circle_for(session, person, draft["circle"])
        accounts.invite_member(
            session,
            circle=circle,
            inviter=person,
            name=draft["name"],
            phone=draft["phone"],
            countries=links.sms_countries,
            now=now,
        )
        return f"{draft['name']} is invited to {circle.name}"
    if kind == "new_ritual" and start is not None:
        circle = accounts.circle_for(session, person, draft["circle"])
        fields = editing.RitualFields(
            title=draft["title"],
            starts=start,
            timezone=person.timezone,
            rrule=draft["rule"],
            duration_minutes=DEFAULT_DURATION_MINUTES,
            remind_before_minutes=DEFAULT_REMIND_BEFORE_MINUTES,
        )
        saved = editing.create_ritual(session, circle, fields, now)
        return f"{saved.subject.title}, {_when(saved.subject)}"
    if kind == "new_promise" and start is not None:
        circle = accounts.circle_for(session, person, draft["circle"])
        promised = editing.PromiseFields(
            to=draft["to"],
            title=draft["title"],
            due=start,
            timezone=person.timezone,
            rrule=draft["rule"],
            remind_before_minutes=PROMISE_REMIND_BEFORE_MINUTES,
        )
        kept = editing.create_promise(session, person, circle, promised, now)
        return f"{kept.subject.title}, {_when(kept.subject)}"
    key = draft["subject"]
    if kind == "drop":
        subject = _subject(session, person, key)
        _tell_dropped(session, person, subject, now)
        editing.delete_subject(session, subject, person, now)
        return f"{subject.title} is deleted"
    assert start is not None, "a move has a start"
    moved = editing.reschedule(session, _subject(session, person, key), start, person.timezone, draft["rule"], now)
    return f"{moved.subject.title}, {_when(moved.subject)}"


def _tell_dropped(session: Session, person: Person, subject: Subject, now: datetime) -> None:
    """The others in a deleted ritual (or a promise's recipient) get one SMS saying so."""
    mover = accounts.names_in(session, [subject.circle_id], [person.id]).of(subject.circle_id, person.id)
    for other in session.scalars(select(Person).where(Person.id.in_(subject.involved()), Person.id != person.id)):
        queue_sms(
            session,
            person=other,
            kind=SmsKind.NOTICE,
            body=sms_text.dropped_notice_text(mover, subject.title),
            dedupe_key=f"dropped:{subject.kind}:{subject.id}:{subject.created_at:%Y%m%dT%H%M%S.%f}:{other.id}",  # ids recur on SQLite
            due_at=now,
        )


def _list(session: Session, person: Person, now: datetime) -> str:
    """Numbered rituals and open promises the person takes part in, by their next time still to come (in their
    zone); a promise already kept (early, or its last time) and a schedule that has ended are not listed."""
    involved = subjects.involving(session, person.id)
    done = agenda.settled(session, involved, now)
    ahead = sorted(
        (at, subject.title, f"{subject.kind}:{subject.id}")
        for subject in involved
        if (at := agenda.next_open(subject, now, done)) is not None
    )[:MAX_LISTED]
    lines = [(title, picker.in_words(None, occurrence_local(at, person.timezone))) for at, title, _ in ahead]
    session.execute(_LIST[on_postgres(session)], {"person_id": person.id, "listed": [key for *_, key in ahead]})
    return sms_text.listed_text(lines)
