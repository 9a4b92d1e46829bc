"""Weekly digests: the latest as JSON (`/api/v1/digests/latest`) and each as a phone-sized page (`/d/<token>`)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import OneOf
from flask import render_template_string
from markupsafe import Markup

from service.core.digest_text import CELL_COLORS, CELL_LABELS, change_points, heatmap_svg, percent
from service.domain import digests
from service.domain.models import Digest
from service.web.api.context import auth, me, now, runtime, session
from service.web.api.fields import UTCInstant
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


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Tend: your week from {{ week_start }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 32rem; padding: 1rem; color: #222; }
h1 { font-size: 1.4rem; } ul { padding-left: 1.2rem; } li { margin: .3rem 0; }
.legend svg { vertical-align: middle; }
.legend { font-size: .85rem; color: #555; }
</style>
</head>
<body>
<h1>Your week from {{ week_start }}</h1>
<ul>
{% for subject in subjects %}<li>{{ subject.title }}: {{ subject.kept }}/{{ subject.expected }} kept</li>
{% else %}<li>Nothing was scheduled this week.</li>{% endfor %}
</ul>
{% if best_streak %}<p>Best streak: {{ best_streak.current_streak }} ({{ best_streak.title }})</p>{% endif %}
{% if reliability %}<p>Reliability: {{ reliability }}{% if change %} ({{ change }} points since last week){% endif %}</p>{% endif %}
{{ heatmap }}
<p class="legend">{% for state, color in legend %}<svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" rx="2" fill="{{ color }}"/></svg> {{ state }} {% endfor %}</p>
</body>
</html>
"""


def style_hashes() -> list[str]:
    """CSP hashes of the page's inline <style> (service/web/security.py allows exactly that one)."""
    style = PAGE.split("<style>", 1)[1].split("</style>", 1)[0]
    return ["sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()]


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
    return render_template_string(
        PAGE,
        week_start=payload["week_start"],
        subjects=payload["subjects"],
        best_streak=payload["best_streak"],
        reliability=percent(payload["reliability"]),
        change=change_points(payload["reliability_change"]),
        heatmap=Markup(heatmap_svg(payload)),  # built with every title escaped
        legend=[(CELL_LABELS[state], color) for state, color in CELL_COLORS.items()],
    )


def digest_json(digest: Digest) -> dict[str, Any]:
    return digest.payload | {
        "url": digests.page_url(runtime().config.public_url, digests.digest_token(digest, runtime().config.secret_key)),
        "created_at": digest.created_at,
    }
