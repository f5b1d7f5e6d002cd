"""Cohorts: groups of one course's learners who go through it together (a class intake, a
site's crew), with their own dates and seats.

Ownership: a cohort belongs to the *learners'* org, like their enrollments. A course shared
down from a parent org gets its own cohorts in each org that runs it; an enrollment sits in
at most one cohort of its course (`Enrollment.cohort_id`), always of its own org.

Who manages a course's cohorts in the active org (`may_manage`): the course's staff as the
live class view defines them (`authz.is_course_staff`: holders of `courses.author` or
`enrollments.manage`, for the courses of their active org). One addition, because cohorts
live in the learners' org: for a course an ancestor org shares down, the holders of
`enrollments.manage` of the org that runs it (its staff and admins) manage that org's
cohorts (they already approve its applications). Course authors of that org did not write
the parent's course and do not. Managers (a team-only class view) and learners are refused.

Seats: `capacity` counts the cohort's open enrollments (pending, active, completed); an
application holds its seat from the moment it is made. An archived cohort takes nobody new
but keeps its members. A learner may pick a cohort when enrolling only while it is open
(`open_cohorts`: not archived, not ended, a seat left); staff may place learners in any cohort
that is not archived and has room.

Live: after a commit that moves enrollments in or out of a cohort, the course's progress
topic of that org is published (open class views refresh) and each moved learner's chat
list topic (`topics.CHAT_LIST`), so the cohort's channel appears or goes without reload.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import case, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col
from sqlmodel.sql.expression import SelectOfScalar

from app.models.base import as_utc, utcnow
from app.models.course import Course
from app.models.enrollment import Cohort, Enrollment, EnrollmentStatus
from app.models.user import User
from app.services.authoring import course_read
from app.services.config import gates
from app.services.core import audit, topics
from app.services.core.authz import Permission, effective_role, has, is_course_staff, require
from app.services.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.services.core.tenancy import OrgContext, count_rows, parse_id, scoped
from app.services.infra import broker

NAME_MAX = 80
CAPACITY_MAX = 10000
MAX_PAGE_SIZE = 100
MAX_BATCH = 500  # enrollments per assign / unassign call
MAX_COHORTS = 500  # per course and org, listed at once
MAX_NOTIFIED = 2000  # chat lists told live when a cohort is archived (others: on reload)
SEAT_STATUSES = (EnrollmentStatus.pending, EnrollmentStatus.active, EnrollmentStatus.completed)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --------------------------------------------------------------------------- views


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


def _day(value: datetime | None) -> date | None:
    return as_utc(value).date() if value is not None else None


def _row(cohort: Cohort, members: int, today: date | None = None) -> CohortRow:
    today = today or utcnow().date()
    seats = None if cohort.capacity is None else max(0, cohort.capacity - members)
    ends = _day(cohort.ends_on)
    ended = ends is not None and ends < today
    return CohortRow(
        id=str(cohort.id),
        course_id=str(cohort.course_id),
        name=cohort.name,
        starts_on=_day(cohort.starts_on),
        ends_on=ends,
        capacity=cohort.capacity,
        members=members,
        seats_left=seats,
        is_archived=cohort.is_archived,
        is_open=not cohort.is_archived and not ended and (seats is None or seats > 0),
    )


# --------------------------------------------------------------------------- checks


def _org(session: Session, ctx: OrgContext) -> uuid.UUID:
    if ctx.org_id is None:
        raise PermissionDenied()
    gates.require_feature(session, ctx.org_id, "lms")
    return ctx.org_id


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
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed("Enter a date as YYYY-MM-DD.", field=field) from exc
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


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


# --------------------------------------------------------------------------- access


def may_manage(session: Session, ctx: OrgContext, course_id: uuid.UUID | str) -> Course:
    """The course, if the context may manage its cohorts in the active org (see the module
    docstring); a role that is not course staff is `PermissionDenied`, a course that is not
    theirs (another org's, a parent's course not shared down) `NotFound`. Needs `lms`."""
    _org(session, ctx)
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


def _cohorts(ctx: OrgContext) -> SelectOfScalar[Cohort]:
    """Cohorts of the active org (never the subtree: each org runs its own)."""
    return scoped(ctx, Cohort, org_ids=[ctx.org_id] if ctx.org_id else [])


def _managed_cohort(
    session: Session, ctx: OrgContext, cohort_id: uuid.UUID | str, *, lock: bool = False
) -> tuple[Cohort, Course]:
    """A cohort of the active org whose course the context manages (else refused)."""
    _org(session, ctx)
    if not is_course_staff(effective_role(ctx)):
        raise PermissionDenied()
    stmt = _cohorts(ctx).where(Cohort.id == parse_id(cohort_id))
    cohort = session.exec(stmt.with_for_update() if lock else stmt).first()
    if cohort is None:
        raise NotFound()
    return cohort, may_manage(session, ctx, cohort.course_id)


def _seats_taken(
    session: Session,
    ctx: OrgContext,
    cohort: Cohort,
    *,
    excluding: Iterable[uuid.UUID] = (),
) -> int:
    stmt = scoped(ctx, Enrollment, org_ids=[cohort.org_id]).where(
        Enrollment.cohort_id == cohort.id, col(Enrollment.status).in_(list(SEAT_STATUSES))
    )
    skip = list(excluding)
    if skip:
        stmt = stmt.where(col(Enrollment.id).not_in(skip))
    return count_rows(session, stmt)


def _member_counts(
    session: Session, ctx: OrgContext, cohorts: Sequence[Cohort]
) -> dict[uuid.UUID, int]:
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


def _view(session: Session, ctx: OrgContext, cohort: Cohort) -> CohortRow:
    return _row(cohort, _member_counts(session, ctx, [cohort]).get(cohort.id, 0))


def _rows(session: Session, ctx: OrgContext, cohorts: Sequence[Cohort]) -> list[CohortRow]:
    counts = _member_counts(session, ctx, cohorts)
    today = utcnow().date()
    return [_row(c, counts.get(c.id, 0), today) for c in cohorts]


def _course_cohorts(
    session: Session, ctx: OrgContext, course_id: uuid.UUID, *, include_archived: bool
) -> list[Cohort]:
    stmt = _cohorts(ctx).where(Cohort.course_id == course_id)
    if not include_archived:
        stmt = stmt.where(col(Cohort.is_archived).is_(False))
    undated = case((col(Cohort.starts_on).is_(None), 1), else_=0)  # undated last, portably
    stmt = stmt.order_by(undated, col(Cohort.starts_on), func.lower(Cohort.name), col(Cohort.id))
    return list(session.exec(stmt.limit(MAX_COHORTS)).all())


# --------------------------------------------------------------------------- publishing


def _publish_moves(
    session: Session, *, org_id: uuid.UUID, course_id: uuid.UUID, user_ids: Iterable[uuid.UUID]
) -> None:
    """After commit: open class views of the course refresh; each moved learner's chat list
    refreshes (their cohort channel appears or goes)."""
    people = sorted({str(u) for u in user_ids})
    if not people:
        return
    broker.publish_after_commit(
        session,
        topics.PROGRESS.name(org=org_id, course=course_id),
        topics.ProgressMoved(kind="cohort", user_ids=people[: topics.MAX_PUSHED_USERS]),
    )
    for user_id in people:
        broker.publish_after_commit(
            session, topics.CHAT_LIST.name(org=org_id, user=user_id), topics.ChatListChanged()
        )


def publish_enrollment_moves(session: Session, enrollments: Iterable[Enrollment]) -> None:
    """`_publish_moves` for other services (enrollments) that placed learners; call before
    their commit."""
    by_course: dict[tuple[uuid.UUID, uuid.UUID], set[uuid.UUID]] = {}
    for e in enrollments:
        by_course.setdefault((e.org_id, e.course_id), set()).add(e.user_id)
    for (org_id, course_id), users in by_course.items():
        _publish_moves(session, org_id=org_id, course_id=course_id, user_ids=users)


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
    return _rows(
        session,
        ctx,
        _course_cohorts(session, ctx, course.id, include_archived=include_archived),
    )


def _name_taken(
    session: Session,
    ctx: OrgContext,
    course_id: uuid.UUID,
    name: str,
    *,
    exclude: uuid.UUID | None = None,
) -> bool:
    stmt = _cohorts(ctx).where(
        Cohort.course_id == course_id, func.lower(Cohort.name) == name.lower()
    )
    if exclude is not None:
        stmt = stmt.where(Cohort.id != exclude)
    return session.exec(stmt).first() is not None


DUPLICATE = "This course already has a cohort with that name."


def _snapshot(cohort: Cohort) -> dict[str, Any]:
    return {
        "name": cohort.name,
        "starts_on": str(_day(cohort.starts_on) or ""),
        "ends_on": str(_day(cohort.ends_on) or ""),
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


def create_cohort(
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
    return _row(cohort, 0)


def update_cohort(
    session: Session,
    ctx: OrgContext,
    *,
    cohort_id: uuid.UUID | str,
    name: str,
    starts_on: str = "",
    ends_on: str = "",
    capacity: str = "",
) -> CohortRow:
    """Change a cohort's name, dates and capacity (same rules as `create_cohort`; the
    capacity cannot go below the learners already in it). Audited with before and after.
    Commits."""
    cohort, course = _managed_cohort(session, ctx, cohort_id, lock=True)
    form = _check_form(name, starts_on, ends_on, capacity)
    if _name_taken(session, ctx, course.id, form.name, exclude=cohort.id):
        raise ValidationFailed(DUPLICATE, field="name")
    taken = _seats_taken(session, ctx, cohort)
    if form.capacity is not None and form.capacity < taken:
        raise ValidationFailed(
            f"{taken} learners are in this cohort: the capacity can't be lower than that.",
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
    return _row(cohort, taken)


def _set_archived(
    session: Session, ctx: OrgContext, cohort_id: uuid.UUID | str, archived: bool
) -> CohortRow:
    cohort, course = _managed_cohort(session, ctx, cohort_id, lock=True)
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
    return _view(session, ctx, cohort)


def archive_cohort(session: Session, ctx: OrgContext, *, cohort_id: uuid.UUID | str) -> CohortRow:
    """Archive a cohort: it takes no new learners and is not offered at enrollment; its
    members stay. Audited. Commits (a no-op when already archived)."""
    return _set_archived(session, ctx, cohort_id, True)


def restore_cohort(session: Session, ctx: OrgContext, *, cohort_id: uuid.UUID | str) -> CohortRow:
    """Bring an archived cohort back. Audited. Commits (a no-op when not archived)."""
    return _set_archived(session, ctx, cohort_id, False)


# --------------------------------------------------------------------------- placing


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, field="cohort_id")


UNAVAILABLE = "Choose one of this course's cohorts."


def _check_room(
    session: Session,
    ctx: OrgContext,
    cohort: Cohort,
    newcomers: Sequence[Enrollment],
    *,
    require_open: bool,
) -> None:
    """Refuse (`ValidationFailed` on `cohort_id`) unless all `newcomers` fit in `cohort`."""
    if cohort.is_archived:
        raise _refuse(f"“{cohort.name}” is archived and takes no new learners.")
    if require_open:
        ends = _day(cohort.ends_on)
        if ends is not None and ends < utcnow().date():
            raise _refuse(f"“{cohort.name}” has ended; choose another cohort.")
    if cohort.capacity is None or not newcomers:
        return
    taken = _seats_taken(session, ctx, cohort, excluding=[e.id for e in newcomers])
    left = max(0, cohort.capacity - taken)
    if len(newcomers) > left:
        if len(newcomers) == 1:
            raise _refuse(f"“{cohort.name}” is full ({cohort.capacity} seats).")
        raise _refuse(
            f"“{cohort.name}” has {left} seat{'s' if left != 1 else ''} left; "
            f"you chose {len(newcomers)} learners. Nobody was added."
        )


def place(
    session: Session,
    ctx: OrgContext,
    *,
    enrollment: Enrollment,
    cohort_id: uuid.UUID | str,
    require_open: bool = False,
) -> Cohort:
    """Put `enrollment` in a cohort, for other services (enrolling, approving). **Does not
    commit** and checks no role: the caller has checked the caller's right to the
    enrollment. The cohort must be of the enrollment's org and course, readable by the
    context, not archived, and have a seat (capacity counts pending, active and completed
    enrollments); `require_open` (a learner choosing) also refuses an ended cohort. Anything
    else is `ValidationFailed(field="cohort_id")` with a message for the person choosing. The
    cohort row is locked (PostgreSQL) so two last-seat choices cannot both win.
    """
    try:
        key = parse_id(cohort_id)
    except NotFound as exc:
        raise _refuse(UNAVAILABLE) from exc
    if enrollment.org_id not in ctx.org_ids:
        raise _refuse(UNAVAILABLE)
    cohort = session.exec(
        scoped(ctx, Cohort, org_ids=[enrollment.org_id])
        .where(Cohort.id == key, Cohort.course_id == enrollment.course_id)
        .with_for_update()
    ).first()
    if cohort is None:
        raise _refuse(UNAVAILABLE)
    if enrollment.cohort_id == cohort.id:
        return cohort  # already in: holds its seat
    _check_room(session, ctx, cohort, [enrollment], require_open=require_open)
    enrollment.cohort_id = cohort.id
    session.add(enrollment)
    return cohort


def cohort_of(session: Session, ctx: OrgContext, enrollment: Enrollment) -> Cohort | None:
    """The enrollment's cohort, if any (read in the enrollment's org)."""
    if enrollment.cohort_id is None or enrollment.org_id not in ctx.org_ids:
        return None
    return session.exec(
        scoped(ctx, Cohort, org_ids=[enrollment.org_id]).where(Cohort.id == enrollment.cohort_id)
    ).first()


def _enrollments(
    session: Session, ctx: OrgContext, enrollment_ids: Sequence[uuid.UUID | str]
) -> list[Enrollment]:
    """The active org's enrollments with these ids, all of them or `NotFound`."""
    keys = list(dict.fromkeys(parse_id(x) for x in enrollment_ids))
    if not keys:
        raise ValidationFailed("Choose at least one learner.", field="enrollment_ids")
    if len(keys) > MAX_BATCH:
        raise ValidationFailed(
            f"Choose at most {MAX_BATCH} learners at a time.", field="enrollment_ids"
        )
    rows = list(
        session.exec(
            scoped(ctx, Enrollment, org_ids=[ctx.org_id] if ctx.org_id else []).where(
                col(Enrollment.id).in_(keys)
            )
        ).all()
    )
    if len(rows) != len(keys):
        raise NotFound()
    return rows


def assign(
    session: Session,
    ctx: OrgContext,
    *,
    cohort_id: uuid.UUID | str,
    enrollment_ids: Sequence[uuid.UUID | str],
) -> int:
    """Put enrollments of the cohort's course (in the active org; pending, active or
    completed) in the cohort, moving them from another cohort if they were in one. All or
    nothing: an id of another course or org (or a closed enrollment) is `NotFound`; when the
    batch does not fit in the seats left nothing changes (`ValidationFailed` on
    `cohort_id`). Returns how many moved in (those already in it count as nothing). Audited.
    Commits."""
    cohort, course = _managed_cohort(session, ctx, cohort_id, lock=True)
    rows = _enrollments(session, ctx, enrollment_ids)
    if any(r.course_id != course.id or r.status not in SEAT_STATUSES for r in rows):
        raise NotFound()
    newcomers = [r for r in rows if r.cohort_id != cohort.id]
    _check_room(session, ctx, cohort, newcomers, require_open=False)
    for row in newcomers:
        row.cohort_id, row.modified = cohort.id, utcnow()
        session.add(row)
    if newcomers:
        audit.record(
            session,
            action="cohort.assigned",
            org_id=cohort.org_id,
            ctx=ctx,
            target=f"{course.title}: {cohort.name}",
            detail={
                "cohort_id": str(cohort.id),
                "count": len(newcomers),
                "enrollment_ids": [str(r.id) for r in newcomers][:100],
            },
        )
        _publish_moves(
            session,
            org_id=cohort.org_id,
            course_id=course.id,
            user_ids=[r.user_id for r in newcomers],
        )
    session.commit()
    return len(newcomers)


def unassign(
    session: Session, ctx: OrgContext, *, enrollment_ids: Sequence[uuid.UUID | str]
) -> int:
    """Take enrollments of the active org out of their cohorts (they stay enrolled). Every
    enrollment's course must be one the context manages; ids of another org are `NotFound`.
    Returns how many left a cohort. Audited. Commits."""
    _org(session, ctx)
    if not is_course_staff(effective_role(ctx)):
        raise PermissionDenied()
    rows = _enrollments(session, ctx, enrollment_ids)
    titles = {cid: may_manage(session, ctx, cid).title for cid in {r.course_id for r in rows}}
    leaving = [r for r in rows if r.cohort_id is not None]
    by_cohort: dict[uuid.UUID, list[Enrollment]] = {}
    for row in leaving:
        assert row.cohort_id is not None
        by_cohort.setdefault(row.cohort_id, []).append(row)
    for cid, group in by_cohort.items():
        audit.record(
            session,
            action="cohort.unassigned",
            org_id=group[0].org_id,
            ctx=ctx,
            target=titles[group[0].course_id],
            detail={
                "cohort_id": str(cid),
                "count": len(group),
                "enrollment_ids": [str(r.id) for r in group][:100],
            },
        )
    for row in leaving:
        row.cohort_id, row.modified = None, utcnow()
        session.add(row)
    publish_enrollment_moves(session, leaving)
    session.commit()
    return len(leaving)


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
    cohort, _course = _managed_cohort(session, ctx, cohort_id)
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
    _org(session, ctx)
    course = course_read.access_course(session, ctx, course_id)
    found = _rows(session, ctx, _course_cohorts(session, ctx, course.id, include_archived=False))
    return [r for r in found if r.is_open]


def my_cohort(session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str) -> CohortRow | None:
    """The caller's own cohort in a course (of their enrollment in the active org), if any."""
    require(ctx, Permission.learning_view)
    org_id = _org(session, ctx)
    key = parse_id(course_id)
    enrollment = session.exec(
        scoped(ctx, Enrollment, org_ids=[org_id]).where(
            Enrollment.user_id == ctx.user_id, Enrollment.course_id == key
        )
    ).first()
    if enrollment is None or enrollment.status not in SEAT_STATUSES:
        return None
    cohort = cohort_of(session, ctx, enrollment)
    return _view(session, ctx, cohort) if cohort is not None else None


__all__ = [
    "CAPACITY_MAX",
    "NAME_MAX",
    "CohortRow",
    "LearnerPage",
    "LearnerRow",
    "archive_cohort",
    "assign",
    "check_capacity",
    "check_date",
    "check_name",
    "cohort_of",
    "create_cohort",
    "list_cohorts",
    "may_manage",
    "members",
    "my_cohort",
    "open_cohorts",
    "place",
    "publish_enrollment_moves",
    "restore_cohort",
    "unassign",
    "unplaced",
    "update_cohort",
]
