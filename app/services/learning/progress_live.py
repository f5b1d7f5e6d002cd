"""Live progress: tell a course's class views, after commit, that a learner moved."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from app.models.enrollment import Enrollment
from app.services.core import topics
from app.services.core.topics import ProgressKind
from app.services.infra import broker


def publish_progress(
    session: Session,
    enrollment: Enrollment,
    *,
    lesson_id: uuid.UUID,
    kind: ProgressKind,
    score: float | None = None,
) -> None:
    """Tell live class views, after commit, that `enrollment` moved (`kind`:
    lesson_completed, quiz_attempt or video), on the topic of the enrollment's org
    (`org:{org}:course:{course}:progress`)."""
    broker.publish_after_commit(
        session,
        topics.PROGRESS.name(org=enrollment.org_id, course=enrollment.course_id),
        topics.ProgressMoved(
            kind=kind,
            user_ids=[str(enrollment.user_id)],
            enrollment_id=str(enrollment.id),
            lesson_id=str(lesson_id),
            percent=enrollment.progress_percent,
            score=score,
        ),
    )


def publish_enrollment_change(session: Session, enrollment: Enrollment) -> None:
    """Tell live class views of the course, after commit, that `enrollment` appeared, changed
    status or went (the roster shows active, pending and completed enrollments)."""
    broker.publish_after_commit(
        session,
        topics.PROGRESS.name(org=enrollment.org_id, course=enrollment.course_id),
        topics.ProgressMoved(
            kind="enrollment",
            user_ids=[str(enrollment.user_id)],
            enrollment_id=str(enrollment.id),
        ),
    )


__all__ = ["publish_enrollment_change", "publish_progress"]
