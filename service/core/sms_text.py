"""Every SMS text Tend sends, shaped to cost at most two segments (SPEC §4).

Carriers bill and throttle per segment, not per message: a US long code sends
one segment per second. A GSM-7 text carries 160 characters in one segment or
153 per segment once split; a single character outside GSM-7 (an emoji, "ń",
a curly quote) turns the whole text into UCS-2 with 70, or 67 per segment. So
our own wording is plain GSM-7 ("..." not "…", "'" not "’"), curly punctuation
in user titles is straightened, and user-supplied parts (titles, names) are
shortened until the text fits two segments. A title that truly needs UCS-2
keeps it when it still fits; otherwise it is transliterated to GSM-7.

Times are the recipient's local wall-clock time, written "7:30" / "18:00".

Every text Tend starts opens with its name ("Tend: ", "Tend at 7:30: ", "Tend
week: "): a reminder, a code, an invitation, a promise kept, a digest, so a
phone shows who it is from. A reply to a person's own text never does, except
the answers carriers require to name the program: HELP, STOP, START, and the
answer to an unknown number.
"""

from __future__ import annotations

import bisect
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from service.core.replies import MAX_ITEM_NUMBER
from service.core.streaks import Outcome

MAX_SEGMENTS = 2

# 3GPP TS 23.038 default alphabet (without ESC) and its extension table, whose
# characters are sent as ESC + char and so take two septets.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

_GSM7_SINGLE, _GSM7_PART = 160, 153
_UCS2_SINGLE, _UCS2_PART = 70, 67

# Phones' "smart punctuation" would otherwise switch a whole text to UCS-2.
_STRAIGHTENED = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "–": "-",
        "—": "-",
        "…": "...",
        "\u00a0": " ",
    }
)
_ELLIPSIS = "..."
# Below this a cut title stops being recognisable ("Morning c..."); texts that need
# shorter fields drop detail instead (fewer streak lines, bare reminder titles).
READABLE_FIELD_LENGTH = 12
SHORTEST_FIELD_LENGTH = len("a...")

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class TextTooLong(ValueError):
    """The fixed wording alone exceeds the segment budget, however short the fields get."""


@dataclass(frozen=True)
class ReminderItem:
    """One thing to remind about; `at_local` is naive wall time in the recipient's zone.

    An aware datetime is refused: showing it as-is would print UTC or the
    ritual's zone instead of the recipient's, and the caller is the one who
    knows the recipient.
    """

    title: str
    at_local: datetime
    with_names: tuple[str, ...] = ()
    kind: str = "ritual"  # or "promise"

    def __post_init__(self) -> None:
        if self.at_local.tzinfo is not None:
            raise ValueError("at_local must be naive wall time in the recipient's zone")
        if self.kind not in ("ritual", "promise"):
            raise ValueError(f"unknown reminder kind {self.kind!r}")


def is_gsm7(text: str) -> bool:
    """True when the text can be sent in the GSM-7 alphabet (basic or extension table)."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def segment_count(text: str) -> int:
    """How many SMS segments the text costs; an empty text still costs one.

    Counts GSM-7 septets (extension characters take two) or UTF-16 code units
    (astral characters such as emoji take two), and never splits an escape
    sequence or surrogate pair across segments, as handsets and Twilio don't.
    """
    if is_gsm7(text):
        units = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        single, part = _GSM7_SINGLE, _GSM7_PART
    else:
        units = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
        single, part = _UCS2_SINGLE, _UCS2_PART
    if sum(units) <= single:
        return 1
    segments, used = 1, 0
    for width in units:
        if used + width > part:
            segments, used = segments + 1, 0
        used += width
    return segments


def fit_segments(
    render: Callable[..., str],
    *fields: str,
    max_segments: int = MAX_SEGMENTS,
    min_field_length: int = READABLE_FIELD_LENGTH,
) -> str:
    """Render `render(*fields)`, shortening the fields with "..." until it fits `max_segments`.

    Fields are cut to a common length (never below `min_field_length`), so
    short names stay whole while a long title gives way. Whitespace is
    collapsed (no line breaks smuggled in by a title) and curly punctuation
    straightened. If the text cannot fit while it needs UCS-2, the fields are
    transliterated to GSM-7 and tried again. Raises TextTooLong when even that
    fails.
    """
    plain = tuple(" ".join(field.split()).translate(_STRAIGHTENED) for field in fields)
    for candidate in dict.fromkeys((plain, tuple(map(_transliterate_to_gsm7, plain)))):
        text = _fit_by_cutting(render, candidate, max_segments, min_field_length)
        if text is not None:
            return text
    raise TextTooLong(f"{render(*plain)!r} does not fit {max_segments} segments")


def reminder_text(items: Sequence[ReminderItem]) -> str:
    """The reminder SMS; with several items they are numbered 1.. in the given order.

    Item n is items[n - 1], matching the `item` of a "DONE n" / "SKIP n" reply.
    Items due at one time show it once. If numbered lines with names cannot
    fit (many items), the text falls back to numbered titles only.
    """
    if not 1 <= len(items) <= MAX_ITEM_NUMBER:
        raise ValueError(f"a reminder holds 1 to {MAX_ITEM_NUMBER} items, not {len(items)}")
    fields = [field for item in items for field in (item.title, _join_names(item.with_names))]
    if len(items) == 1:
        item = items[0]
        verb = "kept" if item.kind == "promise" else "had"
        return fit_segments(
            lambda title, names: (
                f"Tend: {_describe(item, title, names, timed=True)}. Reply DONE when you've {verb} it, or SKIP."
            ),
            *fields,
        )
    times = {_format_time(item.at_local) for item in items}
    shared_time = f" at {times.pop()}" if len(times) == 1 else ""

    def numbered(*cut_fields: str) -> str:
        lines = (
            _describe(item, title, names, timed=not shared_time)
            for item, title, names in zip(items, cut_fields[::2], cut_fields[1::2])
        )
        return _numbered_reminder(lines, shared_time)

    try:
        return fit_segments(numbered, *fields)
    except TextTooLong:
        return fit_segments(
            lambda *titles: _numbered_reminder(titles, shared_time),
            *fields[::2],
            min_field_length=SHORTEST_FIELD_LENGTH,
        )


def code_text(code: str) -> str:
    """The sign-in code a number asked for; signing in with it is the owner's consent to Tend's texts (SPEC §8)."""
    return (
        f"Tend: your code is {code}. It works for 10 minutes. Signing in with it means you agree to get "
        "Tend's texts; reply STOP to opt out. Didn't ask? Ignore this."
    )


def invitation_text(inviter_name: str) -> str:
    """The one invitation per circle; no text of the inviter's choosing but their verified name (SPEC §3)."""
    return fit_segments(
        lambda inviter: (
            f"Tend: {inviter} invited you to keep shared rituals on Tend. "
            "Reply JOIN to join, NO to decline, STOP for no texts."
        ),
        inviter_name,
    )


def declined_text() -> str:
    return "Declined. You won't be added to that circle. Reply STOP for no texts at all."


def not_joined_text() -> str:
    return "You have no invitation to answer. Reply HELP for help, STOP to opt out."


def help_text() -> str:
    return (
        "Tend: reply DONE or SKIP (DONE 2 for item 2), NOT ME, STREAK, PAUSE 7, RESUME, LATER 30, STOP. "
        "Set up: NEW, PROMISE, LIST, MOVE, DROP, INVITE, FEED, OK."
    )


def unknown_sender_text() -> str:
    return "Tend: Sorry, we don't know this number. Ask your partner to add you to get reminders."


def promise_kept_text(keeper_name: str, title: str, late: bool, note: str | None = None) -> str:
    """Sent to a promise's recipient, in plain GSM-7 unless the title itself needs more; with the keeper's note."""
    if note is not None:
        when = " (a little late)" if late else ""
        return fit_segments(
            lambda keeper, promise, words: f'Tend: {keeper} kept "{promise}"{when}: "{words}"',
            keeper_name,
            title,
            note,
        )
    when = ", a little late" if late else ""
    return fit_segments(
        lambda keeper, promise: f"Tend: {keeper} kept their promise{when}: {promise}.",
        keeper_name,
        title,
    )


def together_text(by_name: str, title: str, outcome: Outcome, current_streak: int, participants: int) -> str:
    """To each other participant of a together ritual: the first one's check-in counted for them too."""
    whom = "you both" if participants <= 2 else "all of you"
    if outcome == "skipped":
        return fit_segments(
            lambda by, t: f"Tend: {by} skipped {t} for {whom}. Reply NOT ME if that's not so.", by_name, title
        )
    streak = f"{current_streak} in a row." if current_streak > 1 else "A new streak begins."
    return fit_segments(
        lambda by, t: f"Tend: {by} checked in {t} for {whom}. {streak} Reply NOT ME if you didn't take part.",
        by_name,
        title,
    )


def follow_up_text(title: str, done_names: Sequence[str]) -> str:
    """The second nudge to a person still pending; it names only those who checked in done."""
    names = list(done_names)

    def render(t: str, *shown: str) -> str:
        done = f" {_join_names(shown)} {'has' if len(shown) == 1 else 'have'} done theirs." if shown else ""
        return f"Tend: Still time for {t}?{done} Reply DONE or SKIP."

    return fit_segments(render, title, *names)


def not_me_text(title: str) -> str:
    return fit_segments(lambda t: f"OK, {t} is open for you again. Reply DONE or SKIP when you know.", title)


def nobody_checked_in_for_you_text() -> str:
    return "Nobody checked in for you lately. Reply HELP for help."


def checkin_confirmation_text(title: str, outcome: Outcome, current_streak: int) -> str:
    """The TwiML reply to a check-in, confirming what was recorded and the streak now."""
    if outcome == "skipped":
        stays = f" Your streak stays at {current_streak}." if current_streak > 0 else ""
        return fit_segments(lambda t: f"Skipped {t}.{stays}", title)
    if outcome not in ("done", "on_time", "late"):
        raise ValueError(f"no confirmation for outcome {outcome!r}")
    headline = "Kept, a bit late!" if outcome == "late" else "Kept!"
    streak = f"{current_streak} in a row" if current_streak > 1 else "a new streak begins"
    return fit_segments(lambda t: f"{headline} {t}: {streak}.", title)


def streaks_text(lines: Sequence[tuple[str, int]]) -> str:
    """The STREAK reply; lines that cannot fit are summed up as "+N more"."""
    if not lines:
        return "No streaks yet. Reply DONE after your next reminder to start one."

    def overflows(shown: int) -> bool:
        try:
            _streak_summary(lines, shown)
        except TextTooLong:
            return True
        return False

    # Fewer lines never need more room, so bisect for the most that fit.
    most = bisect.bisect_left(range(1, len(lines) + 1), True, key=overflows)
    return _streak_summary(lines, max(most, 1))


def paused_text(days: int, until_local: date) -> str:
    """`until_local` is the recipient's local date on which reminders start again."""
    unit = "day" if days == 1 else "days"
    return (
        f"Paused for {days} {unit}. Reminders start again {_format_date(until_local)}. Reply RESUME to restart sooner."
    )


def resumed_text() -> str:
    return "Resumed. Your reminders are back on."


def schedule_words(kind: str, when: str) -> str:
    """A schedule said after a title: a promise's is when it is due ("due Fri 4 Dec at 5:00 PM")."""
    return f"due {when}" if kind == "promise" else when


def opted_out_text() -> str:
    return "Tend: You're opted out and won't get more messages. Reply START to opt back in."


def opted_in_text() -> str:
    return "Tend: You're in! You'll get reminders for your rituals. Reply HELP for help, STOP to opt out."


def opted_in_not_joined_text() -> str:
    return "Tend: You can get texts from Tend again. You have not joined a circle: reply JOIN to an invitation."


def nothing_open_text() -> str:
    return "Nothing to check in right now. Reply STREAK to see your streaks or HELP for help."


def joined_text(circles: str) -> str:
    return fit_segments(
        lambda names: (
            f'You joined "{names}"! You\'ll get reminders for your rituals. Reply HELP for help, STOP to opt out.'
        ),
        circles,
    )


def no_such_item_text(item: int) -> str:
    return f"Your last reminder has no item {item}. Reply DONE or SKIP with a number from that reminder."


def too_late_text(title: str) -> str:
    return fit_segments(lambda t: f"Too late to check in for {t}: its time has passed.", title)


def already_recorded_text(title: str) -> str:
    return fit_segments(lambda t: f"Already recorded for {t}. Reply STREAK to see your streaks.", title)


def joined_confirmations(confirmations: list[str]) -> str:
    """Each item's confirmation, or a count when they would not fit two segments together."""
    joined = " ".join(confirmations)
    if segment_count(joined) <= MAX_SEGMENTS:
        return joined
    return f"Recorded {len(confirmations)} check-ins. Reply STREAK to see your streaks."


def _streak_summary(lines: Sequence[tuple[str, int]], shown: int) -> str:
    counts = [count for _, count in lines[:shown]]
    more = f", +{len(lines) - shown} more" if shown < len(lines) else ""

    def render(*titles: str) -> str:
        listed = ", ".join(f"{title} {count}" for title, count in zip(titles, counts))
        return f"Your streaks: {listed}{more}"

    return fit_segments(render, *(title for title, _ in lines[:shown]))


def _numbered_reminder(lines: Iterable[str], shared_time: str) -> str:
    listed = " ".join(f"{number}) {line}" for number, line in enumerate(lines, start=1))
    return f"Tend{shared_time}: {listed}. Reply DONE or SKIP with its number, like DONE 1."


def _describe(item: ReminderItem, title: str, names: str, timed: bool) -> str:
    """`title` and `names` come in separately because fit_segments may have shortened them."""
    time = _format_time(item.at_local) if timed else ""
    if item.kind == "promise":
        to = f" to {names}" if names else ""
        due = f" (due {time})" if timed else ""
        return f"your promise{to}: {title}{due}"
    with_ = f" with {names}" if names else ""
    at = f" at {time}" if timed else ""
    return f"{title}{with_}{at}"


def _join_names(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def _format_time(moment: datetime) -> str:
    return f"{moment.hour}:{moment.minute:02d}"


def _format_date(day: date) -> str:
    """Fixed English names: strftime("%a") follows the server's locale, not the recipient."""
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"


def _fit_by_cutting(
    render: Callable[..., str], fields: tuple[str, ...], max_segments: int, min_field_length: int
) -> str | None:
    """The text with the longest common field length that fits, or None if none does."""

    def rendered(limit: int) -> str:
        return render(*(_cut(field, limit) for field in fields))

    def overflows(limit: int) -> bool:
        return segment_count(rendered(limit)) > max_segments

    longest = max((len(field) for field in fields), default=0)
    limits = range(min_field_length, max(longest, min_field_length) + 1)
    # Shorter fields never cost more segments, so `overflows` is False...False True...True.
    first_overflowing = bisect.bisect_left(limits, True, key=overflows)
    if first_overflowing == 0:
        return None
    return rendered(limits[first_overflowing - 1])


def _cut(field: str, limit: int) -> str:
    if len(field) <= limit:
        return field
    return field[: limit - len(_ELLIPSIS)].rstrip() + _ELLIPSIS


def _transliterate_to_gsm7(field: str) -> str:
    """Nearest GSM-7 spelling: accents dropped ("ń" -> "n"), emoji dropped, the rest "?"."""
    out = []
    for ch in field:
        if is_gsm7(ch):
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if base and is_gsm7(base):
            out.append(base)
        elif unicodedata.category(ch)[0] not in "SMC":
            out.append("?")
    return " ".join("".join(out).split()) or "?"


# Setting up by text (SPEC §4): echoes of drafts, saved only on OK, and the questions Tend asks back.


def draft_ritual_text(title: str, when: str, others: Sequence[str], remind_before_minutes: int) -> str:
    who = _join_names(["you", *others])
    return fit_segments(
        lambda t, w, names: (
            f"New ritual for {names}: {t}, {w}, reminder {remind_before_minutes} min before. Reply OK to save."
        ),
        title,
        when,
        who,
    )


def draft_promise_text(title: str, when: str, recipient: str) -> str:
    return fit_segments(
        lambda t, w, to: f"New promise to {to}: {t}, due {w}. Reply OK to save.", title, when, recipient
    )


def draft_move_text(title: str, when: str, others: Sequence[str]) -> str:
    tell = f" {_join_names(others)} will see it." if others else ""
    return fit_segments(lambda t, w: f"Move {t} to {w}?{tell} Reply OK to save.", title, when)


def draft_drop_text(title: str, others: Sequence[str]) -> str:
    tell = f" for {_join_names(['you', *others])}" if others else ""
    return fit_segments(lambda t: f"Delete {t}{tell}? Reply OK to delete.", title)


def draft_invite_text(name: str, circle: str) -> str:
    return fit_segments(
        lambda n, c: f"Invite {n} to {c}? They get one text to join. Reply OK to send it.", name, circle
    )


def saved_text(what: str) -> str:
    return fit_segments(lambda w: f"Saved: {w}.", what)


def dropped_notice_text(by: str, title: str) -> str:
    return fit_segments(lambda b, t: f"Tend: {b} deleted {t}. No more reminders for it.", by, title)


def choose_text(question: str, options: Sequence[str]) -> str:
    listed = " ".join(f"{number} {option}" for number, option in enumerate(options, start=1))
    return fit_segments(lambda q: f"{q} {listed}. Reply with its number.", question)


def title_taken_text(title: str, circle: str) -> str:
    """NEW with a title a ritual of the circle has (SPEC §3: one title a circle), said at NEW, not at OK."""
    return fit_segments(lambda t, c: f'You already have "{t}" in {c}. Text NEW with another title.', title, circle)


def ask_again_text(question: str) -> str:
    return fit_segments(lambda q: f"{q}", question, min_field_length=len(question))


def listed_text(lines: Sequence[tuple[str, str]]) -> str:
    """`lines`: (title, next time in words), numbered as MOVE n / DROP n refer to them."""
    if not lines:
        return "Nothing to list yet. Start one with NEW evening walk every weekday at 7pm."
    fields = [field for line in lines for field in line]

    def render(*cut: str) -> str:
        items = " ".join(f"{n}) {t}, {w}" for n, (t, w) in enumerate(zip(cut[::2], cut[1::2]), start=1))
        return f"{items}. MOVE 1 8pm, DROP 1."

    return fit_segments(render, *fields, min_field_length=SHORTEST_FIELD_LENGTH)


def no_draft_text() -> str:
    return "Nothing to save (a draft keeps 30 minutes). Start again, e.g. NEW evening walk every weekday at 7pm."


def no_listed_item_text(item: int) -> str:
    return f"Your last LIST has no item {item}. Reply LIST for a new one."


def feed_text(url: str) -> str:
    return f"Your calendar: {url} Add it to your calendar app as a subscription."


def later_text(minutes: int) -> str:
    return f"OK, I'll remind you again in {minutes} min."


def again_already_text() -> str:
    return "That reminder has come again once already. Reply DONE or SKIP."


def too_late_for_later_text(minutes: int) -> str:
    return f"In {minutes} min it will be too late to check in, so no reminder then. Reply DONE or SKIP now."


def refused_text(message: str) -> str:
    return fit_segments(lambda m: f"{m}", message, min_field_length=len(message))
