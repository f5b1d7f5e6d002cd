"""Roster rows: the row, count and page shapes of the class view, and one page of a view
built from the enrollments it may show (counts of the whole view, then the page's rows).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col
from sqlmodel.sql.expression import SelectOfScalar

from app.models.base import as_utc, utcnow
from app.models.course import Course, CourseModule, Lesson
from app.models.enrollment import Cohort, Enrollment, EnrollmentStatus
from app.models.user import User
from app.services.core.tenancy import OrgContext, count_rows, scoped, scoped_with_ancestors
from app.services.learning.class_view_query import (
    ACTIVE_WINDOW,
    RosterExprs,
    check_filter,
    check_inactive_days,
    check_sort,
    filtered,
    ordering,
    roster_exprs,
)

MAX_PAGE_SIZE = 100


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


def _counts(session: Session, base: SelectOfScalar[Enrollment], exprs: RosterExprs) -> RosterCounts:
    """How many of the whole view are in each group (before the filter and the page)."""
    return RosterCounts(
        total=count_rows(session, base),
        active_now=count_rows(session, base.where(exprs.active_now)),
        struggling=count_rows(session, base.where(exprs.struggling)),
        inactive=count_rows(session, base.where(exprs.inactive)),
        completed=count_rows(session, base.where(exprs.completed)),
    )


def _rows(
    session: Session, ctx: OrgContext, found: Sequence[Any], now: datetime
) -> list[RosterRow]:
    """The page's rows from (enrollment, user, activity, score, passed, overdue, inactive)."""
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
    return rows


def roster_page(
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
    """One page of a view over `base`: the counts of the whole view, then the rows that
    match `filter`, sorted by `sort`."""
    chosen, order, days = check_filter(filter), check_sort(sort), check_inactive_days(inactive_days)
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    now = utcnow()
    exprs = roster_exprs(now, days)
    counts = _counts(session, base, exprs)
    stmt = filtered(base, exprs, chosen).join(User, col(User.id) == col(Enrollment.user_id))
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
        .order_by(*ordering(order, exprs))
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    rows = _rows(session, ctx, found, now)
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


__all__ = [
    "MAX_PAGE_SIZE",
    "RosterCounts",
    "RosterPage",
    "RosterRow",
    "roster_page",
]
