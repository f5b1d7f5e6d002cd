"""The `enrollment.created` job (enqueued when an enrollment becomes active; its handler
sends the welcome email and tells the instructor), and how enrollment jobs read their rows."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from app.db import widen_scope
from app.models.course import Course
from app.models.enrollment import Enrollment
from app.models.notification import Notification
from app.models.outbox import OutboxJob
from app.models.user import User
from app.services.comms import mail, notifications
from app.services.core.tenancy import OrgContext, mark_scoped, scoped_with_ancestors
from app.services.infra import outbox

CREATED = "enrollment.created"


def users_by_id(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, User]:
    """The users with these ids, by id."""
    if not ids:
        return {}
    return {u.id: u for u in session.exec(select(User).where(col(User.id).in_(ids))).all()}


def enqueue_created(session: Session, row: Enrollment) -> None:
    """Enqueue `enrollment.created` for a row that just became active (once per row)."""
    outbox.enqueue(
        session,
        kind=CREATED,
        payload={
            "enrollment_id": str(row.id),
            "user_id": str(row.user_id),
            "course_id": str(row.course_id),
        },
        org_id=row.org_id,
        dedupe_key=f"{CREATED}:{row.id}",
    )


# --------------------------------------------------------------------------- jobs


def job_context(session: Session, job: OutboxJob, row: Enrollment) -> OrgContext:
    """A context for a handler working on `row`: the job's org, and the course's org readable
    as an ancestor when the course is shared down (the session is widened to match)."""
    ancestors = {row.course_org_id} - {row.org_id}
    if ancestors:
        widen_scope(session, ancestor_ids=ancestors)
    org_ids = frozenset({job.org_id}) if job.org_id else frozenset()
    return OrgContext(
        user_id=row.user_id,
        email="",
        full_name="",
        org_id=job.org_id,
        org_ids=org_ids,
        ancestor_ids=frozenset(ancestors),
    )


def job_enrollment(session: Session, job: OutboxJob) -> Enrollment | None:
    """The enrollment a job's payload names, read in the job's org only."""
    if job.org_id is None:
        return None
    try:
        key = uuid.UUID(str(job.payload.get("enrollment_id", "")))
    except ValueError:
        return None
    stmt = select(Enrollment).where(Enrollment.id == key, Enrollment.org_id == job.org_id)
    return session.exec(mark_scoped(stmt)).first()


def job_course(session: Session, ctx: OrgContext, course_id: uuid.UUID) -> Course | None:
    """The enrollment's course, in any state (read in the job's org and the course's org)."""
    return session.exec(scoped_with_ancestors(ctx, Course).where(Course.id == course_id)).first()


@outbox.handler(CREATED)
def _on_created(session: Session, job: OutboxJob) -> None:
    """Welcome email to the learner and an in-app notification to the instructor.

    Idempotent: the instructor's notification (unique dedupe key) is written in the same
    transaction as the email, so when it exists a previous run already did both.
    """
    row = job_enrollment(session, job)
    if row is None:
        return
    ctx = job_context(session, job, row)
    course = job_course(session, ctx, row.course_id)
    if course is None:
        return
    marker = f"{CREATED}:{row.id}:instructor"
    seen = session.exec(
        mark_scoped(select(Notification.id).where(Notification.dedupe_key == marker))
    ).first()
    if seen is not None:
        return
    people = users_by_id(session, {row.user_id})
    learner = people.get(row.user_id)
    if learner is not None:
        mail.queue(
            session,
            org_id=row.org_id,
            to=learner.email,
            subject=f"Welcome to {course.title}",
            body=(
                f"Hello {learner.full_name},\n\nYou are enrolled in “{course.title}”. "
                "Open My learning to start whenever you are ready."
            ),
            kind="enrollment.welcome",
        )
    instructor_id = course.instructor_id or course.created_by
    who = learner.full_name if learner is not None else "A learner"
    notifications.notify(
        session,
        org_id=row.org_id,
        user_id=instructor_id,
        kind=CREATED,
        title=f"{who} enrolled in {course.title}",
        link=f"/teach/courses/{course.id}",
        dedupe_key=marker,
    )
