"""The WSGI application of `tend web`: `gunicorn 'service.entry.wsgi:create_app()'`."""

from __future__ import annotations

from apiflask import APIFlask

from service import config as config_module
from service.entry.wiring import runtime_for
from service.web.app import create_app as create_web_app


def create_app() -> APIFlask:
    """The app with a runtime read from the environment (each gunicorn worker builds its own, after the fork)."""
    return create_web_app(runtime_for(config_module.load()))
