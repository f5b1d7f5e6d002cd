"""The class view's SQL and inputs: per-enrollment activity and struggle expressions, the
filters and sorts over them, and the checks on filter, sort and inactive days.

Last activity is the latest of a lesson-progress change, a quiz attempt and a change to the
enrollment itself, as correlated subqueries on the indexed `enrollment_id` columns, so
filtering, sorting and counting happen in the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, DateTime, and_, case, func, or_, type_coerce
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.models.enrollment import Enrollment, EnrollmentStatus, LessonProgress, QuizAttempt
from app.models.user import User
from app.services.core.errors import ValidationFailed

ACTIVE_WINDOW = timedelta(minutes=5)
FILTERS = ("all", "struggling", "inactive", "completed")
SORTS = ("name", "progress", "activity")


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


# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class RosterExprs:
    activity: ColumnElement[Any]
    latest_score: ColumnElement[Any]
    latest_passed: ColumnElement[Any]
    overdue: ColumnElement[bool]
    inactive: ColumnElement[bool]
    struggling: ColumnElement[bool]
    active_now: ColumnElement[bool]
    completed: ColumnElement[bool]


def roster_exprs(now: datetime, inactive_days: int) -> RosterExprs:
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
    return RosterExprs(
        activity=activity,
        latest_score=latest_score,
        latest_passed=latest_passed,
        overdue=overdue,
        inactive=inactive,
        struggling=and_(is_active, or_(failed, overdue, inactive)),
        active_now=activity >= now - ACTIVE_WINDOW,
        completed=col(Enrollment.status) == EnrollmentStatus.completed,
    )


def filtered(
    stmt: SelectOfScalar[Enrollment], exprs: RosterExprs, chosen: str
) -> SelectOfScalar[Enrollment]:
    """`stmt` narrowed to the chosen filter ("all": unchanged)."""
    if chosen == "struggling":
        return stmt.where(exprs.struggling)
    if chosen == "inactive":
        return stmt.where(exprs.inactive)
    if chosen == "completed":
        return stmt.where(exprs.completed)
    return stmt


def ordering(sort: str, exprs: RosterExprs) -> list[Any]:
    """The ORDER BY of a sort: name, progress (highest first) or activity (latest first)."""
    name = func.lower(User.full_name)
    if sort == "progress":
        return [col(Enrollment.progress_percent).desc(), name, col(Enrollment.id)]
    if sort == "activity":
        return [exprs.activity.desc(), name, col(Enrollment.id)]
    return [name, col(Enrollment.id)]


__all__ = [
    "ACTIVE_WINDOW",
    "FILTERS",
    "SORTS",
    "RosterExprs",
    "check_filter",
    "check_inactive_days",
    "check_sort",
    "filtered",
    "ordering",
    "roster_exprs",
]
