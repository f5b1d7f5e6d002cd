"""A course's lessons: adding, editing, requiring, moving and deleting them."""

from __future__ import annotations

import uuid
from typing import Literal

from sqlmodel import Session

from app.models.base import utcnow
from app.models.course import Lesson, LessonKind
from app.services.authoring import course_read
from app.services.authoring.course_access import access_module, editable_course, touch
from app.services.authoring.course_input import check_bounded, check_title
from app.services.authoring.course_outline import (
    check_deletable,
    delete_lesson_rows,
    deletion_guard,
    module_lessons,
    remove_objects,
    renumber,
    swap,
)
from app.services.core import audit
from app.services.core.errors import ValidationFailed
from app.services.core.tenancy import OrgContext

LESSON_KINDS: dict[str, str] = {
    LessonKind.text: "Text",
    LessonKind.file: "File",
    LessonKind.video: "Video",
    LessonKind.quiz: "Quiz",
}
MAX_BODY = 100_000  # characters of Markdown in one lesson


def do_add_lesson(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    module_id: uuid.UUID | str,
    kind: str,
    title: str,
) -> Lesson:
    """A new required lesson of `kind` (text, file, video, quiz) at the end of a module."""
    course = editable_course(session, ctx, course_id)
    module = access_module(session, ctx, course, module_id)
    if kind not in LESSON_KINDS:
        raise ValidationFailed("Choose a lesson kind: text, file, video or quiz.", field="kind")
    clean = check_title(title, label="lesson title")
    existing = module_lessons(session, ctx, course, module.id)
    lesson = Lesson(
        org_id=course.org_id,
        course_id=course.id,
        module_id=module.id,
        title=clean,
        kind=kind,
        position=max((lsn.position for lsn in existing), default=-1) + 1,
        required=True,
    )
    session.add(lesson)
    touch(course)
    session.add(course)
    session.commit()
    return lesson


def do_update_lesson(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    lesson_id: uuid.UUID | str,
    title: str | None = None,
    body: str | None = None,
    required: bool | None = None,
    passing_score: int | str | None = None,
    max_attempts: int | str | None = None,
    shuffle: bool | None = None,
) -> Lesson:
    """Change what is given (None keeps a value). The Markdown body is stored verbatim and
    rendered safely (no raw HTML) where it is shown. Quiz settings: passing score 0-100 %,
    attempts 0-20 (0: unlimited)."""
    course = editable_course(session, ctx, course_id)
    lesson = course_read.access_lesson(session, ctx, course, lesson_id)
    if title is not None:
        lesson.title = check_title(title, label="lesson title")
    if body is not None:
        if len(body) > MAX_BODY:
            raise ValidationFailed(
                f"The text is too long (at most {MAX_BODY} characters).", field="body"
            )
        lesson.body = body
    if required is not None:
        lesson.required = bool(required)
    if passing_score is not None:
        lesson.passing_score = check_bounded(
            passing_score,
            low=0,
            high=100,
            field_name="passing_score",
            message="The passing score is a percentage from 0 to 100.",
        )
    if max_attempts is not None:
        lesson.max_attempts = check_bounded(
            max_attempts,
            low=0,
            high=20,
            field_name="max_attempts",
            message="Allow between 0 (unlimited) and 20 attempts.",
        )
    if shuffle is not None:
        lesson.shuffle = bool(shuffle)
    lesson.modified = utcnow()
    session.add(lesson)
    touch(course)
    session.add(course)
    session.commit()
    return lesson


def do_set_lesson_required(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    lesson_id: uuid.UUID | str,
    required: bool,
) -> Lesson:
    """Mark a lesson required (counts towards completion) or optional."""
    return do_update_lesson(
        session, ctx, course_id=course_id, lesson_id=lesson_id, required=required
    )


def do_delete_lesson(
    session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str, lesson_id: uuid.UUID | str
) -> None:
    """Delete a lesson, its questions and its stored file (not while published)."""
    course = editable_course(session, ctx, course_id)
    lesson = course_read.access_lesson(session, ctx, course, lesson_id)
    check_deletable(course, "a lesson")
    title, module_id = lesson.title, lesson.module_id
    with deletion_guard(session, f"lesson “{title}”"):
        keys = delete_lesson_rows(session, ctx, course, [lesson])
        session.flush()
        renumber(
            [lsn for lsn in module_lessons(session, ctx, course, module_id) if lsn.id != lesson.id]
        )
        touch(course)
        session.add(course)
        audit.record(
            session,
            action="course.lesson_deleted",
            org_id=course.org_id,
            ctx=ctx,
            target=course.title,
            detail={"course_id": str(course.id), "lesson": title},
        )
        session.commit()
    remove_objects(keys)


def do_move_lesson(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    lesson_id: uuid.UUID | str,
    direction: Literal["up", "down"] | str,
) -> bool:
    """Move a lesson one place up or down within its module; False at that end."""
    course = editable_course(session, ctx, course_id)
    lesson = course_read.access_lesson(session, ctx, course, lesson_id)
    rows = module_lessons(session, ctx, course, lesson.module_id)
    moved = swap(rows, lesson, direction)
    touch(course)
    session.add_all([*rows, course])
    session.commit()
    return moved


def do_move_lesson_to_module(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    lesson_id: uuid.UUID | str,
    module_id: uuid.UUID | str,
) -> Lesson:
    """Move a lesson to the end of another module of the same course."""
    course = editable_course(session, ctx, course_id)
    lesson = course_read.access_lesson(session, ctx, course, lesson_id)
    target = access_module(session, ctx, course, module_id)
    if target.id == lesson.module_id:
        return lesson
    source_id = lesson.module_id
    existing = module_lessons(session, ctx, course, target.id)
    lesson.module_id = target.id
    lesson.position = max((lsn.position for lsn in existing), default=-1) + 1
    session.add(lesson)
    session.flush()
    rest = [lsn for lsn in module_lessons(session, ctx, course, source_id) if lsn.id != lesson.id]
    renumber(rest)
    touch(course)
    session.add_all([*rest, course])
    session.commit()
    return lesson


__all__ = [
    "LESSON_KINDS",
    "MAX_BODY",
    "do_add_lesson",
    "do_delete_lesson",
    "do_move_lesson",
    "do_move_lesson_to_module",
    "do_set_lesson_required",
    "do_update_lesson",
]
