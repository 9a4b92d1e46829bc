"""The `tend` command (SPEC §9): up, web, worker, clock, db upgrade, demo, sms in, digest send, streaks recompute."""

from __future__ import annotations

import logging
import os
import sys
import threading
import uuid
from importlib.metadata import version
from typing import Any
from urllib.parse import urlsplit
from urllib.request import urlopen

import click
from gunicorn.app.base import BaseApplication

from service import config as config_module
from service.config import Config, ConfigError
from service.domain import accounts, conversation, streak_figures, texted_setup, unit_of_work
from service.domain.db import Database
from service.domain.errors import DomainError, Invalid
from service.domain.migrate import upgrade
from service.entry import logs
from service.entry.demo import create_demo
from service.entry.embedded import run_embedded
from service.entry.wiring import runtime_for
from service.web.app import create_app
from workers import clock as clock_module

log = logging.getLogger("tend")


def load_config(require_redis: bool = False, host: str = "127.0.0.1", port: int | None = None) -> Config:
    """Read and check the configuration; exit with one clear line if it is bad.

    HOST and PORT: where this command listens (the public URL's default follows them)."""
    try:
        config = config_module.load(host=host, port=port)
        if require_redis and config.redis_url is None:
            raise ConfigError("REDIS_URL", "required here (use `tend up` to run without Redis)")
        database = Database(config.database_url)
        try:
            database.check_reachable()
        finally:
            database.dispose()
    except ConfigError as exc:
        click.echo(f"tend: configuration error: {exc}", err=True)
        sys.exit(2)
    return config


@click.group()
@click.version_option(version("tend"), prog_name="tend")
@click.option("--log-level", default=logs.environment_level(), show_default=True)
def main(log_level: str) -> None:
    """Tend: reminders, check-ins, calendar feeds and streaks for partners."""
    logs.configure(log_level)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations up to REVISION (default: head)."""
    config = load_config()
    upgrade(config.database_url, revision)
    click.echo(f"database at {revision}")


@main.command()
@click.option(
    "--workers", "web_workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")), show_default=True
)
@click.option("--threads", type=int, default=4, show_default=True)
@click.option("--bind", default=None, help="HOST or HOST:PORT (default 0.0.0.0:$TEND_PORT)")
def web(web_workers: int, threads: int, bind: str | None) -> None:
    """Serve the HTTP API, webhooks, feeds and pages with gunicorn."""
    host, port = _host_port(bind or "0.0.0.0")
    config = load_config(host=host, port=port)

    class TendWeb(BaseApplication):  # gunicorn ships no types
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{config.port}")
            self.cfg.set("workers", web_workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", "-")
            self.cfg.set("logger_class", "service.entry.logs.GunicornLogger")

        def load(self) -> Any:  # in each worker, after the fork
            return create_app(runtime_for(config))

    TendWeb().run()


@main.command()
@click.option("--processes", type=int, default=2, show_default=True)
@click.option("--threads", type=int, default=8, show_default=True)
def worker(processes: int, threads: int) -> None:
    """Run Dramatiq workers for every actor (needs REDIS_URL)."""
    load_config(require_redis=True)
    args = [
        sys.executable,
        "-m",
        "dramatiq",
        "service.entry.worker_process",
        "--processes",
        str(processes),
        "--threads",
        str(threads),
    ]
    os.execv(sys.executable, args)


@main.command()
@click.option("--once", is_flag=True, help="Run a single tick and exit.")
def clock(once: bool) -> None:
    """Find due work and ring for it.

    Due work: reminders, closing occurrences, stale sends, feeds and digests."""
    runtime = runtime_for(load_config())
    if once:
        click.echo(clock_module.describe(clock_module.tick(runtime)))
        return
    clock_module.run_forever(runtime, threading.Event())


@main.command()
@click.option("--no-migrate", is_flag=True, help="Do not apply migrations first.")
@click.option("--bind", default="127.0.0.1", show_default=True, help="address to listen on: HOST or HOST:PORT")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="port (default $TEND_PORT, 8000)")
def up(no_migrate: bool, bind: str, port: int | None) -> None:
    """Web, worker threads and clock in one process.

    SQLite and console SMS by default; without TEND_PUBLIC_URL, links point where it listens."""
    host, bound_port = _host_port(bind)
    config = load_config(host=host, port=port or bound_port)
    if not no_migrate:
        upgrade(config.database_url)
    run_embedded(config, host=host)


def _host_port(bind: str) -> tuple[str, int | None]:
    """--bind HOST or HOST:PORT, as (host, port or None)."""
    host, _, bound_port = bind.rpartition(":") if bind.count(":") == 1 else (bind, "", "")
    if bound_port and not (bound_port.isdecimal() and 1 <= int(bound_port) <= 65535):
        raise click.BadParameter(f"expected HOST or HOST:PORT, got {bind!r}", param_hint="--bind")
    return host or bind, int(bound_port) if bound_port else None


@main.command()
def demo() -> None:
    """A demo circle: print its feed URL and the SMS it would send.

    Alex and Sam's circle with two rituals and a promise, made once and reused
    by later runs (the same feed URL each time)."""
    config = load_config()
    upgrade(config.database_url)
    try:
        lines = create_demo(config)
    except DomainError as refused:  # its people's numbers and names pass the rules of every door
        raise click.ClickException(refused.message) from None
    for line in lines:
        click.echo(line)
    if not answers(config.public_url):
        click.echo(
            f"tend demo: nothing answers at {config.public_url} yet: open these links while `tend up` runs "
            "with the same TEND_PORT (or TEND_PUBLIC_URL).",
            err=True,
        )


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def answers(public_url: str) -> bool:
    """Whether a Tend answers /healthz at `public_url`; asked only of this machine (a public URL elsewhere is taken
    on trust: no network beyond loopback)."""
    parts = urlsplit(public_url)
    if parts.hostname not in LOOPBACK:
        return True
    try:
        with urlopen(f"{public_url}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@main.group()
def sms() -> None:
    """SMS by hand, for trying Tend without Twilio."""


@sms.command("in")
@click.option("--from", "sender", required=True, help="the sender's number (e.g. +14155550123, or 415 555 0123)")
@click.argument("body")
def sms_in(sender: str, body: str) -> None:
    """Deliver an inbound SMS as if Twilio had, and print Tend's reply.

    BODY is any reply Tend reads: JOIN, YES, DONE 2, STOP, ...

    It goes through the same conversation code as the webhook; SMS it queues for
    others are sent by `tend up` (or the workers) on their next clock tick.
    """
    runtime = runtime_for(load_config())
    try:  # read as every door reads a number Tend texts (national format in the first SMS country)
        sender = accounts.destination(sender, runtime.config.sms_countries)
    except Invalid as refused:
        raise click.BadParameter(refused.message, param_hint="--from") from None
    inbound = conversation.Inbound(message_sid=f"CLI{uuid.uuid4().hex}", sender=sender, body=body)
    answer = unit_of_work.run(
        runtime.db,
        runtime.doorbell,
        lambda session: conversation.handle_inbound(
            session, inbound, runtime.now(), texted_setup.Links(runtime.config.public_url, runtime.config.sms_countries)
        ),
        what="inbound SMS from the command line",
    )
    click.echo(answer.reply or "(no reply)")


@main.group()
def digest() -> None:
    """Weekly digests."""


@digest.command("send")
@click.option("--now", "at_once", is_flag=True, required=True, help="send it now, not at the person's digest slot")
@click.argument("person")
def digest_send(at_once: bool, person: str) -> None:
    """Text PERSON a digest of their last 7 days now.

    PERSON is an id or an E.164 number; the digest is a preview of the weekly one."""
    from sqlalchemy import select

    from service.domain import digests
    from service.domain.models import Person

    config = load_config()
    runtime = runtime_for(config)

    def send(session: Any) -> str:
        column = Person.id if person.isdecimal() else Person.phone
        found = session.scalar(select(Person).where(column == (int(person) if person.isdecimal() else person)))
        if found is None:
            raise click.BadParameter("no such person (give an id or an E.164 number)", param_hint="PERSON")
        made = digests.send_sample(session, found, config.public_url, runtime.now(), secret=config.secret_key)
        return f"digest of the week from {made.week_start.isoformat()} queued for {found.name}"

    try:
        click.echo(unit_of_work.run(runtime.db, runtime.doorbell, send, what="digest sample from the command line"))
    finally:
        runtime.db.dispose()


@main.group()
def streaks() -> None:
    """Stored streak figures."""


@streaks.command("recompute")
def streaks_recompute() -> None:
    """Rebuild every stored streak figure from the full history.

    A repair: prints how many were wrong."""
    database = Database(load_config().database_url)
    with database.session() as session:
        keys = streak_figures.figure_keys(session)
    repaired = 0
    with click.progressbar(keys, label="Recomputing streak figures", show_pos=True) as progress:
        for key in progress:
            with database.session() as session:  # one short transaction per figure: live updates only wait briefly
                repaired += streak_figures.recompute_figure(session, key)
    database.dispose()
    click.echo(f"{len(keys)} streak figures recomputed, {repaired} repaired")


if __name__ == "__main__":
    main()
