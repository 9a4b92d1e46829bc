"""Every page renders for a signed-in person, and answers no 5xx."""

from __future__ import annotations

import re

from tests.pages.helpers import Pages


def test_every_page_renders(app, db, clock):
    alice = Pages(app, db)
    assert "Sign up or sign in" in alice.text("/")
    alice.sign_in("+14155550101", "Alice")
    assert alice.get("/today").status_code == 200
    made = alice.post("/circles/new", {"name": "Alice & Bob"})
    assert made.status_code == 302, made.get_data(as_text=True)
    circle_path = made.headers["Location"]
    assert "Alice &amp; Bob" in alice.text(circle_path)
    circle_id = circle_path.rsplit("/", 1)[1]
    new = alice.text(f"/rituals/new?circle={circle_id}")
    assert "Next 5 times" in new
    saved = alice.post(
        f"/rituals/new?circle={circle_id}",
        {
            "title": "Evening walk",
            "repeat": "weekdays",
            "time": "19:00",
            "start_date": "2026-12-01",
            "remind_before_minutes": "15",
            "duration_minutes": "30",
            "participants": re.findall(r'name="participants" type="checkbox" value="(\d+)"', new),
            "submit": "Save",
        },
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)
    ritual_page = alice.text(saved.headers["Location"])
    assert "Saved" in ritual_page and "Evening walk" in ritual_page
    today = alice.text("/today")
    assert "Evening walk" in today and "19:00" in today
    for path in ("/today", "/streaks", "/calendar", "/settings", "/invitations", circle_path):
        alice.get(path)


def test_calendar_link_is_shown_once(app, db, clock):
    alice = Pages(app, db)
    alice.sign_in("+14155550101", "Alice")
    made = alice.post("/calendar/links", form_page="/calendar", follow=True)
    page = made.get_data(as_text=True)
    assert 'id="https-link"' in page, page[-3000:]
    assert 'id="https-link"' not in alice.text("/calendar")
