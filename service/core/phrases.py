"""Reading a title and a schedule from a person's words (SPEC §4 "Setting up by text").

`recurrent` (with `parsedatetime`, which it builds on) reads the English:
"every other friday at 8pm" -> FREQ=WEEKLY;INTERVAL=2;BYDAY=FR;BYHOUR=20,
"by 5pm tomorrow" -> a date-time. This module is Tend's small grammar around
it, and it never guesses: what the library reads is checked, and anything it
cannot say for sure is a question back (`Unreadable`) with an example.

Tend's grammar (decisions the spec leaves open):

- The title is the words before the first word that begins a schedule
  ("every", "daily", "weekdays", a day or month name, "at 7", "by 5pm",
  "tomorrow"...), in sentence case. Every word after it must belong to a
  schedule; an unknown one ("walk every day at 7 with Sam") is asked about.
- Polite filler ("pls", "around", "about", "ish") is dropped; common thumb
  typos ("evry", "wkdays", "tmrw", "tues") are spelled out before reading.
- Times: "7pm", "7:30pm", "7.30 pm", "19:00", "07:00", "noon", "midnight".
  A bare hour ("at 7") takes am/pm from "morning"/"evening"/"night"/"tonight"
  in the words; without one it is read as the library reads it (7 -> 7 PM,
  9 -> 9 AM), and the echo says which before anything is saved.
- Several day names in a row ("mon wed fri") repeat weekly; one singular
  day ("friday") is the next such day, once.
- A ritual needs a time of day. A promise's day without a time ("friday",
  "dec 24") is due at 9 PM that day, as "tonight" is.
- Schedules Tend keeps are daily (every N days) or weekly (every N weeks, on
  days); other repetitions are asked about.
- A date alone (the pages' date fields, `read_date`) is read by the same
  words: "Fri 4 Dec 2026" (as Tend writes dates), "4 Dec", "dec 24",
  "2026-12-04", "tomorrow", "fri" (the next Friday, as in a text). A day
  without a year is the next one to come; digits with slashes ("12/04/2026",
  December or April?) are asked about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import parsedatetime
from recurrent.event_parser import RecurringEvent

EXAMPLE_NEW = "NEW evening walk every weekday at 7pm"
EXAMPLE_PROMISE = "PROMISE Sam call the plumber by 5pm tomorrow"
EXAMPLE_MOVE = "MOVE 2 8pm or MOVE 2 saturdays 10am"
EXAMPLE_DATE = "Fri 4 Dec 2026, 4 Dec, tomorrow or fri"
EXAMPLE_TIME = "19:00, 7pm or 7:30 am"
WRITTEN_TIME = "%H:%M"  # how Tend writes a time of day on its pages: 19:00
WRITTEN_DATE = "%a %-d %b %Y"  # how Tend writes a date on its pages: Fri 4 Dec 2026
DAY_WITHOUT_TIME = time(21, 0)

_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_FILLER = frozenset({"pls", "plz", "please", "around", "about", "approx", "approximately", "roughly", "ish", "oclock"})
_SPELLED = {
    "evry": "every",
    "everyday": "every day",
    "eveyr": "every",
    "dayly": "daily",
    "wkdays": "weekdays",
    "weekdys": "weekdays",
    "wkdys": "weekdays",
    "weekday": "weekdays",
    "wkends": "weekends",
    "weekend": "weekends",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "tmrow": "tomorrow",
    "tomorow": "tomorrow",
    "tommorow": "tomorrow",
    "tommorrow": "tomorrow",
    "2moro": "tomorrow",
    "tonite": "tonight",
    "2nite": "tonight",
    "mornings": "morning",
    "evenings": "evening",
    "nights": "night",
    "&": "and",
    "+": "and",
    "mon": "monday",
    "tue": "tuesday",
    "tues": "tuesday",
    "wed": "wednesday",
    "weds": "wednesday",
    "thu": "thursday",
    "thur": "thursday",
    "thurs": "thursday",
    "fri": "friday",
    "sat": "saturday",
    "sun": "sunday",
    "wensday": "wednesday",
    "wednsday": "wednesday",
    "thrusday": "thursday",
    "tuseday": "tuesday",
    "saterday": "saturday",
    "mid-day": "noon",
    "midday": "noon",
    "mon-fri": "weekdays",
    "sept": "sep",
}
_SINGULAR_DAYS = frozenset(_DAYS)
_PLURAL_DAYS = frozenset(day + "s" for day in _DAYS)
_MONTH_WORDS = frozenset(_MONTHS) | frozenset(month[:3] for month in _MONTHS) | {"sept"}
_MORNING = frozenset({"morning", "am"})
_EVENING = frozenset({"evening", "night", "tonight", "pm", "afternoon"})
_DAY_PARTS = frozenset({"morning", "evening", "night", "afternoon"})
# Words that begin a schedule wherever they stand.
_STARTS = (
    frozenset({"every", "each", "daily", "weekdays", "weekends", "weekly", "today", "tonight", "tomorrow", "yesterday"})
    | _SINGULAR_DAYS
    | _PLURAL_DAYS
    | _MONTH_WORDS
)
# Words that may only follow a schedule's start.
_SCHEDULE_WORDS = (
    _STARTS
    | _MORNING
    | _EVENING
    | {"at", "by", "on", "and", "other", "day", "days", "week", "weeks", "the", "of", "noon", "midnight", "next"}
    | {"this", "starting", "from", "in"}
)
_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?(am|pm|a|p)?$")
_NUMBER = re.compile(r"^\d{1,3}(?:st|nd|rd|th)?$")
_TOKEN = re.compile(r"\d{1,2}[:.]\d{2}\s?(?:am|pm|a\.m\.|p\.m\.|a|p)?\b|\d+\s?(?:am|pm|a\.m\.|p\.m\.)|[\w+&'-]+")
_RULE_PARTS = frozenset({"FREQ", "INTERVAL", "BYDAY", "BYHOUR", "BYMINUTE"})
_DATE_WORDS = (
    _SINGULAR_DAYS
    | _MONTH_WORDS
    | {"today", "tonight", "tomorrow", "yesterday", "next", "this", "on", "the", "of", "in"}
    | {"day", "days", "week", "weeks"}
)
_CLOCK_DIGITS = re.compile(r"^(\d{1,2})h?(\d{2})$")  # "1900", "730", "19h00": a time field's digits
_CLOCK_READ = re.compile(r"^((1[0-2]|[1-9]):[0-5]\d[ap]m|12(:[0-5]\d)?)$")  # what _time_token makes of a real time
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")
_YEAR = re.compile(r"^\d{4}$")


class Unreadable(ValueError):
    """Words Tend cannot read for sure: `question` asks again, with an example."""

    def __init__(self, question: str) -> None:
        super().__init__(question)
        self.question = question


@dataclass(frozen=True)
class Reading:
    """A title, a local start (naive wall time in the person's zone) and an RRULE body (None: once)."""

    title: str
    start: datetime
    rule: str | None


def read_new(words: str, now_local: datetime) -> Reading:
    """A ritual: "evening walk every weekday at 7pm" -> Evening walk, next weekday 19:00, weekdays."""
    title, schedule = _split(_words(words), EXAMPLE_NEW)
    start, rule = _schedule(_schedule_tokens(schedule, True), now_local, EXAMPLE_NEW, time_needed=True)
    return Reading(title, start, rule)


def read_promise(words: str, now_local: datetime) -> Reading:
    """A promise's title and due: "call the plumber by 5pm tomorrow" -> Call the plumber, tomorrow 17:00."""
    title, schedule = _split(_words(words), EXAMPLE_PROMISE)
    start, rule = _schedule(_schedule_tokens(schedule, False), now_local, EXAMPLE_PROMISE, time_needed=False)
    return Reading(title, start, rule)


def read_move(words: str, start: datetime, rule: str | None, now_local: datetime) -> tuple[datetime, str | None]:
    """A new time or days for a schedule: "8pm" keeps its days, "saturdays 10am" changes both, "saturdays" keeps
    its time. A new time alone starts on the old start's day (a one-off's too), or the next one to come (the rule
    then places it)."""
    given = _words(words)
    if not given:
        raise Unreadable(f"Give a new time or days, e.g. {EXAMPLE_MOVE}.")
    _check_schedule_words(given, EXAMPLE_MOVE)
    tokens = _schedule_tokens(given, rule is not None)
    only_a_time = all(_is_time(t) or t in ("at", "by") for t in tokens)
    if (rule is None and not only_a_time) or _names_days(tokens):
        moved = _schedule(tokens, now_local, EXAMPLE_MOVE, time_needed=False, keep=start.time())
        if rule is not None and moved[1] is None:
            raise Unreadable(f"It repeats: give days or a time, e.g. {EXAMPLE_MOVE}.")
        return moved
    at = datetime.combine(max(start.date(), now_local.date()), _time_only(tokens, EXAMPLE_MOVE))
    return (at if at > now_local else at + timedelta(days=1)), rule


def read_date(words: str, now_local: datetime) -> date:
    """A day, written as Tend writes it ("Fri 4 Dec 2026") or as people do ("4 Dec", "2026-12-04", "tomorrow",
    "fri"). The library's reading is checked against the day, month, year and weekday the words name."""
    if len(words) > 40:
        raise Unreadable(f"That is too long for a date. Try e.g. {EXAMPLE_DATE}.")
    iso = _ISO_DATE.match(words)
    if iso is not None:  # what a date picker or an old form sends
        try:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        except ValueError:
            raise Unreadable(f"There is no such day. Give a date, e.g. {EXAMPLE_DATE}.") from None
    tokens = _words(words)
    numbers = [int(t.rstrip("stndrh")) for t in tokens if _NUMBER.match(t)]
    years = [int(t) for t in tokens if _YEAR.match(t)]
    months = [_month_number(t) for t in tokens if t in _MONTH_WORDS]
    weekdays = [_DAYS.index(t) for t in tokens if t in _SINGULAR_DAYS]
    unknown = [t for t in tokens if t not in _DATE_WORDS and not _NUMBER.match(t) and not _YEAR.match(t)]
    if not tokens or unknown or len(numbers) > 1 or len(years) > 1 or len(months) > 1 or len(weekdays) > 1:
        raise Unreadable(f"Sorry, I can't read that date. Try e.g. {EXAMPLE_DATE}.")
    read = _read(tokens, now_local.replace(hour=12, minute=0, second=0, microsecond=0))
    if not isinstance(read, datetime):
        raise Unreadable(f"Sorry, I can't read that date. Try e.g. {EXAMPLE_DATE}.")
    day = read.date()
    named = months and (day.month, day.day) != (months[0], numbers[0] if numbers else 0)
    if named or (years and (day.year != years[0] or not months)):
        raise Unreadable(f"Sorry, I can't read that date. Try e.g. {EXAMPLE_DATE}.")
    if weekdays and day.weekday() != weekdays[0]:
        raise Unreadable(f"{day:%-d %b %Y} is a {day:%A}. Which day do you mean? e.g. {EXAMPLE_DATE}.")
    return day


def read_time(words: str) -> time:
    """A time of day as people write it ("7pm", "7:00 PM", "7.30 pm", "19:00", "1900", "noon"), read as texts
    read times. A time field says 24-hour form, so an hour without am/pm is as written ("7:30" is 07:30, where a
    text's "at 7:30" is the evening)."""
    question = f"Sorry, I can't read that time. Try e.g. {EXAMPLE_TIME}."
    tokens = [_CLOCK_DIGITS.sub(r"\1:\2", token) for token in _words(words[:41]) if token != "at"]
    if len(words) > 40 or len(tokens) != 1:
        raise Unreadable(question)
    token = _time_token(tokens[0], "at", "am")
    if _CLOCK_READ.match(token) is None:
        raise Unreadable(question)
    return _time_only([token], EXAMPLE_TIME)


def _month_number(word: str) -> int:
    return next(i for i, month in enumerate(_MONTHS, 1) if month.startswith(word[:3]))


def _words(text: str) -> list[str]:
    """Lower-case words with filler dropped and typos spelled out ("7 pm" is one word, "7pm"), dates month first."""
    found: list[str] = []
    for raw in _TOKEN.findall(text.casefold().replace("’", "'").replace(".m.", "m")):
        token = raw.replace(" ", "").strip("'-")
        found.extend(part for part in _SPELLED.get(token, token).split() if part not in _FILLER)
    return _month_first(found)


def _month_first(words: list[str]) -> list[str]:
    """ "24 dec" (or "24th of december") as "dec 24", the order the library reads: a day is never left in a title."""
    out = list(words)
    for i in range(len(out) - 1):
        day = out[i].removesuffix("st").removesuffix("nd").removesuffix("rd").removesuffix("th")
        month = i + 2 if out[i + 1] == "of" and i + 2 < len(out) else i + 1
        if day.isdecimal() and 1 <= int(day) <= 31 and out[month] in _MONTH_WORDS:
            out[i : month + 1] = [out[month], day] + [""] * (month - i - 1)
    return [word for word in out if word]


def _schedule_tokens(words: list[str], repeat_runs: bool) -> list[str]:
    """A schedule's words as the library reads them best: times written one way ("7:30pm"), a bare hour
    given am/pm by "morning"/"evening" words, "every morning" as "every day", day runs repeating."""
    hint = "am" if _MORNING & set(words) else "pm" if _EVENING & set(words) else ""
    tokens = [_time_token(token, words[i - 1] if i else "", hint) for i, token in enumerate(words)]
    tokens = _every_morning(tokens)
    tokens = [
        t
        for i, t in enumerate(tokens)
        for t in (("at", t) if _is_time(t) and tokens[i - 1 : i] not in (["at"], ["by"]) else (t,))
    ]
    return _repeat_day_runs(tokens) if repeat_runs else tokens


def _time_token(token: str, before: str, hint: str) -> str:
    """One spelling for a time: "7.30p" -> "7:30pm", "19:00" -> "7:00pm", a bare hour after "at"/"by" -> hinted."""
    if token == "noon":
        return "12:00pm"
    if token == "midnight":
        return "12:00am"
    match = _TIME.match(token)
    if match is None:
        return token
    hour, minute, half = int(match[1]), match[2], match[3]
    if half is None and minute is None and before not in ("at", "by"):
        return token  # a number, not a time ("every 3 days", "dec 24")
    if hour > 23 or (minute is not None and int(minute) > 59):
        return token
    minutes = minute or "00"
    if half is not None:
        return f"{hour}:{minutes}{half[0]}m" if 1 <= hour <= 12 else token
    if hour == 0 or hour > 12 or (minute is not None and match[1].startswith("0")):
        return f"{(hour - 1) % 12 + 1}:{minutes}{'am' if hour < 12 else 'pm'}"
    if hint and hour < 12:
        return f"{hour}:{minutes}{hint}"
    return f"{hour}:{minutes}" if minute is not None else token


def _every_morning(tokens: list[str]) -> list[str]:
    """ "every morning" / "every evening" / "every night": every day (the time took its am/pm already)."""
    out: list[str] = []
    for token in tokens:
        every = bool(out) and out[-1] in ("every", "each") and token in _DAY_PARTS
        out.append("day" if every else token)
    return out


def _repeat_day_runs(tokens: list[str]) -> list[str]:
    """Several day names in a row ("monday wednesday friday") repeat weekly: "every" goes before them."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        j = i
        days = 0
        while j < len(tokens) and (tokens[j] in _SINGULAR_DAYS or (tokens[j] == "and" and days)):
            days += tokens[j] in _SINGULAR_DAYS
            j += 1
        if days >= 2 and (not out or out[-1] not in ("every", "each", "on")):
            out.append("every")
        if days >= 2 and out and out[-1] == "on":
            out[-1] = "every"
        out.extend(tokens[i : max(j, i + 1)])
        i = max(j, i + 1)
    return out


def _split(tokens: list[str], example: str) -> tuple[str, list[str]]:
    """The title (words before the schedule, in sentence case) and the schedule's words."""
    begins = next((i for i, token in enumerate(tokens) if _begins_schedule(tokens, i)), len(tokens))
    title_words = tokens[:begins]
    while title_words and title_words[-1] in ("and", "to", "on", "at", "by"):
        title_words.pop()
    if not title_words:
        raise Unreadable(f"What is it called? e.g. {example}.")
    if begins == len(tokens):
        raise Unreadable(f"When is it? e.g. {example}.")
    schedule = tokens[begins:]
    _check_schedule_words(schedule, example)
    title = " ".join(title_words)
    return title[:1].upper() + title[1:], schedule


def _begins_schedule(tokens: list[str], i: int) -> bool:
    token = tokens[i]
    after = tokens[i + 1] if i + 1 < len(tokens) else ""
    if token in _STARTS or _is_time(token):
        return True
    if token in ("at", "by"):
        return _is_time(after) or after in _STARTS or after.isdecimal()
    if token in ("on", "next", "this"):
        return after in _SINGULAR_DAYS | _PLURAL_DAYS | _MONTH_WORDS
    return False


def _is_time(token: str) -> bool:
    return token.endswith(("am", "pm")) and _TIME.match(token) is not None or ":" in token


def _check_schedule_words(schedule: list[str], example: str) -> None:
    unknown = [t for t in schedule if t not in _SCHEDULE_WORDS and not _is_time(t) and not _NUMBER.match(t)]
    if unknown:
        raise Unreadable(f'Sorry, I can\'t read "{" ".join(unknown)}" as a time or days. Try e.g. {example}.')


def _names_days(tokens: list[str]) -> bool:
    return any(t in _STARTS for t in tokens)


def _time_only(tokens: list[str], example: str) -> time:
    times = [t for t in tokens if _is_time(t)] or [t for t in tokens if t.isdecimal()]
    if len(times) != 1:
        raise Unreadable(f"What time? e.g. {example}.")
    read = _read(["at", times[0]], datetime(2000, 1, 3))
    if not isinstance(read, datetime):
        raise Unreadable(f"What time? e.g. {example}.")
    return read.time()


class _FlagCalendar:
    """parsedatetime's context-style calendar, answering `parse` in the flag style recurrent reads."""

    def __init__(self) -> None:
        self._calendar = parsedatetime.Calendar(version=parsedatetime.VERSION_CONTEXT_STYLE)

    def parse(self, text: str, source: datetime) -> tuple[Any, int]:
        timestruct, context = self._calendar.parse(text, source)
        return timestruct, context.dateTimeFlag


class _Reader(RecurringEvent):  # type: ignore[misc]  # recurrent has no types
    """recurrent's reader on the context-style calendar: its own __init__ makes a flag-style one, which
    parsedatetime deprecates (a warning on every reader)."""

    def __init__(self, now_date: datetime) -> None:
        self.now_date = now_date
        self.preferred_time_range = (8, 19)
        self.pdt = _FlagCalendar()
        self._reset()


def _read(tokens: list[str], now_local: datetime) -> str | datetime | None:
    try:
        result: str | datetime | None = _Reader(now_local).parse(" ".join(tokens))
    except (ValueError, IndexError, KeyError, TypeError, OverflowError):  # the library tripped on odd words
        return None
    return result


def _schedule(
    tokens: list[str], now_local: datetime, example: str, *, time_needed: bool, keep: time | None = None
) -> tuple[datetime, str | None]:
    """The local start and RRULE body the words say; Unreadable unless the library read them all, for sure."""
    read = _read(tokens, now_local.replace(second=0, microsecond=0))
    timed = any(_is_time(t) or t in _DAY_PARTS or t == "tonight" for t in tokens) or "at" in tokens
    if isinstance(read, datetime):
        if not timed and time_needed:
            raise Unreadable(f"What time? e.g. {example}.")
        if not timed:
            read = datetime.combine(read.date(), keep or DAY_WITHOUT_TIME)
        if read <= now_local:
            raise Unreadable(f"That time has passed. When should it be? e.g. {example}.")
        return read, None
    if read is None:
        raise Unreadable(f"Sorry, I can't read that time. Try e.g. {example}.")
    return _rule_start(read, now_local, example, time_needed, keep)


def _rule_start(
    read: str, now_local: datetime, example: str, time_needed: bool, keep: time | None
) -> tuple[datetime, str | None]:
    lines = dict(line.split(":", 1) for line in read.splitlines() if ":" in line)
    parts = dict(part.split("=", 1) for part in lines.get("RRULE", "").split(";") if "=" in part)
    if set(parts) - _RULE_PARTS or parts.get("FREQ") not in ("DAILY", "WEEKLY"):
        raise Unreadable(f"Tend repeats things daily or on days of the week. Try e.g. {example}.")
    hour, minute = parts.pop("BYHOUR", ""), parts.pop("BYMINUTE", "0")
    if hour.isdecimal() and minute.isdecimal() and int(hour) < 24 and int(minute) < 60:
        at = time(int(hour), int(minute))
    elif not hour and keep is not None and not time_needed:
        at = keep
    else:
        raise Unreadable(f"What time? e.g. {example}.")
    day = now_local.date()
    if "DTSTART" in lines:
        day = datetime.strptime(lines["DTSTART"][:8], "%Y%m%d").date()
    start = datetime.combine(day, at)
    if start <= now_local:
        start += timedelta(days=1)
    rule = f"FREQ={parts['FREQ']}"
    if parts.get("INTERVAL", "1") != "1":
        rule += f";INTERVAL={parts['INTERVAL']}"
    if "BYDAY" in parts:
        rule += f";BYDAY={parts['BYDAY']}"
    return start, rule
