"""Cohort lifecycle for course staff: validate the form, create, update, archive, restore."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.models.base import utcnow
from app.models.enrollment import Cohort, Enrollment
from app.services.core import audit, topics
from app.services.core.errors import ValidationFailed
from app.services.core.tenancy import OrgContext, scoped
from app.services.core.wording import counted
from app.services.infra import broker
from app.services.learning.cohort_access import managed_cohort, may_manage, org_cohorts
from app.services.learning.cohort_rows import (
    SEAT_STATUSES,
    CohortRow,
    day,
    row_of,
    seats_taken,
    view_of,
)

NAME_MAX = 80
CAPACITY_MAX = 10000
MAX_NOTIFIED = 2000  # chat lists told live when a cohort is archived (others: on reload)
DUPLICATE = "This course already has a cohort with that name."
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --------------------------------------------------------------------------- checks


def check_name(raw: str) -> str:
    """A cohort name: 1 to 80 characters, inner whitespace collapsed."""
    value = " ".join((raw or "").split())
    if not value:
        raise ValidationFailed("Give the cohort a name.", field="name")
    if len(value) > NAME_MAX:
        raise ValidationFailed(f"Use at most {NAME_MAX} characters.", field="name")
    return value


def check_date(raw: str, *, field: str) -> datetime | None:
    """A calendar date typed as YYYY-MM-DD (blank: none), as midnight UTC."""
    value = (raw or "").strip()
    if not value:
        return None
    try:
        if not _DATE.match(value):
            raise ValueError(value)
        parsed = date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed("Enter a date as YYYY-MM-DD.", field=field) from exc
    return datetime(parsed.year, parsed.month, parsed.day, tzinfo=UTC)


def check_capacity(raw: str | int | None) -> int | None:
    """Seats: a whole number from 1 to 10000, or blank for no limit."""
    value = str(raw if raw is not None else "").strip()
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= CAPACITY_MAX:
        raise ValidationFailed(
            f"Enter a whole number from 1 to {CAPACITY_MAX}, or leave it blank for no limit.",
            field="capacity",
        )
    return int(value)


@dataclass(frozen=True)
class _Form:
    name: str
    starts_on: datetime | None
    ends_on: datetime | None
    capacity: int | None


def _check_form(name: str, starts_on: str, ends_on: str, capacity: str) -> _Form:
    clean = check_name(name)
    start = check_date(starts_on, field="starts_on")
    end = check_date(ends_on, field="ends_on")
    if start is not None and end is not None and end < start:
        raise ValidationFailed("The end date can't be before the start date.", field="ends_on")
    return _Form(clean, start, end, check_capacity(capacity))


# --------------------------------------------------------------------------- staff: cohorts


def _name_taken(
    session: Session,
    ctx: OrgContext,
    course_id: uuid.UUID,
    name: str,
    *,
    exclude: uuid.UUID | None = None,
) -> bool:
    stmt = org_cohorts(ctx).where(
        Cohort.course_id == course_id, func.lower(Cohort.name) == name.lower()
    )
    if exclude is not None:
        stmt = stmt.where(Cohort.id != exclude)
    return session.exec(stmt).first() is not None


def _snapshot(cohort: Cohort) -> dict[str, Any]:
    return {
        "name": cohort.name,
        "starts_on": str(day(cohort.starts_on) or ""),
        "ends_on": str(day(cohort.ends_on) or ""),
        "capacity": cohort.capacity,
        "is_archived": cohort.is_archived,
    }


def _commit_named(session: Session) -> None:
    """Commit; the unique (org, course, name) key losing a race is a name error."""
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise ValidationFailed(DUPLICATE, field="name") from exc


def do_create_cohort(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    name: str,
    starts_on: str = "",
    ends_on: str = "",
    capacity: str = "",
) -> CohortRow:
    """A new cohort of the course in the active org, from the form's strings: name (unique
    per course, case-insensitive), dates as YYYY-MM-DD (blank: none; the end not before the
    start), capacity 1 to 10000 (blank: no limit). Errors name their field. Audited.
    Commits."""
    course = may_manage(session, ctx, course_id)
    assert ctx.org_id is not None
    form = _check_form(name, starts_on, ends_on, capacity)
    if _name_taken(session, ctx, course.id, form.name):
        raise ValidationFailed(DUPLICATE, field="name")
    cohort = Cohort(
        org_id=ctx.org_id,
        course_id=course.id,
        name=form.name,
        starts_on=form.starts_on,
        ends_on=form.ends_on,
        capacity=form.capacity,
        created_by=ctx.user_id,
    )
    session.add(cohort)
    audit.record(
        session,
        action="cohort.created",
        org_id=ctx.org_id,
        ctx=ctx,
        target=f"{course.title}: {form.name}",
        detail={"cohort_id": str(cohort.id), "course_id": str(course.id), **_snapshot(cohort)},
    )
    _commit_named(session)
    return row_of(cohort, 0)


def do_update_cohort(
    session: Session,
    ctx: OrgContext,
    *,
    cohort_id: uuid.UUID | str,
    name: str,
    starts_on: str = "",
    ends_on: str = "",
    capacity: str = "",
) -> CohortRow:
    """Change a cohort's name, dates and capacity (same rules as `do_create_cohort`; the
    capacity cannot go below the learners already in it). Audited with before and after.
    Commits."""
    cohort, course = managed_cohort(session, ctx, cohort_id, lock=True)
    form = _check_form(name, starts_on, ends_on, capacity)
    if _name_taken(session, ctx, course.id, form.name, exclude=cohort.id):
        raise ValidationFailed(DUPLICATE, field="name")
    taken = seats_taken(session, ctx, cohort)
    if form.capacity is not None and form.capacity < taken:
        raise ValidationFailed(
            f"{counted(taken, 'learner')} {'is' if taken == 1 else 'are'} in this cohort: the "
            "capacity can't be lower than that.",
            field="capacity",
        )
    before = _snapshot(cohort)
    cohort.name, cohort.starts_on, cohort.ends_on = form.name, form.starts_on, form.ends_on
    cohort.capacity, cohort.modified = form.capacity, utcnow()
    session.add(cohort)
    after = _snapshot(cohort)
    if after != before:
        audit.record(
            session,
            action="cohort.updated",
            org_id=cohort.org_id,
            ctx=ctx,
            target=f"{course.title}: {cohort.name}",
            detail={"cohort_id": str(cohort.id), "before": before, "after": after},
        )
    _commit_named(session)
    return row_of(cohort, taken)


def _set_archived(
    session: Session, ctx: OrgContext, cohort_id: uuid.UUID | str, archived: bool
) -> CohortRow:
    cohort, course = managed_cohort(session, ctx, cohort_id, lock=True)
    if cohort.is_archived != archived:
        cohort.is_archived, cohort.modified = archived, utcnow()
        session.add(cohort)
        audit.record(
            session,
            action="cohort.archived" if archived else "cohort.restored",
            org_id=cohort.org_id,
            ctx=ctx,
            target=f"{course.title}: {cohort.name}",
            detail={"cohort_id": str(cohort.id)},
        )
        # The cohort's chat channel leaves (or rejoins) its members' chat lists.
        people = session.scalars(
            scoped(ctx, Enrollment, org_ids=[cohort.org_id])
            .where(
                Enrollment.cohort_id == cohort.id,
                col(Enrollment.status).in_(list(SEAT_STATUSES)),
            )
            .with_only_columns(col(Enrollment.user_id))
            .limit(MAX_NOTIFIED)
        ).all()
        for user_id in people:
            broker.publish_after_commit(
                session,
                topics.CHAT_LIST.name(org=cohort.org_id, user=user_id),
                topics.ChatListChanged(),
            )
        session.commit()
    return view_of(session, ctx, cohort)


def do_archive_cohort(
    session: Session, ctx: OrgContext, *, cohort_id: uuid.UUID | str
) -> CohortRow:
    """Archive a cohort: it takes no new learners and is not offered at enrollment; its
    members stay. Audited. Commits (a no-op when already archived)."""
    return _set_archived(session, ctx, cohort_id, True)


def do_restore_cohort(
    session: Session, ctx: OrgContext, *, cohort_id: uuid.UUID | str
) -> CohortRow:
    """Bring an archived cohort back. Audited. Commits (a no-op when not archived)."""
    return _set_archived(session, ctx, cohort_id, False)


__all__ = [
    "CAPACITY_MAX",
    "NAME_MAX",
    "check_capacity",
    "check_date",
    "check_name",
    "do_archive_cohort",
    "do_create_cohort",
    "do_restore_cohort",
    "do_update_cohort",
]
