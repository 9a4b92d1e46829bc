"""Issue 22, "a first evening without a stumble": each page item, on the Flask test client as a browser
without JavaScript would see it (the Chromium journey covers them with and without JavaScript)."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pytest

from service.config import Config
from service.core.phones import textable
from service.domain import accounts, digests
from service.domain.models import Person
from service.web.pages.forms import PHONE_EXAMPLE
from tests.builders import code_texted_to
from tests.pages.helpers import Pages

ALICE, BOB = "+14155550101", "+14155550102"
NOON = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # Tuesday 1 December, 12:00 in New York


def couple(app, db) -> tuple[Pages, Pages, int]:
    """Alice's circle "Us", which Bob joined on /invitations after signing up on the web."""
    alice, bob = Pages(app, db), Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    made = alice.post("/circles/new", {"name": "Us"})
    circle = int(re.search(r"/circles/(\d+)", made.headers["Location"])[1])
    invited = alice.post(f"/circles/{circle}/members", {"name": "Hubby", "phone": BOB}, form_page=f"/circles/{circle}")
    assert invited.status_code == 302, invited.get_data(as_text=True)
    bob.sign_in(BOB, "Bob")
    card = bob.text("/invitations")
    assert "Alice invited you to this circle." in card and "Hubby" not in card
    assert bob.post(f"/invitations/{circle}/accept", form_page="/invitations").status_code == 302
    return alice, bob, circle


def ritual_form(**changes) -> dict:
    return {
        "title": "Evening walk",
        "repeat": "daily",
        "time": "19:00",
        "start_date": "2026-12-01",
        "remind_before_minutes": "15",
        "duration_minutes": "30",
        "interval": "2",
    } | changes


def post_ritual(page: Pages, circle: int, **changes):
    """The new-ritual form posted with everyone taking part (as the form starts)."""
    form = f"/rituals/new?circle={circle}"
    everyone = re.findall(r'name="participants" type="checkbox" value="(\d+)"', page.text(form))
    return page.post(form, ritual_form(participants=everyone, **changes))


def test_the_home_pages_way_in_is_the_primary_button(app, db):
    home = Pages(app, db).text("/")
    assert re.search(r'<a class="button primary" href="/signin">Sign up or sign in</a>', home)


def test_phone_hints_give_a_number_tend_can_text():
    assert textable(PHONE_EXAMPLE, Config.sms_countries) == "+14155550123"


def test_a_new_number_is_told_why_a_name_is_asked(app, db):
    page = Pages(app, db)
    page.post("/signin", {"phone": ALICE})
    code = page.text("/signin/code")
    assert "the name they typed for you stays theirs" in code
    assert PHONE_EXAMPLE in Pages(app, db).text("/signin")


def test_a_second_circle_or_ritual_of_the_same_name_is_refused(app, db, client, people):
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    assert alice.post("/circles/new", {"name": "Alice & Bob"}).status_code == 302
    again = alice.post("/circles/new", {"name": " alice  &  BOB "})
    assert again.status_code == 422
    assert "You already have a circle called “alice  &amp;  BOB”" in again.get_data(as_text=True)  # quoted as flashes

    circle = int(re.search(r"/circles/(\d+)", alice.text("/today"))[1])
    assert post_ritual(alice, circle).status_code == 302
    twice = post_ritual(alice, circle, title="evening WALK")
    assert twice.status_code == 422
    assert "This circle already has a ritual called" in twice.get_data(as_text=True)

    people.create("Bob")
    api = client.post("/api/v1/circles", json={"name": "Us"}, headers=people.headers("Bob"))
    assert api.status_code == 201
    api = client.post("/api/v1/circles", json={"name": "us"}, headers=people.headers("Bob"))
    assert api.status_code == 409
    assert api.get_json()["error"] | {"message": ""} == {"code": "duplicate_name", "field": "name", "message": ""}
    circle = client.get("/api/v1/circles", headers=people.headers("Bob")).get_json()["items"][0]["id"]
    body = {
        "title": "Walk",
        "starts": "2026-12-02T07:30",
        "timezone": "America/New_York",
        "rrule": "FREQ=DAILY",
        "duration_minutes": 20,
        "remind_before_minutes": 10,
    }
    first = client.post(f"/api/v1/circles/{circle}/rituals", json=body, headers=people.headers("Bob"))
    assert first.status_code == 201
    second = client.post(
        f"/api/v1/circles/{circle}/rituals", json=body | {"title": "WALK"}, headers=people.headers("Bob")
    )
    assert second.status_code == 409 and second.get_json()["error"]["field"] == "title"
    renamed = client.patch(f"/api/v1/rituals/{first.get_json()['id']}", json=body, headers=people.headers("Bob"))
    assert renamed.status_code == 200, renamed.get_json()  # its own title is no clash


def test_leave_revoke_and_delete_ask_first_and_say_what_happened(app, db, clock):
    clock.set(NOON)
    alice, bob, circle = couple(app, db)
    saved = post_ritual(alice, circle)
    ritual = int(re.search(r"/rituals/(\d+)", saved.headers["Location"])[1])
    ritual_page = alice.text(f"/rituals/{ritual}")
    assert 'name="confirm" value="yes" required' in ritual_page

    kept = alice.post(f"/rituals/{ritual}/delete", form_page=f"/rituals/{ritual}", follow=True)
    assert "Nothing was changed: tick the box" in kept.get_data(as_text=True)
    alice.get(f"/rituals/{ritual}")
    deleted = alice.post(f"/rituals/{ritual}/delete", {"confirm": "yes"}, form_page=f"/rituals/{ritual}", follow=True)
    assert "Deleted “Evening walk”." in deleted.get_data(as_text=True)

    bob.post(f"/circles/{circle}/leave", form_page=f"/circles/{circle}")
    assert "Us" in bob.text("/today")  # still a member
    left = bob.post(f"/circles/{circle}/leave", {"confirm": "yes"}, form_page=f"/circles/{circle}", follow=True)
    assert "You left “Us”." in left.get_data(as_text=True)
    bob.get(f"/circles/{circle}", status=404)

    alice.post("/calendar/links", form_page="/calendar")
    page = alice.text("/calendar")
    feed = re.search(r'action="/calendar/links/(\d+)/revoke"', page)[1]
    alice.post(f"/calendar/links/{feed}/revoke", form_page="/calendar")
    assert f"/calendar/links/{feed}/revoke" in alice.text("/calendar")
    revoked = alice.post(f"/calendar/links/{feed}/revoke", {"confirm": "yes"}, form_page="/calendar", follow=True)
    assert "Link revoked" in revoked.get_data(as_text=True)
    assert f"/calendar/links/{feed}/revoke" not in revoked.get_data(as_text=True)


def test_account_deletion_takes_delete_in_any_case(app, db):
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    assert 'autocapitalize="none"' in alice.text("/settings")
    gone = alice.post("/settings/delete", {"confirm": "  Delete "}, form_page="/settings")
    assert gone.status_code == 302
    with db.session() as session:
        assert session.query(Person).filter_by(phone=ALICE).count() == 0


def test_today_says_when_check_in_opens_and_that_reminders_are_paused(app, db, clock):
    clock.set(NOON)
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    made = alice.post("/circles/new", {"name": "Us"})
    circle = int(re.search(r"/circles/(\d+)", made.headers["Location"])[1])
    assert post_ritual(alice, circle).status_code == 302
    today = alice.text("/today")
    assert "You can check in from 18:45, when its reminder goes out." in today
    assert ">later<" not in today and "paused" not in today
    alice.post("/settings/pause", {"days": "3"}, form_page="/settings")
    paused = alice.text("/today")
    assert "Your reminders are paused until Fri 4 Dec, 12:00" in paused
    assert "You can check in from 18:45." in paused and "reminder goes out" not in paused  # no reminder promised
    clock.advance(hours=5)
    alice.post("/settings/resume", {}, form_page="/settings")
    assert "paused" not in alice.text("/today")
    with db.session() as session:  # the pause is kept as history, ended by the resume (occurrences.close reads it)
        pauses = session.query(Person).filter_by(phone=ALICE).one().pauses
        assert [(p.starts_at, p.ends_at) for p in pauses] == [(NOON, NOON + timedelta(hours=5))]


def test_a_promise_kept_early_leaves_promised_to_you_and_next(app, db, clock):
    clock.set(NOON)
    alice, bob, circle = couple(app, db)
    form = alice.text(f"/promises/new?circle={circle}")
    assert "When it is due" in form and "Next 5 times" not in form  # a one-off promise has one time
    bob_id = re.search(r'<option value="(\d+)">Bob</option>', form)[1]
    promise = {"to": bob_id, "title": "Book the restaurant", "repeat": "once", "time": "18:00"}
    promise |= {"start_date": "2026-12-01", "remind_before_minutes": "60", "grace_minutes": "60"}
    saved = alice.post(f"/promises/new?circle={circle}", promise, form_page=f"/promises/new?circle={circle}")
    assert saved.status_code == 302, saved.get_data(as_text=True)
    assert "Book the restaurant" in bob.text("/today").split("Promised to you")[1]
    assert "Next: <time" in bob.text(f"/circles/{circle}")
    at = re.search(r'name="at" value="([^"]+)"', alice.text("/today"))[1]
    alice.post(
        "/checkins",
        {
            "kind": "promise",
            "id": re.search(r"/promises/(\d+)", saved.headers["Location"])[1],
            "at": at,
            "outcome": "done",
        },
        form_page="/today",
    )
    assert "Promised to you" not in bob.text("/today")
    overview = bob.text(f"/circles/{circle}")
    assert "Next: <time" not in overview and "Kept." in overview and "No more occurrences" not in overview
    page = alice.text(saved.headers["Location"])
    assert "Kept on Tue 1 Dec 2026, 12:00." in page and "Cancel this promise" not in page


def test_a_one_off_promise_whose_time_has_passed_is_said_so_in_its_preview(app, db, clock):
    """SPEC §3 lets a schedule start in the past (missed unless back-filled), so it is saved; the preview said only
    "No more times: this schedule has ended" (and warned of quiet hours for a reminder that never goes out)."""
    clock.set(NOON)
    alice, _bob, circle = couple(app, db)
    form = alice.text(f"/promises/new?circle={circle}")
    bob_id = re.search(r'<option value="(\d+)">Bob</option>', form)[1]
    promise = {"to": bob_id, "title": "Book the restaurant", "repeat": "once", "time": "06:30"}
    promise |= {"start_date": "2026-12-01", "remind_before_minutes": "60", "grace_minutes": "60"}
    for shown in (
        alice.post(f"/promises/new?circle={circle}", promise | {"preview": "Preview"}).get_data(as_text=True),
        alice.text("/schedule/preview?" + "&".join(f"{k}={v}" for k, v in promise.items())),
    ):
        assert "That time has already passed: no reminder goes out" in shown
        assert "Tue 1 Dec 2026, 06:30</time> EST" in shown
        assert "this schedule has ended" not in shown and "quiet hours" not in shown
    later = alice.post(f"/promises/new?circle={circle}", promise | {"time": "18:00", "preview": "Preview"})
    assert "That time has already passed" not in later.get_data(as_text=True)


def test_a_promises_quiet_hours_warning_says_after_it_is_due(app, db, clock):
    clock.set(NOON)
    alice, _bob, circle = couple(app, db)
    form = alice.text(f"/promises/new?circle={circle}")
    bob_id = re.search(r'<option value="(\d+)">Bob</option>', form)[1]
    assert 'data-preview-url="/schedule/preview?of=promise"' in form
    promise = {"to": bob_id, "title": "Book the restaurant", "repeat": "once", "time": "06:50"}
    promise |= {"start_date": "2026-12-02", "remind_before_minutes": "30", "grace_minutes": "60"}
    for shown in (
        alice.post(f"/promises/new?circle={circle}", promise | {"preview": "Preview"}).get_data(as_text=True),
        alice.text("/schedule/preview?of=promise&" + "&".join(f"{k}={v}" for k, v in promise.items())),
    ):
        assert "so it waits until 07:00, which is after it is due. Choose a shorter lead" in shown
        assert "after the start" not in shown


def test_the_forms_say_things_once_and_in_one_way(app, db, clock):
    clock.set(NOON)
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    assert alice.text("/settings").count("Weekly summary</") == 1
    made = alice.post("/circles/new", {"name": "Us"})
    circle = int(re.search(r"/circles/(\d+)", made.headers["Location"])[1])
    refused = post_ritual(alice, circle, repeat="every_n", interval="1").get_data(as_text=True)
    assert "Give a number of days from 2 to 366." in refused and "Number must be between" not in refused
    early = post_ritual(alice, circle, time="06:50", remind_before_minutes="30", preview="Preview")
    page = early.get_data(as_text=True)
    assert "so it waits until 07:00, which is after the start. Choose a shorter lead" in page
    assert page.index("How long") < page.index("Next 5 times") < page.index("Save ritual")
    assert page.index("Remind me") < page.index("How long")


def test_signing_in_comes_back_to_the_page_without_a_stray_question_mark(app, db):
    answer = Pages(app, db).get("/today", status=302)
    assert answer.headers["Location"].endswith("/signin?next=/today") or answer.headers["Location"].endswith(
        "/signin?next=%2Ftoday"
    )
    assert Pages(app, db).get("/streaks?x=1", status=302).headers["Location"].endswith("next=/streaks?x%3D1")


def test_calendar_links_are_told_apart_copied_whole_and_the_qr_is_scaled(app, db, clock):
    clock.set(NOON)
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    alice.post("/calendar/links", form_page="/calendar")
    page = alice.text("/calendar")
    assert re.search(r'<textarea id="https-link"[^>]*readonly[^>]*>http://tend\.test/feeds/\S+\.ics</textarea>', page)
    assert '<button type="button" class="js-copy" data-copy="https-link" hidden>Copy link</button>' in page
    svg = re.search(r"<svg [^>]*>", page.split('class="qr"')[1])[0]
    assert "viewBox" in svg and "width=" not in svg
    clock.advance(minutes=7)
    alice.post("/calendar/links", form_page="/calendar")
    made = re.findall(r"Made (\w{3} \d+ \w{3} \d{4}, \d\d:\d\d)", alice.text("/calendar"))
    assert made == ["Tue 1 Dec 2026, 12:00", "Tue 1 Dec 2026, 12:07"]


def test_the_digest_heading_is_a_date_that_does_not_break(app, db, config, clock):
    clock.set(NOON + timedelta(days=3))
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    with db.session() as session:
        person = session.query(Person).filter_by(phone=ALICE).one()
        digest = digests.send_sample(session, person, config.public_url, clock(), secret=config.secret_key)
        token = digests.digest_token(digest, config.secret_key)
        session.commit()
    page = alice.text(f"/d/{token}")
    assert '<h1>Your week from <span class="date">Sat 28 Nov 2026</span></h1>' in page
    assert "<title>Your week from Sat 28 Nov 2026 · Tend</title>" in page  # the tab says what the heading says


def test_times_are_typed_and_shown_in_24_hour_form_as_the_pages_write_them(app, db):
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    page = alice.text("/settings")
    assert re.search(r'name="quiet_start"[^>]*type="text"[^>]*value="22:00"', page)
    assert 'type="time"' not in page
    saved = alice.post(
        "/settings",
        {
            "name": "Alice",
            "timezone": "America/New_York",
            "quiet": "y",
            "quiet_start": "2330",
            "quiet_end": "6.45",
            "digest_weekday": "6",
            "digest_time": "18:00",
        },
        follow=True,
    )
    assert 'value="23:30"' in saved.get_data(as_text=True) or "Settings saved." in saved.get_data(as_text=True)
    assert re.search(r'name="quiet_end"[^>]*value="06:45"', alice.text("/settings"))
    refused = alice.post(
        "/settings",
        {
            "name": "Alice",
            "timezone": "America/New_York",
            "quiet": "y",
            "quiet_start": "7pm tomorrow",
            "quiet_end": "06:45",
            "digest_weekday": "6",
            "digest_time": "18:00",
        },
    )
    assert "Sorry, I can&#39;t read that time. Try e.g. 19:00, 7pm or 7:30 am." in refused.get_data(as_text=True)
    assert 'value="7pm tomorrow"' in refused.get_data(as_text=True)  # what was typed stays, to be corrected


@pytest.mark.parametrize(
    "typed, read",
    [("7:00 PM", "19:00"), ("7:30pm", "19:30"), ("7pm", "19:00"), ("7.30 pm", "19:30"), ("1900", "19:00")],
)
def test_a_time_is_read_in_12_hour_form_too_and_shown_back_in_24_hour_form(app, db, typed, read):
    """A 12-hour time is read as texts read it, never cut short by the field ("7:00 PM" once became "7:00 ", 07:00)."""
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    assert re.search(r'maxlength="40" name="digest_time"', alice.text("/settings"))
    settings = {"name": "Alice", "timezone": "America/New_York", "digest_weekday": "6", "digest_time": typed}
    alice.post("/settings", settings, follow=True)
    assert re.search(rf'name="digest_time"[^>]*value="{read}"', alice.text("/settings"))


def test_dates_are_typed_and_shown_as_the_pages_write_them(app, db, clock):
    """Date fields are text in Tend's own form ("Tue 1 Dec 2026", not the phone's "12/01/2026"), read as texts read
    dates ("fri", "4 Dec", "tomorrow", "2026-12-04"); an unreadable date is said beside its field, never a 500."""
    clock.set(NOON)
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    made = alice.post("/circles/new", {"name": "Us"})
    circle = int(re.search(r"/circles/(\d+)", made.headers["Location"])[1])
    form = alice.text(f"/rituals/new?circle={circle}")
    assert re.search(r'name="start_date"[^>]*type="text"[^>]*value="Tue 1 Dec 2026"', form)
    assert 'type="date"' not in form
    previewed = post_ritual(alice, circle, start_date="fri", preview="Preview").get_data(as_text=True)
    assert re.search(r'name="start_date"[^>]*value="Fri 4 Dec 2026"', previewed)  # what "fri" was read as
    assert "Fri 4 Dec 2026, 19:00" in previewed.split("Next 5 times")[1]
    previewed = post_ritual(alice, circle, time="7:30 PM", preview="Preview").get_data(as_text=True)
    assert re.search(r'name="time"[^>]*value="19:30"', previewed)  # a time too is shown as read after Preview
    for unread in ("12/04/2026", "year 1", "31 feb"):
        refused = post_ritual(alice, circle, start_date=unread)
        page = refused.get_data(as_text=True)
        assert refused.status_code == 422 and "can&#39;t read that date. Try e.g. Fri 4 Dec 2026" in page, unread
        assert f'value="{unread}"' in page  # kept as typed, to correct
    live = alice.text("/schedule/preview?repeat=daily&time=19:00&start_date=12/04/2026")
    assert "can&#39;t read that date" in live  # the live preview says why it shows nothing
    live = alice.text("/schedule/preview?repeat=daily&time=19:00&start_date=tomorrow")
    assert "Wed 2 Dec 2026, 19:00" in live and 'data-name="start_date" value="Wed 2 Dec 2026"' in live  # for the script
    live = alice.text("/schedule/preview?repeat=daily&time=7pm&start_date=tomorrow")
    assert 'data-name="time" value="19:00"' in live
    saved = post_ritual(alice, circle, start_date="4 Dec")
    assert saved.status_code == 302, saved.get_data(as_text=True)
    ritual = saved.headers["Location"]
    page = alice.text(ritual)
    assert re.search(r'name="start_date"[^>]*value="Fri 4 Dec 2026"', page)
    assert re.search(r'name="until"[^>]*type="text"[^>]*value="Tue 8 Dec 2026"', page)
    paused = alice.post(f"{ritual}/pause", {"until": "dec 10"}, form_page=ritual, follow=True)
    shown = paused.get_data(as_text=True)
    assert "Paused until Thu 10 Dec, 00:00: it starts again that day." in shown  # what the date means
    assert "Paused until Thu 10 Dec 2026, 00:00 EST." in shown  # in the ritual's zone, not UTC
    assert re.search(r'name="until"[^>]*value=""', shown)  # no new date suggested while paused
    resumed = alice.post(f"{ritual}/resume", {}, form_page=ritual, follow=True).get_data(as_text=True)
    assert "“Evening walk” is on again." in resumed and "Paused until" not in resumed
    assert ">Fri 4 Dec, 19:00</time>" in alice.text(f"/circles/{circle}")  # its next time is back, not Dec 10's
    unread = alice.post(f"{ritual}/pause", {"until": "soonish"}, form_page=ritual, follow=True)
    assert "can&#39;t read that date" in unread.get_data(as_text=True)


def test_a_paused_ritual_page_previews_its_next_times_after_the_pause_as_the_circle_page_does(app, db, clock):
    clock.set(NOON)
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    made = alice.post("/circles/new", {"name": "Us"})
    circle = int(re.search(r"/circles/(\d+)", made.headers["Location"])[1])
    ritual = post_ritual(alice, circle).headers["Location"]  # daily at 19:00 from Tue 1 Dec
    alice.post(f"{ritual}/pause", {"until": "sat 5 dec"}, form_page=ritual)
    assert "Next: <time" in alice.text(f"/circles/{circle}") and ">Sat 5 Dec, 19:00</time>" in alice.text(
        f"/circles/{circle}"
    )
    ritual_id = ritual.rsplit("/", 1)[1]
    page = alice.text(ritual)
    assert f'data-preview-url="/schedule/preview?ritual={ritual_id}"' in page
    live = alice.text(f"/schedule/preview?ritual={ritual_id}&repeat=daily&time=19:00&start_date=2026-12-01")
    for shown in (page, live):
        times = re.findall(r"<time[^>]*>([^<]+)</time>", shown.split("Next 5 times")[1])
        assert times == [f"{day} Dec 2026, 19:00" for day in ("Sat 5", "Sun 6", "Mon 7", "Tue 8", "Wed 9")]


def test_signing_up_without_javascript_chooses_a_zone_and_hears_all_that_is_missing_at_once(app, db):
    """No script fills the zone in: the page lists the tz data's zones (grouped by region); a code with neither
    name nor zone hears both, in people's words, not the API's ("'name' is required to sign up.")."""
    page = Pages(app, db)
    page.post("/signin", {"phone": ALICE})
    form = page.text("/signin/code")
    assert re.search(r'<select[^>]*name="timezone"', form) and '<optgroup label="America">' in form
    assert '<option value="America/New_York">New York</option>' in form
    assert "Your browser fills it in" not in form
    missing = page.post("/signin/code", {"code": code_texted_to(db, ALICE), "name": "", "timezone": ""})
    shown = missing.get_data(as_text=True)
    assert missing.status_code == 422
    assert "Tell us your name." in shown and "Choose your time zone." in shown
    assert "required to sign up" not in shown
    done = page.post(
        "/signin/code", {"code": code_texted_to(db, ALICE), "name": "Alice", "timezone": "America/Chicago"}
    )
    assert done.status_code == 302
    with db.session() as session:
        assert session.query(Person).filter_by(phone=ALICE).one().timezone == "America/Chicago"


def test_the_zone_is_chosen_for_a_country_with_one(app, db, runtime, monkeypatch):
    """With TEND_SMS_COUNTRIES starting with a country of one zone, the page chooses it; the US has several."""
    page = Pages(app, db)
    page.post("/signin", {"phone": ALICE})
    assert re.search(r'<option selected value="">Choose your time zone', page.text("/signin/code"))
    monkeypatch.setattr(runtime, "config", dataclasses.replace(runtime.config, sms_countries=("GB", "US")))
    assert '<option selected value="Europe/London">London</option>' in page.text("/signin/code")


def test_a_person_who_joined_by_text_gives_a_name_but_keeps_their_zone(app, db):
    with db.session() as session:
        session.add(
            accounts.new_person(
                phone=ALICE, now=datetime(2026, 12, 1, tzinfo=UTC), timezone="Europe/Paris", status="active"
            )
        )
        session.commit()
    page = Pages(app, db)
    page.post("/signin", {"phone": ALICE})
    asked = page.post("/signin/code", {"code": code_texted_to(db, ALICE), "name": "", "timezone": ""})
    assert "Tell us your name." in asked.get_data(as_text=True)
    assert "Choose your time zone." not in asked.get_data(as_text=True)
    done = page.post("/signin/code", {"code": code_texted_to(db, ALICE), "name": "Alice", "timezone": ""})
    assert done.status_code == 302
    with db.session() as session:
        assert session.query(Person).filter_by(phone=ALICE).one().timezone == "Europe/Paris"


def test_settings_chooses_the_zone_from_the_same_list_as_sign_up_with_the_persons_zone_chosen(app, db):
    """Free text refused "New York" with "Use a time zone name such as …": settings now has sign-up's grouped list."""
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice", timezone="America/New_York")
    page = alice.text("/settings")
    assert re.search(r'<select[^>]*name="timezone"', page) and '<optgroup label="America">' in page
    assert re.search(r'<option selected value="America/New_York">New York</option>', page)
    settings = {"name": "Alice", "timezone": "Etc/GMT+5", "digest_weekday": "6", "digest_time": "18:00"}
    alice.post("/settings", settings, follow=True)  # a zone outside the list (a browser's, say) still shows chosen
    assert re.search(r'<option selected value="Etc/GMT\+5">Etc/GMT\+5</option>', alice.text("/settings"))
    emptied = alice.post("/settings", {**settings, "timezone": ""})
    assert emptied.status_code == 422 and "Choose your time zone." in emptied.get_data(as_text=True)


def test_joining_and_signing_out_say_so_and_the_code_page_writes_the_number_for_people(app, db):
    alice, bob, circle = couple(app, db)
    assert "You joined “Us”." in bob.text(f"/circles/{circle}")
    assert "You are signed out on this device." in bob.post(
        "/signout", {}, form_page="/settings", follow=True
    ).get_data(as_text=True)
    page = Pages(app, db)
    page.post("/signin", {"phone": ALICE})
    assert "<strong>+1 415-555-0101</strong>" in page.text("/signin/code")


def test_the_calendar_qr_is_for_your_own_phone_and_the_link_may_be_http(app, db):
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    made = alice.post("/calendar/links", form_page="/calendar", follow=True).get_data(as_text=True)
    assert "Point your own phone’s camera here" in made and "partner’s phone camera" not in made
    assert "Your partner makes their own link" in made and "Keep it to yourself" not in made
    assert "https link" not in made


def test_today_without_a_circle_says_so_and_leads_to_starting_one(app, db):
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    today = alice.text("/today")
    assert "You are in no circle yet." in today
    assert '<a class="button primary" href="/circles/new">Start a circle</a>' in today


def test_done_and_skip_sit_together_with_the_note_below(app, db, clock):
    clock.set(NOON)
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    made = alice.post("/circles/new", {"name": "Us"})
    assert post_ritual(alice, int(re.search(r"/circles/(\d+)", made.headers["Location"])[1])).status_code == 302
    clock.set(NOON + timedelta(hours=7))  # 19:00 in New York
    today = alice.text("/today")
    buttons = '<button type="submit" name="outcome" value="done" class="primary">Done</button> '
    assert buttons + '<button type="submit" name="outcome" value="skip">Skip</button></div>' in today
    assert re.search(r'</div>\s*<label class="optional" for="note-[^"]+">Note for the others', today)
    kept = alice.post("/checkins", {**hidden_fields(today), "outcome": "done", "note": "lovely"}, form_page="/today")
    assert kept.status_code == 302
    assert "Done: Evening walk." in alice.text("/today")


def hidden_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(kind|id|at)" value="([^"]+)">', page))
