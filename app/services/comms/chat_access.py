"""Chat channel access: who may see, read, post in and moderate a channel (`require_chat`).

Everything happens inside the caller's *active* org: a channel belongs to exactly one org,
and only that org's active members can reach it (a parent org's admin does not read a child
org's conversations; ids of other orgs' channels raise `NotFound` like missing ones). The
org's `features.chat` switch refuses every call when off.

Who may see a channel, decided here on every call (never from what the browser says):

* `org` ("General", one per org, created on demand): every active member of the org.
* `course` (one per course and org, created on demand): learners of the org with an active
  or completed enrollment in the course, and the org's course staff (instructors, staff and
  admins: the `courses.author` permission). A course shared down from a parent org gets its
  own channel in each org that uses it, so learners talk with their own org's staff.
* `cohort` (one per cohort, created on demand, in the cohort's org = the learners' org):
  learners whose open (active or completed) enrollment is placed in the cohort, and the
  org's course staff (the same people who see course channels as staff). Moving a learner
  out of the cohort takes the channel away at once (checked on every read and post). An
  archived cohort's channel leaves every list and takes no more messages; its history stays
  readable to those who could read it. Shown as "{cohort} · {course}".
* `interest`: any member may read and join; posting needs a joined member row; a member a
  moderator removed can neither read nor rejoin.
* `direct`: exactly the two people of the pair (one channel per pair and org,
  `dm:{org}:{low id}:{high id}`), both active members of the org.
* `event`: people with a joined member row. Events do not exist yet; when they do, the
  events service calls `chat_channels.subject_channel(session, ctx, kind=ChannelKind.event,
  subject_type="event", subject_id=event.id, name=event.title)` when an event is created and
  `chat_channels.do_add_event_member(session, ctx, channel_id=..., user_id=...)` when someone
  registers (and `do_remove_member` when they cancel). No schema change: the channel is generic over
  `subject_type`/`subject_id`.

Moderators: org admins and staff in every channel of their org they can see; for course
and cohort channels also the org's instructors. Messages are in `app.services.comms.chat_messages`;
channels are made and changed in `chat_channels` (course and cohort ones in `chat_courses`)
and listed in `chat_list`.

Live: every change is published after commit on `org:{org}:channel:{channel}`
(`topics.CHANNEL`); a change of someone's channel list (a new DM, a removal) on
`org:{org}:user:{user}:chat` (`topics.CHAT_LIST`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import Session, col

from app.models.chat import ChannelKind, ChatChannel, ChatMember
from app.models.enrollment import Cohort, Enrollment, EnrollmentStatus
from app.models.user import Membership, User
from app.services.config import gates
from app.services.core.authz import (
    Permission,
    effective_role,
    has,
    is_course_staff,
    moderates,
)
from app.services.core.errors import NotFound, PermissionDenied
from app.services.core.tenancy import OrgContext, count_rows, parse_id, scoped

FEATURE = "chat"
OPEN_ENROLLMENTS = (EnrollmentStatus.active, EnrollmentStatus.completed)


def require_chat(session: Session, ctx: OrgContext) -> uuid.UUID:
    """Refuse unless the context is a member of an org whose chat is on; returns the org id.

    Every chat service calls this first, so switching the feature off refuses them all.
    """
    if ctx.org_id is None:
        raise PermissionDenied()
    gates.require_feature(session, ctx.org_id, FEATURE)
    if not (has(ctx, Permission.dashboard_view) or has(ctx, Permission.learning_view)):
        raise PermissionDenied()
    return ctx.org_id


def member_row(
    session: Session, ctx: OrgContext, channel: ChatChannel, user_id: uuid.UUID
) -> ChatMember | None:
    """The person's member row in the channel (joined, left or removed), if any."""
    return session.exec(
        scoped(ctx, ChatMember, org_ids=[channel.org_id]).where(
            ChatMember.channel_id == channel.id, ChatMember.user_id == user_id
        )
    ).first()


def active_role(session: Session, ctx: OrgContext, org_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """The user's role in the org when they are an active member with an active account."""
    row = session.exec(
        scoped(ctx, Membership, org_ids=[org_id])
        .join(User, col(User.id) == col(Membership.user_id))
        .where(
            Membership.user_id == user_id,
            col(Membership.is_active),
            col(User.is_active),
        )
    ).first()
    return row.role if row is not None else ""


def _enrolled(session: Session, ctx: OrgContext, channel: ChatChannel, user_id: uuid.UUID) -> bool:
    if channel.subject_id is None:
        return False
    row = session.exec(
        scoped(ctx, Enrollment, org_ids=[channel.org_id]).where(
            Enrollment.user_id == user_id,
            Enrollment.course_id == channel.subject_id,
            col(Enrollment.status).in_(OPEN_ENROLLMENTS),
        )
    ).first()
    return row is not None


def channel_cohort(session: Session, ctx: OrgContext, channel: ChatChannel) -> Cohort | None:
    """The cohort a cohort channel belongs to, in the channel's org only."""
    if channel.subject_id is None or channel.subject_type != "cohort":
        return None
    return session.exec(
        scoped(ctx, Cohort, org_ids=[channel.org_id]).where(Cohort.id == channel.subject_id)
    ).first()


def _in_cohort(session: Session, ctx: OrgContext, cohort: Cohort, user_id: uuid.UUID) -> bool:
    """Whether the person's open enrollment in the cohort's course is placed in it."""
    row = session.exec(
        scoped(ctx, Enrollment, org_ids=[cohort.org_id]).where(
            Enrollment.user_id == user_id,
            Enrollment.course_id == cohort.course_id,
            Enrollment.cohort_id == cohort.id,
            col(Enrollment.status).in_(OPEN_ENROLLMENTS),
        )
    ).first()
    return row is not None


def may_see(
    session: Session,
    ctx: OrgContext,
    channel: ChatChannel,
    *,
    user_id: uuid.UUID,
    role: str,
    member: ChatMember | None = None,
    fetched: bool = False,
) -> bool:
    """Whether `user_id` (holding `role` in the channel's org; "" if not an active member)
    may read `channel`."""
    if not role or channel.org_id != ctx.org_id:
        return False
    if not fetched:
        member = member_row(session, ctx, channel, user_id)
    removed = member is not None and member.removed_by is not None
    joined = member is not None and member.left_at is None
    if channel.kind == ChannelKind.org:
        return True
    if channel.kind == ChannelKind.course:
        return is_course_staff(role) or _enrolled(session, ctx, channel, user_id)
    if channel.kind == ChannelKind.cohort:
        cohort = channel_cohort(session, ctx, channel)
        if cohort is None:
            return False
        return is_course_staff(role) or _in_cohort(session, ctx, cohort, user_id)
    if channel.kind == ChannelKind.interest:
        return not removed
    return joined  # direct, event


def is_moderator(ctx: OrgContext, channel: ChatChannel) -> bool:
    """Org admins and staff moderate every channel of their org; the org's instructors also
    moderate course and cohort channels (`authz.moderates`)."""
    if channel.org_id != ctx.org_id:
        return False
    return moderates(effective_role(ctx), channel.kind)


@dataclass(frozen=True)
class Access:
    """A channel the context may read, and the context's member row in it (if any).

    `subject_archived`: what the channel belongs to is archived (a cohort), so the channel
    is read-only like an archived one.
    """

    channel: ChatChannel
    member: ChatMember | None
    subject_archived: bool = False

    @property
    def joined(self) -> bool:
        return self.member is not None and self.member.left_at is None

    @property
    def archived(self) -> bool:
        return self.channel.is_archived or self.subject_archived


def access_channel(
    session: Session, ctx: OrgContext, channel_id: uuid.UUID | str, *, check_feature: bool = True
) -> Access:
    """A channel of the active org the context may read; anything else is `NotFound`."""
    if check_feature:
        require_chat(session, ctx)
    key = parse_id(channel_id)
    org_ids = [ctx.org_id] if ctx.org_id else []
    channel = session.exec(
        scoped(ctx, ChatChannel, org_ids=org_ids).where(ChatChannel.id == key)
    ).first()
    if channel is None:
        raise NotFound()
    member = member_row(session, ctx, channel, ctx.user_id)
    if not may_see(
        session,
        ctx,
        channel,
        user_id=ctx.user_id,
        role=effective_role(ctx),
        member=member,
        fetched=True,
    ):
        raise NotFound()
    subject_archived = False
    if channel.kind == ChannelKind.cohort:
        cohort = channel_cohort(session, ctx, channel)
        subject_archived = cohort is not None and cohort.is_archived
    return Access(channel=channel, member=member, subject_archived=subject_archived)


def check_can_post(ctx: OrgContext, acc: Access) -> None:
    """Refuse posting where the context may read but not write (archived, not joined)."""
    channel = acc.channel
    if acc.archived:
        raise PermissionDenied("This channel is archived; it can be read but not written to.")
    if channel.kind in (ChannelKind.interest, ChannelKind.event, ChannelKind.direct):
        if acc.member is not None and acc.member.removed_by is not None:
            raise PermissionDenied("You were removed from this channel.")
        if not acc.joined:
            raise PermissionDenied("You left this channel. Join it again to post.")


def member_count(session: Session, ctx: OrgContext, channel: ChatChannel) -> int:
    """How many joined member rows a channel has (interest, event and direct channels)."""
    return count_rows(
        session,
        scoped(ctx, ChatMember, org_ids=[channel.org_id]).where(
            ChatMember.channel_id == channel.id, col(ChatMember.left_at).is_(None)
        ),
    )
