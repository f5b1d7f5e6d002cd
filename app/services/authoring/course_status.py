"""A course's status: publishing (or why not yet), archiving and returning it to draft."""

from __future__ import annotations

import uuid

from sqlalchemy import func
from sqlmodel import Session, col

from app.models.base import utcnow
from app.models.course import Course, CourseStatus, LessonKind, QuizQuestion
from app.services.authoring import course_read
from app.services.authoring.course_access import editable_course, touch
from app.services.config import cache
from app.services.core import audit, topics
from app.services.core.errors import ValidationFailed
from app.services.core.tenancy import OrgContext, scoped
from app.services.infra import broker


class PublishRefused(ValidationFailed):
    """Publishing was refused; `reasons` names every problem (lesson and module by title)."""

    def __init__(self, reasons: list[str]) -> None:
        more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
        super().__init__(f"Cannot publish yet: {reasons[0]}{more}", field="publish")
        self.reasons = reasons


def course_problems(session: Session, ctx: OrgContext, course: Course) -> list[str]:
    """What stands between `course` (already accessed) and publishing."""
    parts = course_read.outline(session, ctx, course)
    problems: list[str] = []
    if not parts:
        return ["the course has no modules. Add a module with at least one lesson."]
    lessons = [lesson for part in parts for lesson in part.lessons]
    if not lessons:
        return ["the course has no lessons. Add at least one lesson."]
    counts = _question_counts(session, ctx, course, [lsn.id for lsn in lessons])
    for part in parts:
        where = f"module “{part.module.title}”"
        if not part.lessons:
            problems.append(f"{where} has no lessons.")
        for lesson in part.lessons:
            if lesson.kind == LessonKind.quiz and counts.get(lesson.id, 0) == 0:
                problems.append(f"the quiz “{lesson.title}” in {where} has no questions.")
            if lesson.kind == LessonKind.file and not lesson.media_key:
                problems.append(f"the file lesson “{lesson.title}” in {where} has no file.")
            if lesson.kind == LessonKind.video and not lesson.media_key:
                problems.append(f"the video lesson “{lesson.title}” in {where} has no video.")
    if not any(lesson.required for lesson in lessons):
        problems.append(
            "no lesson is required. Mark at least one lesson required: completing the "
            "required lessons completes the course."
        )
    assert ctx.org_id is not None
    modes = cache.cached_config(session, ctx.org_id).delivery.modes
    if course.delivery_mode not in modes:
        problems.append(
            f"the delivery mode “{course.delivery_mode}” is no longer offered by this "
            "organization. Choose another in the details."
        )
    return problems


def _question_counts(
    session: Session, ctx: OrgContext, course: Course, lesson_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    if not lesson_ids:
        return {}
    stmt = (
        scoped(ctx, QuizQuestion, org_ids=[course.org_id])
        .where(col(QuizQuestion.lesson_id).in_(lesson_ids))
        .with_only_columns(col(QuizQuestion.lesson_id), func.count())
        .group_by(col(QuizQuestion.lesson_id))
    )
    return {lid: int(n) for lid, n in session.execute(stmt).all()}


def publish_problems(session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str) -> list[str]:
    """What stands between the course and publishing (empty: it can be published)."""
    return course_problems(session, ctx, editable_course(session, ctx, course_id))


_STATUS_ACTIONS: dict[str, str] = {
    CourseStatus.published: "course.published",
    CourseStatus.archived: "course.archived",
    CourseStatus.draft: "course.unpublished",
}


def _set_status(session: Session, ctx: OrgContext, course: Course, status: str) -> None:
    previous = course.status
    course.status = status
    if status == CourseStatus.published:
        course.published_at = utcnow()
    touch(course)
    session.add(course)
    audit.record(
        session,
        action=_STATUS_ACTIONS[status],
        org_id=course.org_id,
        ctx=ctx,
        target=course.title,
        detail={"course_id": str(course.id), "from": previous, "to": status},
    )
    broker.publish_after_commit(
        session,
        topics.CATALOG.name(org=course.org_id),
        topics.CatalogChanged(course_id=str(course.id), status=status),
    )
    session.commit()


def do_publish_course(session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str) -> Course:
    """Make a course findable in the catalog, or refuse with `PublishRefused` naming every
    problem (no modules, no lessons, a module without lessons, a quiz without questions, a
    file or video lesson without its file, no required lesson). Publishing a published
    course again changes nothing."""
    course = editable_course(session, ctx, course_id)
    if course.status == CourseStatus.published:
        return course
    problems = course_problems(session, ctx, course)
    if problems:
        raise PublishRefused(problems)
    _set_status(session, ctx, course, CourseStatus.published)
    return course


def do_archive_course(session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str) -> Course:
    """Take a course out of the catalog for good (enrolled learners keep their records).
    Archiving an archived course changes nothing."""
    course = editable_course(session, ctx, course_id)
    if course.status != CourseStatus.archived:
        _set_status(session, ctx, course, CourseStatus.archived)
    return course


def do_unpublish_course(session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str) -> Course:
    """Back to draft (from published or archived): out of the catalog, editable freely."""
    course = editable_course(session, ctx, course_id)
    if course.status != CourseStatus.draft:
        _set_status(session, ctx, course, CourseStatus.draft)
    return course


__all__ = [
    "PublishRefused",
    "course_problems",
    "do_archive_course",
    "do_publish_course",
    "do_unpublish_course",
    "publish_problems",
]
