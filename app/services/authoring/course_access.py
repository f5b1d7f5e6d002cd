"""Who may author: the common gate, and a course's modules and questions fetched for editing."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from app.models.base import utcnow
from app.models.course import Course, CourseModule, Lesson, QuizQuestion
from app.services.authoring import course_read
from app.services.config import gates
from app.services.core.authz import Permission, require
from app.services.core.errors import NotFound
from app.services.core.tenancy import OrgContext, parse_id, scoped


def require_authoring(session: Session, ctx: OrgContext) -> uuid.UUID:
    """The common gate: the permission, an active org, and the LMS feature on."""
    require(ctx, Permission.courses_author)
    if ctx.org_id is None:
        raise NotFound()
    gates.require_feature(session, ctx.org_id, "lms")
    return ctx.org_id


def editable_course(session: Session, ctx: OrgContext, course_id: uuid.UUID | str) -> Course:
    """A course of the active org in any state, behind the gate (`NotFound` otherwise)."""
    require_authoring(session, ctx)
    return course_read.access_course(session, ctx, course_id, author=True)


def access_module(
    session: Session, ctx: OrgContext, course: Course, module_id: uuid.UUID | str
) -> CourseModule:
    """A module of `course` (a module of another course or org raises `NotFound`)."""
    row = session.exec(
        scoped(ctx, CourseModule, org_ids=[course.org_id]).where(
            CourseModule.id == parse_id(module_id), CourseModule.course_id == course.id
        )
    ).first()
    if row is None:
        raise NotFound()
    return row


def access_question(
    session: Session, ctx: OrgContext, course: Course, question_id: uuid.UUID | str
) -> tuple[Lesson, QuizQuestion]:
    """A question of a quiz of `course`, with its lesson."""
    row = session.exec(
        scoped(ctx, QuizQuestion, org_ids=[course.org_id]).where(
            QuizQuestion.id == parse_id(question_id)
        )
    ).first()
    if row is None:
        raise NotFound()
    lesson = course_read.access_lesson(session, ctx, course, row.lesson_id)
    return lesson, row


def touch(course: Course) -> None:
    """Mark the course as changed now."""
    course.modified = utcnow()


__all__ = ["access_module", "access_question", "editable_course", "require_authoring", "touch"]
