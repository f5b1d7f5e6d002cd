"""Chat reads: messages as a channel view shows them, history by page, catch-up, search.

Access is `app.services.comms.chat_access.access_channel`, checked on every call. A message
is shown escaped: the page renders it as text and turns only http(s) URLs into links
(`split_links`). After each change a tab is told `{"message_id", "kind"}` on the channel's
topic and reads what changed with `since`, which a reconnecting tab also uses to catch up
from the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col

from app.models.base import as_utc
from app.models.chat import ChatMessage
from app.services.comms import chat_access, chat_list
from app.services.core.errors import ValidationFailed
from app.services.core.tenancy import OrgContext, count_rows, scoped

PAGE_SIZE = 30
SINCE_LIMIT = 500
# A catch-up read starts this much before the last message a tab saw: a message committed
# late with an earlier timestamp is still found (the tab drops the ones it has by id).
SINCE_OVERLAP = timedelta(seconds=10)


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class MessageRow:
    """A message as the channel view shows it (deleted ones keep their place, no text)."""

    id: str
    channel_id: str
    user_id: str
    author: str
    body: str
    created: datetime
    edited: bool
    deleted: bool
    mine: bool
    mentions_me: bool
    changed: datetime  # the latest of created, edited and deleted


def message_rows(
    session: Session, ctx: OrgContext, messages: list[ChatMessage]
) -> list[MessageRow]:
    """`messages` as the channel view shows them, each with its author's name."""
    names = chat_list.user_names(session, {m.user_id for m in messages})
    me = str(ctx.user_id)
    out = []
    for m in messages:
        stamps = [as_utc(t) for t in (m.created, m.edited_at, m.deleted_at) if t is not None]
        out.append(
            MessageRow(
                id=str(m.id),
                channel_id=str(m.channel_id),
                user_id=str(m.user_id),
                author=names.get(m.user_id, "Someone"),
                body="" if m.deleted_at is not None else m.body,
                created=as_utc(m.created),
                edited=m.edited_at is not None,
                deleted=m.deleted_at is not None,
                mine=m.user_id == ctx.user_id,
                mentions_me=me in (m.mentions or []),
                changed=max(stamps),
            )
        )
    return out


def message_row(session: Session, ctx: OrgContext, message: ChatMessage) -> MessageRow:
    """One message as the channel view shows it."""
    return message_rows(session, ctx, [message])[0]


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class MessagePage:
    """A page of history, oldest first, and the cursor for the page before it."""

    rows: list[MessageRow]
    has_more: bool
    before: str  # pass back as `before` to load earlier messages ("" when none)


def _cursor(message: ChatMessage) -> str:
    return f"{as_utc(message.created).isoformat()}|{message.id}"


def _parse_cursor(before: str) -> tuple[datetime, uuid.UUID] | None:
    if not before:
        return None
    try:
        stamp, key = before.split("|", 1)
        return as_utc(datetime.fromisoformat(stamp)), uuid.UUID(key)
    except ValueError as exc:
        raise ValidationFailed("Invalid history position.") from exc


def history(
    session: Session,
    ctx: OrgContext,
    *,
    channel_id: uuid.UUID | str,
    before: str = "",
    limit: int = PAGE_SIZE,
) -> MessagePage:
    """The newest `limit` messages before the cursor (the newest of all without one),
    returned oldest first, for scrolling up."""
    acc = chat_access.access_channel(session, ctx, channel_id)
    channel = acc.channel
    limit = max(1, min(limit, 100))
    stmt = scoped(ctx, ChatMessage, org_ids=[channel.org_id]).where(
        ChatMessage.channel_id == channel.id
    )
    cursor = _parse_cursor(before)
    if cursor is not None:
        stamp, key = cursor
        stmt = stmt.where(
            or_(
                col(ChatMessage.created) < stamp,
                and_(col(ChatMessage.created) == stamp, col(ChatMessage.id) < key),
            )
        )
    found = list(
        session.exec(
            stmt.order_by(col(ChatMessage.created).desc(), col(ChatMessage.id).desc()).limit(
                limit + 1
            )
        ).all()
    )
    has_more = len(found) > limit
    page = list(reversed(found[:limit]))
    return MessagePage(
        rows=message_rows(session, ctx, page),
        has_more=has_more,
        before=_cursor(page[0]) if page and has_more else "",
    )


def since(
    session: Session, ctx: OrgContext, *, channel_id: uuid.UUID | str, after: datetime | None
) -> list[MessageRow]:
    """Messages of the channel posted, edited or deleted since `after` (with a small
    overlap), oldest first: what a tab that was told of a change, or that reconnected,
    merges into what it shows (by id, so nothing appears twice)."""
    acc = chat_access.access_channel(session, ctx, channel_id)
    channel = acc.channel
    stmt = scoped(ctx, ChatMessage, org_ids=[channel.org_id]).where(
        ChatMessage.channel_id == channel.id
    )
    if after is not None:
        start = as_utc(after) - SINCE_OVERLAP
        stmt = stmt.where(
            or_(
                col(ChatMessage.created) >= start,
                col(ChatMessage.edited_at) >= start,
                col(ChatMessage.deleted_at) >= start,
            )
        )
    found = session.exec(
        stmt.order_by(col(ChatMessage.created).desc(), col(ChatMessage.id).desc()).limit(
            SINCE_LIMIT
        )
    ).all()
    return message_rows(session, ctx, list(reversed(found)))


@dataclass(frozen=True)
class SearchHit:
    """A message found by search, with where it is."""

    message: MessageRow
    channel_id: str
    channel_name: str


@dataclass(frozen=True)
class SearchPage:
    """A page of search results, newest first."""

    rows: list[SearchHit]
    total: int
    page: int
    page_size: int


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_messages(
    session: Session,
    ctx: OrgContext,
    *,
    query: str,
    channel_id: uuid.UUID | str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> SearchPage:
    """Messages containing `query` (case-insensitive) in the channels the context may read
    (or in one of them), newest first, a page at a time."""
    chat_access.require_chat(session, ctx)
    text = query.strip().lower()
    if len(text) < 2:
        raise ValidationFailed("Search for at least 2 characters.", field="query")
    if len(text) > 200:
        raise ValidationFailed("Search for at most 200 characters.", field="query")
    if channel_id:
        channels = [
            chat_access.access_channel(session, ctx, channel_id, check_feature=False).channel
        ]
    else:
        channels = chat_list.visible_channels(session, ctx)
        seen = {c.id for c in channels}
        for row in chat_list.browse_interest_channels(session, ctx):
            if uuid.UUID(row.id) not in seen:
                channels.append(
                    chat_access.access_channel(session, ctx, row.id, check_feature=False).channel
                )
    by_id = {c.id: c for c in channels}
    assert ctx.org_id is not None
    stmt = scoped(ctx, ChatMessage, org_ids=[ctx.org_id]).where(
        col(ChatMessage.channel_id).in_(list(by_id)),
        col(ChatMessage.deleted_at).is_(None),
        func.lower(ChatMessage.body).like(_like(text), escape="\\"),
    )
    total = count_rows(session, stmt)
    page = max(page, 1)
    page_size = max(1, min(page_size, 50))
    found = session.exec(
        stmt.order_by(col(ChatMessage.created).desc(), col(ChatMessage.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    names = {cid: chat_list.display_name(session, ctx, c) for cid, c in by_id.items()}
    rows = message_rows(session, ctx, list(found))
    return SearchPage(
        rows=[
            SearchHit(
                message=r,
                channel_id=r.channel_id,
                channel_name=names.get(uuid.UUID(r.channel_id), ""),
            )
            for r in rows
        ],
        total=total,
        page=page,
        page_size=page_size,
    )
