"""The pages' forms (Flask-WTF: CSRF token and validation). Shape and format are checked here; rules are the domain's."""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (  # type: ignore[attr-defined]  # SelectChoice: WTForms 3.2 has it; types-wtforms lags
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from service.core import zones
from service.core.phrases import EXAMPLE_DATE, WRITTEN_DATE, WRITTEN_TIME, Unreadable, read_date, read_time
from service.core.picker import DAY_NAMES, REPEATS
from service.core.schedule import ScheduleError, parse_timezone
from service.domain.models import MAX_ROW_ID


def row_id(raw: str | None) -> int | None:
    """A row's id as a form or a query string gives it: ASCII digits naming a possible row, else None."""
    if raw and len(raw) <= len(str(MAX_ROW_ID)) and raw.isascii() and raw.isdecimal() and 0 < int(raw) <= MAX_ROW_ID:
        return int(raw)
    return None


def choices(pairs: Any) -> list[SelectChoice]:
    """WTForms 3.3 wants SelectChoice objects, not (value, label) tuples."""
    return [SelectChoice(value, label) for value, label in pairs]


WEEKDAY_CHOICES = choices((str(i), name) for i, name in enumerate(DAY_NAMES))
LEADS = choices(
    [
        (0, "At the time"),
        (5, "5 minutes before"),
        (10, "10 minutes before"),
        (15, "15 minutes before"),
        (30, "30 minutes before"),
        (60, "1 hour before"),
        (120, "2 hours before"),
    ]
)
LEAD_MINUTES = frozenset(choice.value for choice in LEADS)


def _no_controls(_form: Any, field: Any) -> None:
    if field.data and any(ord(c) < 32 or ord(c) == 127 for c in field.data):
        raise ValidationError("Must not contain control characters.")


def _known_zone(name: str) -> bool:
    try:
        parse_timezone(name)
    except ScheduleError:
        return False
    return True


def _zone(_form: Any, field: Any) -> None:
    if not _known_zone((field.data or "").strip()):
        raise ValidationError("Use a time zone name such as Europe/London or America/New_York.")
    field.data = field.data.strip()


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class _TypedField:
    """A text field read as Tend reads texts (`read`) and shown back as the pages write it (`WRITTEN`): what was
    typed stays when it was not read, to be corrected. A plain text field: a native time or date input shows
    the phone's own form ("07:00 PM", "12/04/2026"), which no page can set, beside text saying "19:00" and
    "Fri 4 Dec" (issue 22)."""

    WRITTEN = ""
    HINTS: dict[str, Any] = {}
    data: Any
    raw_data: Any

    def __init__(self, label: str, validators: Any = None, **kwargs: Any) -> None:
        kwargs["render_kw"] = {"autocomplete": "off", "maxlength": 40} | self.HINTS | kwargs.get("render_kw", {})
        kwargs.setdefault("widget", TextInput())
        super().__init__(label, validators, **kwargs)  # type: ignore[call-arg]  # the WTForms field beside it

    def read(self, typed: str) -> Any:
        raise NotImplementedError

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        if not valuelist or not str(valuelist[0]).strip():
            return
        try:
            self.data = self.read(str(valuelist[0]))
        except Unreadable as unread:
            raise ValueError(unread.question) from None

    def written(self) -> str:
        """What was read, as Tend writes it ("7pm" as 19:00, "fri" as which Friday); empty when none was read."""
        return str(self.data.strftime(self.WRITTEN)) if self.data is not None else ""

    def _value(self) -> str:
        return self.written() or (str(self.raw_data[0]) if self.raw_data else "")


class ClockField(_TypedField, TimeField):
    """A time of day, read as texts read times (`read_time`: "7pm", "7:00 PM", "19:00", "1900") and shown back
    in 24-hour form, as every page writes times ("19:00"). Never cut short: "7:00 PM" once became 07:00."""

    WRITTEN = WRITTEN_TIME
    HINTS = {"placeholder": "19:00", "size": 8}

    def read(self, typed: str) -> Any:
        return read_time(typed)


class DayField(_TypedField, DateField):
    """A date as every page writes dates ("Fri 4 Dec 2026"), read as Tend reads dates in texts (`read_date`:
    "4 Dec", "2026-12-04", "tomorrow", "fri" too). "tomorrow" needs the person's day: the form's
    `meta.now_local` (the person's local now, which the view passes)."""

    WRITTEN = WRITTEN_DATE
    HINTS = {"placeholder": "Fri 4 Dec 2026", "size": 16}

    def __init__(self, label: str, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("description", f"A date such as {EXAMPLE_DATE}.")
        super().__init__(label, validators, **kwargs)

    def read(self, typed: str) -> Any:
        return read_date(typed, self.meta.now_local)


PHONE_EXAMPLE = "+1 415 555 0123"  # a number Tend can text under the default TEND_SMS_COUNTRIES (tested)


class PhoneForm(FlaskForm):
    phone = StringField(
        "Your mobile number",
        [DataRequired("Give your mobile number."), Length(max=32)],
        filters=[_strip],
        description=f"For example {PHONE_EXAMPLE}. We text you a 6-digit code.",
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )
    submit = SubmitField("Text me a code")


def _zone_choices(_form: Any, field: Any) -> list[SelectChoice]:
    """Every country's zones (the tz data's zone.tab) grouped by region ("America": "New York"), then UTC.

    A zone the field already holds that the list lacks (one a browser named, say) is offered too, so it shows chosen.
    """
    names = sorted({name for found in zones.country_zones().values() for name in found})
    grouped = [
        SelectChoice(name, name.split("/", 1)[1].replace("_", " "), optgroup=name.split("/")[0]) for name in names
    ]
    held = field.data if isinstance(field.data, str) and field.data not in {*names, "", "UTC"} else None
    others = [SelectChoice(held, held, optgroup="Other")] if held and _known_zone(held) else []
    return [SelectChoice("", "Choose your time zone"), *grouped, SelectChoice("UTC", "UTC", optgroup="Other"), *others]


class ZoneField(SelectField):
    """A person's time zone, as sign-up and settings both ask it: one choice from the grouped list of zones.

    Any zone the tz data has is accepted (_zone), also one the browser names outside the list.
    """

    def __init__(self, label: str = "Your time zone", validators: Any = (), **kwargs: Any) -> None:
        super().__init__(label, [*validators, _zone], choices=_zone_choices, validate_choice=False, **kwargs)


class CodeForm(FlaskForm):
    code = StringField(
        "The 6-digit code we texted",
        [DataRequired("Give the code."), Regexp(r"^\s*\d{6}\s*$", message="The code is 6 digits.")],
        filters=[_strip],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    name = StringField(
        "Your name",
        [Optional(), Length(max=80), _no_controls],
        filters=[_strip],
        description=(
            "Only needed the first time: the name your partner sees and Tend's texts use. "
            "Tend asks you, even when someone invited you: the name they typed for you stays theirs."
        ),
        render_kw={"autocomplete": "given-name"},
    )
    timezone = ZoneField(
        validators=[Optional()],
        description="Only needed the first time: Tend's texts and pages use your local time.",
    )
    submit = SubmitField("Sign in")


class CircleForm(FlaskForm):
    name = StringField(
        "Name of your circle",
        [DataRequired("Give your circle a name."), Length(max=80), _no_controls],
        filters=[_strip],
        description='For example "Sam & Alex".',
    )
    submit = SubmitField("Create circle")


class InviteForm(FlaskForm):
    name = StringField("Their name", [DataRequired("Give their name."), Length(max=80), _no_controls], filters=[_strip])
    phone = StringField(
        "Their mobile number",
        [DataRequired("Give their mobile number."), Length(max=32)],
        filters=[_strip],
        description=f"For example {PHONE_EXAMPLE}. They get one text inviting them; they join by replying JOIN.",
        render_kw={"autocomplete": "off", "inputmode": "tel"},
    )
    submit = SubmitField("Invite")


class ScheduleFields:
    """The schedule picker's fields, shared by rituals and promises."""

    repeat = RadioField("Repeats", choices=choices(REPEATS), default="daily", validators=[InputRequired()])
    weekdays = CheckboxesField("On these days", choices=WEEKDAY_CHOICES, validate_choice=True)
    # The range is the picker's rule (service.core.picker), said in its words: no second wording here.
    interval = IntegerField("Every how many days", [Optional()], default=2)
    time = ClockField("Time", [InputRequired("Give a time.")])
    start_date = DayField("Starting on", [InputRequired("Give a start date.")])
    remind_before_minutes = SelectField("Remind me", choices=LEADS, coerce=int, default=15)
    follow_up_minutes = IntegerField(
        "Nudge again if not done after (minutes)",
        [Optional(), NumberRange(1, 7 * 24 * 60)],
        description="One more text to whoever has not checked in by then. Leave empty for none.",
    )


class RitualForm(FlaskForm, ScheduleFields):
    title = StringField(
        "What you do together",
        [DataRequired("Give it a name."), Length(max=120), _no_controls],
        filters=[_strip],
        description='For example "Evening walk".',
    )
    duration_minutes = IntegerField("How long (minutes)", [InputRequired(), NumberRange(1, 24 * 60)], default=30)
    participants = CheckboxesField("Who takes part", coerce=int, validate_choice=False)
    mode = RadioField(
        "How you check in",
        choices=choices([("each", "Each on their own"), ("together", "Together: one check-in counts for everyone")]),
        default="each",
        validate_choice=False,  # the domain refuses an unknown mode, naming the field; none sent is the default
    )
    preview = SubmitField("Preview")
    submit = SubmitField("Save ritual")


class PromiseForm(FlaskForm, ScheduleFields):
    to = SelectField("To whom", coerce=int, validate_choice=False)
    title = StringField(
        "What you promise",
        [DataRequired("Say what you promise."), Length(max=120), _no_controls],
        filters=[_strip],
        description='For example "Book the restaurant".',
    )
    repeat = RadioField(
        "Repeats",
        choices=choices([("once", "Just once"), *REPEATS]),
        default="once",
        validators=[InputRequired()],
    )
    time = ClockField("Due at", [InputRequired("Give a time.")])
    start_date = DayField("Due on", [InputRequired("Give a date.")])
    grace_minutes = IntegerField(
        "Still counts if kept within (minutes after)", [InputRequired(), NumberRange(0, 7 * 24 * 60)], default=60
    )
    preview = SubmitField("Preview")
    submit = SubmitField("Save promise")


class PauseForm(FlaskForm):
    until = DayField(
        "Pause until",
        [InputRequired("Give a date.")],
        description=f"It starts again that day, from 00:00. A date such as {EXAMPLE_DATE}.",
    )
    submit = SubmitField("Pause")


class SettingsForm(FlaskForm):
    name = StringField("Your name", [DataRequired("Give your name."), Length(max=80), _no_controls], filters=[_strip])
    timezone = ZoneField(validators=[DataRequired("Choose your time zone.")])
    quiet = BooleanField("On: reminders wait until they end")  # in its box, "Quiet hours"
    quiet_start = ClockField("From", [Optional()])
    quiet_end = ClockField("Until", [Optional()])
    digest_weekday = SelectField("Day", choices=WEEKDAY_CHOICES)  # in its box, "Weekly summary"
    digest_time = ClockField("Time", [InputRequired("Give a time.")])
    submit = SubmitField("Save settings")

    def validate_quiet_end(self, field: Any) -> None:
        if self.quiet.data and (self.quiet_start.data is None or field.data is None):
            raise ValidationError("Give both times, or turn quiet hours off.")


class PauseAllForm(FlaskForm):
    days = IntegerField("Pause all reminders for (days)", [InputRequired("Give a number of days.")], default=7)
    submit = SubmitField("Pause reminders")


class DeleteAccountForm(FlaskForm):
    confirm = StringField(
        'Type "delete" to confirm',
        [
            DataRequired('Type "delete" to confirm.'),
            Regexp(r"^\s*delete\s*$", re.IGNORECASE, message='Type "delete" to confirm.'),
        ],
        render_kw={"autocapitalize": "none", "autocomplete": "off", "spellcheck": "false"},
    )
    submit = SubmitField("Delete my account and all my data")
