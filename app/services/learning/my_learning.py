"""What "My learning" lists: the caller's enrollments, with progress and what comes next."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col

from app.models.base import as_utc, utcnow
from app.models.certificate import Certificate
from app.models.course import Course
from app.models.enrollment import Enrollment, EnrollmentStatus
from app.services.authoring import course_read
from app.services.core.tenancy import OrgContext, scoped
from app.services.infra import storage
from app.services.learning import enrollments
from app.services.learning.gating import check_learning, next_lesson_id
from app.services.learning.lesson_access import OPEN_STATUSES


@dataclass(frozen=True)
class LearningCard:
    """One enrollment on "My learning"."""

    enrollment_id: str
    course_id: str
    title: str
    summary: str
    cover_url: str
    status: str
    progress_percent: int
    due_at: datetime | None
    overdue: bool
    mandatory: bool
    next_lesson_id: str
    certificate_id: str
    decision_reason: str
    completed_at: datetime | None
    recertify_by: datetime | None = None  # reopened to recertify: due by then
    certificate_expired: bool = False  # the newest certificate has expired


def _courses(session: Session, ctx: OrgContext, rows: list[Enrollment]) -> dict[uuid.UUID, Course]:
    return {
        c.id: c
        for c in session.exec(
            course_read.visible_courses(ctx, include_archived=True).where(
                col(Course.id).in_([e.course_id for e in rows])
            )
        ).all()
    }


def _certificates(
    session: Session, ctx: OrgContext, rows: list[Enrollment]
) -> dict[uuid.UUID, Certificate]:
    """The newest unrevoked certificate of each enrollment that has one."""
    certificates: dict[uuid.UUID, Certificate] = {}
    for c in session.exec(
        scoped(ctx, Certificate, org_ids=[ctx.org_id] if ctx.org_id else [])
        .where(
            Certificate.user_id == ctx.user_id,
            col(Certificate.enrollment_id).in_([e.id for e in rows]),
            col(Certificate.revoked_at).is_(None),
        )
        .order_by(col(Certificate.issued_at))
    ).all():
        certificates[c.enrollment_id] = c  # the newest wins
    return certificates


def _card(
    e: Enrollment, course: Course, cert: Certificate | None, *, next_id: str, now: datetime
) -> LearningCard:
    due = as_utc(e.due_at) if e.due_at else None
    expires = as_utc(cert.expires_at) if cert is not None and cert.expires_at else None
    recertifying = cert is not None and e.status == EnrollmentStatus.active
    return LearningCard(
        enrollment_id=str(e.id),
        course_id=str(course.id),
        title=course.title,
        summary=course.summary,
        cover_url=storage.public_url(course.cover_key)
        if course.cover_key and storage.is_valid_key(course.cover_key)
        else "",
        status=e.status,
        progress_percent=e.progress_percent,
        due_at=due,
        overdue=due is not None and due < now and e.status != EnrollmentStatus.completed,
        mandatory=e.mandatory,
        next_lesson_id=next_id,
        certificate_id=str(cert.id) if cert is not None else "",
        decision_reason=e.decision_reason,
        completed_at=as_utc(e.completed_at) if e.completed_at else None,
        recertify_by=due if recertifying else None,
        certificate_expired=expires is not None and expires <= now,
    )


def my_learning(session: Session, ctx: OrgContext) -> list[LearningCard]:
    """Every enrollment of the caller in the active org (pending, active, completed,
    rejected), newest first, with progress, due date, overdue flag, the next lesson to open
    and the newest certificate if one was issued (and not revoked). An enrollment reopened
    to recertify (active, holding a certificate) shows "recertify by" its due date, and is
    overdue like any open enrollment once that date has passed."""
    check_learning(session, ctx)
    rows = [
        e
        for e in enrollments.own_enrollments(session, ctx)
        if e.status != EnrollmentStatus.withdrawn
    ]
    if not rows:
        return []
    courses = _courses(session, ctx, rows)
    certificates = _certificates(session, ctx, rows)
    now = utcnow()
    cards: list[LearningCard] = []
    for e in rows:
        course = courses.get(e.course_id)
        if course is None:
            continue  # unpublished since: nothing to open
        next_id = ""
        if e.status in OPEN_STATUSES:
            next_id = next_lesson_id(session, ctx, course, enrollment=e)
        cards.append(_card(e, course, certificates.get(e.id), next_id=next_id, now=now))
    return cards


__all__ = ["LearningCard", "my_learning"]
