"""Read a feed with libical (ICalGLib), the engine of Evolution and several CalDAV servers.

Debian builds the bindings for its own /usr/bin/python3, not for Tend's venv,
so tests run this file in a subprocess (see libical.py beside it). It reads
JSON on stdin and prints JSON:

    in:  {"calendar": "<iCalendar text>", "until": <unix time>,
          "instants": {"<TZID>": [<unix time>, ...]}}
    out: {"events": {"<UID>": [<unix time>, ...]},       # each VEVENT's DTSTART and RRULE, before `until`
          "offsets": {"<TZID>": [<seconds east>, ...]}}  # the UTC offset at each instant

Both come from the calendar's own VTIMEZONEs, never from libical's built-in zones.
"""

import json
import sys

import gi

gi.require_version("ICalGLib", "3.0")
from gi.repository import ICalGLib  # noqa: E402


def main() -> None:
    request = json.load(sys.stdin)
    calendar = ICalGLib.Component.new_from_string(request["calendar"])
    zones = _zones(calendar)
    events = {}
    event = calendar.get_first_component(ICalGLib.ComponentKind.VEVENT_COMPONENT)
    while event is not None:
        if event.get_first_property(ICalGLib.PropertyKind.RECURRENCEID_PROPERTY) is None:
            events[event.get_uid()] = _instants(event, zones, request["until"])
        event = calendar.get_next_component(ICalGLib.ComponentKind.VEVENT_COMPONENT)
    offsets = {
        tzid: [_offset(zones[tzid], instant) for instant in instants]
        for tzid, instants in request.get("instants", {}).items()
    }
    json.dump({"events": events, "offsets": offsets}, sys.stdout)


def _zones(calendar):
    zones = {}
    vtimezone = calendar.get_first_component(ICalGLib.ComponentKind.VTIMEZONE_COMPONENT)
    while vtimezone is not None:
        zone = ICalGLib.Timezone.new()
        zone.set_component(vtimezone.clone())
        zones[zone.get_tzid()] = zone
        vtimezone = calendar.get_next_component(ICalGLib.ComponentKind.VTIMEZONE_COMPONENT)
    return zones


def _instants(event, zones, until):
    start = event.get_dtstart()
    tzid = _tzid(event)
    zone = zones[tzid] if tzid else ICalGLib.Timezone.get_utc_timezone()
    rule = event.get_first_property(ICalGLib.PropertyKind.RRULE_PROPERTY)
    if rule is None:
        return [start.as_timet_with_zone(zone)]
    found = []
    iterator = ICalGLib.RecurIterator.new(rule.get_rrule(), start)
    while not (occurrence := iterator.next()).is_null_time():
        instant = occurrence.as_timet_with_zone(zone)
        if instant >= until:
            break
        found.append(instant)
    return found


def _tzid(event):
    dtstart = event.get_first_property(ICalGLib.PropertyKind.DTSTART_PROPERTY)
    parameter = dtstart.get_first_parameter(ICalGLib.ParameterKind.TZID_PARAMETER)
    return parameter.get_tzid() if parameter is not None else None


def _offset(zone, instant):
    utc = ICalGLib.Time.new_from_timet_with_zone(instant, False, ICalGLib.Timezone.get_utc_timezone())
    offset, _is_daylight = zone.get_utc_offset_of_utc_time(utc)
    return offset


if __name__ == "__main__":
    main()
