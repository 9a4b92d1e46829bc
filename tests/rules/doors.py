"""Tend's doors as one interface, so a rule can be driven through each and the outcomes compared (issue 18).

An outcome is `ACCEPTED`, or `refused(field)`: the API names the field in its
error envelope, the pages put the message beside that field (`<field>-error`),
and a text (the SMS webhook, or `tend sms in` at the command line) answers with
the domain's own words for that field's rule (`TEXTED_REFUSALS`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from click.testing import CliRunner
from sqlalchemy import func, select

from service.domain.models import InvitationSent, Membership, MembershipStatus, OutboundSms, Person, SignInCode
from service.entry import cli
from tests.builders import People, code_texted_to, promise_body, ritual_body
from tests.pages.helpers import Pages

ACCEPTED = ("accepted", None)
UNPROVEN = ("refused", "proof")  # no bearer token, CSRF token or Twilio signature: the door did nothing
PAGE_ERROR = re.compile(r'<p class="error" id="(\w+)-error">')


def refused(field: str) -> tuple[str, str]:
    return ("refused", field)


def api_outcome(response) -> tuple[str, str | None]:
    if response.status_code < 300:
        return ACCEPTED
    assert response.status_code in (409, 422, 429), (response.status_code, response.get_data(as_text=True))
    return refused(response.get_json()["error"]["field"])


def page_outcome(response) -> tuple[str, str | None]:
    if response.status_code == 302:
        return ACCEPTED
    html = response.get_data(as_text=True)
    assert response.status_code == 422, (response.status_code, html[:2000])
    fields = PAGE_ERROR.findall(html)
    assert len(fields) == 1, fields
    return refused(fields[0])


# How the domain's refusals begin, by the field they name: a text has no field to name, only the words.
TEXTED_REFUSALS = {
    "name": ("A name ", "Choose your own name first"),
    "phone": ("Tend can text", "Tend can't text", "Not a ", "That number can't", "This number "),
    "to": ("'to' must be",),
    "days": ("Pause for ",),
}
TEXTED_ACCEPTED = ("Saved: ", "Paused for ", "Tend: You're opted out", "Tend: You're in!")


def proof_outcome(*statuses: int) -> tuple[str, str | None]:
    assert set(statuses) <= {400, 401, 403}, statuses
    return UNPROVEN


def text_outcome(reply: str) -> tuple[str, str | None]:
    if reply.startswith(TEXTED_ACCEPTED):
        return ACCEPTED
    fields = [field for field, starts in TEXTED_REFUSALS.items() if reply.startswith(starts)]
    assert len(fields) == 1, f"neither saved nor refused by a rule: {reply!r}"
    return refused(fields[0])


def texts_to(db, phone: str, kind: str) -> int:
    """SMS of `kind` Tend queued for `phone` (each would reach Twilio)."""
    with db.session() as s:
        return s.scalar(select(func.count()).where(OutboundSms.to == phone, OutboundSms.kind == kind)) or 0


def counts_of(db, phone: str) -> int:
    """Codes and invitation counts Tend keeps that name `phone`."""
    with db.session() as s:
        codes = s.scalar(select(func.count()).where(SignInCode.phone == phone)) or 0
        invitations = s.scalar(select(func.count()).where(InvitationSent.phone == phone)) or 0
    return codes + invitations


class ApiDoor:
    """Alice (signed up already) and anyone else, through the JSON API."""

    name = "api"

    def __init__(self, client, people: People) -> None:
        self.client, self.people = client, people

    def ask_code(self, phone: str):
        return api_outcome(self.client.post("/api/v1/codes", json={"phone": phone}))

    def sign_up(self, phone: str, name: str):
        assert self.ask_code(phone) == ACCEPTED
        code = code_texted_to(self.people.db, phone)
        body = {"phone": phone, "code": code, "name": name, "timezone": "America/New_York"}
        return api_outcome(self.client.post("/api/v1/sessions", json=body))

    def invite(self, circle_id: int, name: str, phone: str):
        url = f"/api/v1/circles/{circle_id}/members"
        return api_outcome(
            self.client.post(url, json={"name": name, "phone": phone}, headers=self.people.headers("Alice"))
        )

    def invite_unproven(self, circle_id: int, name: str, phone: str):
        url = f"/api/v1/circles/{circle_id}/members"
        return proof_outcome(self.client.post(url, json={"name": name, "phone": phone}).status_code)

    def rename(self, name: str):
        return api_outcome(self.client.patch("/api/v1/me", json={"name": name}, headers=self.people.headers("Alice")))

    def add_ritual(self, circle_id: int, participants: list[int]):
        url = f"/api/v1/circles/{circle_id}/rituals"
        body = ritual_body(participants=participants)
        return api_outcome(self.client.post(url, json=body, headers=self.people.headers("Alice")))

    def add_ritual_for_everyone(self, circle_id: int, offered: list[int]):
        """No participants named: everyone who joined."""
        url = f"/api/v1/circles/{circle_id}/rituals"
        return api_outcome(self.client.post(url, json=ritual_body(), headers=self.people.headers("Alice")))

    def add_promise(self, circle_id: int, to: int):
        body = promise_body(circle_id, to)
        return api_outcome(self.client.post("/api/v1/promises", json=body, headers=self.people.headers("Alice")))

    def erase(self):
        return api_outcome(self.client.delete("/api/v1/me", headers=self.people.headers("Alice")))


class PageDoor:
    """The same people through the pages, as a browser without JavaScript (CSRF tokens from each form)."""

    name = "pages"

    def __init__(self, app, db, people: People) -> None:
        self.app, self.db = app, db
        self.alice = Pages(app, db)
        self.alice.sign_in(people.PHONES["Alice"], "Alice")

    def ask_code(self, phone: str):
        return page_outcome(Pages(self.app, self.db).post("/signin", {"phone": phone}))

    def sign_up(self, phone: str, name: str):
        browser = Pages(self.app, self.db)
        assert page_outcome(browser.post("/signin", {"phone": phone})) == ACCEPTED
        code = code_texted_to(self.db, phone)
        data = {"code": code, "name": name, "timezone": "America/New_York"}
        return page_outcome(browser.post("/signin/code", data))

    def invite(self, circle_id: int, name: str, phone: str):
        path = f"/circles/{circle_id}"
        return page_outcome(self.alice.post(f"{path}/members", {"name": name, "phone": phone}, form_page=path))

    def invite_unproven(self, circle_id: int, name: str, phone: str):
        """Alice's own cookie, but no CSRF token: what another site's form could make her browser post."""
        answer = self.alice.client.post(f"/circles/{circle_id}/members", data={"name": name, "phone": phone})
        return proof_outcome(answer.status_code)

    def rename(self, name: str):
        data = {"name": name, "timezone": "America/New_York", "digest_weekday": "6", "digest_time": "18:00"}
        return page_outcome(self.alice.post("/settings", data))

    def add_ritual(self, circle_id: int, participants: list[int]):
        data = {
            "title": "Evening walk",
            "repeat": "daily",
            "time": "19:00",
            "start_date": "2026-12-02",
            "remind_before_minutes": "15",
            "duration_minutes": "30",
            "participants": [str(p) for p in participants],
            "submit": "Save ritual",
        }
        return page_outcome(self.alice.post(f"/rituals/new?circle={circle_id}", data))

    def add_ritual_for_everyone(self, circle_id: int, offered: list[int]):
        """Every box the form offers left ticked, as it comes."""
        return self.add_ritual(circle_id, offered)

    def add_promise(self, circle_id: int, to: int):
        data = {
            "title": "Book the restaurant",
            "to": str(to),
            "repeat": "once",
            "time": "18:00",
            "start_date": "2026-12-04",
            "remind_before_minutes": "60",
            "grace_minutes": "60",
            "submit": "Save promise",
        }
        # The form is not shown while nobody else joined; a browser may post it all the same (one CSRF token per session).
        return page_outcome(self.alice.post(f"/promises/new?circle={circle_id}", data, form_page="/settings"))

    def erase(self):
        return page_outcome(self.alice.post("/settings/delete", {"confirm": "delete"}, form_page="/settings"))

    def pause(self, days: int):
        return page_outcome(self.alice.post("/settings/pause", {"days": str(days)}, form_page="/settings"))


class TextDoor:
    """Alice setting up by text (SPEC §4): a command, the circle when asked, then OK. `send(phone, body)` is the
    reply Tend gives: her phone through the signed webhook, or an operator's `tend sms in --from`."""

    def __init__(
        self,
        name: str,
        send: Callable[[str, str], str],
        db,
        people: People,
        unsigned: Callable[[str, str], int] | None = None,
    ) -> None:
        self.name, self.send, self.db, self.unsigned = name, send, db, unsigned
        self.alice, self.alice_id = people.PHONES["Alice"], people.ids["Alice"]

    def invite_unproven(self, circle_id: int, name: str, phone: str):
        """The same texts posted to the webhook without Twilio's signature (`unsigned`: the status it answers)."""
        assert self.unsigned is not None, "the command line has no signature to leave out"
        return proof_outcome(*(self.unsigned(self.alice, body) for body in (f"INVITE {name} {phone}", "OK")))

    def text(self, body: str) -> str:
        return self.send(self.alice, body)

    def invite(self, circle_id: int, name: str, phone: str):
        return self._saved(self.text(f"INVITE {name} {phone}"), circle_id)

    def add_promise(self, circle_id: int, to: int):
        with self.db.session() as s:
            label = s.scalar(
                select(Membership.label).where(Membership.circle_id == circle_id, Membership.person_id == to)
            )
        return self._saved(self.text(f"PROMISE {label} call the plumber by 5pm tomorrow"), circle_id)

    def add_ritual_for_everyone(self, circle_id: int, offered: list[int]):
        """NEW names no participants (SPEC §4: every member who joined takes part)."""
        return self._saved(self.text("NEW evening walk every day at 7pm"), circle_id)

    def pause(self, days: int):
        return text_outcome(self.text(f"PAUSE {days}"))

    def _saved(self, reply: str, circle_id: int):
        """Answer "Which circle?" with `circle_id`'s number (her circles in id order), then OK the echoed draft."""
        if reply.startswith("Which circle?"):
            with self.db.session() as s:
                mine = s.scalars(
                    select(Membership.circle_id)
                    .where(Membership.person_id == self.alice_id, Membership.status == MembershipStatus.ACTIVE)
                    .order_by(Membership.circle_id)
                ).all()
            reply = self.text(str(mine.index(circle_id) + 1))
        if "Reply OK to" in reply:
            reply = self.text("OK")
        return text_outcome(reply)


def cli_texts(monkeypatch, runtime) -> Callable[[str, str], str]:
    """`tend sms in --from PHONE BODY` on the test's runtime (its database and clock), answering what it prints."""
    monkeypatch.setenv("DATABASE_URL", runtime.config.database_url)
    monkeypatch.setenv("TEND_SECRET_KEY", runtime.config.secret_key)
    monkeypatch.setattr(cli, "runtime_for", lambda config: runtime)
    runner = CliRunner()

    def send(phone: str, body: str) -> str:
        result = runner.invoke(cli.main, ["sms", "in", "--from", phone, body])
        if result.exit_code == 2:  # a refused option: "Error: Invalid value for --from: <the domain's words>"
            return result.output.rpartition("--from: ")[2].strip()
        assert result.exit_code == 0, result.output
        return result.output.strip()

    return send


def person_of(db, phone: str) -> Person | None:
    with db.session() as s:
        return s.scalar(select(Person).where(Person.phone == phone))


def door(kind: str, request) -> ApiDoor | PageDoor | TextDoor:
    """Alice signed up (by the API) with a door of `kind` to act through (pytest's `request` gives the fixtures)."""
    app, client, db, people = (request.getfixturevalue(f) for f in ("app", "client", "db", "people"))
    people.create("Alice")
    if kind == "api":
        return ApiDoor(client, people)
    if kind == "pages":
        return PageDoor(app, db, people)
    if kind == "sms":
        texts = request.getfixturevalue("texts")

        def unsigned(phone: str, body: str) -> int:
            return texts.post("/webhooks/twilio/sms", texts.inbound_form(phone, body), headers={}).status_code

        return TextDoor(kind, texts.send, db, people, unsigned)
    send = cli_texts(request.getfixturevalue("monkeypatch"), request.getfixturevalue("runtime"))
    return TextDoor(kind, send, db, people)
