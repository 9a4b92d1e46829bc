"""Run Tend's image as real containers and drive one person's journey through them.

    .venv/bin/python scripts/image_journey.py --image localhost/tend:0.1.0-test

(`make image-test` builds the image and calls this.) With podman, against this
machine's PostgreSQL and Redis (`--network host`) and a fake Twilio started
here (tests/fake_twilio.py), it runs `tend db upgrade`, then `tend web`,
`tend worker` and two `tend clock`s, each as the image's non-root user on a
read-only root file system with only /tmp writable and no capabilities, and:

1. checks each container's user and that its root file system refuses writes;
2. signs a person up by code (SPEC §8): the code SMS reaches the fake Twilio
   through the worker, and trading it for a session makes the person active;
3. makes a circle and a ritual due in a few minutes, whose reminder reaches
   the fake Twilio exactly once although two clocks tick;
4. answers DONE by a signed webhook and reads the kept ritual in the feed.

Every step's wait has a deadline; on failure the containers' logs are shown.
Sign-up is the one place the journey meets the public API's sign-up flow
(`sign_up` below).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import psycopg
import redis
import requests
from twilio.request_validator import RequestValidator

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("TEND_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEND_IMAGE_TEST_REDIS", os.environ.get("TEND_TEST_REDIS", "redis://127.0.0.1:6379/14"))
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "image-test-auth-token"
TEND_NUMBER = "+15005550006"
ALICE = "+14155550101"
EXPECTED_UID = 10001
# Zones spread around the world: one of them is always in daytime, outside default quiet hours.
DAYTIME_ZONES = (
    "Pacific/Honolulu",
    "America/Los_Angeles",
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Moscow",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)
T = TypeVar("T")
# The real uids of every process in the container (tini, tend and its children), one per line.
PROCESS_UIDS = (
    "import glob\n"
    "uids = set()\n"
    "for path in glob.glob('/proc/[0-9]*/status'):\n"
    "    try:\n        lines = open(path).read().splitlines()\n    except OSError:\n        continue\n"
    "    uids.update(line.split()[1] for line in lines if line.startswith('Uid:'))\n"
    "print('\\n'.join(sorted(uids)))\n"
)


class JourneyFailed(AssertionError):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise JourneyFailed(message)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60, every: float = 0.5) -> T:
    """Call `probe` until it returns something other than None (or False); fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = probe()
            if value is not None and value is not False:
                return value
        except (requests.RequestException, OSError) as error:
            last_error = error
        time.sleep(every)
    raise JourneyFailed(
        f"timed out after {timeout:g} s waiting for {what}" + (f" ({last_error})" if last_error else "")
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Podman:
    """Runs the image's containers the way this machine allows: runc, cgroupfs, host network."""

    image: str
    run_id: str
    env: dict[str, str]
    started: list[str] = field(default_factory=list)

    def base(self) -> list[str]:
        return ["podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs"]

    def run_args(self, name: str) -> list[str]:
        args = [
            "--name",
            name,
            "--network",
            "host",
            "--read-only",
            "--read-only-tmpfs=false",
            "--tmpfs",
            "/tmp:rw,size=64m,mode=1777",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            # Keep the image's HEALTHCHECK (run by hand below) without podman's systemd timers.
            "--health-interval",
            "disable",
        ]
        for key, value in self.env.items():
            args += ["--env", f"{key}={value}"]
        return args

    def once(self, component: str, *command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        name = f"tend-it-{self.run_id}-{component}"
        return subprocess.run(
            [*self.base(), "run", "--rm", *self.run_args(name), self.image, *command],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, component: str, *command: str) -> str:
        name = f"tend-it-{self.run_id}-{component}"
        subprocess.run(
            [*self.base(), "run", "--detach", *self.run_args(name), self.image, *command],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.started.append(name)
        return name

    def exec(self, name: str, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.base(), "exec", name, *command], capture_output=True, text=True, timeout=60)

    def inspect(self, name: str) -> dict[str, Any]:
        out = subprocess.run([*self.base(), "inspect", name], check=True, capture_output=True, text=True).stdout
        return json.loads(out)[0]

    def running(self, name: str) -> bool:
        return bool(self.inspect(name)["State"]["Running"])

    def logs(self, name: str) -> str:
        result = subprocess.run([*self.base(), "logs", name], capture_output=True, text=True)
        return result.stdout + result.stderr

    def remove_all(self) -> None:
        for name in self.started:
            subprocess.run([*self.base(), "rm", "--force", "--time", "10", name], capture_output=True)


@dataclass
class Tend:
    """Tend's public face as a person's phone and client see it."""

    base_url: str
    fake_twilio_url: str

    def api(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.request(method, self.base_url + path, headers=headers, timeout=15, **kwargs)

    def text(self, sender: str, body: str) -> str:
        """An inbound SMS through the signed webhook, as Twilio would post it; returns Tend's TwiML reply."""
        sid = "SM" + uuid.uuid4().hex
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": sender,
            "To": TEND_NUMBER,
            "Body": body,
            "NumMedia": "0",
        }
        path = "/webhooks/twilio/sms"
        signature = RequestValidator(AUTH_TOKEN).compute_signature(self.base_url + path, params)
        response = requests.post(
            self.base_url + path, data=params, timeout=15, headers={"X-Twilio-Signature": signature}
        )
        check(response.status_code == 200, f"webhook answered {response.status_code}: {response.text[:300]}")
        message = ElementTree.fromstring(response.content).find("Message")
        return "" if message is None else (message.text or "")

    def messages_to(self, phone: str) -> list[str]:
        messages = requests.get(f"{self.fake_twilio_url}/_fake/messages", timeout=5).json()
        return [m["body"] for m in messages if m["to"] == phone]


def sign_up(tend: Tend, name: str, phone: str, zone: str) -> dict[str, Any]:
    """A new person with a bearer token, by code: POST /codes, read the texted code, POST /sessions."""
    asked = tend.api("POST", "/api/v1/codes", json={"phone": phone})
    check(asked.status_code == 202, f"code request answered {asked.status_code}: {asked.text[:300]}")
    texts = wait_for("the code SMS", lambda: tend.messages_to(phone) or None)
    code = re.search(r"\b(\d{6})\b", texts[-1])
    check(code is not None, f"the code SMS holds no 6-digit code: {texts[-1]!r}")
    assert code is not None
    answer = {"phone": phone, "code": code[1], "name": name, "timezone": zone}
    response = tend.api("POST", "/api/v1/sessions", json=answer)
    check(response.status_code == 201, f"sign-in answered {response.status_code}: {response.text[:300]}")
    return response.json()


def daytime_zone(now: datetime) -> ZoneInfo:
    """A zone where it is between 09:00 and 19:00 now, so no quiet hours and no midnight in the way."""
    for name in DAYTIME_ZONES:
        zone = ZoneInfo(name)
        if 9 <= now.astimezone(zone).hour < 19:
            return zone
    raise JourneyFailed("no daytime zone found (the zone list must cover every hour)")


def check_confinement(podman: Podman, name: str) -> None:
    """The main process runs as the image's user; the root file system refuses writes; /tmp accepts them."""
    uids = podman.exec(name, "python3", "-c", PROCESS_UIDS)
    check(
        uids.returncode == 0 and uids.stdout.split() == [str(EXPECTED_UID)],
        f"{name}: processes run as uids {uids.stdout.split()} (want only {EXPECTED_UID}) {uids.stderr}",
    )
    check(podman.inspect(name)["HostConfig"]["ReadonlyRootfs"] is True, f"{name}: root file system is writable")
    probe = (
        "import sys\nfor path in ('/srv/tend/probe', '/opt/tend/probe', '/probe'):\n"
        "    try:\n        open(path, 'w')\n    except OSError as e:\n        continue\n"
        "    sys.exit('wrote ' + path)\nopen('/tmp/probe', 'w').write('ok')\n"
    )
    result = podman.exec(name, "python3", "-c", probe)
    check(result.returncode == 0, f"{name}: confinement probe failed: {result.stdout}{result.stderr}")


@contextlib.contextmanager
def fake_twilio(port: int) -> Iterator[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fake_twilio",
            "--port",
            str(port),
            "--account-sid",
            ACCOUNT_SID,
            "--auth-token",
            AUTH_TOKEN,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        check(url.startswith("http://"), "the fake Twilio did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    name = f"tend_image_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Steps:
    """Prints each step with its duration."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.count = 0

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[None]:
        began = time.monotonic()
        yield
        self.count += 1
        print(f"  ok  {title} ({time.monotonic() - began:.1f} s)", flush=True)


def journey(podman: Podman, tend: Tend, steps: Steps) -> None:
    with steps.step("tend db upgrade (read-only root, non-root)"):
        result = podman.once("migrate", "db", "upgrade")
        check(result.returncode == 0, f"db upgrade failed:\n{result.stdout}{result.stderr}")
        check("database at head" in result.stdout, f"db upgrade said: {result.stdout!r}")

    with steps.step("web, worker and two clocks started; /readyz answers 200"):
        names = [
            podman.start("web", "web", "--workers", "2", "--threads", "4"),
            podman.start("worker", "worker", "--processes", "1", "--threads", "4"),
            podman.start("clock-1", "clock"),
            podman.start("clock-2", "clock"),
        ]
        wait_for("web /readyz", lambda: tend.api("GET", "/readyz").status_code == 200, timeout=90)
        for name in names:
            check(podman.running(name), f"{name} stopped:\n{podman.logs(name)}")

    with steps.step(f"every container runs as uid {EXPECTED_UID} on a read-only root with a writable /tmp"):
        for name in podman.started:
            check_confinement(podman, name)

    now = datetime.now(UTC)
    zone = daytime_zone(now)
    with steps.step(f"sign-up by code; the code SMS reaches Twilio through the worker ({zone.key})"):
        alice = sign_up(tend, "Alice", ALICE, zone.key)
        token = alice["token"]
        me = tend.api("GET", "/api/v1/me", token).json()
        check(me["sms_status"] == "active", f"after sign-in by code: {me}")

    with steps.step("a circle and a ritual; its reminder reaches Twilio once though two clocks tick"):
        circle = tend.api("POST", "/api/v1/circles", token, json={"name": "Just me"})
        check(circle.status_code == 201, f"circle: {circle.status_code} {circle.text[:300]}")
        starts = (now + timedelta(minutes=6)).astimezone(zone).replace(second=0, microsecond=0, tzinfo=None)
        ritual = tend.api(
            "POST",
            f"/api/v1/circles/{circle.json()['id']}/rituals",
            token,
            json={
                "title": "Image test walk",
                "starts": starts.isoformat(timespec="minutes"),
                "timezone": zone.key,
                "rrule": "FREQ=DAILY",
                "duration_minutes": 30,
                "remind_before_minutes": 15,
            },
        )
        check(ritual.status_code == 201, f"ritual: {ritual.status_code} {ritual.text[:300]}")

        def reminders() -> list[str]:
            return [body for body in tend.messages_to(ALICE) if "Image test walk" in body]

        first = wait_for("the reminder", lambda: reminders() or None, timeout=60)
        check("Reply DONE" in first[0], f"reminder text: {first[0]!r}")
        time.sleep(5)  # several more ticks of both clocks: nothing may be sent again
        check(len(reminders()) == 1, f"the reminder went out {len(reminders())} times: {reminders()}")

    with steps.step("DONE by signed webhook is kept"):
        reply = tend.text(ALICE, "DONE")
        check(reply.startswith("Kept!") and "Image test walk" in reply, f"DONE answered {reply!r}")

    with steps.step("the feed shows the ritual"):
        feed = tend.api("POST", "/api/v1/feeds", token, json={"scope": "person"})
        check(feed.status_code == 201, f"feed: {feed.status_code} {feed.text[:300]}")
        path = feed.json()["url"].removeprefix(tend.base_url)
        body = wait_for("the feed", lambda: (r := tend.api("GET", path)).status_code == 200 and r.text, timeout=30)
        check("BEGIN:VCALENDAR" in body and "Image test walk" in body, f"feed body: {body[:500]!r}")

    with steps.step("no container stopped or logged a traceback; web's HEALTHCHECK passes"):
        for name in podman.started:
            check(podman.running(name), f"{name} stopped:\n{podman.logs(name)}")
            check("Traceback" not in podman.logs(name), f"{name} logged a traceback:\n{podman.logs(name)}")
        for name in podman.started:
            health = subprocess.run([*podman.base(), "healthcheck", "run", name], capture_output=True, text=True)
            check(health.returncode == 0, f"{name}: HEALTHCHECK failed: {health.stdout}{health.stderr}")

    with steps.step("every container stops on SIGTERM (not killed after the grace period)"):
        for name in podman.started:
            subprocess.run([*podman.base(), "stop", "--time", "30", name], capture_output=True, check=True)
            code = podman.inspect(name)["State"]["ExitCode"]
            check(code != 137, f"{name} ignored SIGTERM and was killed (exit {code}):\n{podman.logs(name)[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True)
    args = parser.parse_args(argv)

    steps = Steps()
    web_port, twilio_port = free_port(), free_port()
    redis.Redis.from_url(REDIS_URL).flushdb()
    print(f"image journey: {args.image}, web on 127.0.0.1:{web_port}, Redis {REDIS_URL}", flush=True)
    with fake_twilio(twilio_port) as twilio_url, scratch_database() as database_url:
        public_url = f"http://127.0.0.1:{web_port}"
        env = {
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL,
            "TEND_SECRET_KEY": uuid.uuid4().hex * 2,
            "TEND_PUBLIC_URL": public_url,
            "TEND_PORT": str(web_port),
            "TEND_CLOCK_INTERVAL": "1",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": TEND_NUMBER,
            "TWILIO_API_BASE_URL": twilio_url,
        }
        podman = Podman(args.image, uuid.uuid4().hex[:6], env)
        try:
            journey(podman, Tend(public_url, twilio_url), steps)
        except (JourneyFailed, subprocess.SubprocessError) as error:
            for name in podman.started:
                print(f"----- logs of {name} -----\n{podman.logs(name)[-4000:]}", file=sys.stderr)
            print(f"image journey FAILED: {error}", file=sys.stderr)
            return 1
        finally:
            podman.remove_all()
            redis.Redis.from_url(REDIS_URL).flushdb()
    print(f"image journey: all {steps.count} steps ok in {time.monotonic() - steps.start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
