"""The live class view: who is enrolled, how far they are, what they did last, who struggles.

Three scopes, one row shape (`RosterRow`):
- `course_roster`: one course, for its staff. Staff are the holders of `courses.author` or
  `enrollments.manage` in the org that owns the course (instructors, staff, org admins); they
  see the course's enrollments in the orgs they may read (an org admin's subtree, everyone
  else their own org). A manager (neither permission) sees only the learners they manage.
- `team_view`: a manager's team (`members.team_of`), every course, one row per enrollment.
- `org_view`: everything enrolled in the viewer's scope (org admins: the subtree; staff:
  their org), every course.

Cohorts: each row names the enrollment's cohort (`RosterRow.cohort`, "" for none). A
course's roster can be narrowed to one cohort of the course in the active org, or to the
learners in no cohort (`cohort_id="none"`); the summary counts then count that cohort.
`cohort_choices` lists the course's cohorts for the filter.

Last activity is the latest of: a lesson-progress change (completion, video position), a
quiz attempt, and a change to the enrollment itself. "Active now" means activity within
`ACTIVE_WINDOW`. A learner struggles when their newest quiz attempt failed, when they are
past the due date, or when nothing happened for `inactive_days` while not completed.
Filtering, sorting, counting and paging happen in the database (correlated subqueries on the
indexed `enrollment_id` columns), so a large org never loads into memory.

Live updates: lesson completions, quiz attempts and watched video are published through
`progress_live.publish_progress` on `topics.PROGRESS` after commit. `progress_topics` names the
topics a viewer may follow, chosen from what they may see, never from the browser.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, DateTime, and_, case, func, or_, type_coerce
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.models.base import as_utc, utcnow
from app.models.course import Course, CourseModule, Lesson
from app.models.enrollment import (
    Cohort,
    Enrollment,
    EnrollmentStatus,
    LessonProgress,
    QuizAttempt,
)
from app.models.user import User
from app.services.authoring import course_read
from app.services.config import gates
from app.services.core import topics
from app.services.core.authz import Permission, effective_role, has, is_course_staff, require
from app.services.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.services.core.tenancy import (
    OrgContext,
    count_rows,
    parse_id,
    scoped,
    scoped_with_ancestors,
)
from app.services.people import members

ACTIVE_WINDOW = timedelta(minutes=5)
FILTERS = ("all", "struggling", "inactive", "completed")
SORTS = ("name", "progress", "activity")
SCOPES = ("team", "org")
SHOWN_STATUSES = (EnrollmentStatus.active, EnrollmentStatus.completed, EnrollmentStatus.pending)
MAX_PAGE_SIZE = 100
MAX_TOPICS = 500
DEFAULT_INACTIVE_DAYS = 7
NO_COHORT = "none"


@dataclass(frozen=True)
class RosterRow:
    """One enrollment as the live view shows it."""

    enrollment_id: str
    user_id: str
    course_id: str
    course_title: str
    name: str
    email: str
    progress_percent: int
    current_lesson: str  # the last lesson completed, or the one to start with
    last_activity: datetime
    latest_score: int | None  # percent of the newest quiz attempt; None without attempts
    latest_passed: bool | None
    status: str  # active | completed | pending
    active_now: bool
    struggling: bool
    reasons: tuple[str, ...]  # why they struggle: "failed quiz", "overdue", "inactive"
    due_at: datetime | None
    cohort: str = ""  # the cohort's name; "" when the enrollment is in none


@dataclass(frozen=True)
class RosterCounts:
    """How many of the whole view (not just the page) are in each group."""

    total: int
    active_now: int
    struggling: int
    inactive: int
    completed: int


@dataclass(frozen=True)
class RosterPage:
    """A page of rows, how many match the filter, and the counts of the whole view."""

    title: str  # the course's title, or "Your team" / the org's name
    rows: list[RosterRow]
    total: int
    page: int
    page_size: int
    counts: RosterCounts
    scope: str  # course | team | org
    team_only: bool  # the viewer sees only the learners they manage


# --------------------------------------------------------------------------- checks


def check_filter(value: str) -> str:
    """A known filter ("" means all)."""
    value = (value or "all").strip().lower()
    if value not in FILTERS:
        raise ValidationFailed("Choose all, struggling, inactive or completed.", field="filter")
    return value


def check_sort(value: str) -> str:
    """A known sort ("" means by name)."""
    value = (value or "name").strip().lower()
    if value not in SORTS:
        raise ValidationFailed("Sort by name, progress or last activity.", field="sort")
    return value


def check_inactive_days(value: int | str) -> int:
    """Days without activity that make a learner inactive: 1 to 365."""
    try:
        days = int(str(value).strip())
    except ValueError as exc:
        raise ValidationFailed("Enter a number of days.", field="inactive_days") from exc
    if not 1 <= days <= 365:
        raise ValidationFailed("Enter between 1 and 365 days.", field="inactive_days")
    return days


def _lms(session: Session, ctx: OrgContext) -> uuid.UUID:
    if ctx.org_id is None:
        raise PermissionDenied()
    gates.require_feature(session, ctx.org_id, "lms")
    return ctx.org_id


def _team_ids(session: Session, ctx: OrgContext) -> set[uuid.UUID]:
    return {uuid.UUID(m.user_id) for m in members.team_of(session, ctx, ctx.user_id)}


def _shown(stmt: SelectOfScalar[Enrollment]) -> SelectOfScalar[Enrollment]:
    return stmt.where(col(Enrollment.status).in_(list(SHOWN_STATUSES)))


def _course_base(
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


def _cohort_base(
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


def _scope_base(
    session: Session, ctx: OrgContext, scope: str
) -> tuple[str, SelectOfScalar[Enrollment], bool]:
    """The view's title, the enrollments of a team or org view, and whether it is a team."""
    _lms(session, ctx)
    if scope == "org":
        require(ctx, Permission.enrollments_manage)
        return ctx.org_name or "Your organization", _shown(scoped(ctx, Enrollment)), False
    if scope == "team":
        require(ctx, Permission.compliance_view)
        team = _team_ids(session, ctx)
        stmt = scoped(ctx, Enrollment).where(col(Enrollment.user_id).in_(team))
        return "Your team", _shown(stmt), True
    raise NotFound()


def default_scope(ctx: OrgContext) -> str:
    """Which cross-course view a viewer gets: the org for those who manage enrollments,
    otherwise their team."""
    return "org" if has(ctx, Permission.enrollments_manage) else "team"


# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class _Exprs:
    activity: ColumnElement[Any]
    latest_score: ColumnElement[Any]
    latest_passed: ColumnElement[Any]
    overdue: ColumnElement[bool]
    inactive: ColumnElement[bool]
    struggling: ColumnElement[bool]
    active_now: ColumnElement[bool]
    completed: ColumnElement[bool]


def _exprs(now: datetime, inactive_days: int) -> _Exprs:
    """Per-enrollment SQL expressions (correlated subqueries on indexed columns)."""
    progress_at = (
        select(func.max(LessonProgress.modified))
        .where(
            LessonProgress.enrollment_id == Enrollment.id,
            LessonProgress.org_id == Enrollment.org_id,
        )
        .correlate(Enrollment)
        .scalar_subquery()
    )
    attempt_at = (
        select(func.max(QuizAttempt.created))
        .where(QuizAttempt.enrollment_id == Enrollment.id, QuizAttempt.org_id == Enrollment.org_id)
        .correlate(Enrollment)
        .scalar_subquery()
    )
    # GREATEST() is not portable (SQLite): the latest of three by CASE.
    modified: Any = col(Enrollment.modified)
    activity: ColumnElement[Any] = modified
    for sub in (progress_at, attempt_at):
        other = func.coalesce(sub, modified)
        activity = case((other > activity, other), else_=activity)
    activity = type_coerce(activity, DateTime(timezone=True))

    def newest(column: Any) -> ColumnElement[Any]:
        return (
            select(column)
            .where(
                QuizAttempt.enrollment_id == Enrollment.id, QuizAttempt.org_id == Enrollment.org_id
            )
            .order_by(col(QuizAttempt.created).desc(), col(QuizAttempt.number).desc())
            .limit(1)
            .correlate(Enrollment)
            .scalar_subquery()
        )

    latest_score = newest(col(QuizAttempt.percent))
    latest_passed = newest(col(QuizAttempt.passed))
    is_active = col(Enrollment.status) == EnrollmentStatus.active
    overdue = and_(is_active, col(Enrollment.due_at).is_not(None), col(Enrollment.due_at) < now)
    inactive = and_(is_active, activity < now - timedelta(days=inactive_days))
    failed = latest_passed == False  # noqa: E712  (NULL: no attempt, not a failure)
    return _Exprs(
        activity=activity,
        latest_score=latest_score,
        latest_passed=latest_passed,
        overdue=overdue,
        inactive=inactive,
        struggling=and_(is_active, or_(failed, overdue, inactive)),
        active_now=activity >= now - ACTIVE_WINDOW,
        completed=col(Enrollment.status) == EnrollmentStatus.completed,
    )


def _filtered(
    stmt: SelectOfScalar[Enrollment], exprs: _Exprs, chosen: str
) -> SelectOfScalar[Enrollment]:
    if chosen == "struggling":
        return stmt.where(exprs.struggling)
    if chosen == "inactive":
        return stmt.where(exprs.inactive)
    if chosen == "completed":
        return stmt.where(exprs.completed)
    return stmt


# --------------------------------------------------------------------------- rows


def _lesson_titles(
    session: Session, ctx: OrgContext, enrollments: list[Enrollment]
) -> dict[uuid.UUID, str]:
    """Enrollment id -> the title of its current lesson (last completed, or the first)."""
    if not enrollments:
        return {}
    course_ids = {e.course_id for e in enrollments}
    lessons = session.exec(
        scoped_with_ancestors(ctx, Lesson).where(col(Lesson.course_id).in_(course_ids))
    ).all()
    modules = {
        m.id: m.position
        for m in session.exec(
            scoped_with_ancestors(ctx, CourseModule).where(
                col(CourseModule.course_id).in_(course_ids)
            )
        ).all()
    }
    by_id = {lesson.id: lesson for lesson in lessons}
    first: dict[uuid.UUID, Lesson] = {}
    for lesson in sorted(
        lessons,
        key=lambda x: (modules.get(x.module_id, 0), x.position, as_utc(x.created)),
    ):
        if lesson.module_id in modules:
            first.setdefault(lesson.course_id, lesson)
    out: dict[uuid.UUID, str] = {}
    for e in enrollments:
        current = by_id.get(e.last_lesson_id) if e.last_lesson_id else None
        current = current or first.get(e.course_id)
        out[e.id] = current.title if current is not None else ""
    return out


def _cohort_names(
    session: Session, ctx: OrgContext, enrollments: list[Enrollment]
) -> dict[uuid.UUID, str]:
    """Cohort id -> name, for the cohorts the enrollments are placed in (their own orgs)."""
    ids = {e.cohort_id for e in enrollments if e.cohort_id is not None}
    if not ids:
        return {}
    rows = session.exec(scoped(ctx, Cohort).where(col(Cohort.id).in_(ids))).all()
    return {c.id: c.name for c in rows}


def _course_titles(session: Session, ctx: OrgContext, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = session.exec(scoped_with_ancestors(ctx, Course).where(col(Course.id).in_(ids))).all()
    return {c.id: c.title for c in rows}


def _order(sort: str, exprs: _Exprs) -> list[Any]:
    name = func.lower(User.full_name)
    if sort == "progress":
        return [col(Enrollment.progress_percent).desc(), name, col(Enrollment.id)]
    if sort == "activity":
        return [exprs.activity.desc(), name, col(Enrollment.id)]
    return [name, col(Enrollment.id)]


def _page(
    session: Session,
    ctx: OrgContext,
    base: SelectOfScalar[Enrollment],
    *,
    title: str,
    scope: str,
    team_only: bool,
    filter: str,
    sort: str,
    inactive_days: int | str,
    page: int,
    page_size: int,
) -> RosterPage:
    chosen, order, days = check_filter(filter), check_sort(sort), check_inactive_days(inactive_days)
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    now = utcnow()
    exprs = _exprs(now, days)
    counts = RosterCounts(
        total=count_rows(session, base),
        active_now=count_rows(session, base.where(exprs.active_now)),
        struggling=count_rows(session, base.where(exprs.struggling)),
        inactive=count_rows(session, base.where(exprs.inactive)),
        completed=count_rows(session, base.where(exprs.completed)),
    )
    stmt = _filtered(base, exprs, chosen).join(User, col(User.id) == col(Enrollment.user_id))
    total = count_rows(session, stmt)
    pages = max(1, -(-total // page_size))
    page = min(max(int(page), 1), pages)
    found = session.execute(
        stmt.add_columns(
            User,
            exprs.activity,
            exprs.latest_score,
            exprs.latest_passed,
            exprs.overdue,
            exprs.inactive,
        )
        .order_by(*_order(order, exprs))
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    enrollments = [r[0] for r in found]
    lesson_titles = _lesson_titles(session, ctx, enrollments)
    titles = _course_titles(session, ctx, {e.course_id for e in enrollments})
    cohorts = _cohort_names(session, ctx, enrollments)
    rows: list[RosterRow] = []
    for e, user, activity, score, passed, overdue, inactive in found:
        at = as_utc(activity) if isinstance(activity, datetime) else as_utc(e.modified)
        active = e.status == EnrollmentStatus.active
        reasons = tuple(
            reason
            for reason, hit in (
                ("failed quiz", passed is not None and not bool(passed)),
                ("overdue", bool(overdue)),
                ("inactive", bool(inactive)),
            )
            if hit and active
        )
        rows.append(
            RosterRow(
                enrollment_id=str(e.id),
                user_id=str(e.user_id),
                course_id=str(e.course_id),
                course_title=titles.get(e.course_id, ""),
                name=user.full_name,
                email=user.email,
                progress_percent=100
                if e.status == EnrollmentStatus.completed
                else e.progress_percent,
                current_lesson=lesson_titles.get(e.id, ""),
                last_activity=at,
                latest_score=int(score) if score is not None else None,
                latest_passed=bool(passed) if passed is not None else None,
                status=e.status,
                active_now=at >= now - ACTIVE_WINDOW,
                struggling=bool(reasons),
                reasons=reasons,
                due_at=as_utc(e.due_at) if e.due_at else None,
                cohort=cohorts.get(e.cohort_id, "") if e.cohort_id else "",
            )
        )
    return RosterPage(
        title=title,
        rows=rows,
        total=total,
        page=page,
        page_size=page_size,
        counts=counts,
        scope=scope,
        team_only=team_only,
    )


# --------------------------------------------------------------------------- public


def course_roster(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    filter: str = "",
    sort: str = "",
    inactive_days: int | str = DEFAULT_INACTIVE_DAYS,
    page: int = 1,
    page_size: int = 25,
    cohort_id: str = "",
) -> RosterPage:
    """The learners of one course with their progress, for the course's staff (managers:
    only the learners they manage). `filter`: all, struggling, inactive, completed; `sort`:
    name, progress (highest first), activity (latest first); `cohort_id`: "" (everyone),
    "none" (learners in no cohort) or a cohort of this course in the active org (the counts
    then count that cohort; any other id is `NotFound`). Another org's course (also a
    parent's course shared down) is not found; a role without staff or compliance rights is
    refused."""
    course, base, team_only = _course_base(session, ctx, course_id)
    base = _cohort_base(session, ctx, course, base, cohort_id)
    return _page(
        session,
        ctx,
        base,
        title=course.title,
        scope="course",
        team_only=team_only,
        filter=filter,
        sort=sort,
        inactive_days=inactive_days,
        page=page,
        page_size=page_size,
    )


def cohort_choices(
    session: Session, ctx: OrgContext, course_id: uuid.UUID | str
) -> list[tuple[str, str]]:
    """(id, name) of the course's cohorts in the active org for the roster's cohort filter:
    unarchived ones first, each group by name. The same viewers as `course_roster`."""
    course, _base, _team = _course_base(session, ctx, course_id)
    org_ids = [ctx.org_id] if ctx.org_id else []
    rows = session.exec(
        scoped(ctx, Cohort, org_ids=org_ids).where(Cohort.course_id == course.id)
    ).all()
    ordered = sorted(rows, key=lambda c: (c.is_archived, c.name.lower(), str(c.id)))
    return [(str(c.id), c.name) for c in ordered]


def _scope_page(session: Session, ctx: OrgContext, scope: str, **view: Any) -> RosterPage:
    """The team or org view's page: its rows from `_scope_base`, paged by `_page`."""
    title, base, team_only = _scope_base(session, ctx, scope)
    return _page(session, ctx, base, title=title, scope=scope, team_only=team_only, **view)


def team_view(
    session: Session,
    ctx: OrgContext,
    *,
    filter: str = "",
    sort: str = "",
    inactive_days: int | str = DEFAULT_INACTIVE_DAYS,
    page: int = 1,
    page_size: int = 25,
) -> RosterPage:
    """Every enrollment of the learners the caller manages, across courses (one row per
    enrollment). Needs `compliance.view` (managers)."""
    return _scope_page(
        session,
        ctx,
        "team",
        filter=filter,
        sort=sort,
        inactive_days=inactive_days,
        page=page,
        page_size=page_size,
    )


def org_view(
    session: Session,
    ctx: OrgContext,
    *,
    filter: str = "",
    sort: str = "",
    inactive_days: int | str = DEFAULT_INACTIVE_DAYS,
    page: int = 1,
    page_size: int = 25,
) -> RosterPage:
    """Every enrollment in the caller's scope (org admins: their subtree; staff: their org),
    across courses. Needs `enrollments.manage`."""
    return _scope_page(
        session,
        ctx,
        "org",
        filter=filter,
        sort=sort,
        inactive_days=inactive_days,
        page=page,
        page_size=page_size,
    )


def progress_topics(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str | None = None,
    scope: str = "",
) -> set[str]:
    """The broker topics a viewer of a course (`course_id`) or of a team/org view (`scope`)
    may follow, decided from what they may see (the same checks as the views; refusals
    raise the same way). Progress is published per enrollment org, so a course's topics are
    one per org the viewer may read; a team/org view follows the (org, course) pairs of the
    enrollments it shows (at most `MAX_TOPICS`)."""
    if course_id is not None:
        course, _base, _team = _course_base(session, ctx, course_id)
        return {topics.PROGRESS.name(org=org_id, course=course.id) for org_id in ctx.org_ids}
    _title, base, _team = _scope_base(session, ctx, scope)
    pairs = session.execute(
        base.with_only_columns(col(Enrollment.org_id), col(Enrollment.course_id))
        .distinct()
        .limit(MAX_TOPICS)
    ).all()
    return {
        topics.PROGRESS.name(org=org_id, course=cid)
        for org_id, cid in pairs
        if org_id in ctx.org_ids
    }


__all__ = [
    "ACTIVE_WINDOW",
    "FILTERS",
    "SORTS",
    "RosterCounts",
    "RosterPage",
    "RosterRow",
    "check_filter",
    "check_inactive_days",
    "check_sort",
    "cohort_choices",
    "course_roster",
    "default_scope",
    "org_view",
    "progress_topics",
    "team_view",
]
