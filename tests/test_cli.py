"""The `tend` commands on the embedded defaults: SQLite, in-process broker, console SMS."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime

import requests
from click.testing import CliRunner
from sqlalchemy import func, select

from service import config as config_module
from service.domain import accounts
from service.domain.db import Database
from service.domain.models import Circle, Feed, OutboundSms, Person, Ritual
from service.entry.cli import main


def embedded_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TEND_", "DATABASE_URL", "REDIS_URL"))}
    return (
        env | {"DATABASE_URL": f"sqlite:///{tmp_path}/tend.db", "TEND_SECRET_KEY": "cli-test-secret-0123456789"} | extra
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_db_upgrade_then_clock_once_on_sqlite(tmp_path, monkeypatch):
    for key, value in embedded_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(main, ["clock", "--once"])
    assert result.exit_code == 0, result.output
    assert (
        "replanned=0 materialized=0 rung=0 ended=0 reconciling=0 started_early=0 reports=0 feeds=0 digests=0 caught_up=0"
        in result.output
    )


def test_demo_prints_a_feed_url_and_the_sms_it_would_send(tmp_path, monkeypatch):
    for key, value in embedded_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert re.search(r"Calendar feed: http://127\.0\.0\.1:8000/feeds/[A-Za-z0-9_-]{40,}\.ics", result.output)
    assert "webcal://127.0.0.1:8000/feeds/" in result.output
    assert "Tend: Morning coffee talk with Sam at 7:30." in result.output
    assert "your promise to Alex: Book the restaurant" in result.output


def test_demo_twice_reuses_its_circle_and_feed_and_texts_nobody(tmp_path, monkeypatch):
    for key, value in embedded_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    first, second = (CliRunner().invoke(main, ["demo"]) for _ in range(2))
    assert first.exit_code == second.exit_code == 0, second.output
    circle_ids = {re.search(r"\(id (\d+)\)", result.output)[1] for result in (first, second)}
    assert len(circle_ids) == 1
    feed_urls = {re.search(r"Calendar feed: (\S+)", result.output)[1] for result in (first, second)}
    assert len(feed_urls) == 1
    database = Database(f"sqlite:///{tmp_path}/tend.db")
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboundSms)) == 0
        assert session.scalar(select(func.count()).select_from(Circle)) == 1
        assert session.scalar(select(func.count()).select_from(Feed)) == 1
    database.dispose()


def test_demo_links_follow_the_port(tmp_path, monkeypatch):
    for key, value in embedded_env(tmp_path, TEND_PORT="18231").items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert "Calendar feed: http://127.0.0.1:18231/feeds/" in result.output
    assert "webcal://127.0.0.1:18231/feeds/" in result.output


def test_demo_says_when_nothing_answers_at_its_links(tmp_path, monkeypatch):
    for key, value in embedded_env(tmp_path, TEND_PORT=str(free_port())).items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert "nothing answers at http://127.0.0.1:" in result.stderr
    assert "same TEND_PORT (or TEND_PUBLIC_URL)" in result.stderr


def test_help_shows_every_command_description_whole():
    groups = [[], ["db"], ["sms"], ["digest"], ["streaks"]]
    for group in groups:
        result = CliRunner().invoke(main, [*group, "--help"], terminal_width=80)
        assert result.exit_code == 0
        commands = result.output.split("Commands:")[1]
        assert "..." not in commands, commands


def test_tend_up_serves_the_api_and_prints_sms_to_the_console(tmp_path):
    """On a port of its own, with no TEND_PUBLIC_URL: the demo's feed link is one `tend up` answers."""
    port = free_port()
    env = embedded_env(tmp_path, TEND_PORT=str(port), TEND_CLOCK_INTERVAL="0.5")
    demo = subprocess.run(
        [sys.executable, "-m", "service.entry.cli", "demo"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert demo.returncode == 0, demo.stderr
    feed_url = re.search(r"Calendar feed: (\S+)", demo.stdout)[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "service.entry.cli", "up"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "tend up did not answer /healthz"
            time.sleep(0.2)
        assert requests.get(f"{base}/readyz", timeout=5).status_code == 200
        assert feed_url.startswith(f"{base}/feeds/")
        again = subprocess.run(
            [sys.executable, "-m", "service.entry.cli", "demo"], env=env, cwd=tmp_path, capture_output=True, text=True
        )
        assert again.returncode == 0 and "nothing answers" not in again.stderr, again.stderr  # tend up answers
        feed = requests.get(feed_url, timeout=10)
        assert feed.status_code == 200 and "X-WR-CALNAME" in feed.text
        asked = requests.post(f"{base}/api/v1/codes", timeout=5, json={"phone": "+12025550101"})
        assert asked.status_code == 202
        time.sleep(2)  # the in-process worker prints the code
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert re.search(r"SMS to \+12025550101: Tend: your code is \d{6}\.", output)


def test_sms_in_delivers_an_inbound_sms_through_the_conversation(tmp_path, monkeypatch):
    for key, value in embedded_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    config = config_module.load(var_dir=tmp_path)
    db = Database(config.database_url)
    now = datetime.now(UTC)
    with db.session() as session:
        alex = accounts.new_person(phone="+12025550111", now=now, name="Alex", timezone="UTC", status="active")
        session.add(alex)
        session.flush()
        circle = accounts.create_circle(session, owner=alex, name="Us", now=now)
        accounts.invite_member(
            session, circle=circle, inviter=alex, name="Sam", phone="+12025550122", countries=("US",), now=now
        )
        session.commit()
    result = runner.invoke(main, ["sms", "in", "--from", "+1 202 555 0122", "JOIN"])
    assert result.exit_code == 0, result.output
    assert 'You joined "Us"' in result.output
    with db.session() as session:
        sam = session.scalar(select(Person).where(Person.phone == "+12025550122"))
        assert sam.sms_status == "active"
    # setting up by text, from the command line as from the webhook
    echo = runner.invoke(main, ["sms", "in", "--from", "+12025550122", "NEW evening walk every weekday at 7pm"])
    assert "New ritual for you and Alex: Evening walk, Mon-Fri at 7:00 PM" in echo.output
    saved = runner.invoke(main, ["sms", "in", "--from", "+12025550122", "OK"])
    assert "Saved: Evening walk" in saved.output
    with db.session() as session:
        assert session.scalars(select(Ritual.title)).all() == ["Evening walk"]
    db.dispose()


def test_worker_processes_log_at_tend_level_with_numbers_masked(tmp_path, redis_url):
    # as the Dramatiq CLI does in each worker process: its own INFO handler first, then our module imported
    code = (
        "import logging, sys; logging.basicConfig(level=logging.INFO, stream=sys.stdout); "
        "import service.entry.worker_process; log = logging.getLogger('workers.delivery'); "
        "log.info('an info line'); log.warning('SMS to +14155550123 failed for good')"
    )
    env = os.environ | {
        "TEND_LOG_LEVEL": "WARNING",
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'tend.db'}",
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60).stdout
    assert "SMS to +1" in out and "failed for good" in out
    assert "an info line" not in out and "+14155550123" not in out
