"""The whole way through: sign up by code, get reminded, reply DONE, see the streak."""

from datetime import timedelta

from tests.builders import FIRST_REMINDER, add_circle, add_ritual


def test_sign_up_by_code_reminder_done_streak(client, people, db, clock, sms, fake_twilio, texts):
    alice = people.create("Alice")
    sms.tick()
    (code,) = fake_twilio.bodies_to(people.PHONES["Alice"])
    assert code.startswith("Tend: your code is ") and "Signing in with it means you agree" in code
    assert client.get("/api/v1/me", headers=people.headers("Alice")).get_json()["sms_status"] == "active"

    circle = add_circle(client, people, "Just me")
    ritual = add_ritual(client, people, circle)
    sms.tick()
    clock.set(FIRST_REMINDER)
    sms.tick()
    assert fake_twilio.bodies_to(people.PHONES["Alice"])[-1] == (
        "Tend: Morning coffee talk at 7:30. Reply DONE when you've had it, or SKIP."
    )

    clock.advance(minutes=3)
    assert texts.send("Alice", "DONE") == "Kept! Morning coffee talk: a new streak begins."

    streaks = client.get("/api/v1/streaks", headers=people.headers("Alice")).get_json()
    (coffee,) = streaks["subjects"]
    assert (coffee["kind"], coffee["id"], coffee["title"]) == ("ritual", ritual["id"], "Morning coffee talk")
    assert (coffee["current_streak"], coffee["longest_streak"]) == (1, 1)
    assert alice["sms_status"] == "active"

    clock.set(FIRST_REMINDER + timedelta(days=1))
    sms.tick()
    assert texts.send("Alice", "d") == "Kept! Morning coffee talk: 2 in a row."
