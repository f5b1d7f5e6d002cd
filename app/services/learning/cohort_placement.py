"""Placing learners in cohorts: seats, assign / unassign / place, and the live moves."""

# Live: after a commit that moves enrollments in or out of a cohort, the course's progress
# topic of that org is published (open class views refresh) and each moved learner's chat
# list topic (`topics.CHAT_LIST`), so the cohort's channel appears or goes without reload.

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlmodel import Session, col

from app.models.base import utcnow
from app.models.enrollment import Cohort, Enrollment
from app.services.core import audit, topics
from app.services.core.errors import NotFound, ValidationFailed
from app.services.core.tenancy import OrgContext, parse_id, scoped
from app.services.core.wording import counted
from app.services.infra import broker
from app.services.learning.cohort_access import managed_cohort, may_manage, require_course_staff
from app.services.learning.cohort_rows import SEAT_STATUSES, day, seats_taken

MAX_BATCH = 500  # enrollments per assign / unassign call
UNAVAILABLE = "Choose one of this course's cohorts."


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


# --------------------------------------------------------------------------- placing


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, field="cohort_id")


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
        ends = day(cohort.ends_on)
        if ends is not None and ends < utcnow().date():
            raise _refuse(f"“{cohort.name}” has ended; choose another cohort.")
    if cohort.capacity is None or not newcomers:
        return
    taken = seats_taken(session, ctx, cohort, excluding=[e.id for e in newcomers])
    left = max(0, cohort.capacity - taken)
    if len(newcomers) > left:
        if len(newcomers) == 1:
            raise _refuse(f"“{cohort.name}” is full ({counted(cohort.capacity, 'seat')}).")
        raise _refuse(
            f"“{cohort.name}” has {counted(left, 'seat')} left; "
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


def do_assign(
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
    cohort, course = managed_cohort(session, ctx, cohort_id, lock=True)
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


def do_unassign(
    session: Session, ctx: OrgContext, *, enrollment_ids: Sequence[uuid.UUID | str]
) -> int:
    """Take enrollments of the active org out of their cohorts (they stay enrolled). Every
    enrollment's course must be one the context manages; ids of another org are `NotFound`.
    Returns how many left a cohort. Audited. Commits."""
    require_course_staff(session, ctx)
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


__all__ = [
    "MAX_BATCH",
    "UNAVAILABLE",
    "do_assign",
    "do_unassign",
    "place",
    "publish_enrollment_moves",
]
