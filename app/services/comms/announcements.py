"""Announcements: a message from an org's admins, staff or instructors to many members.

Who may send to whom (decided here, on the server, every time):

* `org` (every active member of the active org) and `role` (the active members holding one
  role there): org admins and staff (and super admins acting in the org);
* `course` (the learners enrolled in a course, active or completed): anyone who may author
  that course (`courses.author`, and the course belongs to the active org).

The sender is never among the recipients. Recipients are resolved on the server from the
database, inside the sender's scope, when the announcement is sent. One `Announcement` row is
written, audited, and every recipient gets an `announcement` notification whose dedupe key is
`announcement:{id}:{user_id}`, so a retried delivery adds nothing twice. Small audiences are
notified in the sender's transaction; larger ones in `announcement.send` outbox jobs of at
most `CHUNK` recipients each (the ids travel in the job, written by this module). Online
recipients see a toast: the notification's live push carries `{"kind": "announcement",
"title": ...}` to their inbox topic.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from app.models.base import as_utc
from app.models.course import Course
from app.models.enrollment import Enrollment, EnrollmentStatus
from app.models.notification import Announcement
from app.models.outbox import OutboxJob
from app.models.user import Membership, Role, User
from app.services.authoring import course_read
from app.services.comms import notifications
from app.services.config import gates, inheritance
from app.services.core import audit
from app.services.core.authz import ROLE_LABELS, Permission, has, require
from app.services.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.services.core.tenancy import OrgContext, access, count_rows, mark_scoped, scoped
from app.services.infra import outbox

SEND_JOB = "announcement.send"
AUDIENCES: dict[str, str] = {
    "org": "Everyone in the organization",
    "role": "Everyone with a role",
    "course": "Learners of a course",
}
TITLE_MIN, TITLE_MAX = 3, 200
BODY_MIN, BODY_MAX = 1, 2000
INLINE_MAX = 50  # up to this many recipients are notified at once; more go through jobs
CHUNK = 500  # recipients per delivery job
ENROLLED = (EnrollmentStatus.active, EnrollmentStatus.completed)


# --------------------------------------------------------------------------- who may send


def may_send_to_org(ctx: OrgContext) -> bool:
    """Whether the context may announce to the whole org or to a role in it."""
    return has(ctx, Permission.announce_org)


def may_send(ctx: OrgContext) -> bool:
    """Whether the context may send any announcement (the page and its nav entry)."""
    return may_send_to_org(ctx) or has(ctx, Permission.courses_author)


@dataclass(frozen=True)
class AudienceOptions:
    """What the compose form offers this sender."""

    audiences: list[tuple[str, str]]  # (key, label)
    roles: list[tuple[str, str]]  # (role, label)
    courses: list[tuple[str, str]]  # (course id, title)


def audience_options(session: Session, ctx: OrgContext) -> AudienceOptions:
    """The audiences, roles and courses the signed-in sender may choose from."""
    if not may_send(ctx):
        raise PermissionDenied()
    audiences: list[tuple[str, str]] = []
    roles: list[tuple[str, str]] = []
    if may_send_to_org(ctx):
        audiences += [("org", AUDIENCES["org"]), ("role", AUDIENCES["role"])]
        roles = [(r.value, ROLE_LABELS[r]) for r in Role]
    courses: list[tuple[str, str]] = []
    if has(ctx, Permission.courses_author) and _lms_on(session, ctx):
        audiences.append(("course", AUDIENCES["course"]))
        rows = session.exec(
            course_read.authored_courses(ctx).order_by(col(Course.title)).limit(500)
        ).all()
        courses = [(str(c.id), c.title) for c in rows]
    return AudienceOptions(audiences=audiences, roles=roles, courses=courses)


def _lms_on(session: Session, ctx: OrgContext) -> bool:
    assert ctx.org_id is not None
    return bool(inheritance.effective_config(session, ctx.org_id).features.lms)


# --------------------------------------------------------------------------- check


@dataclass(frozen=True)
class Draft:
    """A checked announcement: what to say and to whom (not yet resolved to people)."""

    audience: str
    title: str
    body: str
    role: str = ""
    course: Course | None = None


def check_announcement(
    session: Session,
    ctx: OrgContext,
    *,
    audience: str,
    title: str,
    body: str,
    role: str = "",
    course_id: uuid.UUID | str | None = None,
) -> Draft:
    """Validate the input and the sender's right to reach that audience."""
    if not may_send(ctx):
        raise PermissionDenied()
    clean_title = " ".join(title.split())
    clean_body = body.strip()
    if audience not in AUDIENCES:
        raise ValidationFailed("Choose who receives it.", field="audience")
    if not TITLE_MIN <= len(clean_title) <= TITLE_MAX:
        raise ValidationFailed(
            f"The title needs {TITLE_MIN} to {TITLE_MAX} characters.", field="title"
        )
    if not BODY_MIN <= len(clean_body) <= BODY_MAX:
        raise ValidationFailed(
            f"The message needs {BODY_MIN} to {BODY_MAX} characters.", field="body"
        )
    if audience in ("org", "role"):
        if not may_send_to_org(ctx):
            raise PermissionDenied()
        if audience == "role":
            if role not in ROLE_LABELS:
                raise ValidationFailed("Choose a role.", field="role")
            return Draft(audience=audience, title=clean_title, body=clean_body, role=role)
        return Draft(audience=audience, title=clean_title, body=clean_body)
    require(ctx, Permission.courses_author)
    assert ctx.org_id is not None
    gates.require_feature(session, ctx.org_id, "lms")
    if not course_id:
        raise ValidationFailed("Choose a course.", field="course_id")
    try:
        course = course_read.access_course(session, ctx, course_id, author=True)
    except NotFound as exc:
        raise ValidationFailed("Choose one of your courses.", field="course_id") from exc
    return Draft(audience=audience, title=clean_title, body=clean_body, course=course)


# --------------------------------------------------------------------------- recipients


def recipients(session: Session, ctx: OrgContext, draft: Draft) -> list[uuid.UUID]:
    """The user ids the draft reaches, in the sender's scope (never the sender)."""
    assert ctx.org_id is not None
    if draft.audience == "course":
        assert draft.course is not None
        enrolled = select(Enrollment.user_id).where(
            col(Enrollment.org_id).in_(set(ctx.org_ids)),  # the sender's scope, as `scoped`
            Enrollment.course_id == draft.course.id,
            col(Enrollment.status).in_(list(ENROLLED)),
        )
        ids = list(session.exec(mark_scoped(enrolled)).all())
    else:
        members = select(Membership.user_id).where(
            Membership.org_id == ctx.org_id, col(Membership.is_active)
        )
        if draft.audience == "role":
            members = members.where(Membership.role == draft.role)
        ids = list(session.exec(mark_scoped(members)).all())
    active = (
        set(session.exec(select(User.id).where(col(User.id).in_(ids), col(User.is_active))).all())
        if ids
        else set()
    )
    return sorted({uid for uid in ids if uid in active and uid != ctx.user_id}, key=str)


# --------------------------------------------------------------------------- send


@dataclass(frozen=True)
class Sent:
    """What `do_send_announcement` did: the announcement, how many it reaches, and whether
    jobs deliver it."""

    id: str
    recipients: int
    queued: bool


def _link(ann: Announcement) -> str:
    return f"/courses/{ann.course_id}" if ann.course_id else "/notifications"


def _deliver(session: Session, ann: Announcement, user_ids: list[uuid.UUID]) -> int:
    return notifications.notify_many(
        session,
        org_id=ann.org_id,
        user_ids=user_ids,
        kind=notifications.ANNOUNCEMENT,
        title=ann.title,
        body=ann.body[:1000],
        link=_link(ann),
        dedupe_prefix=f"{notifications.ANNOUNCEMENT}:{ann.id}",
    )


def do_send_announcement(
    session: Session,
    ctx: OrgContext,
    *,
    audience: str,
    title: str,
    body: str,
    role: str = "",
    course_id: uuid.UUID | str | None = None,
) -> Sent:
    """Send an announcement. Audited. Commits.

    Refuses what the sender may not reach (`PermissionDenied`), bad input
    (`ValidationFailed` with the field), and an audience with nobody in it.
    """
    draft = check_announcement(
        session, ctx, audience=audience, title=title, body=body, role=role, course_id=course_id
    )
    people = recipients(session, ctx, draft)
    if not people:
        raise ValidationFailed("Nobody is in that audience yet.", field="audience")
    assert ctx.org_id is not None
    ann = Announcement(
        org_id=ctx.org_id,
        sender_id=ctx.user_id,
        audience=draft.audience,
        course_id=draft.course.id if draft.course else None,
        role=draft.role,
        title=draft.title,
        body=draft.body,
        recipients=len(people),
    )
    session.add(ann)
    session.flush()
    queued = len(people) > INLINE_MAX
    if queued:
        for n, start in enumerate(range(0, len(people), CHUNK)):
            outbox.enqueue(
                session,
                kind=SEND_JOB,
                payload={
                    "announcement_id": str(ann.id),
                    "user_ids": [str(u) for u in people[start : start + CHUNK]],
                },
                org_id=ann.org_id,
                dedupe_key=f"{SEND_JOB}:{ann.id}:{n}",
            )
    else:
        _deliver(session, ann, people)
    audit.record(
        session,
        action="announcement.sent",
        org_id=ann.org_id,
        ctx=ctx,
        target=ann.title,
        detail={
            "announcement_id": str(ann.id),
            "audience": ann.audience,
            "role": ann.role,
            "course_id": str(ann.course_id or ""),
            "recipients": len(people),
        },
    )
    session.commit()
    return Sent(id=str(ann.id), recipients=len(people), queued=queued)


@outbox.handler(SEND_JOB)
def _send_job(session: Session, job: OutboxJob) -> None:
    """Notify one chunk of an announcement's recipients (idempotent: dedupe keys)."""
    try:
        ann_id = uuid.UUID(str(job.payload["announcement_id"]))
        user_ids = [uuid.UUID(str(u)) for u in job.payload.get("user_ids", [])]
    except (KeyError, ValueError):
        return  # not a job this module wrote: nothing to do
    ann = session.exec(
        mark_scoped(
            select(Announcement).where(Announcement.id == ann_id, Announcement.org_id == job.org_id)
        )
    ).first()
    if ann is None:
        return
    _deliver(session, ann, user_ids)


# --------------------------------------------------------------------------- read


@dataclass(frozen=True)
class AnnouncementRow:
    """A sent announcement as the list on /announcements shows it."""

    id: str
    title: str
    body: str
    audience: str  # words: "Everyone", "Role: Learner", "Course: Fire safety"
    recipients: int
    sender: str
    created: datetime


def list_sent(
    session: Session, ctx: OrgContext, *, page: int = 1, page_size: int = 25
) -> tuple[list[AnnouncementRow], int]:
    """Announcements of the active org, newest first: all of them for org admins and staff,
    the sender's own for instructors."""
    if not may_send(ctx) or ctx.org_id is None:
        raise PermissionDenied()
    stmt = scoped(ctx, Announcement, org_ids=[ctx.org_id])
    if not may_send_to_org(ctx):
        stmt = stmt.where(Announcement.sender_id == ctx.user_id)
    total = count_rows(session, stmt)
    rows = list(
        session.exec(
            stmt.order_by(col(Announcement.created).desc(), col(Announcement.id))
            .offset((max(page, 1) - 1) * page_size)
            .limit(page_size)
        ).all()
    )
    senders = {
        u.id: u.full_name
        for u in session.exec(
            select(User).where(col(User.id).in_({r.sender_id for r in rows}))
        ).all()
    }
    course_ids = {r.course_id for r in rows if r.course_id}
    titles = (
        {
            c.id: c.title
            for c in session.exec(
                course_read.authored_courses(ctx).where(col(Course.id).in_(course_ids))
            ).all()
        }
        if course_ids
        else {}
    )

    def words(r: Announcement) -> str:
        if r.audience == "role":
            return f"Role: {ROLE_LABELS.get(r.role, r.role)}"
        if r.audience == "course":
            return f"Course: {titles.get(r.course_id, 'a course') if r.course_id else 'a course'}"
        return "Everyone"

    return (
        [
            AnnouncementRow(
                id=str(r.id),
                title=r.title,
                body=r.body,
                audience=words(r),
                recipients=r.recipients,
                sender=senders.get(r.sender_id, ""),
                created=as_utc(r.created),
            )
            for r in rows
        ],
        total,
    )


def get_sent(session: Session, ctx: OrgContext, announcement_id: uuid.UUID | str) -> Announcement:
    """One announcement of the active org the sender may see (others: `NotFound`)."""
    if not may_send(ctx):
        raise PermissionDenied()
    row = access(session, ctx, Announcement, announcement_id, write=True)
    if not may_send_to_org(ctx) and row.sender_id != ctx.user_id:
        raise NotFound()
    return row


__all__ = [
    "AUDIENCES",
    "CHUNK",
    "INLINE_MAX",
    "SEND_JOB",
    "AnnouncementRow",
    "AudienceOptions",
    "Draft",
    "Sent",
    "audience_options",
    "check_announcement",
    "do_send_announcement",
    "get_sent",
    "list_sent",
    "may_send",
    "may_send_to_org",
    "recipients",
]
