"""Chat channel members: who is in a channel (a page at a time, searchable), adding people
to interest channels, and what a person who lost a channel is told.

Who is "in" a channel follows the read rules of `app.services.comms.chat_access` (`may_see`):

* `org` (General): every active member of the org.
* `course`: the org's course staff (instructors, staff, admins) and its learners with an
  active or completed enrollment in the course.
* `interest`, `event`, `direct`: people with a joined member row (left and removed people
  are not in it).
* any other kind (cohort channels): active members who have a member row, an enrollment
  in the subject, or a staff role, each confirmed with `chat_access.may_see`.

Every caller must be able to read the channel (`chat_access.access_channel`, `NotFound` otherwise);
mute details are shown to moderators (and to each person about themselves) only. Adding
someone is for moderators of interest channels; it is audited and published on the channel
topic (kind `members`) and on the added person's chat-list topic, like a removal.
Muting, unmuting and removing are `chat_mutes.do_mute_member` / `do_unmute_member` and
`chat_channels.do_remove_member` (audited there).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col

from app.models.base import as_utc, utcnow
from app.models.chat import ChannelKind, ChatChannel, ChatMember
from app.models.enrollment import Enrollment
from app.models.user import Membership, User
from app.services.comms import chat_access, chat_channels, chat_list
from app.services.core import audit
from app.services.core.authz import COURSE_STAFF_ROLES, moderates
from app.services.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.services.core.tenancy import OrgContext, count_rows, parse_id, scoped

PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
QUERY_MAX = 100
JOINED_KINDS = (ChannelKind.interest, ChannelKind.event, ChannelKind.direct)
# Safety net for kinds listed by checking `may_see` person by person (cohort channels).
GENERIC_LIMIT = 2000


@dataclass(frozen=True)
class MemberRow:
    """One person in a channel, as the members panel shows them to the context."""

    user_id: str
    name: str
    role: str
    muted_until: datetime | None  # only for moderators, and for the person themselves
    is_me: bool
    can_mute: bool  # the context may mute (or unmute) this person here
    can_remove: bool  # the context may remove this person from this channel


@dataclass(frozen=True)
class MemberPage:
    """A page of a channel's members, ordered by name."""

    rows: list[MemberRow]
    total: int
    page: int
    page_size: int
    moderator: bool  # whether the context moderates the channel
    can_add: bool  # whether the context may add people (moderators of interest channels)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _check_query(query: str) -> str:
    text = " ".join((query or "").split()).lower()
    if len(text) > QUERY_MAX:
        raise ValidationFailed(f"Search for at most {QUERY_MAX} characters.", field="query")
    return text


def _base(ctx: OrgContext, channel: ChatChannel) -> Any:
    """Active members of the channel's org (with their account and channel member row)."""
    org_id = channel.org_id
    return (
        scoped(ctx, Membership, org_ids=[org_id])
        .join(User, col(User.id) == col(Membership.user_id))
        .outerjoin(
            ChatMember,
            and_(
                col(ChatMember.channel_id) == channel.id,
                col(ChatMember.user_id) == col(Membership.user_id),
                col(ChatMember.org_id) == org_id,
            ),
        )
        .where(col(Membership.is_active), col(User.is_active))
    )


def _enrolled_ids(ctx: OrgContext, channel: ChatChannel, *, cohort: bool) -> Any:
    stmt = scoped(ctx, Enrollment, org_ids=[channel.org_id]).where(
        col(Enrollment.status).in_(chat_access.OPEN_ENROLLMENTS)
    )
    if cohort:
        stmt = stmt.where(Enrollment.cohort_id == channel.subject_id)
    else:
        stmt = stmt.where(Enrollment.course_id == channel.subject_id)
    return stmt.with_only_columns(col(Enrollment.user_id))


def list_members(
    session: Session,
    ctx: OrgContext,
    *,
    channel_id: uuid.UUID | str,
    query: str = "",
    muted_only: bool = False,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> MemberPage:
    """The people in a channel the context may read, by name, a page at a time; `query`
    matches names and emails; `muted_only` (moderators) keeps people muted now."""
    acc = chat_access.access_channel(session, ctx, channel_id)
    channel = acc.channel
    moderator = chat_access.is_moderator(ctx, channel)
    text = _check_query(query)
    page = max(1, page)
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    now = utcnow()
    stmt = _candidates(ctx, channel, text=text, muted_now=now if muted_only and moderator else None)
    total, found = _fetch_page(session, ctx, channel, stmt, page=page, page_size=page_size)
    return MemberPage(
        rows=[
            _member_row(ctx, channel, membership, user, member, moderator=moderator, now=now)
            for membership, user, member in found
        ],
        total=total,
        page=page,
        page_size=page_size,
        moderator=moderator,
        can_add=moderator and channel.kind == ChannelKind.interest and not channel.is_archived,
    )


def _candidates(
    ctx: OrgContext, channel: ChatChannel, *, text: str, muted_now: datetime | None
) -> Any:
    """The members query for a channel's kind, narrowed by the search text and (for a
    moderator's "muted only") to people muted at `muted_now`."""
    stmt = _base(ctx, channel)  # General: every active member
    if channel.kind == ChannelKind.course:
        stmt = stmt.where(
            or_(
                col(Membership.role).in_(sorted(COURSE_STAFF_ROLES)),
                col(Membership.user_id).in_(_enrolled_ids(ctx, channel, cohort=False)),
            )
        )
    elif channel.kind in JOINED_KINDS:
        stmt = stmt.where(col(ChatMember.id).is_not(None), col(ChatMember.left_at).is_(None))
    elif channel.kind != ChannelKind.org:
        # kinds with their own rules (cohorts): candidates here, `may_see` decides below
        stmt = stmt.where(
            or_(
                col(ChatMember.id).is_not(None),
                col(Membership.role).in_(sorted(COURSE_STAFF_ROLES)),
                col(Membership.user_id).in_(_enrolled_ids(ctx, channel, cohort=True)),
            )
        )
    if text:
        like = _like(text)
        stmt = stmt.where(
            or_(
                func.lower(User.full_name).like(like, escape="\\"),
                func.lower(User.email).like(like, escape="\\"),
            )
        )
    if muted_now is not None:
        stmt = stmt.where(col(ChatMember.muted_until) > muted_now)
    return stmt


def _fetch_page(
    session: Session, ctx: OrgContext, channel: ChatChannel, stmt: Any, *, page: int, page_size: int
) -> tuple[int, list[tuple[Any, Any, Any]]]:
    """(how many match, this page's (membership, user, chat member) rows). Kinds whose
    membership a query decides page in SQL; the rest are filtered by `may_see` first."""
    ordered = stmt.add_columns(User, ChatMember).order_by(func.lower(User.full_name), col(User.id))
    if channel.kind in (ChannelKind.org, ChannelKind.course, *JOINED_KINDS):
        rows = session.execute(ordered.offset((page - 1) * page_size).limit(page_size)).all()
        return count_rows(session, stmt), [(m, u, c) for m, u, c in rows]
    every = [
        (membership, user, member)
        for membership, user, member in session.execute(ordered.limit(GENERIC_LIMIT)).all()
        if chat_access.may_see(
            session,
            ctx,
            channel,
            user_id=user.id,
            role=membership.role,
            member=member,
            fetched=True,
        )
    ]
    return len(every), every[(page - 1) * page_size : page * page_size]


def _member_row(
    ctx: OrgContext,
    channel: ChatChannel,
    membership: Membership,
    user: User,
    member: ChatMember | None,
    *,
    moderator: bool,
    now: datetime,
) -> MemberRow:
    """One person in the members panel, with what the viewer may do to them."""
    me = user.id == ctx.user_id
    muted = member.muted_until if member is not None else None
    muted_until = as_utc(muted) if muted is not None and as_utc(muted) > now else None
    return MemberRow(
        user_id=str(user.id),
        name=user.full_name,
        role=membership.role,
        muted_until=muted_until if moderator or me else None,
        is_me=me,
        can_mute=moderator and not me and not moderates(membership.role, channel.kind),
        can_remove=moderator and not me and channel.kind == ChannelKind.interest,
    )


def _require_adder(session: Session, ctx: OrgContext, channel_id: uuid.UUID | str) -> ChatChannel:
    acc = chat_access.access_channel(session, ctx, channel_id)
    channel = acc.channel
    if not chat_access.is_moderator(ctx, channel):
        raise PermissionDenied("Only moderators add members.")
    if channel.kind != ChannelKind.interest:
        raise ValidationFailed("People can be added to interest channels only.")
    if channel.is_archived:
        raise PermissionDenied("This channel is archived.")
    return channel


def people_to_add(
    session: Session, ctx: OrgContext, *, channel_id: uuid.UUID | str, query: str
) -> list[chat_list.PersonChoice]:
    """Active members of the org matching `query` who are not in the interest channel now
    (removed people included: adding them back lifts the removal). Moderators only."""
    channel = _require_adder(session, ctx, channel_id)
    found = chat_list.find_people(session, ctx, query=query, limit=25)
    if not found:
        return []
    joined = {
        str(m.user_id)
        for m in session.exec(
            scoped(ctx, ChatMember, org_ids=[channel.org_id]).where(
                ChatMember.channel_id == channel.id,
                col(ChatMember.left_at).is_(None),
                col(ChatMember.user_id).in_([uuid.UUID(p.user_id) for p in found]),
            )
        ).all()
    }
    return [p for p in found if p.user_id not in joined][:10]


def do_add_member(
    session: Session, ctx: OrgContext, *, channel_id: uuid.UUID | str, user_id: uuid.UUID | str
) -> str:
    """A moderator puts an active member of the org into an interest channel (lifting an
    earlier removal); returns their name. Adding someone already in it changes nothing."""
    channel = _require_adder(session, ctx, channel_id)
    target = parse_id(user_id)
    if not chat_access.active_role(session, ctx, channel.org_id, target):
        raise NotFound()
    name = chat_list.user_names(session, [target]).get(target, "Someone")
    existing = chat_access.member_row(session, ctx, channel, target)
    if existing is not None and existing.left_at is None and existing.removed_by is None:
        return name
    member = existing or chat_channels.ensure_member(session, ctx, channel, target)
    member.left_at = None
    member.removed_by = None
    member.modified = utcnow()
    session.add(member)
    audit.record(
        session,
        action="chat.member_added",
        org_id=channel.org_id,
        ctx=ctx,
        target=channel.name,
        detail={"channel_id": str(channel.id), "user_id": str(target)},
    )
    chat_channels.publish_membership_change(session, channel, target)
    session.commit()
    return name


def lost_channel_notice(session: Session, ctx: OrgContext, *, channel_id: uuid.UUID | str) -> str:
    """Why the context can no longer open a channel it had: "" unless a moderator removed
    them from it (read from their own member row only; says nothing about anyone else)."""
    if ctx.org_id is None:
        return ""
    try:
        key = parse_id(channel_id)
    except NotFound:
        return ""
    row = session.exec(
        scoped(ctx, ChatMember, org_ids=[ctx.org_id]).where(
            ChatMember.channel_id == key,
            ChatMember.user_id == ctx.user_id,
            col(ChatMember.removed_by).is_not(None),
        )
    ).first()
    return "A moderator removed you from this channel." if row is not None else ""
