"""The subscribable iCalendar feed (SPEC §6): plain data in, RFC 5545 bytes out.

Every value in the output comes from the input, so the same input always
renders the same bytes; the feed's ETag stays put until something changed.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from icalendar import Alarm, Calendar, Event, vDDDTypes, vDuration, vRecur

from calendars.timezones import ZoneSource, vtimezone

PRODID = "-//Tend//Tend feeds//EN"
REFRESH = timedelta(hours=1)

# How a past occurrence reads in the calendar. A skip was chosen, so it gets a
# dash rather than a cross; "late" still counts as kept.
_OUTCOME_SUMMARIES = {
    "done": "✓ {title}",
    "on_time": "✓ {title}",
    "late": "✓ {title} (late)",
    "missed": "✗ {title}",
    "skipped": "– {title} (skipped)",
}
_KINDS = ("ritual", "promise")


@dataclass(frozen=True)
class PastOutcome:
    """How one past occurrence went: a RECURRENCE-ID override of a recurring event,
    or, for a one-off event, a mark on the event itself."""

    local_start: datetime  # naive local wall time of the occurrence (its RECURRENCE-ID)
    outcome: str  # a key of _OUTCOME_SUMMARIES
    detail: str = ""  # e.g. "Alex ✓, Sam ✗" for shared rituals


@dataclass(frozen=True)
class FeedEvent:
    """One ritual or promise as the feed shows it; times are local wall times."""

    uid: str  # stable, e.g. "ritual-<opaque>@tend"
    kind: str  # "ritual" | "promise"
    title: str
    start_local: datetime  # naive wall time
    timezone: str  # IANA
    duration_minutes: int
    remind_before_minutes: int
    sequence: int
    last_modified: datetime  # aware; also the DTSTAMP, so output stays deterministic
    rrule: str | None = None  # RRULE body like "FREQ=DAILY;COUNT=10"
    exdates: tuple[datetime, ...] = ()  # naive local wall times of paused occurrences
    past_outcomes: tuple[PastOutcome, ...] = ()
    description: str = ""


def build_feed(name: str, events: Sequence[FeedEvent], *, window_start: datetime, zones: ZoneSource) -> bytes:
    """Render a whole feed.

    ``window_start`` (aware) is where the VTIMEZONEs begin, e.g. now − 60
    days; it moves back per zone to the earliest date-time the feed writes in
    that zone. From there they hold for every later instant. ``zones`` is the
    tz database: the one the schedules were expanded with. Which outcomes
    count as recent is the caller's choice: every ``past_outcome`` given is
    rendered.
    """
    if window_start.tzinfo is None:
        raise ValueError("the window must start at an aware instant")
    calendar = _calendar(name)
    ordered = sorted(events, key=lambda event: event.uid)
    for event in ordered:
        for component in _vevents(event, zones.zone(event.timezone)):
            calendar.add_component(component)
    # Outlook needs a VTIMEZONE for every TZID used (UTC is written as "Z" and needs none);
    # readers expect them before the events. The TZID icalendar writes is asked of one
    # date-time per zone: walking every property (get_used_tzids) took a tenth of a render.
    instants = _instants_by_zone(ordered, zones)
    used = {vDDDTypes(times[0]).params.get("TZID"): times for times in instants.values()}
    calendar.subcomponents[:0] = [
        vtimezone(tzid, min(window_start, *used[tzid]), zones) for tzid in sorted(used.keys() - {None})
    ]
    rendered: bytes = calendar.to_ical()
    return rendered


def _calendar(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", PRODID)
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", "PUBLISH")
    calendar.calendar_name = name  # NAME (RFC 7986) and X-WR-CALNAME
    # Written by hand: RFC 7986 §5.7 requires VALUE=DURATION, which
    # icalendar's refresh_interval helper leaves out.
    calendar.add("REFRESH-INTERVAL", REFRESH, parameters={"VALUE": "DURATION"})
    ttl: bytes = vDuration(REFRESH).to_ical()  # type: ignore[no-untyped-call]  # icalendar leaves it untyped
    calendar.add("X-PUBLISHED-TTL", ttl.decode())  # text, not icalendar's "1:00:00"
    return calendar


def _vevents(event: FeedEvent, zone: tzinfo) -> list[Event]:
    """The master VEVENT, then one override per past outcome of a recurring event."""
    if event.kind not in _KINDS:
        raise ValueError(f"unknown kind {event.kind!r}")
    if event.rrule is None:
        return [_one_off(event, zone)]
    paused = set(event.exdates)
    if clash := sorted(paused & {outcome.local_start for outcome in event.past_outcomes}):
        raise ValueError(f"{event.uid}: paused occurrences have no outcome: {clash}")
    master = _vevent(event, zone, event.title, event.description)
    master.add("RRULE", _rrule(event.rrule, zone))
    for paused_start in sorted(paused):
        master.add("EXDATE", _aware(paused_start, zone))
    master.add_component(_alarm(event))
    outcomes = sorted(event.past_outcomes, key=lambda outcome: outcome.local_start)
    return [master, *(_override(event, zone, outcome) for outcome in outcomes)]


def _one_off(event: FeedEvent, zone: tzinfo) -> Event:
    """A single promise or ritual; its outcome, once known, marks the event itself."""
    if event.exdates:
        raise ValueError(f"{event.uid}: only a recurring event has paused occurrences")
    if [outcome.local_start for outcome in event.past_outcomes] not in ([], [event.start_local]):
        raise ValueError(f"{event.uid}: a one-off event has at most one outcome, at its start")
    if not event.past_outcomes:
        vevent = _vevent(event, zone, event.title, event.description)
        vevent.add_component(_alarm(event))
        return vevent
    return _vevent(event, zone, *_outcome_texts(event, event.past_outcomes[0]))


def _override(event: FeedEvent, zone: tzinfo, outcome: PastOutcome) -> Event:
    override = _vevent(event, zone, *_outcome_texts(event, outcome), start_local=outcome.local_start)
    override.add("RECURRENCE-ID", _aware(outcome.local_start, zone))
    return override


def _outcome_texts(event: FeedEvent, outcome: PastOutcome) -> tuple[str, str]:
    """SUMMARY and DESCRIPTION of a past occurrence: the marked title, and who did what."""
    if outcome.outcome not in _OUTCOME_SUMMARIES:
        raise ValueError(f"{event.uid}: unknown outcome {outcome.outcome!r}")
    summary = _OUTCOME_SUMMARIES[outcome.outcome].format(title=event.title)
    return summary, outcome.detail or event.description


def _vevent(
    event: FeedEvent, zone: tzinfo, summary: str, description: str, start_local: datetime | None = None
) -> Event:
    """The properties every VEVENT of ``event`` shares."""
    if event.duration_minutes <= 0:
        raise ValueError(f"{event.uid}: duration must be positive")
    vevent = Event()
    vevent.add("UID", event.uid)
    vevent.add("DTSTAMP", event.last_modified)
    vevent.add("LAST-MODIFIED", event.last_modified)
    vevent.add("SEQUENCE", event.sequence)
    vevent.add("SUMMARY", summary)
    if description:
        vevent.add("DESCRIPTION", description)
    vevent.add("DTSTART", _aware(start_local or event.start_local, zone))
    vevent.add("DURATION", timedelta(minutes=event.duration_minutes))
    if event.kind == "promise":
        vevent.add("TRANSP", "TRANSPARENT")  # a promise marks a moment; it does not block the diary
    return vevent


def _alarm(event: FeedEvent) -> Alarm:
    if event.remind_before_minutes < 0:
        raise ValueError(f"{event.uid}: remind_before_minutes must not be negative")
    alarm = Alarm()
    alarm.add("ACTION", "DISPLAY")
    alarm.add("DESCRIPTION", event.title)
    alarm.add("TRIGGER", -timedelta(minutes=event.remind_before_minutes))
    return alarm


def _rrule(body: str, zone: tzinfo) -> vRecur:
    """Parse an RRULE body, writing a local UNTIL in UTC as RFC 5545 §3.3.10 requires with a TZID start.

    The schedule engine reads a local UNTIL as that wall time in the ritual's zone; so does this.
    """
    rule: vRecur = vRecur.from_ical(body)
    if "FREQ" not in rule:
        raise ValueError(f"not an RRULE: {body!r}")
    until = rule.get("UNTIL", [None])[0]
    if isinstance(until, datetime) and until.tzinfo is None:
        rule["UNTIL"] = [until.replace(tzinfo=zone).astimezone(UTC)]
    return rule


def _instants_by_zone(events: Iterable[FeedEvent], zones: ZoneSource) -> dict[str, list[datetime]]:
    """Every date-time the feed writes with a TZID, grouped by that TZID."""
    instants: dict[str, list[datetime]] = defaultdict(list)
    for event in events:
        local_times = [event.start_local, *event.exdates, *(o.local_start for o in event.past_outcomes)]
        zone = zones.zone(event.timezone)
        instants[event.timezone].extend(_aware(local, zone) for local in local_times)
    return instants


def _aware(local: datetime, zone: tzinfo) -> datetime:
    """A naive wall time placed in its zone; fold=0 follows SPEC §3 (gap: forward, overlap: first)."""
    if local.tzinfo is not None:
        raise ValueError(f"expected a naive local date-time, got {local!r}")
    return local.replace(tzinfo=zone)
