"""Lesson completion: the one path that completes a lesson, and with the last one the course."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.models.base import utcnow
from app.models.certificate import Certificate
from app.models.course import Lesson, LessonKind
from app.models.enrollment import Enrollment, EnrollmentStatus, LessonProgress, ProgressStatus
from app.models.outbox import OutboxJob
from app.models.user import User
from app.services.comms import notifications
from app.services.core.errors import ValidationFailed
from app.services.core.tenancy import OrgContext, count_rows, scoped, scoped_with_ancestors
from app.services.infra import outbox
from app.services.learning import enrollment_jobs
from app.services.learning.gating import Place, locate, open_enrollment, progress_row
from app.services.learning.progress_live import publish_progress

LESSON_COMPLETED = "lesson.completed"
ENROLLMENT_COMPLETED = "enrollment.completed"


@dataclass(frozen=True)
class Completion:
    """What completing a lesson changed."""

    lesson_id: str
    newly_completed: bool
    progress_percent: int
    enrollment_completed: bool


def _percent(lessons: list[Lesson], done: set[uuid.UUID]) -> int:
    required = [lesson.id for lesson in lessons if lesson.required]
    if not required:
        return 100 if lessons and all(lesson.id in done for lesson in lessons) else 0
    return math.floor(100 * len([i for i in required if i in done]) / len(required))


def _all_required_done(lessons: list[Lesson], done: set[uuid.UUID]) -> bool:
    required = [lesson.id for lesson in lessons if lesson.required] or [
        lesson.id for lesson in lessons
    ]
    return bool(required) and all(i in done for i in required)


def completion_cycle(session: Session, ctx: OrgContext, enrollment: Enrollment) -> int:
    """Which pass through the course the enrollment is in: 1, then one more for every
    certificate it holds (each recertification, in `credentials.recertification`, reopens
    it with its progress reset after one was issued). The events of cycle 2 and later carry
    the cycle in their dedupe keys, so completing the course again issues a new certificate
    instead of being taken for the first completion."""
    held = count_rows(
        session,
        scoped(ctx, Certificate, org_ids=[enrollment.org_id]).where(
            Certificate.enrollment_id == enrollment.id
        ),
    )
    return held + 1


def _cycle_key(key: str, cycle: int) -> str:
    """A dedupe key for this cycle (the first cycle keeps the plain key)."""
    return key if cycle <= 1 else f"{key}:{cycle}"


def _enqueue_lesson_completed(
    session: Session, enrollment: Enrollment, lesson: Lesson, cycle: int
) -> None:
    outbox.enqueue(
        session,
        kind=LESSON_COMPLETED,
        payload={
            "enrollment_id": str(enrollment.id),
            "user_id": str(enrollment.user_id),
            "course_id": str(enrollment.course_id),
            "lesson_id": str(lesson.id),
            "kind": lesson.kind,
            **({"cycle": cycle} if cycle > 1 else {}),
        },
        org_id=enrollment.org_id,
        dedupe_key=_cycle_key(f"{LESSON_COMPLETED}:{enrollment.id}:{lesson.id}", cycle),
    )


def _complete_enrollment(
    session: Session, enrollment: Enrollment, now: datetime, cycle: int
) -> None:
    """Complete the enrollment and enqueue `enrollment.completed` (whose handler, in
    `credentials.certificates`, issues the certificate)."""
    enrollment.status, enrollment.completed_at = EnrollmentStatus.completed, now
    enrollment.progress_percent = 100
    outbox.enqueue(
        session,
        kind=ENROLLMENT_COMPLETED,
        payload={
            "enrollment_id": str(enrollment.id),
            "user_id": str(enrollment.user_id),
            "course_id": str(enrollment.course_id),
            **({"cycle": cycle} if cycle > 1 else {}),
        },
        org_id=enrollment.org_id,
        dedupe_key=_cycle_key(f"{ENROLLMENT_COMPLETED}:{enrollment.id}", cycle),
    )


def record_completion(
    session: Session, ctx: OrgContext, place: Place, enrollment: Enrollment
) -> Completion:
    """Complete `place.lesson` for `enrollment` inside the caller's transaction (no commit):
    the progress row, the percentage, the events, and the enrollment's completion when the
    last required lesson is done. A lesson already completed changes nothing.

    The one path to completion: "Mark complete", a video watched to 90 %
    (`video_progress`) and a passed quiz (`quizzes`). One `lesson_progress` row per
    enrollment and lesson; the percentage is required lessons completed / required lessons.
    Enqueues `lesson.completed` and, for the last required lesson, `enrollment.completed`;
    after commit the change is published for live class views (`progress_live`).
    """
    lesson = place.lesson
    row = progress_row(session, ctx, enrollment, lesson.id)
    if row is not None and row.status == ProgressStatus.completed:
        return Completion(str(lesson.id), False, enrollment.progress_percent, False)
    now = utcnow()
    if row is None:
        row = LessonProgress(
            org_id=enrollment.org_id,
            enrollment_id=enrollment.id,
            lesson_id=lesson.id,
            user_id=enrollment.user_id,
        )
    row.status, row.completed_at, row.modified = ProgressStatus.completed, now, now
    session.add(row)
    done = place.done | {lesson.id}
    place.done = done
    enrollment.progress_percent = _percent(place.lessons, done)
    enrollment.last_lesson_id = lesson.id
    enrollment.modified = now
    cycle = completion_cycle(session, ctx, enrollment)
    _enqueue_lesson_completed(session, enrollment, lesson, cycle)
    finished = False
    if enrollment.status == EnrollmentStatus.active and _all_required_done(place.lessons, done):
        _complete_enrollment(session, enrollment, now, cycle)
        finished = True
    session.add(enrollment)
    publish_progress(session, enrollment, lesson_id=lesson.id, kind="lesson_completed")
    return Completion(str(lesson.id), True, enrollment.progress_percent, finished)


def _commit_completion(session: Session, result: Completion, enrollment: Enrollment) -> Completion:
    percent = enrollment.progress_percent
    try:
        session.commit()
    except IntegrityError:  # the same lesson completed by a concurrent request: no-op
        session.rollback()
        return Completion(result.lesson_id, False, percent, False)
    return result


def do_complete_lesson(
    session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str, lesson_id: uuid.UUID | str
) -> Completion:
    """ "Mark complete" for a text, file or video lesson. Needs the caller's own active
    enrollment in this course; refuses locked lessons and quizzes (passing completes those).
    Idempotent. Commits."""
    place = locate(session, ctx, course_id=course_id, lesson_id=lesson_id)
    enrollment = open_enrollment(place)
    if place.lesson.kind == LessonKind.quiz:
        raise ValidationFailed("A quiz is completed by passing it.")
    result = record_completion(session, ctx, place, enrollment)
    if not result.newly_completed:
        return result
    return _commit_completion(session, result, enrollment)


# --------------------------------------------------------------------------- jobs


def _payload_cycle(value: Any) -> int:
    try:
        return int(value or 1)
    except (TypeError, ValueError):
        return 1


@outbox.handler(LESSON_COMPLETED)
def _on_lesson_completed(session: Session, job: OutboxJob) -> None:
    """A passed quiz tells the instructor. Other lessons tell nobody: instructors follow
    ordinary progress live on the class view (a notification per page read would bury the
    ones that matter), and the course's completion has its own event and certificate."""
    if job.payload.get("kind") != LessonKind.quiz:
        return
    row = enrollment_jobs.job_enrollment(session, job)
    if row is None:
        return
    ctx = enrollment_jobs.job_context(session, job, row)
    course = enrollment_jobs.job_course(session, ctx, row.course_id)
    try:
        lesson_key = uuid.UUID(str(job.payload.get("lesson_id", "")))
    except ValueError:
        return
    lesson = session.exec(
        scoped_with_ancestors(ctx, Lesson).where(
            Lesson.id == lesson_key, Lesson.course_id == row.course_id
        )
    ).first()
    if course is None or lesson is None:
        return
    learner = session.exec(select(User).where(User.id == row.user_id)).first()
    who = learner.full_name if learner is not None else "A learner"
    notifications.notify(
        session,
        org_id=row.org_id,
        user_id=course.instructor_id or course.created_by,
        kind="quiz.passed",
        title=f"{who} passed “{lesson.title}” in {course.title}",
        link=f"/teach/courses/{course.id}",
        dedupe_key=_cycle_key(
            f"{LESSON_COMPLETED}:{row.id}:{lesson.id}:instructor",
            _payload_cycle(job.payload.get("cycle")),
        ),
    )


__all__ = [
    "ENROLLMENT_COMPLETED",
    "LESSON_COMPLETED",
    "Completion",
    "completion_cycle",
    "do_complete_lesson",
    "record_completion",
]
