"""Who sees which enrollments in the class view: the course, team and org bases, the cohort
filter, and which cross-course view a viewer gets.

Staff of a course (`is_course_staff`) see its enrollments in the orgs they may read; a
manager sees only the learners they manage (`members.team_of`). Every view needs the org's
`lms` feature and shows active, completed and pending enrollments (`SHOWN_STATUSES`).
"""

from __future__ import annotations

import uuid

from sqlmodel import Session, col
from sqlmodel.sql.expression import SelectOfScalar

from app.models.course import Course
from app.models.enrollment import Cohort, Enrollment, EnrollmentStatus
from app.services.authoring import course_read
from app.services.config import gates
from app.services.core.authz import (
    Permission,
    effective_role,
    is_course_staff,
    require,
    sees_org_progress,
)
from app.services.core.errors import NotFound, PermissionDenied
from app.services.core.tenancy import OrgContext, parse_id, scoped
from app.services.people import members

SCOPES = ("team", "org")
SHOWN_STATUSES = (EnrollmentStatus.active, EnrollmentStatus.completed, EnrollmentStatus.pending)
NO_COHORT = "none"


def _lms(session: Session, ctx: OrgContext) -> uuid.UUID:
    if ctx.org_id is None:
        raise PermissionDenied()
    gates.require_feature(session, ctx.org_id, "lms")
    return ctx.org_id


def _team_ids(session: Session, ctx: OrgContext) -> set[uuid.UUID]:
    return {uuid.UUID(m.user_id) for m in members.team_of(session, ctx, ctx.user_id)}


def _shown(stmt: SelectOfScalar[Enrollment]) -> SelectOfScalar[Enrollment]:
    return stmt.where(col(Enrollment.status).in_(list(SHOWN_STATUSES)))


def course_base(
    session: Session, ctx: OrgContext, course_id: uuid.UUID | str
) -> tuple[Course, SelectOfScalar[Enrollment], bool]:
    """The course, the enrollments the viewer may see in it, and whether that is a team."""
    _lms(session, ctx)
    key = parse_id(course_id)
    if is_course_staff(effective_role(ctx)):
        course = session.exec(course_read.authored_courses(ctx).where(Course.id == key)).first()
        if course is None:  # another org's course (also a parent's shared one): not theirs
            raise NotFound()
        base = scoped(ctx, Enrollment).where(Enrollment.course_id == course.id)
        return course, _shown(base), False
    require(ctx, Permission.compliance_view)  # managers (and auditors, who manage nobody)
    course = course_read.access_course(session, ctx, key)
    team = _team_ids(session, ctx)
    base = scoped(ctx, Enrollment).where(
        Enrollment.course_id == course.id, col(Enrollment.user_id).in_(team)
    )
    return course, _shown(base), True


def cohort_base(
    session: Session,
    ctx: OrgContext,
    course: Course,
    base: SelectOfScalar[Enrollment],
    cohort_id: uuid.UUID | str,
) -> SelectOfScalar[Enrollment]:
    """Narrow a course's enrollments to one cohort ("" or "all": every learner; "none":
    those in no cohort; otherwise a cohort of this course in the active org, or `NotFound`)."""
    value = str(cohort_id or "").strip()
    if value.lower() in ("", "all"):
        return base
    if value.lower() == NO_COHORT:
        return base.where(col(Enrollment.cohort_id).is_(None))
    key = parse_id(value)
    org_ids = [ctx.org_id] if ctx.org_id else []
    cohort = session.exec(
        scoped(ctx, Cohort, org_ids=org_ids).where(Cohort.id == key, Cohort.course_id == course.id)
    ).first()
    if cohort is None:
        raise NotFound("That cohort is not one of this course's.")
    return base.where(Enrollment.cohort_id == cohort.id)


def scope_base(
    session: Session, ctx: OrgContext, scope: str
) -> tuple[str, SelectOfScalar[Enrollment], bool]:
    """The view's title, the enrollments of a team or org view, and whether it is a team."""
    _lms(session, ctx)
    if scope == "org":
        if not sees_org_progress(ctx):
            raise PermissionDenied()
        return ctx.org_name or "Your organization", _shown(scoped(ctx, Enrollment)), False
    if scope == "team":
        require(ctx, Permission.compliance_view)
        team = _team_ids(session, ctx)
        stmt = scoped(ctx, Enrollment).where(col(Enrollment.user_id).in_(team))
        return "Your team", _shown(stmt), True
    raise NotFound()


def default_scope(ctx: OrgContext) -> str:
    """Which cross-course view a viewer gets: the org for those who manage enrollments or
    read it all (auditors), otherwise their team."""
    return "org" if sees_org_progress(ctx) else "team"


__all__ = [
    "NO_COHORT",
    "SHOWN_STATUSES",
    "cohort_base",
    "course_base",
    "default_scope",
    "scope_base",
]
