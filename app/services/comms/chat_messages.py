"""Chat messages: post, edit and delete (reads are `chat_history`, mutes `chat_mutes`).

Rules (access itself is `app.services.comms.chat_access.access_channel`, checked on every call):

* A message is plain text, 1 to 4,000 characters after trimming; it is stored verbatim and
  shown escaped (the page renders it as text and turns only http(s) URLs into links).
* A send may carry a `client_key` (the browser's id for that send): a retried send returns
  the first message instead of storing a second.
* Posting needs write access: not archived, joined (interest, event and direct channels),
  not muted by a moderator (`chat_mutes`), and within the flood limit (`RATE_COUNT` messages
  per `RATE_SECONDS` per person, shared by every worker through `app.services.infra.ratelimit`).
* Authors edit and delete their own messages; moderators (`chat_access.is_moderator`) delete
  anyone's. Deleting keeps the row (who, when) and drops the text. Moderation is audited.
* `@name` or `@emaillocalpart` mentions people who may read the channel; each is notified
  once per message (`chat.mention`).
* After commit each change is published on the channel's topic as
  `{"message_id", "kind": "new" | "edit" | "delete"}`; a tab then reads what changed with
  `chat_history.since`, which a reconnecting tab also uses to catch up from the database.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
import unicodedata
import uuid

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.models.base import utcnow
from app.models.chat import ChannelKind, ChatChannel, ChatMember, ChatMessage
from app.models.user import Membership, User
from app.services.comms import (
    chat_access,
    chat_channels,
    chat_history,
    chat_list,
    chat_mutes,
    notifications,
)
from app.services.comms.chat_history import MessageRow
from app.services.core import audit, topics
from app.services.core.errors import (
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)
from app.services.core.tenancy import OrgContext, parse_id, scoped
from app.services.infra import ratelimit
from app.services.infra.broker import publish_after_commit

MAX_BODY = 4000
MAX_CLIENT_KEY = 64
MAX_MENTIONS = 20
RATE_COUNT = 10
RATE_SECONDS = 10
MENTION = re.compile(r"(?<![\w@.])@([\w][\w.+'-]*)")


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


def do_post_message(
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
            return chat_history.message_row(session, ctx, first)
    text = check_body(body)
    chat_access.check_can_post(ctx, acc)
    chat_mutes.check_not_muted(acc.member)
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
        return chat_history.message_row(session, ctx, first)
    member = acc.member or chat_channels.ensure_member(session, ctx, channel, ctx.user_id)
    member.last_read_at = now  # your own message: you have read up to here
    session.add(member)
    channel.last_message_at = now
    session.add(channel)
    _notify_mentions(session, ctx, channel, message, list(message.mentions))
    _publish(session, message, "new")
    session.commit()
    return chat_history.message_row(session, ctx, message)


def do_edit_message(
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
    chat_mutes.check_not_muted(acc.member)
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
    return chat_history.message_row(session, ctx, message)


def do_delete_message(session: Session, ctx: OrgContext, *, message_id: uuid.UUID | str) -> None:
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
