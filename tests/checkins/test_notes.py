"""A few words with a check-in (SPEC §3 Check-in, §4 DONE <words>): kept, shown to the others, escaped, erased."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
from sqlalchemy import select

from service.domain import digests
from service.domain.models import CheckIn
from tests.builders import FIRST_OCCURRENCE, FIRST_REMINDER, add_ritual, couple
from tests.checkins.helpers import joined_by_text, reminded_couple, reminded_promise
from tests.feeds.helpers import new_feed, render
from tests.pages.helpers import Pages

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
INJECTION = "fine\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil@x\r\nSUMMARY:pwned\r\nDESCRIPTION;X=1:hi\nATTACH:x"


def notes(client, people, ritual_id: int, name: str) -> dict[str, str]:
    response = client.get(
        f"/api/v1/rituals/{ritual_id}/occurrences?from=2026-12-02&to=2026-12-03", headers=people.headers(name)
    )
    assert response.status_code == 200, response.get_json()
    [occurrence] = response.get_json()["occurrences"]
    return occurrence["notes"]


def note_by_api(client, people, name: str, ritual_id: int, note: str):
    return client.post(
        "/api/v1/checkins",
        json={"ritual_id": ritual_id, "outcome": "done", "note": note},
        headers=people.headers(name),
    )


def signed_in(app, db, people, name: str) -> Pages:
    browser = Pages(app, db)
    browser.sign_in(people.PHONES[name], name)
    return browser


def test_done_with_words_by_sms_keeps_them_for_the_partner(app, client, people, db, clock, sms, fake_twilio, texts):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio)
    assert texts.send("Alice", "DONE loved the walk!") == "Kept! Morning coffee talk: a new streak begins."
    with db.session() as s:
        assert s.scalars(select(CheckIn.note)).all() == ["loved the walk!"]
    assert notes(client, people, ritual["id"], "Bob") == {str(people.ids["Alice"]): "loved the walk!"}
    today = signed_in(app, db, people, "Bob").text("/today")
    assert "Alice: done ✓ <q>loved the walk!</q>" in today


def test_a_partner_who_joined_by_text_is_shown_by_their_label(app, client, people, db, clock, sms, fake_twilio, texts):
    """Dana replied JOIN and never chose a name: Alice's /today shows her check-in under the label Alice gave her."""
    circle = couple(client, people, db)
    dana = joined_by_text(client, people, sms, texts, circle, "Dee")
    add_ritual(client, people, circle)
    sms.tick()
    clock.set(FIRST_REMINDER)
    sms.tick()
    assert texts.send(dana, "DONE lovely").startswith("Kept!")
    assert "Dee: done ✓ <q>lovely</q>" in signed_in(app, db, people, "Alice").text("/today")


def test_a_note_from_the_done_button_reaches_the_api(app, client, people, db, clock, sms, fake_twilio):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio)
    bob = signed_in(app, db, people, "Bob")
    assert 'name="note"' in bob.text("/today")
    answer = bob.post(
        "/checkins",
        {
            "kind": "ritual",
            "id": ritual["id"],
            "at": FIRST_OCCURRENCE.isoformat(),
            "outcome": "done",
            "note": "  short\n one ",
        },
        form_page="/today",
    )
    assert answer.status_code == 302
    assert notes(client, people, ritual["id"], "Alice") == {str(people.ids["Bob"]): "short one"}


def test_the_promise_kept_sms_carries_the_note(client, people, db, clock, sms, fake_twilio, texts):
    reminded_promise(client, people, db, clock, sms, fake_twilio)
    assert texts.send("Alice", "done sorry it was short").startswith("Kept!")
    sms.drain()
    assert fake_twilio.bodies_to(people.PHONES["Bob"])[-1] == 'Tend: Alice kept "call at 6": "sorry it was short"'


def test_a_note_longer_than_160_characters_is_refused_by_the_api(client, people, db, clock, sms, fake_twilio):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio)
    response = note_by_api(client, people, "Alice", ritual["id"], "x" * 161)
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "note"
    assert note_by_api(client, people, "Alice", ritual["id"], "x" * 160).get_json()["note"] == "x" * 160


def test_notes_are_escaped_on_today_and_the_digest_page(app, client, people, db, clock, sms, fake_twilio, runtime):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio)
    assert note_by_api(client, people, "Alice", ritual["id"], XSS).status_code == 201
    today = signed_in(app, db, people, "Bob").text("/today")
    clock.set(datetime(2026, 12, 3, 12, 0, tzinfo=UTC))
    with db.session() as s:
        bob = s.get_one(digests.Person, people.ids["Bob"])
        digest = digests.send_sample(s, bob, runtime.config.public_url, clock(), secret=runtime.config.secret_key)
        token = digests.digest_token(digest, runtime.config.secret_key)
    digest_page = client.get(f"/d/{token}").get_data(as_text=True)
    for page in (today, digest_page):
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
        assert "<script>" not in page and "<img" not in page


def test_a_note_cannot_inject_lines_or_properties_into_a_feed(client, people, db, clock, sms, fake_twilio, runtime):
    circle, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio)
    feed = new_feed(client, people, "Bob", scope="circle", circle_id=circle)
    for name in ("Alice", "Bob"):
        assert (
            note_by_api(client, people, name, ritual["id"], INJECTION if name == "Alice" else "ok").status_code == 201
        )
    render(runtime, feed["id"])
    body = client.get(feed["url"].removeprefix("http://tend.test")).data
    assert b"\r\nSUMMARY:pwned" not in body and b"\r\nUID:evil" not in body and b"\r\nATTACH" not in body
    events = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert len(events) == 2  # the ritual and its one override
    [override] = [event for event in events if "RECURRENCE-ID" in event]
    assert str(override["DESCRIPTION"]) == (
        'Alice ✓: "fine END:VEVENT BEGIN:VEVENT UID:evil@x SUMMARY:pwned DESCRIPTION;X=1:hi ATTACH:x", Bob ✓: "ok"'
    )


def test_notes_are_exported_and_erased_with_their_writer(app, client, people, db, clock, sms, fake_twilio, texts):
    _, (ritual,) = reminded_couple(client, people, db, clock, sms, fake_twilio)
    texts.send("Alice", "DONE loved the walk")
    export = client.get("/api/v1/export", headers=people.headers("Alice")).get_json()
    assert [c["note"] for c in export["checkins"]] == ["loved the walk"]
    assert client.delete("/api/v1/me", headers=people.headers("Alice")).status_code == 204
    assert notes(client, people, ritual["id"], "Bob") == {}
    assert "loved the walk" not in signed_in(app, db, people, "Bob").text("/today")
    with db.session() as s:
        assert s.scalars(select(CheckIn.note).where(CheckIn.note.is_not(None))).all() == []
