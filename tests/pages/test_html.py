"""Each page's HTML parses without a single error in html5lib's strict WHATWG parser, with no duplicate id."""

from __future__ import annotations

import re
from collections import Counter

import html5lib

from tests.pages.helpers import Pages

PHONE = "+14155550101"


def check(html: str, path: str) -> None:
    html5lib.HTMLParser(strict=True).parse(html)  # raises on the first parse error
    ids = Counter(re.findall(r'\sid="([^"]+)"', html))
    assert [name for name, count in ids.items() if count > 1] == [], path


def test_every_page_is_well_formed(app, db, clock):
    alice = Pages(app, db)
    check(alice.text("/"), "/")
    check(alice.text("/signin"), "/signin")
    alice.post("/signin", {"phone": PHONE})
    check(alice.text("/signin/code"), "/signin/code")
    alice.sign_in(PHONE, "Alice")
    circle = alice.post("/circles/new", {"name": "Us"}).headers["Location"]
    circle_id = circle.rsplit("/", 1)[1]
    form = alice.text(f"/rituals/new?circle={circle_id}")
    ritual = alice.post(
        f"/rituals/new?circle={circle_id}",
        {
            "title": "Walk",
            "repeat": "days",
            "weekdays": ["5"],
            "time": "19:00",
            "start_date": "2026-12-01",
            "remind_before_minutes": "60",
            "duration_minutes": "30",
            "participants": re.findall(r'name="participants" type="checkbox" value="(\d+)"', form),
        },
    ).headers["Location"]
    preview = alice.post(
        f"/rituals/new?circle={circle_id}",
        {"title": "", "repeat": "daily", "time": "06:30", "start_date": "2026-12-01", "preview": "Preview"},
    )
    check(preview.get_data(as_text=True), "preview")
    assert "inside your quiet hours" in preview.get_data(as_text=True)  # 05:30 reminder, quiet until 07:00
    assert "Every day at 06:30" in preview.get_data(as_text=True)  # the schedule in words, as the pages write times
    weekdays = alice.text("/schedule/preview?repeat=weekdays&time=19:00&start_date=2026-12-01")
    assert "Mon–Fri at 19:00" in weekdays and " PM" not in weekdays
    refused = alice.post(
        f"/rituals/new?circle={circle_id}", {"title": "", "repeat": "days", "time": "19:00", "start_date": "2026-12-01"}
    )
    assert refused.status_code == 422
    check(refused.get_data(as_text=True), "refused")
    assert "Choose at least one day of the week." in refused.get_data(as_text=True)
    assert "Give it a name." in refused.get_data(as_text=True)
    for path in (
        "/today",
        "/streaks",
        "/calendar",
        "/settings",
        "/invitations",
        circle,
        ritual,
        f"/promises/new?circle={circle_id}",
        "/schedule/preview?repeat=daily&time=19:00&start_date=2026-12-01",
    ):
        if path.startswith("/schedule"):
            html5lib.HTMLParser(strict=True).parseFragment(alice.text(path))
        else:
            check(alice.text(path), path)
    moved = alice.text(ritual)
    assert "Saturday" in moved or "Sat" in moved  # weekly on Saturdays from Tuesday 1 December: moved to the 5th
