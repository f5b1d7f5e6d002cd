"""The staff queue of enrollment applications: listing the pending ones, approving (with a
cohort) and rejecting (with a reason); each decision is audited and the learner told."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col

from app.models.base import as_utc, utcnow
from app.models.course import Course
from app.models.enrollment import Cohort, Enrollment, EnrollmentStatus
from app.services.comms import notifications
from app.services.config import gates
from app.services.core import audit
from app.services.core.authz import Permission, require
from app.services.core.errors import Conflict, ValidationFailed
from app.services.core.tenancy import (
    OrgContext,
    access,
    count_rows,
    scoped,
    scoped_with_ancestors,
)
from app.services.learning import cohort_access, cohort_placement
from app.services.learning.enrollment_jobs import enqueue_created, users_by_id
from app.services.learning.enrollments import (
    EnrollmentView,
    active_org,
    tell_enrollment_changed,
    view,
)

REASON_MIN, REASON_MAX = 3, 1000


@dataclass(frozen=True)
class ApplicationRow:
    """A pending application as the staff list shows it."""

    id: str
    course_id: str
    course_title: str
    learner_name: str
    learner_email: str
    funding_source: str
    note: str
    created: datetime
    cohort: str = ""  # the cohort the learner chose, "" for none


# --------------------------------------------------------------------------- staff


def _manager_checks(session: Session, ctx: OrgContext) -> uuid.UUID:
    require(ctx, Permission.enrollments_manage)
    org_id = active_org(ctx)
    gates.require_feature(session, org_id, "lms")
    return org_id


def _course_titles(session: Session, ctx: OrgContext, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = session.exec(scoped_with_ancestors(ctx, Course).where(col(Course.id).in_(ids))).all()
    return {c.id: c.title for c in rows}


def list_applications(
    session: Session, ctx: OrgContext, *, page: int = 1, page_size: int = 20
) -> tuple[list[ApplicationRow], int]:
    """Pending applications in the caller's scope (their org; org admins also see the orgs
    below), oldest first."""
    _manager_checks(session, ctx)
    stmt = scoped(ctx, Enrollment).where(Enrollment.status == EnrollmentStatus.pending)
    total = count_rows(session, stmt)
    rows = list(
        session.exec(
            stmt.order_by(col(Enrollment.created))
            .offset((max(page, 1) - 1) * page_size)
            .limit(page_size)
        ).all()
    )
    people = users_by_id(session, {r.user_id for r in rows})
    titles = _course_titles(session, ctx, {r.course_id for r in rows})
    cohort_ids = {r.cohort_id for r in rows if r.cohort_id is not None}
    cohort_names = (
        {
            c.id: c.name
            for c in session.exec(scoped(ctx, Cohort).where(col(Cohort.id).in_(cohort_ids))).all()
        }
        if cohort_ids
        else {}
    )
    return (
        [
            ApplicationRow(
                id=str(r.id),
                course_id=str(r.course_id),
                course_title=titles.get(r.course_id, "A course"),
                learner_name=people[r.user_id].full_name if r.user_id in people else "",
                learner_email=people[r.user_id].email if r.user_id in people else "",
                funding_source=r.funding_source,
                note=r.application_note,
                created=as_utc(r.created),
                cohort=cohort_names.get(r.cohort_id, "") if r.cohort_id else "",
            )
            for r in rows
        ],
        total,
    )


def _pending(session: Session, ctx: OrgContext, enrollment_id: uuid.UUID | str) -> Enrollment:
    row = access(session, ctx, Enrollment, enrollment_id)
    if row.status != EnrollmentStatus.pending:
        raise Conflict("This application has already been decided.")
    return row


def _tell_learner(
    session: Session, row: Enrollment, *, title: str, kind: str, subject: str, body: str
) -> None:
    stamp = as_utc(row.decided_at or utcnow()).isoformat()
    # The email rides on the notification: sent when the learner's preferences want it.
    notifications.notify(
        session,
        org_id=row.org_id,
        user_id=row.user_id,
        kind=kind,
        title=title,
        body=body,
        link=f"/courses/{row.course_id}",
        dedupe_key=f"{kind}:{row.id}:{stamp}"[:200],
        email_subject=subject,
        email_body=body,
    )


def do_approve(
    session: Session, ctx: OrgContext, enrollment_id: uuid.UUID | str, *, cohort_id: str = ""
) -> EnrollmentView:
    """Approve a pending application: the enrollment becomes active, the learner is told,
    `enrollment.created` is enqueued. Audited. Commits.

    Cohorts: an application keeps the cohort the learner chose. It has held its seat since
    it was made (capacity counts pending applications) and an archived cohort keeps its
    members, so approval never loses it. `cohort_id` lets staff place the learner in another
    cohort (or one, when they chose none) as they approve: checked like `cohort_placement.place`
    (of the application's org and course, not archived, a seat free); a refusal refuses the
    approval (`ValidationFailed` on `cohort_id`) and nothing changes. The learner's chat
    list (and, when in a cohort, the course's live class views) are told after commit.
    """
    _manager_checks(session, ctx)
    row = _pending(session, ctx, enrollment_id)
    title = _course_titles(session, ctx, {row.course_id}).get(row.course_id, "your course")
    choice = (cohort_id or "").strip()
    if choice:
        cohort_placement.place(session, ctx, enrollment=row, cohort_id=choice)
    cohort = cohort_access.cohort_of(session, ctx, row)
    row.status, row.decided_by, row.decided_at = EnrollmentStatus.active, ctx.user_id, utcnow()
    row.decision_reason, row.modified = "", utcnow()
    session.add(row)
    audit.record(
        session,
        action="enrollment.approved",
        org_id=row.org_id,
        ctx=ctx,
        target=title,
        detail={
            "enrollment_id": str(row.id),
            "user_id": str(row.user_id),
            "cohort_id": str(row.cohort_id) if row.cohort_id else "",
        },
    )
    in_cohort = f" You are in the “{cohort.name}” cohort." if cohort is not None else ""
    _tell_learner(
        session,
        row,
        kind="enrollment.approved",
        title=f"Your application for {title} was approved",
        subject=f"You're in: {title}",
        body=f"Your application for “{title}” was approved.{in_cohort} You can start learning now.",
    )
    enqueue_created(session, row)
    if cohort is not None:  # class views and the learner's chat list
        cohort_placement.publish_enrollment_moves(session, [row])
    else:
        tell_enrollment_changed(session, row)
    notice = f"They are in the “{cohort.name}” cohort." if cohort is not None else ""
    session.commit()
    return view(row, notice=notice)


def do_reject(
    session: Session, ctx: OrgContext, enrollment_id: uuid.UUID | str, reason: str
) -> EnrollmentView:
    """Reject a pending application with a reason (3 to 1000 characters) the learner sees.
    Audited. Commits."""
    _manager_checks(session, ctx)
    reason = " ".join((reason or "").split())
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise ValidationFailed(
            f"Give a reason of {REASON_MIN} to {REASON_MAX} characters.", field="reason"
        )
    row = _pending(session, ctx, enrollment_id)
    title = _course_titles(session, ctx, {row.course_id}).get(row.course_id, "your course")
    row.status, row.decided_by, row.decided_at = EnrollmentStatus.rejected, ctx.user_id, utcnow()
    row.decision_reason, row.modified = reason, utcnow()
    session.add(row)
    audit.record(
        session,
        action="enrollment.rejected",
        org_id=row.org_id,
        ctx=ctx,
        target=title,
        detail={"enrollment_id": str(row.id), "user_id": str(row.user_id), "reason": reason},
    )
    _tell_learner(
        session,
        row,
        kind="enrollment.rejected",
        title=f"Your application for {title} was not accepted",
        subject=f"Your application for {title}",
        body=f"Your application for “{title}” was not accepted. Reason: {reason}",
    )
    tell_enrollment_changed(session, row)
    session.commit()
    return view(row)
