"""A course's modules (add, rename, move, delete) and the ordering and deletion helpers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.models.base import utcnow
from app.models.course import Course, CourseModule, CourseStatus, Lesson, QuizQuestion
from app.services.authoring.course_access import access_module, editable_course, touch
from app.services.authoring.course_input import check_title
from app.services.core import audit
from app.services.core.errors import Conflict, ValidationFailed
from app.services.core.tenancy import OrgContext, scoped
from app.services.infra import storage

log = logging.getLogger(__name__)


def _modules(session: Session, ctx: OrgContext, course: Course) -> list[CourseModule]:
    return list(
        session.exec(
            scoped(ctx, CourseModule, org_ids=[course.org_id])
            .where(CourseModule.course_id == course.id)
            .order_by(col(CourseModule.position), col(CourseModule.created))
        ).all()
    )


def module_lessons(
    session: Session, ctx: OrgContext, course: Course, module_id: uuid.UUID
) -> list[Lesson]:
    """The lessons of one module of `course`, in order."""
    return list(
        session.exec(
            scoped(ctx, Lesson, org_ids=[course.org_id])
            .where(Lesson.course_id == course.id, Lesson.module_id == module_id)
            .order_by(col(Lesson.position), col(Lesson.created))
        ).all()
    )


def renumber(rows: list[Any]) -> None:
    """Positions 0, 1, 2... in the order of `rows`."""
    for i, row in enumerate(rows):
        if row.position != i:
            row.position = i


def swap(rows: list[Any], target: Any, direction: str) -> bool:
    """Move `target` one step up or down in `rows` (positions renumbered). False at an end."""
    if direction not in ("up", "down"):
        raise ValidationFailed("Move up or down.", field="direction")
    index = next(i for i, r in enumerate(rows) if r.id == target.id)
    other = index - 1 if direction == "up" else index + 1
    if other < 0 or other >= len(rows):
        return False
    rows[index], rows[other] = rows[other], rows[index]
    renumber(rows)
    return True


def do_add_module(
    session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str, title: str
) -> CourseModule:
    """A new module at the end of the course."""
    course = editable_course(session, ctx, course_id)
    clean = check_title(title, label="module title")
    existing = _modules(session, ctx, course)
    module = CourseModule(
        org_id=course.org_id,
        course_id=course.id,
        title=clean,
        position=(max((m.position for m in existing), default=-1) + 1),
    )
    session.add(module)
    touch(course)
    session.add(course)
    session.commit()
    return module


def do_rename_module(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    module_id: uuid.UUID | str,
    title: str,
) -> CourseModule:
    """Give a module another title."""
    course = editable_course(session, ctx, course_id)
    module = access_module(session, ctx, course, module_id)
    module.title = check_title(title, label="module title")
    module.modified = utcnow()
    session.add(module)
    touch(course)
    session.add(course)
    session.commit()
    return module


def check_deletable(course: Course, what: str) -> None:
    """Refuse deleting parts of a published course."""
    if course.status == CourseStatus.published:
        raise Conflict(
            f"Learners are taking this course: move it back to draft before deleting {what}."
        )


def delete_lesson_rows(
    session: Session, ctx: OrgContext, course: Course, lessons: list[Lesson]
) -> list[str]:
    """Delete lessons and their questions; returns the storage keys to remove after commit."""
    keys: list[str] = []
    if not lessons:
        return keys
    questions = session.exec(
        scoped(ctx, QuizQuestion, org_ids=[course.org_id]).where(
            col(QuizQuestion.lesson_id).in_([lsn.id for lsn in lessons])
        )
    ).all()
    for q in questions:
        session.delete(q)
    session.flush()
    for lesson in lessons:
        if lesson.media_key:
            keys.append(lesson.media_key)
        session.delete(lesson)
    return keys


@contextmanager
def deletion_guard(session: Session, what: str) -> Iterator[None]:
    """Deleting rows learners' records point at fails in the database: say so instead."""
    try:
        yield
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(
            f"Learners have records in {what}, so it cannot be deleted. Make lessons optional "
            "or archive the course instead."
        ) from exc


def remove_objects(keys: list[str]) -> None:
    """Delete stored objects after the commit; a failure is only logged."""
    store = storage.get_storage()
    for key in keys:
        try:
            store.delete(key)
        except Exception:  # a leftover object is harmless; the row is gone
            log.warning("could not delete stored object %s", key, exc_info=True)


def do_delete_module(
    session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str, module_id: uuid.UUID | str
) -> None:
    """Delete a module with its lessons (not while the course is published)."""
    course = editable_course(session, ctx, course_id)
    module = access_module(session, ctx, course, module_id)
    check_deletable(course, "a module")
    lessons = module_lessons(session, ctx, course, module.id)
    with deletion_guard(session, f"module “{module.title}”"):
        keys = delete_lesson_rows(session, ctx, course, lessons)
        session.flush()
        session.delete(module)
        rest = [m for m in _modules(session, ctx, course) if m.id != module.id]
        renumber(rest)
        touch(course)
        session.add(course)
        audit.record(
            session,
            action="course.module_deleted",
            org_id=course.org_id,
            ctx=ctx,
            target=course.title,
            detail={"course_id": str(course.id), "module": module.title, "lessons": len(lessons)},
        )
        session.commit()
    remove_objects(keys)


def do_move_module(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    module_id: uuid.UUID | str,
    direction: Literal["up", "down"] | str,
) -> bool:
    """Move a module one place up or down; False when it is already at that end."""
    course = editable_course(session, ctx, course_id)
    module = access_module(session, ctx, course, module_id)
    rows = _modules(session, ctx, course)
    moved = swap(rows, module, direction)
    touch(course)
    session.add_all([*rows, course])
    session.commit()
    return moved


__all__ = ["do_add_module", "do_delete_module", "do_move_module", "do_rename_module"]
