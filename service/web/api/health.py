"""Operations endpoints: liveness, readiness (database and broker) and Prometheus metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from apiflask import APIBlueprint
from flask import Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from service.web.context import runtime

log = logging.getLogger(__name__)

bp = APIBlueprint("health", __name__, tag="Operations")


@bp.get("/healthz")
@bp.doc(hide=True)
def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@bp.get("/readyz")
@bp.doc(hide=True)
def readyz() -> tuple[dict[str, Any], int]:
    """Which dependency is unreachable, by name only: the driver's error (hosts, users) goes to the log."""
    checks: dict[str, Callable[[], None]] = {"database": runtime().db.ping, "broker": runtime().doorbell.ping}
    failures = []
    for name, check in checks.items():
        try:
            check()
        except Exception:  # readiness reports any failure, whatever the driver raises
            log.warning("readiness: %s unreachable", name, exc_info=True)
            failures.append(name)
    status = 200 if not failures else 503
    return {"status": "ok" if not failures else "unavailable", "failures": failures}, status


@bp.get("/metrics")
@bp.doc(hide=True)
def metrics() -> Response:
    """Process metrics plus the outbox, windows and feeds as the database sees them."""
    registry = current_app.extensions["tend_metrics"]
    # CONTENT_TYPE_LATEST already names its charset; as `mimetype` Flask would add a second one.
    return Response(generate_latest(REGISTRY) + generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
