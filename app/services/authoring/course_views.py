"""Read-side views for authors: the course list and everything the course editor shows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col

from app.models.base import as_utc
from app.models.course import Course, CourseModule, CourseStatus, Lesson, Program, QuizQuestion
from app.services.authoring import course_read
from app.services.authoring.course_access import editable_course, require_authoring
from app.services.authoring.course_status import course_problems
from app.services.config import cache, schema
from app.services.core.tenancy import OrgContext, count_rows, scoped
from app.services.infra import storage


@dataclass(frozen=True)
class CourseRow:
    """A course as the authoring list shows it."""

    id: str
    title: str
    status: str
    category: str
    level: str
    delivery_mode: str
    modules: int
    lessons: int
    updated: datetime


@dataclass(frozen=True)
class CoursePage:
    """A page of the org's courses and how many match in all."""

    rows: list[CourseRow]
    total: int
    page: int
    page_size: int


def list_authored(
    session: Session,
    ctx: OrgContext,
    *,
    page: int = 1,
    page_size: int = 25,
    search: str = "",
    status: str = "",
) -> CoursePage:
    """The active org's courses (any state, or one `status`), recently changed first,
    searched by title, category or summary and paginated in the database."""
    require_authoring(session, ctx)
    stmt = course_read.authored_courses(ctx)
    term = " ".join(search.split()).lower()
    if term:
        like = f"%{term}%"
        stmt = stmt.where(
            or_(
                func.lower(Course.title).like(like),
                func.lower(Course.category).like(like),
                func.lower(Course.summary).like(like),
            )
        )
    if status in (CourseStatus.draft, CourseStatus.published, CourseStatus.archived):
        stmt = stmt.where(Course.status == status)
    total = count_rows(session, stmt)
    page = max(1, page)
    courses = session.exec(
        stmt.order_by(col(Course.modified).desc(), col(Course.id))
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    ids = [c.id for c in courses]
    modules: dict[uuid.UUID, int] = {}
    lessons: dict[uuid.UUID, int] = {}
    if ids:
        for model, target in ((CourseModule, modules), (Lesson, lessons)):
            counted = (
                scoped(ctx, model, org_ids=[ctx.org_id] if ctx.org_id else [])
                .where(col(model.course_id).in_(ids))
                .with_only_columns(col(model.course_id), func.count())
                .group_by(col(model.course_id))
            )
            target.update({cid: int(n) for cid, n in session.execute(counted).all()})
    return CoursePage(
        rows=[
            CourseRow(
                id=str(c.id),
                title=c.title,
                status=c.status,
                category=c.category,
                level=c.level,
                delivery_mode=c.delivery_mode,
                modules=modules.get(c.id, 0),
                lessons=lessons.get(c.id, 0),
                updated=as_utc(c.modified),
            )
            for c in courses
        ],
        total=total,
        page=page,
        page_size=page_size,
    )


@dataclass(frozen=True)
class QuestionView:
    """A quiz question for its editor (with the right answers)."""

    id: str
    position: int
    kind: str
    prompt: str
    options: list[str]
    answer: list[Any]
    points: int
    explanation: str


@dataclass(frozen=True)
class LessonView:
    """A lesson for the editor."""

    id: str
    module_id: str
    position: int
    title: str
    kind: str
    required: bool
    body: str
    media_name: str
    media_type: str
    media_size: int
    media_url: str
    duration_seconds: float
    passing_score: int
    max_attempts: int
    shuffle: bool
    questions: list[QuestionView] = field(default_factory=list)


@dataclass(frozen=True)
class ModuleView:
    """A module and its lessons, in order."""

    id: str
    title: str
    position: int
    lessons: list[LessonView]


@dataclass(frozen=True)
class Choice:
    """A value and its label (selects and checkbox lists)."""

    value: str
    label: str


@dataclass(frozen=True)
class CourseEditorView:
    """Everything the course editor shows, as plain data."""

    id: str
    title: str
    summary: str
    description: str
    category: str
    level: str
    delivery_mode: str
    status: str
    shared_with_children: bool
    requires_approval: bool
    sequential: bool
    price_cents: int
    certificate_valid_days: int | None
    prerequisite_ids: list[str]
    program_id: str
    cover_url: str
    published_at: datetime | None
    modified: datetime
    modules: list[ModuleView]
    delivery_modes: list[Choice]
    prerequisite_choices: list[Choice]
    programs: list[Choice]
    problems: list[str]


def _lesson_view(lesson: Lesson, questions: list[QuizQuestion]) -> LessonView:
    return LessonView(
        id=str(lesson.id),
        module_id=str(lesson.module_id),
        position=lesson.position,
        title=lesson.title,
        kind=lesson.kind,
        required=lesson.required,
        body=lesson.body,
        media_name=lesson.media_name,
        media_type=lesson.media_type,
        media_size=lesson.media_size,
        media_url=storage.public_url(lesson.media_key) if lesson.media_key else "",
        duration_seconds=lesson.duration_seconds,
        passing_score=lesson.passing_score,
        max_attempts=lesson.max_attempts,
        shuffle=lesson.shuffle,
        questions=[
            QuestionView(
                id=str(q.id),
                position=q.position,
                kind=q.kind,
                prompt=q.prompt,
                options=list(q.options),
                answer=list(q.answer),
                points=q.points,
                explanation=q.explanation,
            )
            for q in questions
        ],
    )


def course_detail_for_editor(
    session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str
) -> CourseEditorView:
    """The course with its modules, lessons and questions, and the choices its form offers."""
    course = editable_course(session, ctx, course_id)
    assert ctx.org_id is not None
    parts = course_read.outline(session, ctx, course)
    lesson_ids = [lsn.id for part in parts for lsn in part.lessons]
    by_lesson: dict[uuid.UUID, list[QuizQuestion]] = {}
    if lesson_ids:
        for q in session.exec(
            scoped(ctx, QuizQuestion, org_ids=[course.org_id])
            .where(col(QuizQuestion.lesson_id).in_(lesson_ids))
            .order_by(col(QuizQuestion.position), col(QuizQuestion.created))
        ).all():
            by_lesson.setdefault(q.lesson_id, []).append(q)
    modes = cache.cached_config(session, ctx.org_id).delivery.modes
    mode_values = list(modes) + (
        [course.delivery_mode] if course.delivery_mode not in modes else []
    )
    others = session.exec(
        course_read.authored_courses(ctx)
        .where(Course.id != course.id, Course.status != CourseStatus.archived)
        .order_by(func.lower(Course.title))
        .limit(200)
    ).all()
    programs = session.exec(
        scoped(ctx, Program, org_ids=[ctx.org_id]).order_by(func.lower(Program.title))
    ).all()
    return CourseEditorView(
        id=str(course.id),
        title=course.title,
        summary=course.summary,
        description=course.description,
        category=course.category,
        level=course.level,
        delivery_mode=course.delivery_mode,
        status=course.status,
        shared_with_children=course.shared_with_children,
        requires_approval=course.requires_approval,
        sequential=course.sequential,
        price_cents=course.price_cents,
        certificate_valid_days=course.certificate_valid_days,
        prerequisite_ids=[str(p) for p in course.prerequisite_ids or []],
        program_id=str(course.program_id or ""),
        cover_url=storage.public_url(course.cover_key) if course.cover_key else "",
        published_at=as_utc(course.published_at) if course.published_at else None,
        modified=as_utc(course.modified),
        modules=[
            ModuleView(
                id=str(part.module.id),
                title=part.module.title,
                position=part.module.position,
                lessons=[_lesson_view(lsn, by_lesson.get(lsn.id, [])) for lsn in part.lessons],
            )
            for part in parts
        ],
        delivery_modes=[Choice(m, schema.DELIVERY_MODES.get(m, m)) for m in mode_values],
        prerequisite_choices=[Choice(str(c.id), c.title) for c in others],
        programs=[Choice(str(p.id), p.title) for p in programs],
        problems=course_problems(session, ctx, course),
    )


def delivery_mode_choices(session: Session, ctx: OrgContext) -> list[Choice]:
    """The delivery modes the active org offers (for the create-course form)."""
    org_id = require_authoring(session, ctx)
    modes = cache.cached_config(session, org_id).delivery.modes
    return [Choice(m, schema.DELIVERY_MODES.get(m, m)) for m in modes]


__all__ = [
    "Choice",
    "CourseEditorView",
    "CoursePage",
    "CourseRow",
    "LessonView",
    "ModuleView",
    "QuestionView",
    "course_detail_for_editor",
    "delivery_mode_choices",
    "list_authored",
]
