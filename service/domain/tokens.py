"""Bearer, feed and digest tokens: 256-bit random, stored only as SHA-256 digests."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> tuple[str, str]:
    """A fresh (token, digest) pair; the token is shown once, the digest is stored."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
