"""Rituals and promises: the schedule picker, its live preview, saving, pausing and deleting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import abort, flash, redirect, request, url_for

from service.core import picker
from service.core.schedule import ScheduleError, local_to_utc, parse_timezone
from service.domain import accounts, agenda, editing, subjects
from service.domain.errors import DomainError, Invalid, NotFound
from service.domain.models import Circle, Person, Promise, Ritual, RitualMode, SubjectKind
from service.web.context import commit, now
from service.web.context import session as db
from service.web.pages import auth
from service.web.pages.blueprint import bp, confirmed, page, show_error
from service.web.pages.forms import LEAD_MINUTES, PauseForm, PromiseForm, RitualForm, SelectChoice, choices, row_id

# The domain's field names, as the picker's form calls them.
FORM_FIELDS = {"starts": "start_date", "due": "start_date", "rrule": "repeat", "timezone": "start_date"}


@dataclass(frozen=True)
class Preview:
    """The next occurrences as a person reads them, and what the page should say about the start and reminder."""

    items: list[tuple[datetime, bool]]  # (local, clocks change before this one)
    moved_to: date | None
    quiet: picker.QuietClash | None
    error: str | None = None
    words: str = ""  # the schedule in words, as SMS echoes say it
    passed: datetime | None = None  # a one-off whose time has passed (local): saved, but said


def _choice(form: RitualForm | PromiseForm) -> picker.Choice:
    weekdays = tuple(int(day) for day in (form.weekdays.data or []) if str(day).isdecimal())
    return picker.Choice(form.repeat.data or "", weekdays, form.interval.data or 0)


def _start(form: RitualForm | PromiseForm) -> datetime | None:
    if form.start_date.data is None or form.time.data is None:
        return None
    return datetime.combine(form.start_date.data, form.time.data)


def schedule_preview(
    form: RitualForm | PromiseForm, timezone: str, person: Person, at: datetime, saved: Ritual | None = None
) -> Preview | None:
    """What the picker's choice means: the next 5 local occurrences (from now), the moved start, a quiet-hours clash.
    A saved ritual's pauses are skipped, as everywhere its schedule is read (the circle page's "Next:").
    A date or time that could not be read says why (the live preview has no field errors to show)."""
    start = _start(form)
    if start is None:
        unread = form.start_date.process_errors or form.time.process_errors
        return Preview([], None, None, str(unread[0])) if unread else None
    try:
        rule = picker.rule_for(_choice(form), start.date())
        placed = picker.place_start(start, timezone, rule)
        after = max(at, _utc(placed.start, timezone))
        pauses = saved.schedule().pauses if saved is not None else ()
        times = picker.preview(placed.start, timezone, placed.rule, after, pauses=pauses)
    except ScheduleError as error:
        return Preview([], None, None, error.message)
    items = [(local, i > 0 and local.utcoffset() != times[i - 1].utcoffset()) for i, local in enumerate(times)]
    passed = picker.passed_once(placed.start, timezone, placed.rule, at)
    lead = form.remind_before_minutes.data if form.remind_before_minutes.data in LEAD_MINUTES else 0
    clash = None if passed else picker.quiet_clash(placed.start.time(), lead, person.quiet_start, person.quiet_end)
    words = picker.in_words(placed.rule, placed.start, clock=24)
    return Preview(items, placed.start.date() if placed.moved else None, clash, words=words, passed=passed)


def _utc(local: datetime, timezone: str) -> datetime:
    return local_to_utc(local, parse_timezone(timezone))


def _fill_picker(form: RitualForm | PromiseForm, start: datetime, rule: str | None) -> None:
    form.start_date.data, form.time.data = start.date(), start.time()
    choice = picker.choice_of(rule, start.date())
    if choice is not None:
        form.repeat.data = choice.repeat
        form.weekdays.data = [str(day) for day in choice.weekdays]
        form.interval.data = choice.interval if choice.repeat == picker.EVERY_N_DAYS else 2


def _local_now(person: Person, at: datetime) -> datetime:
    return at.astimezone(parse_timezone(person.timezone)).replace(tzinfo=None)


def _local_today(person: Person, at: datetime) -> date:
    return _local_now(person, at).date()


def _dated(person: Person, at: datetime) -> dict[str, Any]:
    """A form's meta for its date fields: the person's own day, from which "tomorrow" and "fri" are read."""
    return {"now_local": _local_now(person, at)}


def _circle_arg(person: Person) -> Circle:
    """The circle named by ?circle=, or the person's only circle."""
    raw = request.args.get("circle")
    joined = [m.circle for m in person.memberships if m.status == "active"]
    if raw is not None:
        circle_id = row_id(raw)
        if circle_id is None:
            raise NotFound("Circle")
        return accounts.circle_for(db(), person, circle_id)
    if len(joined) == 1:
        return joined[0]
    if not joined:
        raise NotFound("Circle")
    abort(redirect(url_for("pages.today")))


def _members(circle: Circle) -> list[SelectChoice]:
    return choices((m.person_id, accounts.member_name(m)) for m in circle.memberships if m.status == "active")


def _moved_note(saved: editing.Saved, start: datetime) -> None:
    if saved.moved:
        flash(
            f"{saved.asked:%A %-d %B} is not on this schedule, so it starts on its first day: {start:%A %-d %B}.",
            "note",
        )


# Rituals


def _ritual_fields(form: RitualForm, timezone: str) -> editing.RitualFields:
    start = _start(form)
    assert start is not None, "validated"
    rule = picker.rule_for(_choice(form), start.date())
    # Everyone offered is "everyone"; an id the form did not offer goes to the domain, which refuses it (SPEC §3).
    everyone = {choice.value for choice in form.participants.choices} == set(form.participants.data or [])
    return editing.RitualFields(
        title=form.title.data,
        starts=start,
        timezone=timezone,
        rrule=rule,
        duration_minutes=form.duration_minutes.data,
        remind_before_minutes=form.remind_before_minutes.data,
        participants=None if everyone else list(form.participants.data or []),
        mode=form.mode.data or RitualMode.EACH,
        follow_up_minutes=form.follow_up_minutes.data,
    )


def _save_ritual(form: RitualForm, circle: Circle, ritual: Ritual | None, timezone: str) -> Any:
    """Validate and save; None when the form must be shown again (its errors set)."""
    if form.preview.data or not form.validate_on_submit():
        return None

    def save() -> Any:
        fields = _ritual_fields(form, timezone)
        if ritual is None:
            return editing.create_ritual(db(), circle, fields, now())
        return editing.update_ritual(db(), ritual, fields, now())

    return _saved(form, save, "pages.ritual", "ritual_id")


@bp.route("/rituals/new", methods=["GET", "POST"])
@auth.signin_required
def new_ritual() -> Any:
    person, at = auth.me(), now()
    circle = _circle_arg(person)
    form = RitualForm(meta=_dated(person, at))
    form.participants.choices = _members(circle)
    if request.method == "GET":
        form.start_date.data = _local_today(person, at)
        form.participants.data = [choice.value for choice in form.participants.choices]
    done = _save_ritual(form, circle, None, person.timezone)
    if done is not None:
        return done
    shown = schedule_preview(form, person.timezone, person, at) if request.method == "POST" else None
    return _form_page("ritual_form.html", form, circle=circle, ritual=None, preview=shown, timezone=person.timezone)


@bp.route("/rituals/<int:ritual_id>", methods=["GET", "POST"])
@auth.signin_required
def ritual(ritual_id: int) -> Any:
    person, at = auth.me(), now()
    found = subjects.ritual_for(db(), person.id, ritual_id)
    form = RitualForm(obj=found if request.method == "GET" else None, meta=_dated(person, at))
    form.participants.choices = _members(found.circle)
    if request.method == "GET":
        _fill_picker(form, found.start_local, found.rrule)
        form.participants.data = found.participant_ids()
    done = _save_ritual(form, found.circle, found, found.timezone)
    if done is not None:
        return done
    shown = schedule_preview(form, found.timezone, person, at, found)
    paused = subjects.paused_until(found, at)
    return _form_page(
        "ritual_form.html",
        form,
        circle=found.circle,
        ritual=found,
        preview=shown,
        timezone=found.timezone,
        custom=picker.choice_of(found.rrule, found.start_local.date()) is None,
        paused_until=paused and paused.astimezone(parse_timezone(found.timezone)),  # the ritual's wall time
        pause=PauseForm(formdata=None, until=None if paused else _local_today(person, at) + timedelta(days=7)),
    )


@bp.post("/rituals/<int:ritual_id>/pause")
@auth.signin_required
def pause_ritual(ritual_id: int) -> Any:
    person, at = auth.me(), now()
    found = subjects.ritual_for(db(), person.id, ritual_id)
    form = PauseForm(meta=_dated(person, at))
    if form.validate_on_submit():
        try:
            editing.pause_ritual(db(), found, datetime.combine(form.until.data, time()), at)
        except DomainError as error:
            flash(error.message, "error")
            return redirect(url_for("pages.ritual", ritual_id=ritual_id))
        commit()
        flash(f"Paused until {form.until.data:%a %-d %b}, 00:00: it starts again that day.", "done")
    else:
        flash(" ".join(form.until.errors) or "Give the date to pause until.", "error")
    return redirect(url_for("pages.ritual", ritual_id=ritual_id))


@bp.post("/rituals/<int:ritual_id>/resume")
@auth.signin_required
def resume_ritual(ritual_id: int) -> Any:
    found = subjects.ritual_for(db(), auth.me().id, ritual_id)
    editing.resume_ritual(db(), found, now())
    commit()
    flash(f"“{found.title}” is on again.", "done")
    return redirect(url_for("pages.ritual", ritual_id=ritual_id))


@bp.post("/<any(rituals, promises):kind>/<int:subject_id>/delete")
@auth.signin_required
def delete_subject(kind: str, subject_id: int) -> Any:
    person = auth.me()
    found = subjects.subject_for(db(), person.id, SubjectKind(kind.removesuffix("s")), subject_id)
    if not confirmed():
        return redirect(
            url_for(f"pages.{kind.removesuffix('s')}", _anchor="delete", **{f"{kind.removesuffix('s')}_id": subject_id})
        )
    circle_id, title = found.circle_id, found.title
    editing.delete_subject(db(), found, person, now())
    commit()
    flash(f"Deleted “{title}”.", "done")
    return redirect(url_for("pages.circle", circle_id=circle_id))


# Promises


def _promise_fields(form: PromiseForm, timezone: str) -> editing.PromiseFields:
    start = _start(form)
    assert start is not None, "validated"
    return editing.PromiseFields(
        to=form.to.data,
        title=form.title.data,
        due=start,
        timezone=timezone,
        rrule=picker.rule_for(_choice(form), start.date()),
        remind_before_minutes=form.remind_before_minutes.data,
        grace_minutes=form.grace_minutes.data,
        follow_up_minutes=form.follow_up_minutes.data,
    )


def _save_promise(form: PromiseForm, person: Person, circle: Circle, promise: Promise | None, timezone: str) -> Any:
    if form.preview.data or not form.validate_on_submit():
        return None

    def save() -> Any:
        fields = _promise_fields(form, timezone)
        if promise is None:
            return editing.create_promise(db(), person, circle, fields, now())
        return editing.update_promise(db(), promise, fields, now())

    return _saved(form, save, "pages.promise", "promise_id")


def _form_page(template: str, form: Any, **context: Any) -> Any:
    """A ritual or promise form again: 422 when it was refused (not when it was only previewed), else 200."""
    status = 422 if (form.errors or form.form_errors) and not form.preview.data else 200
    return page(template, status, form=form, once=_once(form), of_promise=isinstance(form, PromiseForm), **context)


def _once(form: RitualForm | PromiseForm) -> bool:
    """A one-off promise: its preview shows its one time, not "the next 5"."""
    return bool(form.repeat.data == picker.ONCE)


def _saved(form: Any, save: Callable[[], Any], endpoint: str, id_name: str) -> Any:
    """Run a ritual's or promise's save: refusals go beside their field (None), success commits and redirects."""
    try:
        saved = save()
    except ScheduleError as error:
        show_error(form, Invalid(error.message, error.field), FORM_FIELDS)
        return None
    except DomainError as error:
        db().rollback()
        show_error(form, error, FORM_FIELDS)
        return None
    commit()
    _moved_note(saved, saved.subject.starts)
    flash(f"Saved “{saved.subject.title}”.", "done")
    return redirect(url_for(endpoint, **{id_name: saved.subject.id}))


def _recipients(circle: Circle, person: Person) -> list[SelectChoice]:
    return [choice for choice in _members(circle) if choice.value != person.id]


@bp.route("/promises/new", methods=["GET", "POST"])
@auth.signin_required
def new_promise() -> Any:
    person, at = auth.me(), now()
    circle = _circle_arg(person)
    form = PromiseForm(meta=_dated(person, at))
    form.to.choices = _recipients(circle, person)
    if request.method == "GET":
        form.start_date.data = _local_today(person, at)
    done = _save_promise(form, person, circle, None, person.timezone)
    if done is not None:
        return done
    shown = schedule_preview(form, person.timezone, person, at) if request.method == "POST" else None
    return _form_page(
        "promise_form.html", form, circle=circle, promise=None, preview=shown, timezone=person.timezone, mine=True
    )


@bp.route("/promises/<int:promise_id>", methods=["GET", "POST"])
@auth.signin_required
def promise(promise_id: int) -> Any:
    person, at = auth.me(), now()
    found = subjects.promise_for(db(), person.id, promise_id)
    circle = accounts.circle_for(db(), person, found.circle_id)
    mine = found.keeper_id == person.id
    if request.method == "POST":
        editing.may_change(person, found)
    form = PromiseForm(obj=found if request.method == "GET" else None, meta=_dated(person, at))
    names = accounts.names_in(db(), [circle.id], [found.keeper_id, found.recipient_id])
    recipient = names.of(circle.id, found.recipient_id)
    form.to.choices = _recipients(circle, person) if mine else choices([(found.recipient_id, recipient)])
    if request.method == "GET":
        _fill_picker(form, found.due_local, found.rrule)
        form.to.data = found.recipient_id
    done = _save_promise(form, person, circle, found, found.timezone)
    if done is not None:
        return done
    shown = schedule_preview(form, found.timezone, person, at)
    kept = agenda.kept_on(db(), found)
    return _form_page(
        "promise_form.html",
        form,
        circle=circle,
        promise=found,
        preview=shown,
        timezone=found.timezone,
        mine=mine,
        keeper=names.of(circle.id, found.keeper_id),
        custom=picker.choice_of(found.rrule, found.due_local.date()) is None,
        kept_on=kept and kept.astimezone(parse_timezone(person.timezone)),
    )


@bp.get("/schedule/preview")
@auth.signin_required
def preview_fragment() -> Any:
    """The preview alone, for the page's script to show as the picker changes (the form works without it)."""
    person, at = auth.me(), now()
    form = RitualForm(formdata=request.args, meta={"csrf": False} | _dated(person, at))
    timezone = request.args.get("timezone", person.timezone)
    try:
        parse_timezone(timezone)
    except ScheduleError:
        timezone = person.timezone
    saved_id = row_id(request.args.get("ritual"))  # a saved ritual's page: its pauses are skipped
    saved = subjects.ritual_for(db(), person.id, saved_id) if saved_id is not None else None
    shown = schedule_preview(form, timezone, person, at, saved)
    read = {"start_date": form.start_date.written(), "time": form.time.written()}  # the script shows them as read
    of_promise = request.args.get("of") == "promise"  # the promise form's picker says so (_picker.html)
    return page("_preview.html", preview=shown, timezone=timezone, once=_once(form), of_promise=of_promise, read=read)
