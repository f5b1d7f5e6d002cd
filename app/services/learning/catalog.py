"""The catalog: what a learner may find and enroll in, and one course's public page.

Learners see what their org's scope has published, plus what an ancestor org published and
shared down the hierarchy (`course_read.visible_courses`); nothing else, whatever ids they
try. Results are dataclasses (never table rows) and are paginated in the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import or_
from sqlmodel import Session, col

from app.models.course import Course, CourseStatus
from app.services.authoring import course_read
from app.services.config import gates, schema
from app.services.core.authz import Permission, require
from app.services.core.errors import NotFound
from app.services.core.tenancy import OrgContext, count_rows
from app.services.infra import storage
from app.services.learning import enrollments, gating
from app.services.learning.enrollments import EnrollmentView, Prerequisite

LEVELS: dict[str, str] = {
    "beginner": "Beginner",
    "intermediate": "Intermediate",
    "advanced": "Advanced",
}
KIND_LABELS: dict[str, str] = {
    "text": "Reading",
    "file": "Document",
    "video": "Video",
    "quiz": "Quiz",
}
CURRENCY_SIGNS: dict[str, str] = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$", "aud": "A$"}
MAX_PAGE_SIZE = 48
MAX_TEXT = 100


def price_label(price_cents: int, currency: str) -> str:
    """ "Free", or the price as people write it ("$49.00", "12.50 CHF")."""
    if price_cents <= 0:
        return "Free"
    amount = f"{price_cents / 100:,.2f}"
    sign = CURRENCY_SIGNS.get((currency or "").lower())
    return f"{sign}{amount}" if sign else f"{amount} {(currency or '').upper()}"


def level_label(level: str) -> str:
    """A course level as shown."""
    return LEVELS.get(level, level.replace("_", " ").capitalize())


def mode_label(mode: str) -> str:
    """A delivery mode as shown."""
    return schema.DELIVERY_MODES.get(mode, mode.replace("_", " ").capitalize())


def cover_url(course: Course) -> str:
    """The URL of the course's cover image ("" when it has none or the key is unusable)."""
    if course.cover_key and storage.is_valid_key(course.cover_key):
        return storage.public_url(course.cover_key)
    return ""


@dataclass(frozen=True)
class CourseCard:
    """One course in the catalog."""

    id: str
    title: str
    summary: str
    category: str
    level: str
    level_label: str
    delivery_mode: str
    mode_label: str
    price_cents: int
    price_label: str
    requires_approval: bool
    cover_url: str
    enrollment_status: str  # the viewer's ("" when not enrolled)


@dataclass(frozen=True)
class Option:
    """A filter choice: the value sent back and its label."""

    value: str
    label: str


@dataclass(frozen=True)
class CatalogPage:
    """One page of search results, the total, and the filter choices."""

    cards: list[CourseCard]
    total: int
    page: int
    page_size: int
    categories: list[Option] = field(default_factory=list)
    levels: list[Option] = field(default_factory=list)
    modes: list[Option] = field(default_factory=list)

    @property
    def pages(self) -> int:
        """How many pages the total makes."""
        return max(1, -(-self.total // self.page_size))


def _checks(session: Session, ctx: OrgContext) -> uuid.UUID:
    require(ctx, Permission.learning_view)
    if ctx.org_id is None:
        raise NotFound()
    gates.require_feature(session, ctx.org_id, "lms")
    return ctx.org_id


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _distinct(session: Session, ctx: OrgContext, column: object) -> list[str]:
    stmt = course_read.visible_courses(ctx).with_only_columns(column).distinct()  # type: ignore[call-overload]
    return sorted({str(v) for v in session.exec(stmt).all() if v})


def search(
    session: Session,
    ctx: OrgContext,
    *,
    text: str = "",
    category: str = "",
    level: str = "",
    delivery_mode: str = "",
    page: int = 1,
    page_size: int = 12,
) -> CatalogPage:
    """Published courses the viewer may find, newest first, filtered and paginated.

    `text` matches title, summary, description and category, ignoring case (`%` and `_` are
    literal). Empty filters mean "any". The filter choices list only values in use.
    """
    _checks(session, ctx)
    page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
    page = max(page, 1)
    stmt = course_read.visible_courses(ctx)
    text = " ".join((text or "").split())[:MAX_TEXT]
    if text:
        pattern = _like(text)
        stmt = stmt.where(
            or_(
                col(Course.title).ilike(pattern, escape="\\"),
                col(Course.summary).ilike(pattern, escape="\\"),
                col(Course.description).ilike(pattern, escape="\\"),
                col(Course.category).ilike(pattern, escape="\\"),
            )
        )
    if category:
        stmt = stmt.where(Course.category == category)
    if level:
        stmt = stmt.where(Course.level == level)
    if delivery_mode:
        stmt = stmt.where(Course.delivery_mode == delivery_mode)
    total = count_rows(session, stmt)
    rows = list(
        session.exec(
            stmt.order_by(col(Course.published_at).desc(), col(Course.title), col(Course.id))
            .offset((page - 1) * page_size)
            .limit(page_size)
        ).all()
    )
    held = enrollments.own_enrollments(session, ctx, [r.id for r in rows])
    mine = {e.course_id: e.status for e in held}
    cards = [
        CourseCard(
            id=str(r.id),
            title=r.title,
            summary=r.summary,
            category=r.category,
            level=r.level,
            level_label=level_label(r.level),
            delivery_mode=r.delivery_mode,
            mode_label=mode_label(r.delivery_mode),
            price_cents=r.price_cents,
            price_label=price_label(r.price_cents, r.currency),
            requires_approval=r.requires_approval,
            cover_url=cover_url(r),
            enrollment_status=mine.get(r.id, ""),
        )
        for r in rows
    ]
    level_order = list(LEVELS)
    levels = sorted(
        _distinct(session, ctx, Course.level),
        key=lambda v: (level_order.index(v) if v in level_order else len(level_order), v),
    )
    return CatalogPage(
        cards=cards,
        total=total,
        page=page,
        page_size=page_size,
        categories=[Option(c, c) for c in _distinct(session, ctx, Course.category)],
        levels=[Option(v, level_label(v)) for v in levels],
        modes=[Option(m, mode_label(m)) for m in _distinct(session, ctx, Course.delivery_mode)],
    )


@dataclass(frozen=True)
class OutlineLesson:
    """A lesson as the course page lists it (title and kind only)."""

    id: str
    title: str
    kind: str
    kind_label: str
    required: bool


@dataclass(frozen=True)
class OutlineModule:
    """A module and its lessons."""

    id: str
    title: str
    lessons: list[OutlineLesson]


@dataclass(frozen=True)
class CoursePage:
    """Everything the course detail page shows."""

    id: str
    title: str
    summary: str
    description: str  # Markdown
    category: str
    level_label: str
    mode_label: str
    status: str  # "published" for learners; authors previewing may see "draft"
    price_cents: int
    price_label: str
    is_paid: bool
    requires_approval: bool
    cover_url: str
    prerequisites: list[Prerequisite]
    prerequisites_met: bool
    outline: list[OutlineModule]
    lesson_count: int
    enrollment: EnrollmentView | None
    funding_sources: list[Option]
    next_lesson_id: str  # where "Start"/"Continue" goes ("" when the course has no lessons)

    @property
    def can_enroll(self) -> bool:
        """Whether the enroll/apply button should be offered."""
        held = self.enrollment is not None and self.enrollment.status in enrollments.HELD
        return (
            not held
            and not self.is_paid
            and self.prerequisites_met
            and self.status == CourseStatus.published
        )


def course_page(session: Session, ctx: OrgContext, course_id: uuid.UUID | str) -> CoursePage:
    """One course as its public page shows it, with the viewer's enrollment if any."""
    org_id = _checks(session, ctx)
    course = course_read.access_course(session, ctx, course_id)
    parts = course_read.outline(session, ctx, course)
    prereqs = enrollments.prerequisites(session, ctx, course)
    mine = enrollments.own_enrollment(session, ctx, course.id)
    next_id = gating.next_lesson_id(session, ctx, course, enrollment=mine, outline=parts)
    return CoursePage(
        id=str(course.id),
        title=course.title,
        summary=course.summary,
        description=course.description,
        category=course.category,
        level_label=level_label(course.level),
        mode_label=mode_label(course.delivery_mode),
        status=course.status,
        price_cents=course.price_cents,
        price_label=price_label(course.price_cents, course.currency),
        is_paid=course.price_cents > 0,
        requires_approval=course.requires_approval,
        cover_url=cover_url(course),
        prerequisites=prereqs,
        prerequisites_met=all(p.met for p in prereqs),
        outline=[
            OutlineModule(
                id=str(part.module.id),
                title=part.module.title,
                lessons=[
                    OutlineLesson(
                        id=str(lesson.id),
                        title=lesson.title,
                        kind=lesson.kind,
                        kind_label=KIND_LABELS.get(lesson.kind, lesson.kind),
                        required=lesson.required,
                    )
                    for lesson in part.lessons
                ],
            )
            for part in parts
        ],
        lesson_count=sum(len(p.lessons) for p in parts),
        enrollment=enrollments.view(mine) if mine is not None else None,
        funding_sources=[
            Option(slug, label) for slug, label in enrollments.funding_choices(session, org_id)
        ],
        next_lesson_id=next_id,
    )
