"""Finding courses and their content the way each kind of reader may see them.

Authors (the `courses.author` permission) see every course of their active org, in any
state. Learners see what is published in their org's scope, plus what an ancestor org
published and shared down the hierarchy. Ids of anything else raise `NotFound`, like ids
that do not exist. Every learning service fetches through here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import and_, or_
from sqlmodel import Session, col
from sqlmodel.sql.expression import SelectOfScalar

from app.models.course import Course, CourseModule, CourseStatus, Lesson
from app.services.core.authz import Permission, has
from app.services.core.errors import NotFound
from app.services.core.tenancy import OrgContext, parse_id, scoped, scoped_with_ancestors


def visible_courses(ctx: OrgContext, *, include_archived: bool = False) -> SelectOfScalar[Course]:
    """Courses a learner of the context may find: published in the org's scope, or published
    by an ancestor and shared down. `include_archived` also keeps archived ones (for the
    learner's own enrollments, which outlive publication)."""
    states = [CourseStatus.published]
    if include_archived:
        states.append(CourseStatus.archived)
    own = col(Course.org_id).in_(set(ctx.org_ids))
    shared = and_(col(Course.org_id).in_(set(ctx.ancestor_ids)), col(Course.shared_with_children))
    return scoped_with_ancestors(ctx, Course).where(
        or_(own, shared), col(Course.status).in_(states)
    )


def authored_courses(ctx: OrgContext) -> SelectOfScalar[Course]:
    """Every course of the active org, in any state (for authors)."""
    org_ids = [ctx.org_id] if ctx.org_id else []
    return scoped(ctx, Course, org_ids=org_ids)


def access_course(
    session: Session, ctx: OrgContext, course_id: uuid.UUID | str, *, author: bool = False
) -> Course:
    """One course as the context may see it.

    `author=True`: the course must belong to the active org and the context must hold
    `courses.author` (any state). Otherwise: visible to learners, or any course of the active
    org when the context is an author (previewing a draft).
    """
    key = parse_id(course_id)
    is_author = has(ctx, Permission.courses_author)
    if author or is_author:
        row = session.exec(authored_courses(ctx).where(Course.id == key)).first()
        if row is not None and is_author:
            return row
        if author:
            raise NotFound()
    row = session.exec(visible_courses(ctx, include_archived=True).where(Course.id == key)).first()
    if row is None:
        raise NotFound()
    return row


@dataclass(frozen=True)
class ModuleOutline:
    """A module and its lessons, in order."""

    module: CourseModule
    lessons: list[Lesson]


def outline(session: Session, ctx: OrgContext, course: Course) -> list[ModuleOutline]:
    """The course's modules and lessons in order (the caller already has access to
    `course`)."""
    modules = session.exec(
        scoped_with_ancestors(ctx, CourseModule)
        .where(CourseModule.course_id == course.id)
        .order_by(col(CourseModule.position), col(CourseModule.created))
    ).all()
    lessons = session.exec(
        scoped_with_ancestors(ctx, Lesson)
        .where(Lesson.course_id == course.id)
        .order_by(col(Lesson.position), col(Lesson.created))
    ).all()
    by_module: dict[uuid.UUID, list[Lesson]] = {m.id: [] for m in modules}
    for lesson in lessons:
        by_module.setdefault(lesson.module_id, []).append(lesson)
    return [ModuleOutline(module=m, lessons=by_module[m.id]) for m in modules]


def access_lesson(
    session: Session, ctx: OrgContext, course: Course, lesson_id: uuid.UUID | str
) -> Lesson:
    """A lesson of `course` (a lesson id of another course or org raises `NotFound`)."""
    key = parse_id(lesson_id)
    row = session.exec(
        scoped_with_ancestors(ctx, Lesson).where(
            Lesson.id == key, Lesson.course_id == course.id, Lesson.org_id == course.org_id
        )
    ).first()
    if row is None:
        raise NotFound()
    return row
