"""Security headers on every answer.

Headers are added by a WSGI middleware around the whole app, so the feed
fast path (service/web/api/feeds.py), errors and Flask's own answers get them
too: `nosniff`, no framing, no referrer, a CSP of `default-src 'none'` for
anything but a page, a strict self-only CSP for pages, and `no-store` on the
JSON API and the private pages (digests) unless the answer set its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# Pages are self-only; the digest page's inline <style> is allowed by the exact hash of its text.
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' {styles}; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
COMMON = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)
PRIVATE_PREFIXES = ("/api/v1", "/d/")


class SecurityHeaders:
    """WSGI middleware: adds the headers above to every answer that lacks them."""

    def __init__(self, app: Callable[..., Iterable[bytes]], style_hashes: Iterable[str] = ()) -> None:
        self.app = app
        styles = " ".join(f"'{h}'" for h in style_hashes)
        self.page_csp = PAGE_CSP.format(styles=styles).replace("  ", " ")

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        private = environ.get("PATH_INFO", "").startswith(PRIVATE_PREFIXES)

        def with_headers(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {name.lower() for name, _ in headers}
            content_type = next((v for n, v in headers if n.lower() == "content-type"), "")
            extra = [(n, v) for n, v in COMMON if n.lower() not in present]
            if "content-security-policy" not in present:
                csp = self.page_csp if content_type.startswith("text/html") else API_CSP
                extra.append(("Content-Security-Policy", csp))
            if private and "cache-control" not in present:
                extra.append(("Cache-Control", "no-store"))
            return (
                start_response(status, headers + extra, exc_info)
                if exc_info
                else start_response(status, headers + extra)
            )

        return self.app(environ, with_headers)
