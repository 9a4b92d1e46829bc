"""The `tend` command (SPEC §9): up, web, worker, clock, db upgrade, demo."""

from __future__ import annotations

import logging
import os
import sys
import threading

import click

from service import config as config_module
from service.config import Config, ConfigError

log = logging.getLogger("tend")


def load_config(require_redis: bool = False) -> Config:
    """Read and check the configuration; exit with one clear line if it is bad."""
    try:
        config = config_module.load()
        if require_redis and config.redis_url is None:
            raise ConfigError("REDIS_URL", "required here (use `tend up` to run without Redis)")
        from service.db import Database

        Database(config.database_url).check_reachable()
    except ConfigError as exc:
        click.echo(f"tend: configuration error: {exc}", err=True)
        sys.exit(2)
    return config


@click.group()
@click.option("--log-level", default=os.environ.get("TEND_LOG_LEVEL", "INFO"), show_default=True)
def main(log_level: str) -> None:
    """Tend: reminders, check-ins, calendar feeds and streaks for partners."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations up to REVISION (default: head)."""
    config = load_config()
    from service.migrate import upgrade

    upgrade(config.database_url, revision)
    click.echo(f"database at {revision}")


@main.command()
@click.option("--workers", "web_workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")), show_default=True)
@click.option("--threads", type=int, default=4, show_default=True)
@click.option("--bind", default=None, help="host:port (default 0.0.0.0:$TEND_PORT)")
def web(web_workers: int, threads: int, bind: str | None) -> None:
    """Serve the HTTP API, webhooks and feeds with gunicorn."""
    from gunicorn.app.base import BaseApplication

    config = load_config()

    class TendWeb(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", bind or f"0.0.0.0:{config.port}")
            self.cfg.set("workers", web_workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", "-")

        def load(self):
            from service.app import create_app

            return create_app()

    TendWeb().run()


@main.command()
@click.option("--processes", type=int, default=2, show_default=True)
@click.option("--threads", type=int, default=8, show_default=True)
def worker(processes: int, threads: int) -> None:
    """Run Dramatiq workers (needs REDIS_URL)."""
    load_config(require_redis=True)
    args = [sys.executable, "-m", "dramatiq", "workers.actors", "--processes", str(processes), "--threads", str(threads)]
    os.execv(sys.executable, args)


@main.command()
@click.option("--once", is_flag=True, help="Run a single tick and exit.")
def clock(once: bool) -> None:
    """Find due work (reminders, closing occurrences, stale sends) and enqueue it; safe with many replicas."""
    from workers import clock as clock_module
    from workers.runtime import context

    load_config()
    ctx = context()
    if once:
        click.echo(clock_module.describe(clock_module.tick(ctx)))
        return
    clock_module.run_forever(ctx, threading.Event())


@main.command()
@click.option("--no-migrate", is_flag=True, help="Do not apply migrations first.")
def up(no_migrate: bool) -> None:
    """Web + worker threads + clock in one process (SQLite and console SMS by default)."""
    from service.embedded import run_embedded

    config = load_config()
    if not no_migrate:
        from service.migrate import upgrade

        upgrade(config.database_url)
    run_embedded(config)


@main.command()
def demo() -> None:
    """Create a demo circle with rituals and a promise; print its feed URL and the SMS it would send."""
    from service.demo import create_demo

    config = load_config()
    from service.migrate import upgrade

    upgrade(config.database_url)
    for line in create_demo(config):
        click.echo(line)


@main.group()
def streaks() -> None:
    """Stored streak figures."""


@streaks.command("recompute")
def streaks_recompute() -> None:
    """Rebuild every stored streak figure from the full history (repair); prints how many were wrong."""
    from service import streak_figures
    from service.db import Database

    database = Database(load_config().database_url)
    with database.session() as session:
        keys = streak_figures.figure_keys(session)
    repaired = 0
    with click.progressbar(keys, label="Recomputing streak figures", show_pos=True) as progress:
        for key in progress:
            with database.session() as session:  # one short transaction per figure: live updates only wait briefly
                repaired += streak_figures.recompute_figure(session, key)
    click.echo(f"{len(keys)} streak figures recomputed, {repaired} repaired")


if __name__ == "__main__":
    main()
