"""Chat mutes: a moderator stops someone posting in a channel for a while, or lifts it.

Moderators (`chat_access.is_moderator`) mute members of a channel for 1 to
`MAX_MUTE_MINUTES` minutes, which stops them posting and editing; muting and unmuting are
audited and published on the channel's topic as a members change.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlmodel import Session

from app.models.base import as_utc, utcnow
from app.models.chat import ChannelKind, ChatMember
from app.services.comms import chat_access, chat_channels
from app.services.core import audit, topics
from app.services.core.authz import moderates
from app.services.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.services.core.tenancy import OrgContext, parse_id
from app.services.infra.broker import publish_after_commit

MAX_MUTE_MINUTES = 7 * 24 * 60


def check_not_muted(member: ChatMember | None) -> None:
    """Refuse a post or edit while a moderator's mute on this member still runs."""
    if member is None or member.muted_until is None:
        return
    until = as_utc(member.muted_until)
    if until > utcnow():
        raise PermissionDenied(
            f"A moderator muted you in this channel until {until:%Y-%m-%d %H:%M} UTC."
        )


def do_mute_member(
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


def do_unmute_member(
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
