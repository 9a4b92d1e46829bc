"""What every benchmark needs: a throwaway migrated PostgreSQL database, child processes, percentiles, and for
the HTTP benchmarks an app served by gunicorn and keep-alive clients loading it."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import psycopg

PG_ADMIN_URL = os.environ.get("TEND_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
RESULTS = Path(__file__).with_name("results")
REPO = Path(__file__).resolve().parent.parent
# Tend's app and each benchmark's floor are served with the same settings.
GUNICORN = ["--workers", "2", "--worker-class", "gthread", "--threads", "4", "--log-level", "warning"]
CLIENTS = 8  # keep-alive connections of a closed-loop load


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(connection: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> bytes:
    """One GET on a kept-alive connection; anything but 200 is an error."""
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"{path} answered {response.status}: {body[:200]!r}")
    return body


def serve(children: Children, app: str, path: str, env: dict[str, str], headers: dict[str, str] | None = None) -> int:
    """Start gunicorn serving `app` (GUNICORN settings); returns its port once `path` answers 200."""
    port = free_port()
    children.start([sys.executable, "-m", "gunicorn", *GUNICORN, "--bind", f"127.0.0.1:{port}", app], env=env, cwd=REPO)

    def up() -> bool:
        try:
            get(http.client.HTTPConnection("127.0.0.1", port, timeout=2), path, headers or {})
            return True
        except (OSError, RuntimeError):
            return False

    if not wait_until(up, timeout=30):
        raise RuntimeError(f"{app} did not come up")
    return port


def closed_loop(port: int, path: str, headers: dict[str, str], requests: int) -> float:
    """Requests per second of CLIENTS keep-alive clients sending `requests` GETs in all; all must answer 200."""
    per_client = requests // CLIENTS
    errors: list[BaseException] = []

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            for _ in range(per_client):
                get(connection, path, headers)
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(errors[0])
    return per_client * CLIENTS / (time.perf_counter() - started)


Target = tuple[int, str, dict[str, str]]  # port, path, request headers


def best_rates(targets: dict[str, Target], warm_up: int, requests: int, rounds: int) -> dict[str, float]:
    """Best closed-loop requests/s of each target over `rounds`, taking turns so that all see the same machine."""
    for port, path, headers in targets.values():
        closed_loop(port, path, headers, warm_up)
    best = dict.fromkeys(targets, 0.0)
    for _ in range(rounds):
        for name, (port, path, headers) in targets.items():
            best[name] = max(best[name], closed_loop(port, path, headers, requests))
    return best
