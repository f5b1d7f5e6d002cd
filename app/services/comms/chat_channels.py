"""Chat channel lifecycle: General, event, interest and direct channels, join/leave/archive.

Course and cohort channels are in `chat_courses`; who may see a channel in `chat_access`.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.models.base import utcnow
from app.models.chat import ChannelKind, ChatChannel, ChatMember
from app.services.comms.chat_access import (
    access_channel,
    active_role,
    is_moderator,
    member_row,
    require_chat,
)
from app.services.core import audit, topics
from app.services.core.authz import effective_role, may_archive_channels
from app.services.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.services.core.tenancy import OrgContext, parse_id, scoped
from app.services.infra.broker import publish_after_commit

GENERAL_NAME = "General"
NAME_MAX = 80
DESCRIPTION_MAX = 300

# Set on the session when `ensure_channel` made a channel: a read that created one on
# first use commits it; a read that created nothing does not commit.
_CREATED_CHANNEL = "guildhall_chat_created_channel"


def ensure_channel(
    session: Session,
    *,
    org_id: uuid.UUID,
    ctx: OrgContext,
    kind: str,
    unique_key: str,
    name: str,
    description: str = "",
    subject_type: str = "",
    subject_id: uuid.UUID | None = None,
) -> ChatChannel:
    """The channel with `unique_key`, created if missing (a concurrent creator wins once)."""
    stmt = scoped(ctx, ChatChannel, org_ids=[org_id]).where(ChatChannel.unique_key == unique_key)
    row = session.exec(stmt).first()
    if row is not None:
        return row
    row = ChatChannel(
        org_id=org_id,
        kind=kind,
        unique_key=unique_key,
        name=name[:NAME_MAX],
        description=description[:DESCRIPTION_MAX],
        subject_type=subject_type,
        subject_id=subject_id,
        created_by=ctx.user_id,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = session.exec(stmt).first()
        if found is None:
            raise
        return found
    session.info[_CREATED_CHANNEL] = True
    return row


def take_created(session: Session) -> bool:
    """Whether `ensure_channel` made a channel in this session since the last call (and
    forget it): a read that created a channel on first use commits it."""
    return bool(session.info.pop(_CREATED_CHANNEL, False))


def ensure_member(
    session: Session, ctx: OrgContext, channel: ChatChannel, user_id: uuid.UUID
) -> ChatMember:
    """The person's member row in the channel, created if missing (in the transaction)."""
    row = member_row(session, ctx, channel, user_id)
    if row is not None:
        return row
    row = ChatMember(org_id=channel.org_id, channel_id=channel.id, user_id=user_id)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = member_row(session, ctx, channel, user_id)
        if found is None:
            raise
        return found
    return row


def ensure_general(session: Session, ctx: OrgContext, org_id: uuid.UUID) -> ChatChannel:
    """The org's "General" channel, created if missing (in the transaction)."""
    return ensure_channel(
        session,
        org_id=org_id,
        ctx=ctx,
        kind=ChannelKind.org,
        unique_key=f"org:{org_id}",
        name=GENERAL_NAME,
        description="Everyone in the organization.",
    )


def org_channel(session: Session, ctx: OrgContext) -> ChatChannel:
    """The org's "General" channel (created on first use)."""
    org_id = require_chat(session, ctx)
    row = ensure_general(session, ctx, org_id)
    session.commit()
    return row


def org_channel_id(session: Session, ctx: OrgContext) -> str:
    """The id of the org's "General" channel, where the chat page opens (created on first use)."""
    return str(org_channel(session, ctx).id)


def subject_channel(
    session: Session,
    ctx: OrgContext,
    *,
    kind: str,
    subject_type: str,
    subject_id: uuid.UUID,
    name: str,
    description: str = "",
) -> ChatChannel:
    """The channel of a thing of the active org (an event), created on first use.

    For the services that own such things (they check their own permissions first).
    """
    org_id = require_chat(session, ctx)
    if kind not in (ChannelKind.event,):
        raise ValidationFailed("Unknown channel kind.", field="kind")
    row = ensure_channel(
        session,
        org_id=org_id,
        ctx=ctx,
        kind=kind,
        unique_key=f"{subject_type}:{org_id}:{subject_id}",
        name=name,
        description=description,
        subject_type=subject_type,
        subject_id=subject_id,
    )
    session.commit()
    return row


def _check_name(name: str, description: str) -> tuple[str, str]:
    clean = " ".join(name.split())
    if not clean:
        raise ValidationFailed("Give the channel a name.", field="name")
    if len(clean) > NAME_MAX:
        raise ValidationFailed(f"Use at most {NAME_MAX} characters.", field="name")
    text = description.strip()
    if len(text) > DESCRIPTION_MAX:
        raise ValidationFailed(f"Use at most {DESCRIPTION_MAX} characters.", field="description")
    return clean, text


def do_create_interest_channel(
    session: Session, ctx: OrgContext, *, name: str, description: str = ""
) -> ChatChannel:
    """A new interest channel in the active org; its creator joins it."""
    org_id = require_chat(session, ctx)
    clean, text = _check_name(name, description)
    taken = session.exec(
        scoped(ctx, ChatChannel, org_ids=[org_id]).where(
            ChatChannel.kind == ChannelKind.interest,
            col(ChatChannel.is_archived).is_(False),
            func.lower(ChatChannel.name) == clean.lower(),
        )
    ).first()
    if taken is not None:
        raise Conflict("A channel with this name exists; join it instead.", field="name")
    row = ChatChannel(
        org_id=org_id,
        kind=ChannelKind.interest,
        name=clean,
        description=text,
        created_by=ctx.user_id,
    )
    session.add(row)
    session.flush()
    session.add(ChatMember(org_id=org_id, channel_id=row.id, user_id=ctx.user_id))
    audit.record(session, action="chat.channel_created", org_id=org_id, ctx=ctx, target=clean)
    publish_after_commit(
        session, topics.CHAT_LIST.name(org=org_id, user=ctx.user_id), topics.ChatListChanged()
    )
    session.commit()
    return row


def do_join_channel(session: Session, ctx: OrgContext, *, channel_id: uuid.UUID | str) -> None:
    """Join an interest channel (again)."""
    acc = access_channel(session, ctx, channel_id)
    channel = acc.channel
    if channel.kind != ChannelKind.interest:
        raise ValidationFailed("Only interest channels can be joined.")
    if channel.is_archived:
        raise PermissionDenied("This channel is archived.")
    member = ensure_member(session, ctx, channel, ctx.user_id)
    if member.left_at is not None:
        member.left_at = None
        member.modified = utcnow()
        session.add(member)
    publish_after_commit(
        session,
        topics.CHAT_LIST.name(org=channel.org_id, user=ctx.user_id),
        topics.ChatListChanged(),
    )
    session.commit()


def do_leave_channel(session: Session, ctx: OrgContext, *, channel_id: uuid.UUID | str) -> None:
    """Leave an interest channel (posting is refused until you join again)."""
    acc = access_channel(session, ctx, channel_id)
    channel = acc.channel
    if channel.kind != ChannelKind.interest:
        raise ValidationFailed("Only interest channels can be left.")
    if acc.member is not None and acc.member.left_at is None:
        acc.member.left_at = utcnow()
        acc.member.modified = utcnow()
        session.add(acc.member)
        publish_membership_change(session, channel, ctx.user_id)
    session.commit()


def do_archive_channel(session: Session, ctx: OrgContext, *, channel_id: uuid.UUID | str) -> None:
    """Archive an interest channel (org admins and staff): it leaves every list and takes no
    more messages; its history stays readable to those who could read it."""
    acc = access_channel(session, ctx, channel_id)
    channel = acc.channel
    if not may_archive_channels(effective_role(ctx)):
        raise PermissionDenied("Only org admins and staff archive channels.")
    if channel.kind != ChannelKind.interest:
        raise ValidationFailed("Only interest channels can be archived.")
    if not channel.is_archived:
        channel.is_archived = True
        channel.modified = utcnow()
        session.add(channel)
        audit.record(
            session,
            action="chat.channel_archived",
            org_id=channel.org_id,
            ctx=ctx,
            target=channel.name,
            detail={"channel_id": str(channel.id)},
        )
        publish_after_commit(
            session,
            topics.CHANNEL.name(org=channel.org_id, channel=channel.id),
            topics.ChannelChanged(kind="channel"),
        )
    session.commit()


def do_add_event_member(
    session: Session, ctx: OrgContext, *, channel_id: uuid.UUID | str, user_id: uuid.UUID | str
) -> None:
    """Put an active member of the org into an event channel (for the events service, which
    checks its own rules first: the person registered for the event)."""
    org_id = require_chat(session, ctx)
    key = parse_id(channel_id)
    channel = session.exec(
        scoped(ctx, ChatChannel, org_ids=[org_id]).where(ChatChannel.id == key)
    ).first()
    if channel is None or channel.kind != ChannelKind.event:
        raise NotFound()
    target = parse_id(user_id)
    if not active_role(session, ctx, org_id, target):
        raise NotFound()
    member = ensure_member(session, ctx, channel, target)
    member.left_at = None
    member.removed_by = None
    session.add(member)
    publish_after_commit(
        session, topics.CHAT_LIST.name(org=org_id, user=target), topics.ChatListChanged()
    )
    session.commit()


def do_remove_member(
    session: Session, ctx: OrgContext, *, channel_id: uuid.UUID | str, user_id: uuid.UUID | str
) -> None:
    """A moderator removes someone from an interest or event channel: they can no longer
    read or post there, nor rejoin."""
    acc = access_channel(session, ctx, channel_id)
    channel = acc.channel
    if not is_moderator(ctx, channel):
        raise PermissionDenied("Only moderators remove members.")
    if channel.kind not in (ChannelKind.interest, ChannelKind.event):
        raise ValidationFailed("People can be removed from interest and event channels only.")
    target = parse_id(user_id)
    if target == ctx.user_id:
        raise ValidationFailed("Leave the channel instead.")
    if not active_role(session, ctx, channel.org_id, target):
        raise NotFound()
    member = ensure_member(session, ctx, channel, target)
    member.left_at = utcnow()
    member.removed_by = ctx.user_id
    member.modified = utcnow()
    session.add(member)
    audit.record(
        session,
        action="chat.member_removed",
        org_id=channel.org_id,
        ctx=ctx,
        target=channel.name,
        detail={"channel_id": str(channel.id), "user_id": str(target)},
    )
    publish_membership_change(session, channel, target)
    session.commit()


def publish_membership_change(session: Session, channel: ChatChannel, user_id: uuid.UUID) -> None:
    """After commit: open members panels of `channel` reload, and `user_id`'s channel list
    (the channel appears or goes)."""
    publish_after_commit(
        session,
        topics.CHANNEL.name(org=channel.org_id, channel=channel.id),
        topics.ChannelChanged(kind="members"),
    )
    publish_after_commit(
        session, topics.CHAT_LIST.name(org=channel.org_id, user=user_id), topics.ChatListChanged()
    )


def do_open_direct(session: Session, ctx: OrgContext, *, user_id: uuid.UUID | str) -> ChatChannel:
    """The direct-message channel between the context and another active member of the
    active org (created on first use; one per pair)."""
    org_id = require_chat(session, ctx)
    other = parse_id(user_id)
    if other == ctx.user_id:
        raise ValidationFailed("Pick someone else to message.")
    if not active_role(session, ctx, org_id, other):
        raise NotFound()
    low, high = sorted([ctx.user_id, other], key=str)
    channel = ensure_channel(
        session,
        org_id=org_id,
        ctx=ctx,
        kind=ChannelKind.direct,
        unique_key=f"dm:{org_id}:{low}:{high}",
        name="Direct message",
    )
    created = False
    for uid in (ctx.user_id, other):
        if member_row(session, ctx, channel, uid) is None:
            ensure_member(session, ctx, channel, uid)
            created = True
    if created:
        publish_after_commit(
            session, topics.CHAT_LIST.name(org=org_id, user=other), topics.ChatListChanged()
        )
    session.commit()
    return channel
