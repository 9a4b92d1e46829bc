"""A sample weekly summary, from the settings page and from `tend digest send --now`; its page in Tend's look."""

from __future__ import annotations

import re

from click.testing import CliRunner

from service.entry import cli
from tests.pages.helpers import Pages

ALICE = "+14155550101"


def test_settings_sends_a_sample_digest_whose_page_opens(app, db, sms, fake_twilio):
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    sms.drain()
    sent = alice.post("/settings/digest-sample", form_page="/settings", follow=True)
    assert "on its way" in sent.get_data(as_text=True)
    sms.drain()
    text = fake_twilio.bodies_to(ALICE)[-1]
    link = re.search(r"http://tend\.test(/d/\S+)", text)
    assert link, text
    page = app.test_client().get(link[1])
    assert page.status_code == 200 and "Your week from" in page.get_data(as_text=True)
    assert "<style>" not in page.get_data(as_text=True) and "/assets/tend.css" in page.get_data(as_text=True)


def test_the_cli_sends_a_sample_now(app, db, config, monkeypatch, clock):
    alice = Pages(app, db)
    alice.sign_in(ALICE, "Alice")
    monkeypatch.setenv("DATABASE_URL", config.database_url)
    monkeypatch.setenv("TEND_SECRET_KEY", "test-secret-key-0123456789")
    result = CliRunner().invoke(cli.main, ["digest", "send", "--now", ALICE])
    assert result.exit_code == 0, result.output
    assert "queued for Alice" in result.output
    missing = CliRunner().invoke(cli.main, ["digest", "send", "--now", "+14155550199"])
    assert missing.exit_code != 0
