"""A live Tend on loopback and headless Chromium (Debian's chromium + chromium-driver) driven by Selenium.

The server runs the test runtime (movable clock, recording doorbell, fake
Twilio) in a thread, with TEND_PUBLIC_URL set to its own address so links and
webhook signatures point at it. The browser is phone-sized by mobile emulation
(390x844; headless windows cannot be narrower than about 500 px), in New York's
zone, and logs every network request so tests can check none leaves the origin.
Screenshots go to var/test-artifacts/pages/ (or $TEND_TEST_ARTIFACTS).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from service.web.app import create_app
from tests.pages.browser import Browser, chromium_available, make_driver


class LiveServer:
    def __init__(self, runtime) -> None:
        self.server = make_server("127.0.0.1", 0, self._dispatch, threaded=True)
        self.server.daemon_threads = False  # server_close waits for requests still being answered (a live
        # preview's fetch), so that none reads the database after the test disposed of it
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        runtime.config = dataclasses.replace(runtime.config, public_url=self.url)
        self.app = create_app(runtime)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _dispatch(self, environ, start_response):
        return self.app(environ, start_response)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(5)
        self.server.server_close()


@pytest.fixture
def live(sms, runtime) -> Iterator[LiveServer]:
    """Tend on loopback; `sms` first, so the runtime already talks to the fake Twilio."""
    with LiveServer(runtime) as server:
        yield server
    runtime.db.dispose()


@pytest.fixture(params=[True, False], ids=["js", "no-js"])
def browser(request) -> Iterator[Browser]:
    if not chromium_available():
        pytest.fail("chromium and chromium-driver are needed: `make test` installs them (apt-get)")
    driver = make_driver(javascript=request.param)
    try:
        yield Browser(driver, javascript=request.param, name=request.node.name)
    finally:
        driver.quit()
