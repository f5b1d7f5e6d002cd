"""The read side of cohorts: a course's cohorts for staff and learners, and learner lists."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col

from app.models.enrollment import Enrollment, EnrollmentStatus
from app.models.user import User
from app.services.authoring import course_read
from app.services.core.authz import Permission, require
from app.services.core.tenancy import OrgContext, count_rows, parse_id, scoped
from app.services.learning.cohort_access import (
    cohort_of,
    course_cohorts,
    managed_cohort,
    may_manage,
    require_org,
)
from app.services.learning.cohort_rows import SEAT_STATUSES, CohortRow, rows_of, view_of

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class LearnerRow:
    """An enrolled learner in a cohort's member list or the unplaced list."""

    enrollment_id: str
    user_id: str
    name: str
    email: str
    status: str  # pending | active | completed
    progress_percent: int


@dataclass(frozen=True)
class LearnerPage:
    """A page of learners and how many match in all."""

    rows: list[LearnerRow]
    total: int
    page: int
    page_size: int


# --------------------------------------------------------------------------- staff: cohorts


def list_cohorts(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    include_archived: bool = False,
) -> list[CohortRow]:
    """The active org's cohorts of a course, with members and seats left; ordered by start
    date (undated last), then name. For those who `may_manage` the course."""
    course = may_manage(session, ctx, course_id)
    return rows_of(
        session,
        ctx,
        course_cohorts(session, ctx, course.id, include_archived=include_archived),
    )


@dataclass(frozen=True)
class CourseCohorts:
    """The cohorts page of one course: its title and its cohorts (see `list_cohorts`)."""

    course_id: str
    course_title: str
    cohorts: list[CohortRow]


def course_cohorts_page(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    include_archived: bool = False,
) -> CourseCohorts:
    """What the cohorts page of a course shows, for those who `may_manage` it."""
    course = may_manage(session, ctx, course_id)
    return CourseCohorts(
        course_id=str(course.id),
        course_title=course.title,
        cohorts=rows_of(
            session,
            ctx,
            course_cohorts(session, ctx, course.id, include_archived=include_archived),
        ),
    )


# --------------------------------------------------------------------------- people


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _learner_page(session: Session, stmt: Any, q: str, page: int, page_size: int) -> LearnerPage:
    stmt = stmt.join(User, col(User.id) == col(Enrollment.user_id))
    text = " ".join((q or "").split())[:100]
    if text:
        like = _like(text)
        stmt = stmt.where(
            or_(
                func.lower(User.full_name).like(like, escape="\\"),
                func.lower(User.email).like(like, escape="\\"),
            )
        )
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    total = count_rows(session, stmt)
    pages = max(1, -(-total // page_size))
    page = min(max(int(page), 1), pages)
    found = session.execute(
        stmt.add_columns(User)
        .order_by(func.lower(User.full_name), col(Enrollment.id))
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    rows = [
        LearnerRow(
            enrollment_id=str(e.id),
            user_id=str(e.user_id),
            name=u.full_name,
            email=u.email,
            status=e.status,
            progress_percent=100 if e.status == EnrollmentStatus.completed else e.progress_percent,
        )
        for e, u in found
    ]
    return LearnerPage(rows=rows, total=total, page=page, page_size=page_size)


def members(
    session: Session,
    ctx: OrgContext,
    *,
    cohort_id: uuid.UUID | str,
    q: str = "",
    page: int = 1,
    page_size: int = 25,
) -> LearnerPage:
    """The cohort's learners (pending, active, completed) by name, searchable by name or
    email, a page at a time."""
    cohort, _course = managed_cohort(session, ctx, cohort_id)
    stmt = scoped(ctx, Enrollment, org_ids=[cohort.org_id]).where(
        Enrollment.cohort_id == cohort.id, col(Enrollment.status).in_(list(SEAT_STATUSES))
    )
    return _learner_page(session, stmt, q, page, page_size)


def unplaced(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    q: str = "",
    page: int = 1,
    page_size: int = 25,
) -> LearnerPage:
    """Learners of the course in the active org (pending, active, completed) who are in no
    cohort, searchable by name or email, a page at a time."""
    course = may_manage(session, ctx, course_id)
    stmt = scoped(ctx, Enrollment, org_ids=[ctx.org_id] if ctx.org_id else []).where(
        Enrollment.course_id == course.id,
        col(Enrollment.cohort_id).is_(None),
        col(Enrollment.status).in_(list(SEAT_STATUSES)),
    )
    return _learner_page(session, stmt, q, page, page_size)


# --------------------------------------------------------------------------- learners


def open_cohorts(
    session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str
) -> list[CohortRow]:
    """The cohorts a learner of the active org may choose when enrolling in a course they
    can see: not archived, not ended, a seat left."""
    require(ctx, Permission.learning_view)
    require_org(session, ctx)
    course = course_read.access_course(session, ctx, course_id)
    found = rows_of(session, ctx, course_cohorts(session, ctx, course.id, include_archived=False))
    return [r for r in found if r.is_open]


def my_cohort(session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str) -> CohortRow | None:
    """The caller's own cohort in a course (of their enrollment in the active org), if any."""
    require(ctx, Permission.learning_view)
    org_id = require_org(session, ctx)
    key = parse_id(course_id)
    enrollment = session.exec(
        scoped(ctx, Enrollment, org_ids=[org_id]).where(
            Enrollment.user_id == ctx.user_id, Enrollment.course_id == key
        )
    ).first()
    if enrollment is None or enrollment.status not in SEAT_STATUSES:
        return None
    cohort = cohort_of(session, ctx, enrollment)
    return view_of(session, ctx, cohort) if cohort is not None else None


__all__ = [
    "MAX_PAGE_SIZE",
    "LearnerPage",
    "LearnerRow",
    "list_cohorts",
    "members",
    "my_cohort",
    "open_cohorts",
    "unplaced",
]
