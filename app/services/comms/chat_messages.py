"""Chat messages: post, edit, delete, moderate, read by page, catch up, search.

Rules (access itself is `app.services.comms.chat_access.access_channel`, checked on every call):

* A message is plain text, 1 to 4,000 characters after trimming; it is stored verbatim and
  shown escaped (the page renders it as text and turns only http(s) URLs into links).
* A send may carry a `client_key` (the browser's id for that send): a retried send returns
  the first message instead of storing a second.
* Posting needs write access: not archived, joined (interest, event and direct channels),
  not muted by a moderator, and within the flood limit (`RATE_COUNT` messages per
  `RATE_SECONDS` per person, shared by every worker through `app.services.infra.ratelimit`).
* Authors edit and delete their own messages; moderators (`chat_access.is_moderator`) delete
  anyone's and mute members of a channel for a number of minutes. Deleting keeps the row
  (who, when) and drops the text. Moderation is audited.
* `@name` or `@emaillocalpart` mentions people who may read the channel; each is notified
  once per message (`chat.mention`).
* After commit each change is published on the channel's topic as
  `{"message_id", "kind": "new" | "edit" | "delete"}`; a tab then reads what changed with
  `since`, which a reconnecting tab also uses to catch up from the database.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import and_, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.models.base import as_utc, utcnow
from app.models.chat import ChannelKind, ChatChannel, ChatMember, ChatMessage
from app.models.user import Membership, User
from app.services.comms import chat_access, chat_channels, chat_list, notifications
from app.services.core import audit, topics
from app.services.core.authz import moderates
from app.services.core.errors import (
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)
from app.services.core.tenancy import OrgContext, count_rows, parse_id, scoped
from app.services.infra import ratelimit
from app.services.infra.broker import publish_after_commit

MAX_BODY = 4000
MAX_CLIENT_KEY = 64
MAX_MENTIONS = 20
MAX_MUTE_MINUTES = 7 * 24 * 60
RATE_COUNT = 10
RATE_SECONDS = 10
PAGE_SIZE = 30
SINCE_LIMIT = 500
# A catch-up read starts this much before the last message a tab saw: a message committed
# late with an earlier timestamp is still found (the tab drops the ones it has by id).
SINCE_OVERLAP = timedelta(seconds=10)
MENTION = re.compile(r"(?<![\w@.])@([\w][\w.+'-]*)")
URL = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
TRAILING = ".,;:!?)]}*_"


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


def _rows(session: Session, ctx: OrgContext, messages: list[ChatMessage]) -> list[MessageRow]:
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


def _row(session: Session, ctx: OrgContext, message: ChatMessage) -> MessageRow:
    return _rows(session, ctx, [message])[0]


def split_links(body: str) -> list[tuple[str, str]]:
    """`body` as (text, href) parts, href "" for plain text: only http(s) URLs become links,
    trailing punctuation stays text. The page shows every part as text (never as HTML)."""
    parts: list[tuple[str, str]] = []
    pos = 0
    for match in URL.finditer(body):
        url = match.group(0).rstrip(TRAILING)
        start, end = match.start(), match.start() + len(url)
        parsed = urlsplit(url)
        if parsed.scheme.lower() not in ("http", "https") or not parsed.netloc:
            continue
        if start > pos:
            parts.append((body[pos:start], ""))
        parts.append((url, url))
        pos = end
    if pos < len(body):
        parts.append((body[pos:], ""))
    return parts


# --------------------------------------------------------------------------- checks


def check_body(body: str) -> str:
    """The message text to store: trimmed, 1..MAX_BODY characters (NUL bytes dropped)."""
    text = (body or "").replace("\x00", "").strip()
    # Only spaces and invisible format characters (zero-width space, joiners, BOM): nothing
    # anyone would see in the bubble.
    if not any(not c.isspace() and unicodedata.category(c) not in ("Cf", "Cc") for c in text):
        raise ValidationFailed("Write a message first.", field="body")
    if len(text) > MAX_BODY:
        raise ValidationFailed(
            f"Messages can be at most {MAX_BODY:,} characters; this one has {len(text):,}.",
            field="body",
        )
    return text


def _client_key(ctx: OrgContext, channel: ChatChannel, client_key: str | None) -> str | None:
    """The stored form of a send's key: unique per person and channel, fixed length."""
    if client_key is None or client_key == "":
        return None
    if len(client_key) > MAX_CLIENT_KEY:
        raise ValidationFailed("Invalid send id.", field="client_key")
    raw = f"{ctx.user_id}:{channel.id}:{client_key}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _check_not_muted(member: ChatMember | None) -> None:
    if member is None or member.muted_until is None:
        return
    until = as_utc(member.muted_until)
    if until > utcnow():
        raise PermissionDenied(
            f"A moderator muted you in this channel until {until:%Y-%m-%d %H:%M} UTC."
        )


def _check_rate(ctx: OrgContext) -> None:
    """Count one send against the person's flood window; refuse with the wait when full."""
    item = ratelimit.window(RATE_COUNT, RATE_SECONDS)
    limiter = ratelimit.limiter()
    key = ("chat-post", str(ctx.user_id))
    if limiter.hit(item, *key):
        return
    reset, _remaining = limiter.get_window_stats(item, *key)
    wait = max(1, math.ceil(reset - time.time()))
    unit = "second" if wait == 1 else "seconds"
    raise RateLimited(f"You are sending messages too fast; try again in {wait} {unit}.")


def _check_direct_partner(session: Session, ctx: OrgContext, channel: ChatChannel) -> None:
    """A direct message needs the other person to still be an active member."""
    if channel.kind != ChannelKind.direct:
        return
    others = session.exec(
        scoped(ctx, ChatMember, org_ids=[channel.org_id]).where(
            ChatMember.channel_id == channel.id, ChatMember.user_id != ctx.user_id
        )
    ).all()
    if not others or not all(
        chat_access.active_role(session, ctx, channel.org_id, m.user_id) for m in others
    ):
        raise PermissionDenied("This person is no longer a member of the organization.")


def _message(session: Session, ctx: OrgContext, message_id: uuid.UUID | str) -> ChatMessage:
    key = parse_id(message_id)
    org_ids = [ctx.org_id] if ctx.org_id else []
    row = session.exec(
        scoped(ctx, ChatMessage, org_ids=org_ids).where(ChatMessage.id == key)
    ).first()
    if row is None:
        raise NotFound()
    return row


# --------------------------------------------------------------------------- mentions


def resolve_mentions(
    session: Session, ctx: OrgContext, channel: ChatChannel, body: str
) -> list[str]:
    """User ids named in `body` by `@Full Name` or `@emaillocalpart` who may read the
    channel (not the author), in order of appearance, at most `MAX_MENTIONS`."""
    found: list[str] = []
    lower = body.lower()
    for match in MENTION.finditer(body):
        if len(found) >= MAX_MENTIONS:
            break
        word = match.group(1).rstrip(".'-+").lower()
        if not word:
            continue
        rest = lower[match.start() + 1 :]
        like = f"{word}%"
        candidates = session.execute(
            scoped(ctx, Membership, org_ids=[channel.org_id])
            .join(User, col(User.id) == col(Membership.user_id))
            .where(
                col(Membership.is_active),
                col(User.is_active),
                or_(func.lower(User.full_name).like(like), func.lower(User.email).like(like)),
            )
            .add_columns(User)
            .limit(50)
        ).all()
        best: tuple[int, Membership, User] | None = None
        for membership, user in candidates:
            for option in (user.full_name.lower(), user.email.split("@")[0].lower()):
                if not option or not rest.startswith(option):
                    continue
                after = rest[len(option) : len(option) + 1]
                if after and (after.isalnum() or after == "_"):
                    continue
                if best is None or len(option) > best[0]:
                    best = (len(option), membership, user)
        if best is None:
            continue
        _, membership, user = best
        uid = str(user.id)
        if user.id == ctx.user_id or uid in found:
            continue
        if chat_access.may_see(session, ctx, channel, user_id=user.id, role=membership.role):
            found.append(uid)
    return found


def _notify_mentions(
    session: Session,
    ctx: OrgContext,
    channel: ChatChannel,
    message: ChatMessage,
    user_ids: list[str],
) -> None:
    if not user_ids:
        return
    where = chat_list.display_name(session, ctx, channel)
    if channel.kind == ChannelKind.direct:
        where = "a direct message"
    for uid in user_ids:
        notifications.notify(
            session,
            org_id=channel.org_id,
            user_id=uuid.UUID(uid),
            kind="chat.mention",
            title=f"{ctx.full_name} mentioned you in {where}",
            body=message.body[:200],
            link=f"/chat/{channel.id}",
            dedupe_key=f"chat.mention:{message.id}:{uid}",
        )


# --------------------------------------------------------------------------- writing


def _publish(session: Session, message: ChatMessage, kind: topics.ChannelChange) -> None:
    publish_after_commit(
        session,
        topics.CHANNEL.name(org=message.org_id, channel=message.channel_id),
        topics.ChannelChanged(kind=kind, message_id=str(message.id)),
    )


def post_message(
    session: Session,
    ctx: OrgContext,
    *,
    channel_id: uuid.UUID | str,
    body: str,
    client_key: str | None = None,
) -> MessageRow:
    """Post `body` to a channel the context may write to. With `client_key`, a repeat of
    the same send returns the first message."""
    acc = chat_access.access_channel(session, ctx, channel_id)
    channel = acc.channel
    key = _client_key(ctx, channel, client_key)
    if key is not None:
        first = session.exec(
            scoped(ctx, ChatMessage, org_ids=[channel.org_id]).where(ChatMessage.client_key == key)
        ).first()
        if first is not None:
            return _row(session, ctx, first)
    text = check_body(body)
    chat_access.check_can_post(ctx, acc)
    _check_not_muted(acc.member)
    _check_direct_partner(session, ctx, channel)
    _check_rate(ctx)
    now = utcnow()
    message = ChatMessage(
        org_id=channel.org_id,
        channel_id=channel.id,
        user_id=ctx.user_id,
        body=text,
        client_key=key,
        mentions=resolve_mentions(session, ctx, channel, text),
        created=now,
    )
    try:
        session.add(message)
        session.flush()
    except IntegrityError:  # the same send, committed by a concurrent retry
        org_id = message.org_id  # read before the rollback expires the channel row
        session.rollback()
        first = session.exec(
            scoped(ctx, ChatMessage, org_ids=[org_id]).where(ChatMessage.client_key == key)
        ).first()
        if key is None or first is None:
            raise
        return _row(session, ctx, first)
    member = acc.member or chat_channels.ensure_member(session, ctx, channel, ctx.user_id)
    member.last_read_at = now  # your own message: you have read up to here
    session.add(member)
    channel.last_message_at = now
    session.add(channel)
    _notify_mentions(session, ctx, channel, message, list(message.mentions))
    _publish(session, message, "new")
    session.commit()
    return _row(session, ctx, message)


def edit_message(
    session: Session, ctx: OrgContext, *, message_id: uuid.UUID | str, body: str
) -> MessageRow:
    """Change the text of one's own message (same limits as posting); marks it edited."""
    chat_access.require_chat(session, ctx)
    message = _message(session, ctx, message_id)
    acc = chat_access.access_channel(session, ctx, message.channel_id, check_feature=False)
    if message.user_id != ctx.user_id:
        raise PermissionDenied("You can only edit your own messages.")
    if message.deleted_at is not None:
        raise ValidationFailed("This message was deleted.")
    text = check_body(body)
    chat_access.check_can_post(ctx, acc)
    _check_not_muted(acc.member)
    if text != message.body:
        before = set(message.mentions or [])
        message.body = text
        message.edited_at = utcnow()
        message.mentions = resolve_mentions(session, ctx, acc.channel, text)
        session.add(message)
        fresh = [uid for uid in message.mentions if uid not in before]
        _notify_mentions(session, ctx, acc.channel, message, fresh)
        _publish(session, message, "edit")
        session.commit()
    return _row(session, ctx, message)


def delete_message(session: Session, ctx: OrgContext, *, message_id: uuid.UUID | str) -> None:
    """Delete one's own message, or (moderators) anyone's: the row stays, the text goes."""
    chat_access.require_chat(session, ctx)
    message = _message(session, ctx, message_id)
    acc = chat_access.access_channel(session, ctx, message.channel_id, check_feature=False)
    own = message.user_id == ctx.user_id
    if not own and not chat_access.is_moderator(ctx, acc.channel):
        raise PermissionDenied("You can only delete your own messages.")
    if message.deleted_at is not None:
        return
    message.deleted_at = utcnow()
    message.deleted_by = ctx.user_id
    message.body = ""
    message.mentions = []
    session.add(message)
    if not own:
        audit.record(
            session,
            action="chat.message_deleted",
            org_id=message.org_id,
            ctx=ctx,
            target=acc.channel.name,
            detail={
                "channel_id": str(message.channel_id),
                "message_id": str(message.id),
                "author_id": str(message.user_id),
            },
        )
    _publish(session, message, "delete")
    session.commit()


def mute_member(
    session: Session,
    ctx: OrgContext,
    *,
    channel_id: uuid.UUID | str,
    user_id: uuid.UUID | str,
    minutes: int,
) -> datetime:
    """A moderator stops someone posting in the channel for `minutes`; returns until when."""
    acc = chat_access.access_channel(session, ctx, channel_id)
    channel = acc.channel
    if not chat_access.is_moderator(ctx, channel):
        raise PermissionDenied("Only moderators mute members.")
    if not isinstance(minutes, int) or not 1 <= minutes <= MAX_MUTE_MINUTES:
        raise ValidationFailed(
            f"Mute for 1 to {MAX_MUTE_MINUTES:,} minutes (a week).", field="minutes"
        )
    target = parse_id(user_id)
    if target == ctx.user_id:
        raise ValidationFailed("You cannot mute yourself.")
    role = chat_access.active_role(session, ctx, channel.org_id, target)
    if not chat_access.may_see(session, ctx, channel, user_id=target, role=role):
        raise NotFound()
    if moderates(role, channel.kind):
        raise PermissionDenied("Moderators cannot be muted.")
    member = chat_access.member_row(session, ctx, channel, target)
    if member is None:
        member = chat_channels.ensure_member(session, ctx, channel, target)
        if channel.kind in (ChannelKind.interest, ChannelKind.event):
            member.left_at = utcnow()  # a reader muted, not a member joined by the mute
    until = utcnow() + timedelta(minutes=minutes)
    member.muted_until = until
    member.muted_by = ctx.user_id
    member.modified = utcnow()
    session.add(member)
    audit.record(
        session,
        action="chat.member_muted",
        org_id=channel.org_id,
        ctx=ctx,
        target=channel.name,
        detail={"channel_id": str(channel.id), "user_id": str(target), "minutes": minutes},
    )
    publish_after_commit(
        session,
        topics.CHANNEL.name(org=channel.org_id, channel=channel.id),
        topics.ChannelChanged(kind="members"),
    )
    session.commit()
    return until


def unmute_member(
    session: Session, ctx: OrgContext, *, channel_id: uuid.UUID | str, user_id: uuid.UUID | str
) -> None:
    """A moderator lifts a mute early."""
    acc = chat_access.access_channel(session, ctx, channel_id)
    channel = acc.channel
    if not chat_access.is_moderator(ctx, channel):
        raise PermissionDenied("Only moderators unmute members.")
    target = parse_id(user_id)
    if not chat_access.active_role(session, ctx, channel.org_id, target):
        raise NotFound()
    member = chat_access.member_row(session, ctx, channel, target)
    if member is None or member.muted_until is None:
        return
    member.muted_until = None
    member.muted_by = None
    member.modified = utcnow()
    session.add(member)
    audit.record(
        session,
        action="chat.member_unmuted",
        org_id=channel.org_id,
        ctx=ctx,
        target=channel.name,
        detail={"channel_id": str(channel.id), "user_id": str(member.user_id)},
    )
    publish_after_commit(
        session,
        topics.CHANNEL.name(org=channel.org_id, channel=channel.id),
        topics.ChannelChanged(kind="members"),
    )
    session.commit()


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
        rows=_rows(session, ctx, page),
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
    return _rows(session, ctx, list(reversed(found)))


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
    rows = _rows(session, ctx, list(found))
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
