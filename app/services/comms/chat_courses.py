"""Course and cohort chat channels: one per course and cohort, and which ones a person lists."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col

from app.models.base import utcnow
from app.models.chat import ChannelKind, ChatChannel
from app.models.course import Course, CourseStatus
from app.models.enrollment import Cohort, Enrollment
from app.services.authoring import course_read
from app.services.comms.chat_access import OPEN_ENROLLMENTS, access_channel, require_chat
from app.services.comms.chat_channels import NAME_MAX, ensure_channel
from app.services.core.authz import effective_role, is_course_staff
from app.services.core.errors import NotFound
from app.services.core.tenancy import OrgContext, parse_id, scoped


def ensure_course_channel(session: Session, ctx: OrgContext, course: Course) -> ChatChannel:
    assert ctx.org_id is not None
    return ensure_channel(
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
    row = ensure_course_channel(session, ctx, course)
    access_channel(session, ctx, row.id, check_feature=False)  # enrolled or staff, or refused
    session.commit()
    return row


def cohort_label(cohort_name: str, course_title: str) -> str:
    """What a cohort channel is called: "{cohort} · {course}"."""
    return f"{cohort_name} · {course_title}" if course_title else cohort_name


def course_title(session: Session, ctx: OrgContext, course_id: uuid.UUID) -> str:
    """The title of a course of the active org, or one shared down to it (else "")."""
    row = session.exec(course_read.authored_courses(ctx).where(Course.id == course_id)).first()
    if row is None:
        row = session.exec(
            course_read.visible_courses(ctx, include_archived=True).where(Course.id == course_id)
        ).first()
    return row.title if row is not None else ""


def ensure_cohort_channel(
    session: Session, ctx: OrgContext, cohort: Cohort, course_title: str
) -> ChatChannel:
    """The cohort's channel (created on first use; its stored name follows renames)."""
    name = cohort_label(cohort.name, course_title)[:NAME_MAX]
    row = ensure_channel(
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
    row = ensure_cohort_channel(session, ctx, cohort, course_title(session, ctx, cohort.course_id))
    access_channel(session, ctx, row.id, check_feature=False)  # placed in it or staff
    session.commit()
    return row


def listed_courses(session: Session, ctx: OrgContext) -> list[Course]:
    """Courses whose channel the context sees: staff see the org's published courses and
    every course the org's learners are in; learners their own open enrollments."""
    assert ctx.org_id is not None
    enrolled = scoped(ctx, Enrollment, org_ids=[ctx.org_id]).where(
        col(Enrollment.status).in_(OPEN_ENROLLMENTS)
    )
    staff = is_course_staff(effective_role(ctx))
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


def listed_cohorts(session: Session, ctx: OrgContext, courses: list[Course]) -> list[Cohort]:
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
    if not is_course_staff(effective_role(ctx)):
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
