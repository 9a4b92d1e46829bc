"""Logging of `tend` processes: one format, quiet libraries, and no secrets in access logs.

Feed and digest URLs carry their only key in the path, so access logs (the
embedded server's and gunicorn's) write them masked: `/feeds/***.ics`,
`/d/***`. Access lines are plain text, never ANSI-coloured, whatever the
output is. No log line carries a full phone number: the engine hides SQL
parameters, and every line (tracebacks included: PostgreSQL names a
conflicting key's value) is written with numbers masked (`+1********88`).
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from gunicorn.glogging import Logger
from werkzeug.serving import WSGIRequestHandler

from service.core.phones import masked

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that narrate their own set-up at INFO on every start.
QUIET = ("alembic.runtime.plugins", "alembic.runtime.migration", "twilio.http_client")
_SECRET_PATHS = re.compile(r"/(feeds|d)/[^/?\s]+?(\.ics)?(?=[?\s]|$)")
_NUMBERS = re.compile(r"\+\d{7,15}\b")


class NumberMaskingFormatter(logging.Formatter):
    """The usual line, with every E.164 number in it (message and traceback) masked."""

    def format(self, record: logging.LogRecord) -> str:
        return _NUMBERS.sub(lambda found: masked(found[0]), super().format(record))


def environment_level() -> str:
    """TEND_LOG_LEVEL, INFO when unset."""
    return os.environ.get("TEND_LOG_LEVEL", "INFO")


def configure(level: str) -> None:
    """Tend's level and format on the root logger, also over handlers set before (the Dramatiq CLI's)."""
    logging.basicConfig(level=level.upper(), format=FORMAT)
    logging.getLogger().setLevel(level.upper())
    for handler in logging.getLogger().handlers:
        handler.setFormatter(NumberMaskingFormatter(FORMAT))
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))


def mask_secrets(text: str) -> str:
    """The text with the token of every feed or digest path replaced by `***`."""
    return _SECRET_PATHS.sub(lambda m: f"/{m[1]}/***{m[2] or ''}", text)


class QuietRequestHandler(WSGIRequestHandler):
    """The embedded server's access log: plain, one line per request, tokens masked."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        line = mask_secrets(f"{self.command} {getattr(self, 'path', '')} {self.request_version}")
        self.log("info", '"%s" %s %s', line, code, size)


class GunicornLogger(Logger):  # gunicorn ships no types: Logger is Any to mypy
    """gunicorn's logger with the request line and path of secret URLs masked."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U"):
            if isinstance(atoms.get(key), str):
                atoms[key] = mask_secrets(atoms[key])
        return atoms
