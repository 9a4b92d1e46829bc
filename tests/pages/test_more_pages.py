"""The pages the journey does not reach, in the same browser: promise forms, the digest page, a refusal page.

Each: a screenshot, no serious or critical axe-core violation, nothing asked of another origin.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import Flask

from service.domain import accounts, digests, editing
from service.domain.models import SessionDoor
from service.entry import demo
from tests.pages.browser import Browser, chromium_available, make_driver

ZONE = "America/New_York"


def seed(runtime, now: datetime) -> dict:
    with runtime.db.session() as s:
        alice = demo.person(s, "Alice", "+14155550101", ZONE, now=now, countries=runtime.config.sms_countries)
        bob = demo.person(s, "Bob", "+14155550102", ZONE, now=now, countries=runtime.config.sms_countries)
        circle = demo.active_circle(s, "Alice & Bob", [alice, bob], now)
        due = datetime(2026, 12, 4, 18, 0)
        made = editing.create_promise(
            s, alice, circle, editing.PromiseFields(bob.id, "Book the restaurant", due, ZONE, None, 60), now
        )
        owed = editing.create_promise(
            s, bob, circle, editing.PromiseFields(alice.id, "Call at 6", due, ZONE, None, 30), now
        )
        config = runtime.config
        digest = digests.send_sample(s, alice, config.public_url, now, secret=config.secret_key)
        token = accounts.open_session(s, alice, now, SessionDoor.PAGE)
        ids = {
            "circle": circle.id,
            "promise": made.subject.id,
            "owed": owed.subject.id,
            "digest": digests.digest_token(digest, config.secret_key),
            "session": token,
        }
        s.commit()
    return ids


def signed_cookie(secret: str, token: str) -> str:
    signer = Flask("sign")
    signer.secret_key = secret
    return signer.session_interface.get_signing_serializer(signer).dumps({"device": token, "_permanent": True})  # type: ignore[attr-defined]


def test_the_other_pages_are_accessible_and_self_contained(live, runtime, clock):
    if not chromium_available():
        pytest.fail("chromium and chromium-driver are needed: `make test` installs them (apt-get)")
    ids = seed(runtime, clock())
    browser = Browser(make_driver(javascript=True), javascript=True, name="more")
    try:
        driver = browser.driver
        driver.get(live.url + "/")
        driver.add_cookie(
            {"name": "tend_session", "value": signed_cookie(runtime.config.secret_key, ids["session"]), "path": "/"}
        )
        pages = {
            "13-promise-new": f"/promises/new?circle={ids['circle']}",
            "14-promise": f"/promises/{ids['promise']}",
            "15-promise-owed": f"/promises/{ids['owed']}",
            "16-digest": f"/d/{ids['digest']}",
            "17-refused": "/rituals/987654",
            "18-today-with-promises": "/today",
        }
        for name, path in pages.items():
            driver.get(live.url + path)
            browser.screenshot(name)
            mains = driver.find_elements("tag name", "main")
            assert mains, (name, driver.page_source[:500])
            main = mains[0].text
            assert "Sorry" not in main or name == "17-refused", (name, main)
            assert browser.foreign_requests(live.url) == [], name
            assert browser.axe_violations() == [], name
        driver.get(live.url + pages["14-promise"])
        assert "Cancel this promise" in driver.page_source
        driver.get(live.url + pages["15-promise-owed"])
        assert "Bob promised you this" in driver.find_element("tag name", "main").text
    finally:
        browser.driver.quit()
