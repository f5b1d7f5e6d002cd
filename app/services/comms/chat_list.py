"""Chat channel list: a person's channels with unread counts, browsing, a channel's header."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from app.models.base import as_utc, utcnow
from app.models.chat import ChannelKind, ChatChannel, ChatMember, ChatMessage
from app.models.user import Membership, User
from app.services.comms.chat_access import (
    access_channel,
    channel_cohort,
    check_can_post,
    is_moderator,
    require_chat,
)
from app.services.comms.chat_channels import ensure_general, ensure_member, take_created
from app.services.comms.chat_courses import (
    cohort_label,
    course_title,
    ensure_cohort_channel,
    ensure_course_channel,
    listed_cohorts,
    listed_courses,
)
from app.services.core import topics
from app.services.core.authz import effective_role, may_archive_channels
from app.services.core.errors import PermissionDenied
from app.services.core.tenancy import OrgContext, scoped


@dataclass(frozen=True)
class ChannelRow:
    """A channel as the list shows it to one person."""

    id: str
    kind: str
    name: str
    description: str
    unread: int
    joined: bool
    archived: bool
    last_message_at: datetime | None


def user_names(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    # users are not a tenant table: names only, for ids the caller already may see
    rows = session.exec(select(User).where(col(User.id).in_(wanted))).all()
    return {u.id: u.full_name for u in rows}


def _dm_names(
    session: Session, ctx: OrgContext, channels: list[ChatChannel]
) -> dict[uuid.UUID, str]:
    """For each direct channel, the name of the other person."""
    ids = [c.id for c in channels if c.kind == ChannelKind.direct]
    if not ids or ctx.org_id is None:
        return {}
    members = session.exec(
        scoped(ctx, ChatMember, org_ids=[ctx.org_id]).where(
            col(ChatMember.channel_id).in_(ids), ChatMember.user_id != ctx.user_id
        )
    ).all()
    names = user_names(session, {m.user_id for m in members})
    return {m.channel_id: names.get(m.user_id, "Someone") for m in members}


def display_name(session: Session, ctx: OrgContext, channel: ChatChannel) -> str:
    """What the channel is called for the context (a DM: the other person's name; a
    cohort: "{cohort} · {course}" as they are named now)."""
    if channel.kind == ChannelKind.direct:
        return _dm_names(session, ctx, [channel]).get(channel.id, channel.name)
    if channel.kind == ChannelKind.cohort:
        cohort = channel_cohort(session, ctx, channel)
        if cohort is not None:
            return cohort_label(cohort.name, course_title(session, ctx, cohort.course_id))
    return channel.name


def _unread(
    session: Session, ctx: OrgContext, channel_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Per channel: messages after the context's last read, not their own, not deleted."""
    if not channel_ids or ctx.org_id is None:
        return {}
    stmt = (
        scoped(ctx, ChatMessage, org_ids=[ctx.org_id])
        .outerjoin(
            ChatMember,
            and_(
                col(ChatMember.channel_id) == col(ChatMessage.channel_id),
                col(ChatMember.user_id) == ctx.user_id,
                col(ChatMember.org_id) == ctx.org_id,
            ),
        )
        .where(
            col(ChatMessage.channel_id).in_(channel_ids),
            ChatMessage.user_id != ctx.user_id,
            col(ChatMessage.deleted_at).is_(None),
            or_(
                col(ChatMember.last_read_at).is_(None),
                col(ChatMessage.created) > col(ChatMember.last_read_at),
            ),
        )
        .with_only_columns(col(ChatMessage.channel_id), func.count())
        .group_by(col(ChatMessage.channel_id))
    )
    return {cid: int(n) for cid, n in session.execute(stmt).all()}


def visible_channels(session: Session, ctx: OrgContext) -> list[ChatChannel]:
    """Every unarchived channel in the context's list: General, their course channels,
    their cohort channels, the interest, event and direct channels they are in (creating
    General, course and cohort channels on first use)."""
    org_id = require_chat(session, ctx)
    general = ensure_general(session, ctx, org_id)
    found = listed_courses(session, ctx)
    courses = [ensure_course_channel(session, ctx, c) for c in found]
    titles = {c.id: c.title for c in found}
    cohorts = [
        ensure_cohort_channel(session, ctx, cohort, titles.get(cohort.course_id, ""))
        for cohort in sorted(
            listed_cohorts(session, ctx, found),
            key=lambda x: (titles.get(x.course_id, "").lower(), x.name.lower()),
        )
    ]
    joined = session.exec(
        scoped(ctx, ChatChannel, org_ids=[org_id])
        .join(
            ChatMember,
            and_(
                col(ChatMember.channel_id) == col(ChatChannel.id),
                col(ChatMember.org_id) == org_id,
            ),
        )
        .where(
            ChatMember.user_id == ctx.user_id,
            col(ChatMember.left_at).is_(None),
            col(ChatChannel.kind).in_(
                [ChannelKind.interest, ChannelKind.event, ChannelKind.direct]
            ),
            col(ChatChannel.is_archived).is_(False),
        )
    ).all()
    if take_created(session):
        session.commit()  # channels made on first use; a plain read commits nothing
    return [general, *courses, *cohorts, *joined]


def list_channels(session: Session, ctx: OrgContext) -> list[ChannelRow]:
    """The context's channels with unread counts: General, courses, cohorts, interest
    channels, events, then direct messages."""
    channels = visible_channels(session, ctx)
    unread = _unread(session, ctx, [c.id for c in channels])
    dm_names = _dm_names(session, ctx, channels)
    order: dict[str, int] = {
        ChannelKind.org: 0,
        ChannelKind.course: 1,
        ChannelKind.cohort: 2,
        ChannelKind.interest: 3,
        ChannelKind.event: 4,
        ChannelKind.direct: 5,
    }
    rows = [
        ChannelRow(
            id=str(c.id),
            kind=c.kind,
            name=dm_names.get(c.id, c.name) if c.kind == ChannelKind.direct else c.name,
            description=c.description,
            unread=unread.get(c.id, 0),
            joined=True,
            archived=c.is_archived,
            last_message_at=as_utc(c.last_message_at) if c.last_message_at else None,
        )
        for c in channels
    ]
    return sorted(rows, key=lambda r: (order.get(r.kind, 9), r.name.lower()))


def tab_topics(ctx: OrgContext, rows: Iterable[ChannelRow], *, open_channel: str = "") -> set[str]:
    """The topics a chat tab follows, and nothing else: the user's channels in `rows` (from
    `list_channels`, for their unread counts), the user's own list, and the open channel
    (`open_channel`, when the user may read it)."""
    assert ctx.org_id is not None
    names = {topics.CHANNEL.name(org=ctx.org_id, channel=r.id) for r in rows}
    names.add(topics.CHAT_LIST.name(org=ctx.org_id, user=ctx.user_id))
    if open_channel:
        names.add(topics.CHANNEL.name(org=ctx.org_id, channel=open_channel))
    return names


def browse_interest_channels(session: Session, ctx: OrgContext) -> list[ChannelRow]:
    """Every unarchived interest channel of the org, joined or not (to find and join)."""
    org_id = require_chat(session, ctx)
    channels = session.exec(
        scoped(ctx, ChatChannel, org_ids=[org_id])
        .where(ChatChannel.kind == ChannelKind.interest, col(ChatChannel.is_archived).is_(False))
        .order_by(func.lower(ChatChannel.name))
        .limit(200)
    ).all()
    mine = {
        m.channel_id: m
        for m in session.exec(
            scoped(ctx, ChatMember, org_ids=[org_id]).where(
                ChatMember.user_id == ctx.user_id,
                col(ChatMember.channel_id).in_([c.id for c in channels]),
            )
        ).all()
    }
    rows = []
    for c in channels:
        member = mine.get(c.id)
        if member is not None and member.removed_by is not None:
            continue
        rows.append(
            ChannelRow(
                id=str(c.id),
                kind=c.kind,
                name=c.name,
                description=c.description,
                unread=0,
                joined=member is not None and member.left_at is None,
                archived=False,
                last_message_at=as_utc(c.last_message_at) if c.last_message_at else None,
            )
        )
    return rows


@dataclass(frozen=True)
class ChannelInfo:
    """The open channel's header: what it is and what the context may do in it."""

    id: str
    org_id: str
    kind: str
    name: str
    description: str
    archived: bool
    joined: bool
    can_post: bool
    post_refusal: str
    is_moderator: bool
    can_join: bool
    can_leave: bool
    can_archive: bool
    muted_until: datetime | None


def channel_info(session: Session, ctx: OrgContext, channel_id: uuid.UUID | str) -> ChannelInfo:
    """The header of a channel the context may read (`NotFound` otherwise)."""
    acc = access_channel(session, ctx, channel_id)
    channel = acc.channel
    refusal = ""
    try:
        check_can_post(ctx, acc)
    except PermissionDenied as exc:
        refusal = exc.message
    muted = acc.member.muted_until if acc.member is not None else None
    muted_until = as_utc(muted) if muted is not None and as_utc(muted) > utcnow() else None
    interest = channel.kind == ChannelKind.interest
    return ChannelInfo(
        id=str(channel.id),
        org_id=str(channel.org_id),
        kind=channel.kind,
        name=display_name(session, ctx, channel),
        description=channel.description,
        archived=acc.archived,
        joined=acc.joined,
        can_post=not refusal,
        post_refusal=refusal,
        is_moderator=is_moderator(ctx, channel),
        can_join=interest and not acc.joined and not channel.is_archived,
        can_leave=interest and acc.joined,
        can_archive=interest
        and not channel.is_archived
        and may_archive_channels(effective_role(ctx)),
        muted_until=muted_until,
    )


def do_mark_read(session: Session, ctx: OrgContext, *, channel_id: uuid.UUID | str) -> None:
    """The context has read the channel up to now (its unread count drops to zero)."""
    acc = access_channel(session, ctx, channel_id)
    member = acc.member
    if member is None:
        if acc.channel.kind in (ChannelKind.interest, ChannelKind.event):
            return  # browsing a channel is not joining it (and it is in no list to count)
        member = ensure_member(session, ctx, acc.channel, ctx.user_id)
    member.last_read_at = utcnow()
    session.add(member)
    session.commit()


@dataclass(frozen=True)
class PersonChoice:
    """Someone of the org to start a direct message with."""

    user_id: str
    name: str
    role: str


def find_people(
    session: Session, ctx: OrgContext, *, query: str, limit: int = 10
) -> list[PersonChoice]:
    """Active members of the active org whose name or email contains `query` (not the
    context itself), for the "new direct message" picker."""
    org_id = require_chat(session, ctx)
    text = query.strip().lower()
    if len(text) < 2:
        return []
    like = f"%{text}%"
    rows = session.execute(
        scoped(ctx, Membership, org_ids=[org_id])
        .join(User, col(User.id) == col(Membership.user_id))
        .where(
            col(Membership.is_active),
            col(User.is_active),
            Membership.user_id != ctx.user_id,
            or_(func.lower(User.full_name).like(like), func.lower(User.email).like(like)),
        )
        .add_columns(User)
        .order_by(func.lower(User.full_name))
        .limit(max(1, min(limit, 25)))
    ).all()
    return [PersonChoice(user_id=str(u.id), name=u.full_name, role=m.role) for m, u in rows]
