"""Per-request access for every door of the web app (API, pages, webhooks): the runtime, `now`, the session, commit."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, g
from sqlalchemy.orm import Session

from service.domain import unit_of_work
from service.domain.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["tend"]


def now() -> datetime:
    return runtime().now()


def session() -> Session:
    """One session per request, committed by the view via `commit()` and closed at teardown."""
    if "db_session" not in g:
        g.db_session = runtime().db.sessions()
    return g.db_session


def commit() -> None:
    """Commit, then ring the doorbell for any SMS queued and any feed marked dirty in this request."""
    unit_of_work.commit_and_ring(session(), runtime().doorbell)


def close_session(_exc: BaseException | None = None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()
