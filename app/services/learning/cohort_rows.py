"""The `CohortRow` pages see of a cohort, and the seat counts it is built from."""

# Seats: `capacity` counts the cohort's open enrollments (pending, active, completed); an
# application holds its seat from the moment it is made. An archived cohort takes nobody new
# but keeps its members. A learner may pick a cohort when enrolling only while it is open
# (`cohort_views.open_cohorts`: not archived, not ended, a seat left); staff may place
# learners in any cohort that is not archived and has room (`cohort_placement`).

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, col

from app.models.base import as_utc, utcnow
from app.models.enrollment import Cohort, Enrollment, EnrollmentStatus
from app.services.core.tenancy import OrgContext, count_rows, scoped

SEAT_STATUSES = (EnrollmentStatus.pending, EnrollmentStatus.active, EnrollmentStatus.completed)


@dataclass(frozen=True)
class CohortRow:
    """A cohort as pages show it (never the table row)."""

    id: str
    course_id: str
    name: str
    starts_on: date | None
    ends_on: date | None
    capacity: int | None  # None: no limit
    members: int  # open enrollments (pending, active, completed) in the cohort
    seats_left: int | None  # None: no limit
    is_archived: bool
    is_open: bool  # a learner may still choose it: not archived, not ended, a seat left


def day(value: datetime | None) -> date | None:
    """A stored midnight-UTC datetime as its calendar date (None stays None)."""
    return as_utc(value).date() if value is not None else None


def row_of(cohort: Cohort, members: int, today: date | None = None) -> CohortRow:
    """The page's view of `cohort` holding `members` seats."""
    today = today or utcnow().date()
    seats = None if cohort.capacity is None else max(0, cohort.capacity - members)
    ends = day(cohort.ends_on)
    ended = ends is not None and ends < today
    return CohortRow(
        id=str(cohort.id),
        course_id=str(cohort.course_id),
        name=cohort.name,
        starts_on=day(cohort.starts_on),
        ends_on=ends,
        capacity=cohort.capacity,
        members=members,
        seats_left=seats,
        is_archived=cohort.is_archived,
        is_open=not cohort.is_archived and not ended and (seats is None or seats > 0),
    )


def seats_taken(
    session: Session,
    ctx: OrgContext,
    cohort: Cohort,
    *,
    excluding: Iterable[uuid.UUID] = (),
) -> int:
    """The cohort's open enrollments, leaving out the enrollments `excluding`."""
    stmt = scoped(ctx, Enrollment, org_ids=[cohort.org_id]).where(
        Enrollment.cohort_id == cohort.id, col(Enrollment.status).in_(list(SEAT_STATUSES))
    )
    skip = list(excluding)
    if skip:
        stmt = stmt.where(col(Enrollment.id).not_in(skip))
    return count_rows(session, stmt)


def member_counts(
    session: Session, ctx: OrgContext, cohorts: Sequence[Cohort]
) -> dict[uuid.UUID, int]:
    """Open enrollments per cohort (cohorts with none are left out)."""
    if not cohorts:
        return {}
    org_ids = {c.org_id for c in cohorts}
    stmt = (
        scoped(ctx, Enrollment, org_ids=org_ids)
        .where(
            col(Enrollment.cohort_id).in_([c.id for c in cohorts]),
            col(Enrollment.status).in_(list(SEAT_STATUSES)),
        )
        .with_only_columns(col(Enrollment.cohort_id), func.count())
        .group_by(col(Enrollment.cohort_id))
    )
    return {cid: int(n) for cid, n in session.execute(stmt).all()}


def view_of(session: Session, ctx: OrgContext, cohort: Cohort) -> CohortRow:
    """`row_of` one cohort, its members counted."""
    return row_of(cohort, member_counts(session, ctx, [cohort]).get(cohort.id, 0))


def rows_of(session: Session, ctx: OrgContext, cohorts: Sequence[Cohort]) -> list[CohortRow]:
    """`row_of` each cohort, their members counted in one query."""
    counts = member_counts(session, ctx, cohorts)
    today = utcnow().date()
    return [row_of(c, counts.get(c.id, 0), today) for c in cohorts]


__all__ = [
    "SEAT_STATUSES",
    "CohortRow",
    "day",
    "member_counts",
    "row_of",
    "rows_of",
    "seats_taken",
    "view_of",
]
