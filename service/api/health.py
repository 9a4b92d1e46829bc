"""Operations endpoints: liveness, readiness (database and broker) and Prometheus metrics."""

from __future__ import annotations

from typing import Any, Callable

from apiflask import APIBlueprint
from flask import Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.api.context import runtime

bp = APIBlueprint("health", __name__, tag="Operations")


@bp.get("/healthz")
@bp.doc(hide=True)
def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@bp.get("/readyz")
@bp.doc(hide=True)
def readyz() -> tuple[dict[str, Any], int]:
    checks: dict[str, Callable[[], None]] = {"database": runtime().db.ping}
    broker_ping = current_app.extensions.get("tend_broker_ping")
    if broker_ping is not None:
        checks["broker"] = broker_ping
    failures = {}
    for name, check in checks.items():
        try:
            check()
        except Exception as exc:  # readiness reports any failure, whatever the driver raises
            failures[name] = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    status = 200 if not failures else 503
    return {"status": "ok" if not failures else "unavailable", "failures": failures}, status


@bp.get("/metrics")
@bp.doc(hide=True)
def metrics() -> Response:
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
