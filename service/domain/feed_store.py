"""Calendar feeds (SPEC §6): their tokens, and the read each calendar poll makes.

A feed's token is shown once and stored only as a digest; revoking deletes
the row, so the token is a 404 from the next poll on. What a feed shows is
service/domain/feed_content.py; when it must be rendered again,
service/domain/feed_changes.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import bindparam, delete, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from service.domain import accounts
from service.domain.db import HotReads
from service.domain.errors import Invalid, NotFound
from service.domain.models import Feed, FeedScope, Person
from service.domain.tokens import new_token, token_digest

SCOPES = tuple(FeedScope)
MAX_TOKEN_LENGTH = 200


def create_feed(
    session: Session, *, owner: Person, scope: str, circle_id: int | None, now: datetime, token: str | None = None
) -> tuple[Feed, str]:
    """A new feed and its token (a fresh random one unless given). Only the token's digest is stored:
    the token is shown once, by the caller."""
    if scope == FeedScope.CIRCLE:
        if circle_id is None:
            raise Invalid("A circle feed needs 'circle_id'.", "circle_id")
        accounts.circle_for(session, owner, circle_id)  # 404 unless an active member
    token, digest = new_token() if token is None else (token, token_digest(token))
    feed = Feed(
        person_id=owner.id,
        circle_id=circle_id if scope == FeedScope.CIRCLE else None,
        scope=scope,
        token_hash=digest,
        created_at=now,
    )
    session.add(feed)
    session.flush()
    return feed, token


def feed_of_token(session: Session, token: str) -> Feed | None:
    return session.scalar(select(Feed).where(Feed.token_hash == token_digest(token)))


def feeds_of(session: Session, owner_id: int) -> list[Feed]:
    return list(session.scalars(select(Feed).where(Feed.person_id == owner_id).order_by(Feed.id)))


def revoke_feed(session: Session, *, owner_id: int, feed_id: int) -> None:
    """Delete the feed: its token answers 404 from the next request on. Someone else's feed is a 404 too."""
    deleted = session.execute(delete(Feed).where(Feed.id == feed_id, Feed.person_id == owner_id))
    if cast(CursorResult[Any], deleted).rowcount == 0:
        raise NotFound("Feed")


# Built once: a poll should not pay for building its statement (a third of its cost, measured).
_PUBLISHED = select(Feed.id, Feed.etag, Feed.rendered_at).where(Feed.token_hash == bindparam("digest"))
_PUBLISHED_BODY = select(Feed.id, Feed.etag, Feed.rendered_at, Feed.body).where(Feed.id == bindparam("feed_id"))


def published(reads: HotReads, token: str) -> Any | None:
    """(id, etag, rendered_at) of the feed behind `token`: one indexed read of a few bytes, for every poll."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    return reads.first(_PUBLISHED, {"digest": token_digest(token)})


def published_body(reads: HotReads, feed_id: int) -> Any | None:
    """(id, etag, rendered_at, body) of a feed, read together so that they match."""
    return reads.first(_PUBLISHED_BODY, {"feed_id": feed_id})
