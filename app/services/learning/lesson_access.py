"""Who may open a course's lessons and press "Mark complete": the enrollment rules the pages
show, as plain functions of plain values (no session, no database).

The services enforce the same rules when asked to record progress
(`gating.open_enrollment`, `lesson_completion.do_complete_lesson`); these answer the question the
pages ask first, so a button is only offered where the service would accept it:

* An enrollment opens the course's lessons while it is active or completed (a finished course
  stays open for review); pending, rejected and withdrawn ones, and no enrollment, do not.
* A course page offers "Start"/"Continue" to an open enrollment with a lesson to go to.
* The player offers "Mark complete" for a lesson that is not a quiz (passing completes
  those), not locked, not already completed, of an open enrollment, and never in preview.
"""

from __future__ import annotations

from app.models.course import LessonKind
from app.models.enrollment import EnrollmentStatus

OPEN_STATUSES = frozenset({EnrollmentStatus.active, EnrollmentStatus.completed})


def opens_lessons(enrollment_status: str) -> bool:
    """Whether an enrollment in this status opens the course's lessons ("" = not enrolled)."""
    return enrollment_status in OPEN_STATUSES


def can_open_course(*, enrollment_status: str, next_lesson_id: str) -> bool:
    """Whether the course page offers to open the player (at `next_lesson_id`)."""
    return opens_lessons(enrollment_status) and next_lesson_id != ""


def can_mark_complete(
    *,
    enrollment_status: str,
    lesson_kind: str,
    locked: bool,
    completed: bool,
    preview: bool,
) -> bool:
    """Whether the player offers "Mark complete" for the lesson on screen."""
    return (
        not preview
        and not locked
        and not completed
        and lesson_kind != LessonKind.quiz
        and opens_lessons(enrollment_status)
    )
