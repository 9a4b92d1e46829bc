"""Tend's doors as one interface, so a rule can be driven through each and the outcomes compared (issue 18).

An outcome is `ACCEPTED`, or `refused(field)`: the API names the field in its
error envelope, the pages put the message beside that field (`<field>-error`).
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from service.domain.models import InvitationSent, OutboundSms, SignInCode
from tests.builders import People, code_texted_to, promise_body, ritual_body
from tests.pages.helpers import Pages

ACCEPTED = ("accepted", None)
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

    def rename(self, name: str):
        return api_outcome(self.client.patch("/api/v1/me", json={"name": name}, headers=self.people.headers("Alice")))

    def add_ritual(self, circle_id: int, participants: list[int]):
        url = f"/api/v1/circles/{circle_id}/rituals"
        body = ritual_body(participants=participants)
        return api_outcome(self.client.post(url, json=body, headers=self.people.headers("Alice")))

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


def door(kind: str, app, client, db, people: People) -> ApiDoor | PageDoor:
    """Alice signed up (by the API) with a door of `kind` to act through."""
    people.create("Alice")
    return ApiDoor(client, people) if kind == "api" else PageDoor(app, db, people)
