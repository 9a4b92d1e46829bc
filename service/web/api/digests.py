"""Weekly digests: the latest as JSON (`/api/v1/digests/latest`) and each as a phone-sized page (`/d/<token>`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import OneOf
from flask import render_template
from markupsafe import Markup

from service.core.digest_text import change_points, heatmap_svg, percent
from service.domain import agenda, digests
from service.domain.models import Digest, Person
from service.web.api.context import auth, me
from service.web.api.fields import UTCInstant
from service.web.context import now, runtime, session
from service.web.errors import not_found

bp = APIBlueprint("digests", __name__, tag="Digests")

KINDS = ("ritual", "promise")


class DigestSubjectOut(Schema):
    kind = fields.String(required=True, validate=OneOf(KINDS))
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    kept = fields.Integer(required=True)
    expected = fields.Integer(required=True, metadata={"description": "kept + missed (skips are not expected)"})
    days = fields.List(
        fields.String(allow_none=True),
        required=True,
        metadata={"description": "7 cells from week_start: kept, missed, skipped, pending or null"},
    )


class BestStreakOut(Schema):
    kind = fields.String(required=True, validate=OneOf(KINDS))
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    current_streak = fields.Integer(required=True)


class DigestOut(Schema):
    week_start = fields.String(required=True, metadata={"description": "local ISO date of the week's first day"})
    url = fields.String(required=True, metadata={"description": "the digest page"})
    created_at = UTCInstant(required=True)
    subjects = fields.List(fields.Nested(DigestSubjectOut), required=True)
    best_streak = fields.Nested(BestStreakOut, required=True, allow_none=True)
    reliability = fields.Float(required=True, allow_none=True, metadata={"description": "kept ÷ (kept + missed), 0..1"})
    reliability_change = fields.Float(required=True, allow_none=True, metadata={"description": "since last week"})


@bp.get("/api/v1/digests/latest")
@bp.auth_required(auth)
@bp.output(DigestOut)
@bp.doc(responses={404: "No digest yet"})
def latest() -> dict[str, Any]:
    """Your latest weekly digest: kept/expected per ritual and promise, best streak, reliability and its change."""
    digest = digests.latest_digest(session(), me().id)
    if digest is None:
        raise not_found("Digest")
    return digest_json(digest)


@bp.get("/d/<token>")
@bp.doc(hide=True)
def page(token: str) -> str:
    """The digest page linked from the SMS; the token in its URL is its only key."""
    digest = digests.digest_by_token(session(), token, now()) if len(token) <= 64 else None
    if digest is None:
        raise not_found("Digest")
    payload = digest.payload
    person = session().get_one(Person, digest.person_id)
    notes = agenda.notes_between(session(), person, digest.created_at - digests.WEEK, digest.created_at)
    return render_template(
        "digest.html",
        week_start=date.fromisoformat(payload["week_start"]),
        subjects=payload["subjects"],
        best_streak=payload["best_streak"],
        reliability=percent(payload["reliability"]),
        change=change_points(payload["reliability_change"]),
        heatmap=Markup(heatmap_svg(payload)),  # built with every title escaped
        notes=notes,  # read now, not stored: an erased partner's words leave with them
    )


def digest_json(digest: Digest) -> dict[str, Any]:
    return digest.payload | {
        "url": digests.page_url(runtime().config.public_url, digests.digest_token(digest, runtime().config.secret_key)),
        "created_at": digest.created_at,
    }
