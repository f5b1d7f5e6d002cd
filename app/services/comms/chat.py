"""Chat channels: who may see which, the channel list with unread counts, and membership.

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
  events service calls `subject_channel(session, ctx, kind=ChannelKind.event,
  subject_type="event", subject_id=event.id, name=event.title)` when an event is created and
  `add_member(session, ctx, channel_id=..., user_id=...)` when someone registers (and
  `remove_member` when they cancel). No schema change: the channel is generic over
  `subject_type`/`subject_id`.

Moderators: org admins and staff in every channel of their org they can see; for course
and cohort channels also the org's instructors. Messages are in `app.services.comms.chat_messages`.

Live: every change is published after commit on `org:{org}:channel:{channel}`
(`channel_topic`); a change of someone's channel list (a new DM, a removal) on
`org:{org}:user:{user}:chat` (`user_chat_topic`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.models.base import as_utc, utcnow
from app.models.chat import ChannelKind, ChatChannel, ChatMember, ChatMessage
from app.models.course import Course, CourseStatus
from app.models.enrollment import Cohort, Enrollment, EnrollmentStatus
from app.models.user import Membership, Role, User
from app.services.authoring import course_read
from app.services.config import org_config
from app.services.core import audit
from app.services.core.authz import Permission, has, permissions_for
from app.services.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.services.core.tenancy import OrgContext, count_rows, parse_id, scoped
from app.services.infra.broker import publish_after_commit

FEATURE = "chat"
OPEN_ENROLLMENTS = (EnrollmentStatus.active, EnrollmentStatus.completed)
MODERATOR_ROLES = frozenset({Role.org_admin, Role.staff})
STAFF_MODERATED = frozenset({ChannelKind.course, ChannelKind.cohort})
GENERAL_NAME = "General"
NAME_MAX = 80
DESCRIPTION_MAX = 300


def channel_topic(org_id: uuid.UUID | str, channel_id: uuid.UUID | str) -> str:
    """The broker topic of one channel (new, edited and deleted messages)."""
    return f"org:{org_id}:channel:{channel_id}"


def user_chat_topic(org_id: uuid.UUID | str, user_id: uuid.UUID | str) -> str:
    """The broker topic of one person's channel list in one org (a new DM, a removal)."""
    return f"org:{org_id}:user:{user_id}:chat"


def require_chat(session: Session, ctx: OrgContext) -> uuid.UUID:
    """Refuse unless the context is a member of an org whose chat is on; returns the org id.

    Every chat service calls this first, so switching the feature off refuses them all.
    """
    if ctx.org_id is None:
        raise PermissionDenied()
    org_config.require_feature(session, ctx.org_id, FEATURE)
    if not (has(ctx, Permission.dashboard_view) or has(ctx, Permission.learning_view)):
        raise PermissionDenied()
    return ctx.org_id


# --------------------------------------------------------------------------- who may see


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


def _channel_cohort(session: Session, ctx: OrgContext, channel: ChatChannel) -> Cohort | None:
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


def is_course_staff(role: str) -> bool:
    """Whether the role is course staff (instructors, staff, admins: `courses.author`)."""
    return Permission.courses_author in permissions_for(role)


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
        cohort = _channel_cohort(session, ctx, channel)
        if cohort is None:
            return False
        return is_course_staff(role) or _in_cohort(session, ctx, cohort, user_id)
    if channel.kind == ChannelKind.interest:
        return not removed
    return joined  # direct, event


def _ctx_role(ctx: OrgContext) -> str:
    return Role.org_admin if ctx.is_super_admin else ctx.role


def is_moderator(ctx: OrgContext, channel: ChatChannel) -> bool:
    """Org admins and staff moderate every channel of their org; the org's instructors also
    moderate course and cohort channels."""
    role = _ctx_role(ctx)
    if channel.org_id != ctx.org_id:
        return False
    if role in MODERATOR_ROLES:
        return True
    return channel.kind in STAFF_MODERATED and is_course_staff(role)


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
        role=_ctx_role(ctx),
        member=member,
        fetched=True,
    ):
        raise NotFound()
    subject_archived = False
    if channel.kind == ChannelKind.cohort:
        cohort = _channel_cohort(session, ctx, channel)
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


# --------------------------------------------------------------------------- creating


# Set on the session when `_ensure_channel` made a channel: a read that created one on
# first use commits it; a read that created nothing does not commit.
_CREATED_CHANNEL = "guildhall_chat_created_channel"


def _ensure_channel(
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


def org_channel(session: Session, ctx: OrgContext) -> ChatChannel:
    """The org's "General" channel (created on first use)."""
    org_id = require_chat(session, ctx)
    row = _ensure_channel(
        session,
        org_id=org_id,
        ctx=ctx,
        kind=ChannelKind.org,
        unique_key=f"org:{org_id}",
        name=GENERAL_NAME,
        description="Everyone in the organization.",
    )
    session.commit()
    return row


def _course_channel(session: Session, ctx: OrgContext, course: Course) -> ChatChannel:
    assert ctx.org_id is not None
    return _ensure_channel(
        session,
        org_id=ctx.org_id,
        ctx=ctx,
        kind=ChannelKind.course,
        unique_key=f"course:{ctx.org_id}:{course.id}",
        name=course.title,
        description="The course's learners and instructors.",
        subject_type="course",
        subject_id=course.id,
    )


def course_channel(session: Session, ctx: OrgContext, course_id: uuid.UUID | str) -> ChatChannel:
    """The course's channel in the active org, for its enrolled learners and course staff
    (anyone else: `NotFound`)."""
    require_chat(session, ctx)
    course = course_read.access_course(session, ctx, course_id)
    row = _course_channel(session, ctx, course)
    access_channel(session, ctx, row.id, check_feature=False)  # enrolled or staff, or refused
    session.commit()
    return row


def cohort_label(cohort_name: str, course_title: str) -> str:
    """What a cohort channel is called: "{cohort} · {course}"."""
    return f"{cohort_name} · {course_title}" if course_title else cohort_name


def _course_title(session: Session, ctx: OrgContext, course_id: uuid.UUID) -> str:
    """The title of a course of the active org, or one shared down to it (else "")."""
    row = session.exec(course_read.authored_courses(ctx).where(Course.id == course_id)).first()
    if row is None:
        row = session.exec(
            course_read.visible_courses(ctx, include_archived=True).where(Course.id == course_id)
        ).first()
    return row.title if row is not None else ""


def _cohort_channel(
    session: Session, ctx: OrgContext, cohort: Cohort, course_title: str
) -> ChatChannel:
    """The cohort's channel (created on first use; its stored name follows renames)."""
    name = cohort_label(cohort.name, course_title)[:NAME_MAX]
    row = _ensure_channel(
        session,
        org_id=cohort.org_id,
        ctx=ctx,
        kind=ChannelKind.cohort,
        unique_key=f"cohort:{cohort.org_id}:{cohort.id}",
        name=name,
        description="The cohort's learners and the course's instructors.",
        subject_type="cohort",
        subject_id=cohort.id,
    )
    if course_title and row.name != name:
        row.name = name
        row.modified = utcnow()
        session.add(row)
    return row


def cohort_channel(session: Session, ctx: OrgContext, cohort_id: uuid.UUID | str) -> ChatChannel:
    """The channel of a cohort of the active org, for the learners placed in it and the
    org's course staff (anyone else, and any other org's cohort: `NotFound`). An archived
    cohort's channel is still returned (read-only) to those who may read it."""
    org_id = require_chat(session, ctx)
    key = parse_id(cohort_id)
    cohort = session.exec(scoped(ctx, Cohort, org_ids=[org_id]).where(Cohort.id == key)).first()
    if cohort is None:
        raise NotFound()
    row = _cohort_channel(session, ctx, cohort, _course_title(session, ctx, cohort.course_id))
    access_channel(session, ctx, row.id, check_feature=False)  # placed in it or staff
    session.commit()
    return row


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
    row = _ensure_channel(
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


def create_interest_channel(
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
    publish_after_commit(session, user_chat_topic(org_id, ctx.user_id), {"kind": "channels"})
    session.commit()
    return row


def join_channel(session: Session, ctx: OrgContext, *, channel_id: uuid.UUID | str) -> None:
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
        session, user_chat_topic(channel.org_id, ctx.user_id), {"kind": "channels"}
    )
    session.commit()


def leave_channel(session: Session, ctx: OrgContext, *, channel_id: uuid.UUID | str) -> None:
    """Leave an interest channel (posting is refused until you join again)."""
    acc = access_channel(session, ctx, channel_id)
    channel = acc.channel
    if channel.kind != ChannelKind.interest:
        raise ValidationFailed("Only interest channels can be left.")
    if acc.member is not None and acc.member.left_at is None:
        acc.member.left_at = utcnow()
        acc.member.modified = utcnow()
        session.add(acc.member)
        publish_after_commit(
            session, channel_topic(channel.org_id, channel.id), {"kind": "members"}
        )
        publish_after_commit(
            session, user_chat_topic(channel.org_id, ctx.user_id), {"kind": "channels"}
        )
    session.commit()


def archive_channel(session: Session, ctx: OrgContext, *, channel_id: uuid.UUID | str) -> None:
    """Archive an interest channel (org admins and staff): it leaves every list and takes no
    more messages; its history stays readable to those who could read it."""
    acc = access_channel(session, ctx, channel_id)
    channel = acc.channel
    if _ctx_role(ctx) not in MODERATOR_ROLES:
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
            session, channel_topic(channel.org_id, channel.id), {"kind": "channel"}
        )
    session.commit()


def add_member(
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
    publish_after_commit(session, user_chat_topic(org_id, target), {"kind": "channels"})
    session.commit()


def remove_member(
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
    publish_after_commit(session, channel_topic(channel.org_id, channel.id), {"kind": "members"})
    publish_after_commit(session, user_chat_topic(channel.org_id, target), {"kind": "channels"})
    session.commit()


def open_direct(session: Session, ctx: OrgContext, *, user_id: uuid.UUID | str) -> ChatChannel:
    """The direct-message channel between the context and another active member of the
    active org (created on first use; one per pair)."""
    org_id = require_chat(session, ctx)
    other = parse_id(user_id)
    if other == ctx.user_id:
        raise ValidationFailed("Pick someone else to message.")
    if not active_role(session, ctx, org_id, other):
        raise NotFound()
    low, high = sorted([ctx.user_id, other], key=str)
    channel = _ensure_channel(
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
        publish_after_commit(session, user_chat_topic(org_id, other), {"kind": "channels"})
    session.commit()
    return channel


# --------------------------------------------------------------------------- reading


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
        cohort = _channel_cohort(session, ctx, channel)
        if cohort is not None:
            return cohort_label(cohort.name, _course_title(session, ctx, cohort.course_id))
    return channel.name


def _course_ids_for(session: Session, ctx: OrgContext) -> list[Course]:
    """Courses whose channel the context sees: staff see the org's published courses and
    every course the org's learners are in; learners their own open enrollments."""
    assert ctx.org_id is not None
    enrolled = scoped(ctx, Enrollment, org_ids=[ctx.org_id]).where(
        col(Enrollment.status).in_(OPEN_ENROLLMENTS)
    )
    staff = is_course_staff(_ctx_role(ctx))
    if not staff:
        enrolled = enrolled.where(Enrollment.user_id == ctx.user_id)
    course_ids = {e.course_id for e in session.exec(enrolled).all()}
    courses: dict[uuid.UUID, Course] = {}
    if course_ids:
        for course in session.exec(
            course_read.visible_courses(ctx, include_archived=True).where(
                col(Course.id).in_(course_ids)
            )
        ).all():
            courses[course.id] = course
        if staff:
            for course in session.exec(
                course_read.authored_courses(ctx).where(col(Course.id).in_(course_ids))
            ).all():
                courses[course.id] = course
    if staff:
        for course in session.exec(
            course_read.authored_courses(ctx).where(Course.status == CourseStatus.published)
        ).all():
            courses[course.id] = course
    return sorted(courses.values(), key=lambda c: c.title.lower())


def _cohorts_for(session: Session, ctx: OrgContext, courses: list[Course]) -> list[Cohort]:
    """Unarchived cohorts of the active org whose channel is in the context's list: staff
    get every cohort of the courses whose channel they see, learners the cohorts their open
    enrollments are placed in."""
    assert ctx.org_id is not None
    course_ids = [c.id for c in courses]
    if not course_ids:
        return []
    stmt = scoped(ctx, Cohort, org_ids=[ctx.org_id]).where(
        col(Cohort.course_id).in_(course_ids), col(Cohort.is_archived).is_(False)
    )
    if not is_course_staff(_ctx_role(ctx)):
        placed = {
            e.cohort_id
            for e in session.exec(
                scoped(ctx, Enrollment, org_ids=[ctx.org_id]).where(
                    Enrollment.user_id == ctx.user_id,
                    col(Enrollment.cohort_id).is_not(None),
                    col(Enrollment.status).in_(OPEN_ENROLLMENTS),
                )
            ).all()
            if e.cohort_id is not None
        }
        if not placed:
            return []
        stmt = stmt.where(col(Cohort.id).in_(placed))
    return list(session.exec(stmt).all())


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
    general = _ensure_channel(
        session,
        org_id=org_id,
        ctx=ctx,
        kind=ChannelKind.org,
        unique_key=f"org:{org_id}",
        name=GENERAL_NAME,
        description="Everyone in the organization.",
    )
    found = _course_ids_for(session, ctx)
    courses = [_course_channel(session, ctx, c) for c in found]
    titles = {c.id: c.title for c in found}
    cohorts = [
        _cohort_channel(session, ctx, cohort, titles.get(cohort.course_id, ""))
        for cohort in sorted(
            _cohorts_for(session, ctx, found),
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
    if session.info.pop(_CREATED_CHANNEL, False):
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
    topics = {channel_topic(ctx.org_id, r.id) for r in rows}
    topics.add(user_chat_topic(ctx.org_id, ctx.user_id))
    if open_channel:
        topics.add(channel_topic(ctx.org_id, open_channel))
    return topics


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
        can_archive=interest and not channel.is_archived and _ctx_role(ctx) in MODERATOR_ROLES,
        muted_until=muted_until,
    )


def mark_read(session: Session, ctx: OrgContext, *, channel_id: uuid.UUID | str) -> None:
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


def member_count(session: Session, ctx: OrgContext, channel: ChatChannel) -> int:
    """How many joined member rows a channel has (interest, event and direct channels)."""
    return count_rows(
        session,
        scoped(ctx, ChatMember, org_ids=[channel.org_id]).where(
            ChatMember.channel_id == channel.id, col(ChatMember.left_at).is_(None)
        ),
    )
