"""Using the pages as a browser without JavaScript would: GET a form, post it back with its CSRF token."""

from __future__ import annotations

import re
from html import unescape

from tests.builders import code_texted_to

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return unescape(found[1] or found[2])


class Pages:
    """One person's browser on the Flask test client (its own cookie jar)."""

    def __init__(self, app, db) -> None:
        self.client = app.test_client()
        self.db = db

    def get(self, path: str, status: int = 200):
        response = self.client.get(path)
        assert response.status_code == status, (path, response.status_code, response.get_data(as_text=True)[:2000])
        return response

    def text(self, path: str) -> str:
        return self.get(path).get_data(as_text=True)

    def post(self, path: str, data: dict | None = None, form_page: str | None = None, follow: bool = False):
        """Post `data` with the CSRF token of `form_page` (default: the path itself, else /today)."""
        token = csrf_of(self.text(form_page or path))
        return self.client.post(path, data={"csrf_token": token, **(data or {})}, follow_redirects=follow)

    def sign_in(self, phone: str, name: str, timezone: str = "America/New_York"):
        answer = self.post("/signin", {"phone": phone})
        assert answer.status_code == 302, answer.get_data(as_text=True)
        code = code_texted_to(self.db, phone)
        done = self.post("/signin/code", {"code": code, "name": name, "timezone": timezone})
        assert done.status_code == 302, done.get_data(as_text=True)
        return done
