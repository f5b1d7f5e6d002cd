"""Lesson gating: which lessons of a course are open to the caller, and where they are in it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import Session

from app.models.course import Course, Lesson
from app.models.enrollment import Enrollment, EnrollmentStatus, LessonProgress, ProgressStatus
from app.services.authoring import course_read
from app.services.authoring.course_read import ModuleOutline
from app.services.config import gates
from app.services.core.authz import Permission, require
from app.services.core.errors import NotFound, ValidationFailed
from app.services.core.tenancy import OrgContext, scoped
from app.services.learning import enrollments
from app.services.learning.lesson_access import OPEN_STATUSES

ENROLL_FIRST = "Enroll in this course first."


def check_learning(session: Session, ctx: OrgContext) -> uuid.UUID:
    """The active org's id, once the caller may view learning there and the org has the LMS."""
    require(ctx, Permission.learning_view)
    if ctx.org_id is None:
        raise NotFound()
    gates.require_feature(session, ctx.org_id, "lms")
    return ctx.org_id


def completed_lessons(session: Session, ctx: OrgContext, enrollment: Enrollment) -> set[uuid.UUID]:
    """Ids of the lessons this enrollment has completed."""
    rows = session.exec(
        scoped(ctx, LessonProgress, org_ids=[enrollment.org_id]).where(
            LessonProgress.enrollment_id == enrollment.id,
            LessonProgress.status == ProgressStatus.completed,
        )
    ).all()
    return {r.lesson_id for r in rows}


def progress_row(
    session: Session, ctx: OrgContext, enrollment: Enrollment, lesson_id: uuid.UUID
) -> LessonProgress | None:
    """The enrollment's `lesson_progress` row for one lesson, if it has one yet."""
    return session.exec(
        scoped(ctx, LessonProgress, org_ids=[enrollment.org_id]).where(
            LessonProgress.enrollment_id == enrollment.id, LessonProgress.lesson_id == lesson_id
        )
    ).first()


def lock_reasons(
    course: Course,
    parts: list[ModuleOutline],
    done: set[uuid.UUID],
    *,
    missing_prerequisites: list[str],
) -> dict[uuid.UUID, str]:
    """Why each lesson is locked ("" when open), from completion and the course's rules:
    every lesson waits for the course's prerequisite courses; with `course.sequential`, a
    module's lessons wait until every *required* lesson of the modules before it is done."""
    reasons: dict[uuid.UUID, str] = {}
    if missing_prerequisites:
        why = f"Complete these courses first: {', '.join(missing_prerequisites)}."
        return {lesson.id: why for part in parts for lesson in part.lessons}
    blocker = ""
    for part in parts:
        for lesson in part.lessons:
            reasons[lesson.id] = blocker
        pending = any(lesson.required and lesson.id not in done for lesson in part.lessons)
        if course.sequential and not blocker and pending:
            blocker = f"Finish the required lessons of “{part.module.title}” first."
    return reasons


def _first_open(
    parts: list[ModuleOutline], done: set[uuid.UUID], locks: dict[uuid.UUID, str]
) -> str:
    lessons = [lesson for part in parts for lesson in part.lessons]
    for lesson in lessons:
        if lesson.id not in done and not locks.get(lesson.id):
            return str(lesson.id)
    return str(lessons[0].id) if lessons else ""


def next_lesson_id(
    session: Session,
    ctx: OrgContext,
    course: Course,
    *,
    enrollment: Enrollment | None = None,
    outline: list[ModuleOutline] | None = None,
) -> str:
    """The lesson "Start"/"Continue" opens: the first open lesson not yet completed (the
    first lesson when all are done; "" when the course has none)."""
    parts = outline if outline is not None else course_read.outline(session, ctx, course)
    done = completed_lessons(session, ctx, enrollment) if enrollment is not None else set()
    locks = lock_reasons(course, parts, done, missing_prerequisites=[])
    return _first_open(parts, done, locks)


@dataclass
class Place:
    """A lesson of a course, the caller's enrollment in it, and what is done and locked."""

    course: Course
    parts: list[ModuleOutline]
    lesson: Lesson
    enrollment: Enrollment | None
    done: set[uuid.UUID]
    locks: dict[uuid.UUID, str]

    @property
    def lessons(self) -> list[Lesson]:
        return [lesson for part in self.parts for lesson in part.lessons]

    def lock(self) -> str:
        if self.enrollment is None or self.enrollment.status not in OPEN_STATUSES:
            if self.enrollment is not None and self.enrollment.status == EnrollmentStatus.pending:
                return "Your application is waiting for approval."
            return ENROLL_FIRST
        return self.locks.get(self.lesson.id, "")


def locate(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    lesson_id: uuid.UUID | str,
    preview: bool = False,
) -> Place:
    """Load a lesson of a course the caller may see, with the caller's enrollment and what
    is locked (internal to the learning services).

    A lesson opens only to a learner with an active (or completed) enrollment, once the
    course's prerequisite courses are completed (a completed enrollment stays open for
    review), and as `lock_reasons` allows. `preview=True` is for authors of the course's
    org: drafts included, nothing locked, nothing recorded.
    """
    check_learning(session, ctx)
    course = course_read.access_course(session, ctx, course_id, author=preview)
    lesson = course_read.access_lesson(session, ctx, course, lesson_id)
    parts = course_read.outline(session, ctx, course)
    if preview:
        return Place(course, parts, lesson, None, set(), {})
    mine = enrollments.own_enrollment(session, ctx, course.id)
    done = completed_lessons(session, ctx, mine) if mine is not None else set()
    missing = [p.title for p in enrollments.prerequisites(session, ctx, course) if not p.met]
    if mine is not None and mine.status == EnrollmentStatus.completed:
        missing = []  # a finished course stays open for review
    locks = lock_reasons(course, parts, done, missing_prerequisites=missing)
    return Place(course, parts, lesson, mine, done, locks)


def open_enrollment(place: Place) -> Enrollment:
    """The caller's enrollment when it lets them record progress, else a refusal."""
    if place.enrollment is None or place.enrollment.status not in OPEN_STATUSES:
        raise ValidationFailed(ENROLL_FIRST)
    reason = place.locks.get(place.lesson.id, "")
    if reason:
        raise ValidationFailed(reason)
    return place.enrollment


__all__ = [
    "ENROLL_FIRST",
    "Place",
    "check_learning",
    "completed_lessons",
    "locate",
    "lock_reasons",
    "next_lesson_id",
    "open_enrollment",
    "progress_row",
]
