"""The pages' blueprint, its CSRF guard, and the helpers every page view uses."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, HTTPError
from flask import flash, render_template, request
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError, CSRFProtect
from wtforms import Field

from service.domain.errors import DomainError
from service.web.errors import DOMAIN_STATUS

# An APIFlask blueprint (the app is APIFlask's), kept out of the OpenAPI document: pages are not the API.
bp = APIBlueprint(
    "pages",
    __name__,
    template_folder="../templates",
    static_folder="../static",
    static_url_path="/assets",  # the app's own /static is Flask's default, and answers 404
    enable_openapi=False,
)
csrf = CSRFProtect()


@bp.before_request
def _check_csrf() -> None:
    """Every POST to a page carries the session's CSRF token (a form field, or the X-CSRFToken header)."""
    csrf.protect()


@bp.after_request
def _private(response: Any) -> Any:
    """Pages show a person's own data: never stored by a cache on the way."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    from service.web.pages.auth import signed_in

    return render_template(template, nav_signed_in=signed_in() is not None, **context), status


def show_error(form: FlaskForm, error: DomainError, fields: dict[str, str] | None = None) -> None:
    """Put a domain refusal beside the field it names (or at the top of the form), once, for every form.

    `fields` maps the domain's field names to the form's where they differ (e.g. starts -> start_date).
    """
    name = (fields or {}).get(error.field or "", error.field or "")
    field: Field | None = form._fields.get(name) if name else None
    if field is not None:
        field.errors = [*field.errors, error.message] if isinstance(field.errors, list) else [error.message]
    else:
        form.form_errors.append(error.message)


def confirmed() -> bool:
    """Whether a destructive button's "Yes, ..." box was ticked (see `button` in _forms.html); flashes why not."""
    if request.form.get("confirm") == "yes":
        return True
    flash("Nothing was changed: tick the box to confirm first.", "error")
    return False


@bp.errorhandler(DomainError)
def _refused(error: DomainError) -> tuple[str, int]:
    """A refusal outside any form (an id that is not theirs, a button pressed twice): a page saying so."""
    status = next((status for kind, status in DOMAIN_STATUS if isinstance(error, kind)), 400)
    return page("error.html", status, message=error.message)


@bp.errorhandler(CSRFError)
def _no_csrf(error: CSRFError) -> tuple[str, int]:
    return page(
        "error.html", 400, message="This form has expired or did not come from Tend. Go back, reload and try again."
    )


# What a page says for an HTTP error (the API's JSON envelope is for the API).
PAGE_ERRORS = {
    400: "That request was not understood. Go back, reload and try again.",
    404: "There is nothing here.",
    405: "That cannot be done here. Go back and try again.",
    413: "That was too long to take.",
    429: "Too many tries from here. Wait a few minutes, then try again.",
}
FAILED = "Something went wrong on our side. Nothing you did; please try again."

# The machine doors: their errors are JSON, whatever the client accepts.
MACHINE_PATHS = ("/api/", "/webhooks/", "/feeds/", "/openapi.json", "/healthz", "/readyz", "/metrics")


def wants_page() -> bool:
    """Whether this request's error is Tend's HTML page (SPEC §11): any path but the machine doors', from a
    client that does not ask for JSON alone. Decided by path, so it holds for errors found before a URL
    matched a view (an unknown path, a wrong method) as for those a view raised."""
    if request.path.startswith(MACHINE_PATHS) or request.path == "/api":
        return False
    return request.accept_mimetypes.best_match(("text/html", "application/json"), "text/html") == "text/html"


def error_page(error: HTTPError) -> tuple[str, int, list[tuple[str, Any]]]:
    """Tend's page for an HTTP error, its headers (Allow, Retry-After) kept.

    A failure (5xx) says nothing of its cause (Flask has logged it) and asks
    the database nothing (that may be what failed): it shows the signed-out header.
    """
    status = error.status_code
    headers = [(name, value) for name, value in (error.headers or {}).items() if name.lower() != "content-type"]
    if status >= 500:
        return render_template("error.html", nav_signed_in=False, message=FAILED), status, headers
    html, status = page(
        "error.html", status, message=PAGE_ERRORS.get(status, "That did not work. Go back and try again.")
    )
    return html, status, headers
