"""The lesson player's read view: one lesson, the course outline around it, and where to resume."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import Session

from app.models.course import Lesson
from app.services.authoring import course_read
from app.services.core.tenancy import OrgContext
from app.services.infra import storage
from app.services.learning import enrollments
from app.services.learning.gating import Place, check_learning, locate, next_lesson_id, progress_row
from app.services.learning.lesson_access import OPEN_STATUSES


@dataclass(frozen=True)
class OutlineItem:
    """A lesson in the player's side outline."""

    id: str
    title: str
    kind: str
    required: bool
    status: str  # done | current | locked | open


@dataclass(frozen=True)
class OutlinePart:
    """A module in the side outline."""

    id: str
    title: str
    lessons: list[OutlineItem]


@dataclass(frozen=True)
class LessonContent:
    """What the player shows of one lesson (empty content while locked)."""

    id: str
    title: str
    kind: str
    required: bool
    body: str  # Markdown
    media_url: str
    media_type: str
    media_name: str
    is_pdf: bool
    duration_seconds: float


@dataclass(frozen=True)
class PlayerView:
    """One lesson in the player, and where the learner is in the course."""

    course_id: str
    course_title: str
    lesson: LessonContent
    outline: list[OutlinePart]
    previous_id: str
    next_id: str
    locked: bool
    lock_reason: str
    preview: bool
    enrollment_id: str
    enrollment_status: str  # "" when not enrolled
    progress_percent: int
    completed: bool  # this lesson
    position_seconds: float  # where a video resumes
    watched_seconds: float


def media_url(lesson: Lesson) -> str:
    """The URL a lesson's file or video is served from ("" without a usable key)."""
    if lesson.media_key and storage.is_valid_key(lesson.media_key):
        return storage.public_url(lesson.media_key)
    return ""


def _content(lesson: Lesson, *, locked: bool) -> LessonContent:
    return LessonContent(
        id=str(lesson.id),
        title=lesson.title,
        kind=lesson.kind,
        required=lesson.required,
        body="" if locked else lesson.body,
        media_url="" if locked else media_url(lesson),
        media_type=lesson.media_type,
        media_name=lesson.media_name,
        is_pdf=lesson.media_type == "application/pdf" or lesson.media_name.lower().endswith(".pdf"),
        duration_seconds=lesson.duration_seconds,
    )


def _outline(place: Place, *, preview: bool) -> list[OutlinePart]:
    """The side outline, each lesson done, current, locked or open."""
    not_enrolled = not preview and (
        place.enrollment is None or place.enrollment.status not in OPEN_STATUSES
    )

    def status(item: Lesson) -> str:
        if item.id == place.lesson.id:
            return "current"
        if item.id in place.done:
            return "done"
        if not preview and (not_enrolled or place.locks.get(item.id)):
            return "locked"
        return "open"

    return [
        OutlinePart(
            id=str(part.module.id),
            title=part.module.title,
            lessons=[
                OutlineItem(
                    id=str(item.id),
                    title=item.title,
                    kind=item.kind,
                    required=item.required,
                    status=status(item),
                )
                for item in part.lessons
            ],
        )
        for part in place.parts
    ]


def player_view(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    lesson_id: uuid.UUID | str,
    preview: bool = False,
) -> PlayerView:
    """One lesson in the player. A locked lesson comes without its content, with the reason.

    `preview=True` (authors of the course's org only): drafts too, nothing locked, nothing
    recorded.
    """
    place = locate(session, ctx, course_id=course_id, lesson_id=lesson_id, preview=preview)
    lesson = place.lesson
    reason = "" if preview else place.lock()
    locked = bool(reason)
    row = None
    if place.enrollment is not None and not preview:
        row = progress_row(session, ctx, place.enrollment, lesson.id)
    ordered = place.lessons
    index = next(i for i, item in enumerate(ordered) if item.id == lesson.id)
    return PlayerView(
        course_id=str(place.course.id),
        course_title=place.course.title,
        lesson=_content(lesson, locked=locked),
        outline=_outline(place, preview=preview),
        previous_id=str(ordered[index - 1].id) if index > 0 else "",
        next_id=str(ordered[index + 1].id) if index + 1 < len(ordered) else "",
        locked=locked,
        lock_reason=reason,
        preview=preview,
        enrollment_id=str(place.enrollment.id) if place.enrollment else "",
        enrollment_status=place.enrollment.status if place.enrollment else "",
        progress_percent=place.enrollment.progress_percent if place.enrollment else 0,
        completed=lesson.id in place.done,
        position_seconds=row.position_seconds if row else 0.0,
        watched_seconds=row.watched_seconds if row else 0.0,
    )


def resume_lesson_id(
    session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str, preview: bool = False
) -> str:
    """Where `/learn/{course}` (or `/preview/{course}`) sends the learner."""
    check_learning(session, ctx)
    course = course_read.access_course(session, ctx, course_id, author=preview)
    mine = None if preview else enrollments.own_enrollment(session, ctx, course.id)
    return next_lesson_id(session, ctx, course, enrollment=mine)


__all__ = ["PlayerView", "player_view", "resume_lesson_id"]
