"""Who may manage a course's cohorts in the active org, and the cohorts they reach."""

# Cohorts: groups of one course's learners who go through it together (a class intake, a
# site's crew), with their own dates and seats.
#
# Ownership: a cohort belongs to the *learners'* org, like their enrollments. A course shared
# down from a parent org gets its own cohorts in each org that runs it; an enrollment sits in
# at most one cohort of its course (`Enrollment.cohort_id`), always of its own org.
#
# Who manages a course's cohorts in the active org (`may_manage`): the course's staff as the
# live class view defines them (`authz.is_course_staff`: holders of `courses.author` or
# `enrollments.manage`, for the courses of their active org). One addition, because cohorts
# live in the learners' org: for a course an ancestor org shares down, the holders of
# `enrollments.manage` of the org that runs it (its staff and admins) manage that org's
# cohorts (they already approve its applications). Course authors of that org did not write
# the parent's course and do not. Managers (a team-only class view) and learners are refused.

from __future__ import annotations

import uuid

from sqlalchemy import case, func
from sqlmodel import Session, col
from sqlmodel.sql.expression import SelectOfScalar

from app.models.course import Course
from app.models.enrollment import Cohort, Enrollment
from app.services.authoring import course_read
from app.services.config import gates
from app.services.core.authz import Permission, effective_role, has, is_course_staff
from app.services.core.errors import NotFound, PermissionDenied
from app.services.core.tenancy import OrgContext, parse_id, scoped

MAX_COHORTS = 500  # per course and org, listed at once


def require_org(session: Session, ctx: OrgContext) -> uuid.UUID:
    """The active org, which must have the `lms` feature (no active org: refused)."""
    if ctx.org_id is None:
        raise PermissionDenied()
    gates.require_feature(session, ctx.org_id, "lms")
    return ctx.org_id


def require_course_staff(session: Session, ctx: OrgContext) -> None:
    """Refuse a context that is not course staff (or has no `lms` org) before any lookup."""
    require_org(session, ctx)
    if not is_course_staff(effective_role(ctx)):
        raise PermissionDenied()


def may_manage(session: Session, ctx: OrgContext, course_id: uuid.UUID | str) -> Course:
    """The course, if the context may manage its cohorts in the active org (see the notes at
    the top of this module); a role that is not course staff is `PermissionDenied`, a course
    that is not theirs (another org's, a parent's course not shared down) `NotFound`. Needs
    `lms`."""
    require_org(session, ctx)
    key = parse_id(course_id)
    if not is_course_staff(effective_role(ctx)):
        raise PermissionDenied()
    course = session.exec(course_read.authored_courses(ctx).where(Course.id == key)).first()
    if course is not None:
        return course
    if has(ctx, Permission.enrollments_manage) and ctx.ancestor_ids:
        shared = session.exec(
            course_read.visible_courses(ctx, include_archived=True).where(
                Course.id == key, col(Course.org_id).in_(set(ctx.ancestor_ids))
            )
        ).first()
        if shared is not None:
            return shared
    raise NotFound()


def org_cohorts(ctx: OrgContext) -> SelectOfScalar[Cohort]:
    """Cohorts of the active org (never the subtree: each org runs its own)."""
    return scoped(ctx, Cohort, org_ids=[ctx.org_id] if ctx.org_id else [])


def managed_cohort(
    session: Session, ctx: OrgContext, cohort_id: uuid.UUID | str, *, lock: bool = False
) -> tuple[Cohort, Course]:
    """A cohort of the active org whose course the context manages (else refused)."""
    require_course_staff(session, ctx)
    stmt = org_cohorts(ctx).where(Cohort.id == parse_id(cohort_id))
    cohort = session.exec(stmt.with_for_update() if lock else stmt).first()
    if cohort is None:
        raise NotFound()
    return cohort, may_manage(session, ctx, cohort.course_id)


def cohort_of(session: Session, ctx: OrgContext, enrollment: Enrollment) -> Cohort | None:
    """The enrollment's cohort, if any (read in the enrollment's org)."""
    if enrollment.cohort_id is None or enrollment.org_id not in ctx.org_ids:
        return None
    return session.exec(
        scoped(ctx, Cohort, org_ids=[enrollment.org_id]).where(Cohort.id == enrollment.cohort_id)
    ).first()


def course_cohorts(
    session: Session, ctx: OrgContext, course_id: uuid.UUID, *, include_archived: bool
) -> list[Cohort]:
    """The active org's cohorts of a course by start date (undated last), then name."""
    stmt = org_cohorts(ctx).where(Cohort.course_id == course_id)
    if not include_archived:
        stmt = stmt.where(col(Cohort.is_archived).is_(False))
    undated = case((col(Cohort.starts_on).is_(None), 1), else_=0)  # undated last, portably
    stmt = stmt.order_by(undated, col(Cohort.starts_on), func.lower(Cohort.name), col(Cohort.id))
    return list(session.exec(stmt.limit(MAX_COHORTS)).all())


__all__ = [
    "MAX_COHORTS",
    "cohort_of",
    "course_cohorts",
    "managed_cohort",
    "may_manage",
    "org_cohorts",
    "require_course_staff",
    "require_org",
]
