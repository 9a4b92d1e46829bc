"""What every benchmark needs: a throwaway migrated PostgreSQL database, child processes, percentiles."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import psycopg

PG_ADMIN_URL = os.environ.get("TEND_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
RESULTS = Path(__file__).with_name("results")


@contextmanager
def temporary_database() -> Iterator[str]:
    """A fresh database at the latest migration, dropped afterwards; yields its SQLAlchemy URL."""
    from service.domain.migrate import upgrade

    name = f"tend_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Children:
    """Child processes in their own process groups, all killed on exit."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen] = []

    def start(self, args: Sequence[str], env: dict[str, str], **kwargs) -> subprocess.Popen:
        process = subprocess.Popen(list(args), env=env, start_new_session=True, **kwargs)
        self.processes.append(process)
        return process

    def stop(self, process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def __enter__(self) -> Children:
        # `timeout` and Ctrl-C end us with a signal: unwind so no child outlives the run
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            if process.poll() is None:
                self.stop(process)


def start_fake_twilio(children: Children) -> str:
    """The fake Twilio in its own process (so it does not share our GIL); returns its base URL."""
    process = children.start(
        [sys.executable, "-m", "tests.fake_twilio", "--port", "0"], os.environ.copy(), stdout=subprocess.PIPE, text=True
    )
    return process.stdout.readline().strip()


def wait_until(condition: Callable[[], bool], timeout: float, poll: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll)
    return condition()


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def save(name: str, result: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, default=str))
    return path
