"""A person's own data: all of it as JSON (`GET /api/v1/export`), or none of it (`DELETE /api/v1/me`)."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from service.domain import accounts, privacy
from service.web.api.context import auth, me
from service.web.context import commit, now, session

bp = APIBlueprint("privacy", __name__, url_prefix="/api/v1", tag="Your data")


@bp.get("/export")
@bp.auth_required(auth)
@bp.doc(responses={200: "Everything Tend keeps about you"})
def export() -> dict[str, Any]:
    """Everything Tend keeps about you: profile, circles you joined (with their rituals and promises),
    outcomes, check-ins, feeds, SMS and pauses. Circles you were only invited to are not yours to see."""
    return privacy.export(session(), me(), now())


@bp.delete("/me")
@bp.auth_required(auth)
@bp.output({}, status_code=204)
def erase_me() -> str:
    """Erase yourself: your data, your promises, and every circle you leave empty; the token stops working."""
    accounts.erase(session(), me())
    commit()
    return ""
