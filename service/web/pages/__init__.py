"""Web pages for couples (SPEC §11): server-rendered Jinja templates over the same domain functions as the API.

`install` registers the pages' blueprint on the app and turns on what pages
need and the JSON API does not: a signing key for the cookie session, CSRF on
every POST of a page (Flask-WTF), and the session cookie's flags. Views live
in the modules of this package; templates in service/web/templates, the
stylesheet and the progressive-enhancement script in service/web/static.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from service.domain.runtime import Runtime
from service.web.pages import account, calendar, circles, schedules, settings, today  # noqa: F401  (routes)
from service.web.pages.blueprint import bp, csrf

SESSION_DAYS = 30


def install(app: Flask, runtime: Runtime) -> None:
    config = runtime.config
    app.config.update(
        SECRET_KEY=config.secret_key,
        SESSION_COOKIE_NAME="tend_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.public_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(days=SESSION_DAYS),
        SESSION_REFRESH_EACH_REQUEST=True,  # sliding: every page seen re-signs the cookie for 30 more days
        WTF_CSRF_CHECK_DEFAULT=False,  # the pages' blueprint checks its own POSTs; the API and webhooks have none
        WTF_CSRF_TIME_LIMIT=None,  # the token is bound to the session, which expires on its own
        # Pages send no Referer (Referrer-Policy: no-referrer), so the token and SameSite=Lax do the work alone.
        WTF_CSRF_SSL_STRICT=False,
    )
    app.jinja_env.add_extension("jinja2.ext.do")
    csrf.init_app(app)
    app.register_blueprint(bp)
