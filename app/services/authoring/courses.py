"""Authoring: programs, courses, their modules, lessons and quiz questions.

Every function here is for people holding `courses.author` in their active org, and only while
the org has the `lms` feature on. Each one follows access / check / do:

- access: the course through `course_read.access_course(..., author=True)` (a course of the
  active org, any state); its lessons through `course_read.access_lesson`, its modules and
  questions through `_module` / `_question`, which also insist they belong to *that* course.
  An id of another org, of another course of the same org, or that does not exist raises the
  same `NotFound`.
- check: input through `CourseInput` (pydantic) and the small `_check_*` helpers, raising
  `ValidationFailed(message, field=...)` with a message to show beside the field.
- do: change the rows, record an audit row for changes admins care about (courses created,
  edited, published, archived, returned to draft; modules and lessons deleted), commit, and
  after the commit tell open catalog pages on `org:{org}:catalog` when what learners can
  find changed.

Media (files, video, covers) lives in `app.services.authoring.media`; `attach_media` and `set_cover`
are re-exported here for callers that think of them as course edits.

Mutating functions return the changed row (the session does not expire rows on commit, so
callers such as the demo seed can read ids afterwards); reads for the UI return the plain
dataclasses below.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.models.base import as_utc, utcnow
from app.models.course import (
    Course,
    CourseModule,
    CourseStatus,
    Lesson,
    LessonKind,
    Program,
    QuestionKind,
    QuizQuestion,
)
from app.services.authoring import course_read
from app.services.config import org_config
from app.services.core import audit
from app.services.core.authz import Permission, require
from app.services.core.errors import Conflict, NotFound, ValidationFailed
from app.services.core.tenancy import OrgContext, count_rows, parse_id, scoped
from app.services.infra import broker, storage

log = logging.getLogger(__name__)

LEVELS: dict[str, str] = {
    "beginner": "Beginner",
    "intermediate": "Intermediate",
    "advanced": "Advanced",
}
LESSON_KINDS: dict[str, str] = {
    LessonKind.text: "Text",
    LessonKind.file: "File",
    LessonKind.video: "Video",
    LessonKind.quiz: "Quiz",
}
QUESTION_KINDS: dict[str, str] = {
    QuestionKind.single: "Single choice",
    QuestionKind.multiple: "Multiple choice",
    QuestionKind.short: "Short answer",
}
MAX_BODY = 100_000  # characters of Markdown in one lesson
MAX_DESCRIPTION = 20_000
MAX_OPTIONS = 12
MAX_PREREQUISITES = 10
MAX_PRICE_CENTS = 100_000_000  # a million in the currency


def catalog_topic(org_id: object) -> str:
    """The broker topic open catalog pages of an org follow."""
    return f"org:{org_id}:catalog"


# --------------------------------------------------------------------------- input


class CourseInput(BaseModel):
    """What an author may set on a course (create and update)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    title: str
    summary: str = ""
    description: str = ""  # Markdown
    category: str = ""
    level: str = "beginner"
    delivery_mode: str = "online"
    shared_with_children: bool = False
    requires_approval: bool = False
    sequential: bool = False
    price_cents: int = 0
    certificate_valid_days: int | None = None
    prerequisite_ids: list[str] = []
    program_id: str | None = None

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        value = " ".join(value.split())
        if len(value) < 3:
            raise ValueError("Give the course a title of at least 3 characters.")
        if len(value) > 200:
            raise ValueError("The title is too long (at most 200 characters).")
        return value

    @field_validator("summary")
    @classmethod
    def _summary(cls, value: str) -> str:
        value = " ".join(value.split())
        if len(value) > 300:
            raise ValueError("The summary is too long (at most 300 characters).")
        return value

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        if len(value) > MAX_DESCRIPTION:
            raise ValueError(f"The description is too long (at most {MAX_DESCRIPTION} characters).")
        return value

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        value = " ".join(value.split())
        if len(value) > 60:
            raise ValueError("The category is too long (at most 60 characters).")
        return value

    @field_validator("level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value not in LEVELS:
            raise ValueError("Choose a level: beginner, intermediate or advanced.")
        return value

    @field_validator("price_cents")
    @classmethod
    def _price(cls, value: int) -> int:
        if value < 0:
            raise ValueError("The price cannot be negative.")
        if value > MAX_PRICE_CENTS:
            raise ValueError("The price is too high.")
        return value

    @field_validator("certificate_valid_days")
    @classmethod
    def _valid_days(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= 3650:
            raise ValueError("Certificates stay valid between 1 and 3650 days (or leave empty).")
        return value

    @field_validator("prerequisite_ids")
    @classmethod
    def _prereqs(cls, value: list[str]) -> list[str]:
        seen: list[str] = []
        for raw in value:
            raw = str(raw).strip()
            if raw and raw not in seen:
                seen.append(raw)
        if len(seen) > MAX_PREREQUISITES:
            raise ValueError(f"Choose at most {MAX_PREREQUISITES} prerequisite courses.")
        return seen

    @field_validator("program_id")
    @classmethod
    def _program(cls, value: str | None) -> str | None:
        return value or None


_FIELD_MESSAGES = {
    "int_parsing": "Enter a whole number.",
    "int_type": "Enter a whole number.",
    "int_from_float": "Enter a whole number.",
    "bool_parsing": "Choose yes or no.",
    "string_type": "Enter text.",
    "missing": "This is required.",
}


def _failed(exc: ValidationError) -> ValidationFailed:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"] if not isinstance(p, int)]
    message = _FIELD_MESSAGES.get(err["type"]) or str(err.get("msg", "This value is not valid."))
    message = message.removeprefix("Value error, ")
    return ValidationFailed(message, field=loc[0] if loc else None)


def check_course_input(data: CourseInput | Mapping[str, Any]) -> CourseInput:
    """Validate the shape of course input (org rules are checked by `_check_course_rules`)."""
    if isinstance(data, CourseInput):
        data = data.model_dump()
    try:
        return CourseInput.model_validate(dict(data))
    except ValidationError as exc:
        raise _failed(exc) from exc


def _checked(raw: Any) -> bool:
    return str(raw).strip().lower() in ("on", "true", "1", "yes")


def parse_price(raw: str) -> int:
    """A price typed as money ("12", "12.5", "12.50", "$1,200") in cents."""
    text = (raw or "").strip().replace("$", "").replace(",", "").replace(" ", "")
    if not text:
        return 0
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationFailed("Enter a price like 25 or 25.00.", field="price_cents") from exc
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed("Enter a price like 25 or 25.00.", field="price_cents")
    if amount < 0:
        raise ValidationFailed("The price cannot be negative.", field="price_cents")
    return int(amount * 100)


def course_input_from_form(form: Mapping[str, Any]) -> CourseInput:
    """A `CourseInput` from an HTML form: checkboxes as "on", the price as money text
    (`price`), empty certificate days as none, prerequisites as `prereq_<id>` checkboxes or
    a `prerequisite_ids` list."""
    prereqs: list[str] = []
    raw_prereqs = form.get("prerequisite_ids")
    if isinstance(raw_prereqs, list | tuple):
        prereqs = [str(p) for p in raw_prereqs]
    for key, value in form.items():
        if str(key).startswith("prereq_") and _checked(value):
            prereqs.append(str(key).removeprefix("prereq_"))
    days_raw = str(form.get("certificate_valid_days", "") or "").strip()
    data: dict[str, Any] = {
        "title": str(form.get("title", "") or ""),
        "summary": str(form.get("summary", "") or ""),
        "description": str(form.get("description", "") or ""),
        "category": str(form.get("category", "") or ""),
        "level": str(form.get("level", "") or "beginner"),
        "delivery_mode": str(form.get("delivery_mode", "") or ""),
        "shared_with_children": _checked(form.get("shared_with_children", "")),
        "requires_approval": _checked(form.get("requires_approval", "")),
        "sequential": _checked(form.get("sequential", "")),
        "price_cents": (
            parse_price(str(form.get("price", "")))
            if "price" in form
            else form.get("price_cents", 0) or 0
        ),
        "certificate_valid_days": days_raw or None,
        "prerequisite_ids": prereqs,
        "program_id": str(form.get("program_id", "") or "") or None,
    }
    return check_course_input(data)


# --------------------------------------------------------------------------- access


def _start(session: Session, ctx: OrgContext) -> uuid.UUID:
    """The common gate: the permission, an active org, and the LMS feature on."""
    require(ctx, Permission.courses_author)
    if ctx.org_id is None:
        raise NotFound()
    org_config.require_feature(session, ctx.org_id, "lms")
    return ctx.org_id


def _course(session: Session, ctx: OrgContext, course_id: uuid.UUID | str) -> Course:
    _start(session, ctx)
    return course_read.access_course(session, ctx, course_id, author=True)


def _module(
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


def _question(
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


def _touch(course: Course) -> None:
    course.modified = utcnow()


# --------------------------------------------------------------------------- checks


def _check_title(raw: str, *, label: str = "title", field_name: str = "title") -> str:
    value = " ".join((raw or "").split())
    if not value:
        raise ValidationFailed(f"Enter a {label}.", field=field_name)
    if len(value) > 200:
        raise ValidationFailed(
            f"The {label} is too long (at most 200 characters).", field=field_name
        )
    return value


def _check_course_rules(
    session: Session, ctx: OrgContext, data: CourseInput, *, course: Course | None
) -> tuple[list[str], uuid.UUID | None]:
    """Org-dependent rules: delivery mode, prerequisites, program. Returns the prerequisite
    ids (as strings) and the program id."""
    assert ctx.org_id is not None
    modes = org_config.cached_config(session, ctx.org_id).delivery.modes
    if data.delivery_mode not in modes:
        names = ", ".join(org_config.DELIVERY_MODES.get(m, m) for m in modes)
        raise ValidationFailed(
            f"This organization offers these delivery modes: {names}.", field="delivery_mode"
        )
    prereqs: list[str] = []
    for raw in data.prerequisite_ids:
        key = _uuid_or_invalid(raw, field_name="prerequisite_ids")
        if course is not None and key == course.id:
            raise ValidationFailed(
                "A course cannot be its own prerequisite.", field="prerequisite_ids"
            )
        other = session.exec(course_read.authored_courses(ctx).where(Course.id == key)).first()
        if other is None:
            raise ValidationFailed(
                "A prerequisite must be another course of this organization.",
                field="prerequisite_ids",
            )
        if course is not None and _requires(session, ctx, other, course.id):
            raise ValidationFailed(
                f"“{other.title}” already requires this course: that would be a circle.",
                field="prerequisite_ids",
            )
        prereqs.append(str(key))
    program_id: uuid.UUID | None = None
    if data.program_id:
        key = _uuid_or_invalid(data.program_id, field_name="program_id")
        program = session.exec(
            scoped(ctx, Program, org_ids=[ctx.org_id]).where(Program.id == key)
        ).first()
        if program is None:
            raise ValidationFailed("Choose a program of this organization.", field="program_id")
        program_id = program.id
    return prereqs, program_id


def _uuid_or_invalid(raw: str, *, field_name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw))
    except ValueError as exc:
        raise ValidationFailed("That choice is not valid.", field=field_name) from exc


def _requires(session: Session, ctx: OrgContext, start: Course, target: uuid.UUID) -> bool:
    """Whether `start` (transitively) requires `target`."""
    seen: set[str] = set()
    todo = list(start.prerequisite_ids or [])
    while todo:
        raw = todo.pop()
        if raw == str(target):
            return True
        if raw in seen or len(seen) > 500:
            continue
        seen.add(raw)
        try:
            key = uuid.UUID(raw)
        except ValueError:
            continue
        row = session.exec(course_read.authored_courses(ctx).where(Course.id == key)).first()
        if row is not None:
            todo.extend(row.prerequisite_ids or [])
    return False


def _apply(
    course: Course, data: CourseInput, prereqs: list[str], program: uuid.UUID | None
) -> None:
    course.title = data.title
    course.summary = data.summary
    course.description = data.description
    course.category = data.category
    course.level = data.level
    course.delivery_mode = data.delivery_mode
    course.shared_with_children = data.shared_with_children
    course.requires_approval = data.requires_approval
    course.sequential = data.sequential
    course.price_cents = data.price_cents
    course.certificate_valid_days = data.certificate_valid_days
    course.prerequisite_ids = prereqs
    course.program_id = program


# --------------------------------------------------------------------------- programs


@dataclass(frozen=True)
class ProgramView:
    """A program as the authoring pages list it."""

    id: str
    title: str
    description: str
    status: str
    courses: int


def create_program(
    session: Session, ctx: OrgContext, *, title: str, description: str = ""
) -> Program:
    """A new program (a named group of courses) in the active org, within the org's
    `limits.max_programs` (refused with the seats used when full)."""
    org_id = _start(session, ctx)
    clean = _check_title(title, label="program title")
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed("The description is too long.", field="description")
    org_config.check_limit(
        session, org_id, "max_programs", org_config.programs_used(session, org_id)
    )
    program = Program(
        org_id=org_id, title=clean, description=description.strip(), created_by=ctx.user_id
    )
    session.add(program)
    session.flush()
    audit.record(
        session,
        action="program.created",
        org_id=org_id,
        ctx=ctx,
        target=clean,
        detail={"program_id": str(program.id)},
    )
    session.commit()
    return program


def list_programs(session: Session, ctx: OrgContext) -> list[ProgramView]:
    """The active org's programs by title, with how many courses each holds."""
    org_id = _start(session, ctx)
    programs = session.exec(
        scoped(ctx, Program, org_ids=[org_id]).order_by(func.lower(Program.title))
    ).all()
    counts: dict[uuid.UUID, int] = {}
    if programs:
        stmt = (
            course_read.authored_courses(ctx)
            .where(col(Course.program_id).in_([p.id for p in programs]))
            .with_only_columns(col(Course.program_id), func.count())
            .group_by(col(Course.program_id))
        )
        counts = {pid: int(n) for pid, n in session.execute(stmt).all()}
    return [
        ProgramView(
            id=str(p.id),
            title=p.title,
            description=p.description,
            status=p.status,
            courses=counts.get(p.id, 0),
        )
        for p in programs
    ]


# --------------------------------------------------------------------------- courses


def create_course(
    session: Session, ctx: OrgContext, *, data: CourseInput | Mapping[str, Any]
) -> Course:
    """A new draft course in the active org; the author becomes its instructor."""
    org_id = _start(session, ctx)
    checked = check_course_input(data)
    prereqs, program = _check_course_rules(session, ctx, checked, course=None)
    course = Course(
        org_id=org_id,
        title=checked.title,
        created_by=ctx.user_id,
        instructor_id=ctx.user_id,
        status=CourseStatus.draft,
    )
    _apply(course, checked, prereqs, program)
    session.add(course)
    session.flush()
    audit.record(
        session,
        action="course.created",
        org_id=org_id,
        ctx=ctx,
        target=course.title,
        detail={"course_id": str(course.id)},
    )
    session.commit()
    return course


_AUDITED_FIELDS = (
    "title",
    "category",
    "level",
    "delivery_mode",
    "shared_with_children",
    "requires_approval",
    "sequential",
    "price_cents",
    "certificate_valid_days",
    "prerequisite_ids",
    "program_id",
)


def update_course(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    data: CourseInput | Mapping[str, Any],
) -> Course:
    """Change a course's details (any state); the audit row lists what changed."""
    course = _course(session, ctx, course_id)
    checked = check_course_input(data)
    prereqs, program = _check_course_rules(session, ctx, checked, course=course)
    before = {name: _plain(getattr(course, name)) for name in _AUDITED_FIELDS}
    _apply(course, checked, prereqs, program)
    after = {name: _plain(getattr(course, name)) for name in _AUDITED_FIELDS}
    changed = {k: {"from": before[k], "to": after[k]} for k in before if before[k] != after[k]}
    _touch(course)
    session.add(course)
    audit.record(
        session,
        action="course.updated",
        org_id=course.org_id,
        ctx=ctx,
        target=course.title,
        detail={"course_id": str(course.id), "changes": changed},
    )
    if course.status == CourseStatus.published:
        broker.publish_after_commit(
            session,
            catalog_topic(course.org_id),
            {"course_id": str(course.id), "status": course.status},
        )
    session.commit()
    return course


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list):
        return [str(v) for v in value]
    return value


# --------------------------------------------------------------------------- status


class PublishRefused(ValidationFailed):
    """Publishing was refused; `reasons` names every problem (lesson and module by title)."""

    def __init__(self, reasons: list[str]) -> None:
        more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
        super().__init__(f"Cannot publish yet: {reasons[0]}{more}", field="publish")
        self.reasons = reasons


def _problems(session: Session, ctx: OrgContext, course: Course) -> list[str]:
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
    modes = org_config.cached_config(session, ctx.org_id).delivery.modes
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
    return _problems(session, ctx, _course(session, ctx, course_id))


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
    _touch(course)
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
        session, catalog_topic(course.org_id), {"course_id": str(course.id), "status": status}
    )
    session.commit()


def publish_course(session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str) -> Course:
    """Make a course findable in the catalog, or refuse with `PublishRefused` naming every
    problem (no modules, no lessons, a module without lessons, a quiz without questions, a
    file or video lesson without its file, no required lesson). Publishing a published
    course again changes nothing."""
    course = _course(session, ctx, course_id)
    if course.status == CourseStatus.published:
        return course
    problems = _problems(session, ctx, course)
    if problems:
        raise PublishRefused(problems)
    _set_status(session, ctx, course, CourseStatus.published)
    return course


def archive_course(session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str) -> Course:
    """Take a course out of the catalog for good (enrolled learners keep their records).
    Archiving an archived course changes nothing."""
    course = _course(session, ctx, course_id)
    if course.status != CourseStatus.archived:
        _set_status(session, ctx, course, CourseStatus.archived)
    return course


def unpublish_course(session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str) -> Course:
    """Back to draft (from published or archived): out of the catalog, editable freely."""
    course = _course(session, ctx, course_id)
    if course.status != CourseStatus.draft:
        _set_status(session, ctx, course, CourseStatus.draft)
    return course


restore_to_draft = unpublish_course


# --------------------------------------------------------------------------- modules


def _modules(session: Session, ctx: OrgContext, course: Course) -> list[CourseModule]:
    return list(
        session.exec(
            scoped(ctx, CourseModule, org_ids=[course.org_id])
            .where(CourseModule.course_id == course.id)
            .order_by(col(CourseModule.position), col(CourseModule.created))
        ).all()
    )


def _module_lessons(
    session: Session, ctx: OrgContext, course: Course, module_id: uuid.UUID
) -> list[Lesson]:
    return list(
        session.exec(
            scoped(ctx, Lesson, org_ids=[course.org_id])
            .where(Lesson.course_id == course.id, Lesson.module_id == module_id)
            .order_by(col(Lesson.position), col(Lesson.created))
        ).all()
    )


def _renumber(rows: list[Any]) -> None:
    for i, row in enumerate(rows):
        if row.position != i:
            row.position = i


def _swap(rows: list[Any], target: Any, direction: str) -> bool:
    """Move `target` one step up or down in `rows` (positions renumbered). False at an end."""
    if direction not in ("up", "down"):
        raise ValidationFailed("Move up or down.", field="direction")
    index = next(i for i, r in enumerate(rows) if r.id == target.id)
    other = index - 1 if direction == "up" else index + 1
    if other < 0 or other >= len(rows):
        return False
    rows[index], rows[other] = rows[other], rows[index]
    _renumber(rows)
    return True


def add_module(
    session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str, title: str
) -> CourseModule:
    """A new module at the end of the course."""
    course = _course(session, ctx, course_id)
    clean = _check_title(title, label="module title")
    existing = _modules(session, ctx, course)
    module = CourseModule(
        org_id=course.org_id,
        course_id=course.id,
        title=clean,
        position=(max((m.position for m in existing), default=-1) + 1),
    )
    session.add(module)
    _touch(course)
    session.add(course)
    session.commit()
    return module


def rename_module(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    module_id: uuid.UUID | str,
    title: str,
) -> CourseModule:
    """Give a module another title."""
    course = _course(session, ctx, course_id)
    module = _module(session, ctx, course, module_id)
    module.title = _check_title(title, label="module title")
    module.modified = utcnow()
    session.add(module)
    _touch(course)
    session.add(course)
    session.commit()
    return module


def _check_deletable(course: Course, what: str) -> None:
    if course.status == CourseStatus.published:
        raise Conflict(
            f"Learners are taking this course: move it back to draft before deleting {what}."
        )


def _delete_lessons(
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
def _deletion(session: Session, what: str) -> Iterator[None]:
    """Deleting rows learners' records point at fails in the database: say so instead."""
    try:
        yield
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(
            f"Learners have records in {what}, so it cannot be deleted. Make lessons optional "
            "or archive the course instead."
        ) from exc


def _remove_objects(keys: list[str]) -> None:
    store = storage.get_storage()
    for key in keys:
        try:
            store.delete(key)
        except Exception:  # a leftover object is harmless; the row is gone
            log.warning("could not delete stored object %s", key, exc_info=True)


def delete_module(
    session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str, module_id: uuid.UUID | str
) -> None:
    """Delete a module with its lessons (not while the course is published)."""
    course = _course(session, ctx, course_id)
    module = _module(session, ctx, course, module_id)
    _check_deletable(course, "a module")
    lessons = _module_lessons(session, ctx, course, module.id)
    with _deletion(session, f"module “{module.title}”"):
        keys = _delete_lessons(session, ctx, course, lessons)
        session.flush()
        session.delete(module)
        rest = [m for m in _modules(session, ctx, course) if m.id != module.id]
        _renumber(rest)
        _touch(course)
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
    _remove_objects(keys)


def move_module(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    module_id: uuid.UUID | str,
    direction: Literal["up", "down"] | str,
) -> bool:
    """Move a module one place up or down; False when it is already at that end."""
    course = _course(session, ctx, course_id)
    module = _module(session, ctx, course, module_id)
    rows = _modules(session, ctx, course)
    moved = _swap(rows, module, direction)
    _touch(course)
    session.add_all([*rows, course])
    session.commit()
    return moved


# --------------------------------------------------------------------------- lessons


def add_lesson(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    module_id: uuid.UUID | str,
    kind: str,
    title: str,
) -> Lesson:
    """A new required lesson of `kind` (text, file, video, quiz) at the end of a module."""
    course = _course(session, ctx, course_id)
    module = _module(session, ctx, course, module_id)
    if kind not in LESSON_KINDS:
        raise ValidationFailed("Choose a lesson kind: text, file, video or quiz.", field="kind")
    clean = _check_title(title, label="lesson title")
    existing = _module_lessons(session, ctx, course, module.id)
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
    _touch(course)
    session.add(course)
    session.commit()
    return lesson


def _bounded(value: Any, *, low: int, high: int, field_name: str, message: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("Enter a whole number.", field=field_name) from exc
    if not low <= number <= high:
        raise ValidationFailed(message, field=field_name)
    return number


def update_lesson(
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
    course = _course(session, ctx, course_id)
    lesson = course_read.access_lesson(session, ctx, course, lesson_id)
    if title is not None:
        lesson.title = _check_title(title, label="lesson title")
    if body is not None:
        if len(body) > MAX_BODY:
            raise ValidationFailed(
                f"The text is too long (at most {MAX_BODY} characters).", field="body"
            )
        lesson.body = body
    if required is not None:
        lesson.required = bool(required)
    if passing_score is not None:
        lesson.passing_score = _bounded(
            passing_score,
            low=0,
            high=100,
            field_name="passing_score",
            message="The passing score is a percentage from 0 to 100.",
        )
    if max_attempts is not None:
        lesson.max_attempts = _bounded(
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
    _touch(course)
    session.add(course)
    session.commit()
    return lesson


def set_lesson_required(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    lesson_id: uuid.UUID | str,
    required: bool,
) -> Lesson:
    """Mark a lesson required (counts towards completion) or optional."""
    return update_lesson(session, ctx, course_id=course_id, lesson_id=lesson_id, required=required)


def delete_lesson(
    session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str, lesson_id: uuid.UUID | str
) -> None:
    """Delete a lesson, its questions and its stored file (not while published)."""
    course = _course(session, ctx, course_id)
    lesson = course_read.access_lesson(session, ctx, course, lesson_id)
    _check_deletable(course, "a lesson")
    title, module_id = lesson.title, lesson.module_id
    with _deletion(session, f"lesson “{title}”"):
        keys = _delete_lessons(session, ctx, course, [lesson])
        session.flush()
        _renumber(
            [lsn for lsn in _module_lessons(session, ctx, course, module_id) if lsn.id != lesson.id]
        )
        _touch(course)
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
    _remove_objects(keys)


def move_lesson(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    lesson_id: uuid.UUID | str,
    direction: Literal["up", "down"] | str,
) -> bool:
    """Move a lesson one place up or down within its module; False at that end."""
    course = _course(session, ctx, course_id)
    lesson = course_read.access_lesson(session, ctx, course, lesson_id)
    rows = _module_lessons(session, ctx, course, lesson.module_id)
    moved = _swap(rows, lesson, direction)
    _touch(course)
    session.add_all([*rows, course])
    session.commit()
    return moved


def move_lesson_to_module(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    lesson_id: uuid.UUID | str,
    module_id: uuid.UUID | str,
) -> Lesson:
    """Move a lesson to the end of another module of the same course."""
    course = _course(session, ctx, course_id)
    lesson = course_read.access_lesson(session, ctx, course, lesson_id)
    target = _module(session, ctx, course, module_id)
    if target.id == lesson.module_id:
        return lesson
    source_id = lesson.module_id
    existing = _module_lessons(session, ctx, course, target.id)
    lesson.module_id = target.id
    lesson.position = max((lsn.position for lsn in existing), default=-1) + 1
    session.add(lesson)
    session.flush()
    rest = [lsn for lsn in _module_lessons(session, ctx, course, source_id) if lsn.id != lesson.id]
    _renumber(rest)
    _touch(course)
    session.add_all([*rest, course])
    session.commit()
    return lesson


# --------------------------------------------------------------------------- questions


def parse_marked_options(text: str) -> tuple[list[str], list[int]]:
    """Options typed one per line, right ones starting with `*`: (options, right indexes)."""
    options: list[str] = []
    right: list[int] = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("*"):
            right.append(len(options))
            line = line.lstrip("*").strip()
        options.append(line)
    return options, right


def marked_options(options: list[str], right: list[int]) -> str:
    """The inverse of `parse_marked_options` (for editing)."""
    return "\n".join(("* " if i in right else "") + opt for i, opt in enumerate(options))


def _check_question(
    kind: str, prompt: str, options: list[str], answer: list[Any], points: Any, explanation: str
) -> tuple[str, str, list[str], list[Any], int, str]:
    if kind not in QUESTION_KINDS:
        raise ValidationFailed(
            "Choose a question kind: single choice, multiple choice or short answer.",
            field="kind",
        )
    prompt = (prompt or "").strip()
    if not prompt:
        raise ValidationFailed("Write the question.", field="prompt")
    if len(prompt) > 5000:
        raise ValidationFailed(
            "The question is too long (at most 5000 characters).", field="prompt"
        )
    points_n = _bounded(
        points, low=1, high=100, field_name="points", message="Points run from 1 to 100."
    )
    explanation = (explanation or "").strip()
    if len(explanation) > 5000:
        raise ValidationFailed("The explanation is too long.", field="explanation")
    if kind == QuestionKind.short:
        accepted: list[str] = []
        for raw in answer:
            text = " ".join(str(raw).split())
            if text and text.lower() not in [a.lower() for a in accepted]:
                accepted.append(text[:200])
        if not accepted:
            raise ValidationFailed("Give at least one accepted answer.", field="answer")
        return kind, prompt, [], accepted, points_n, explanation
    clean = [" ".join(str(o).split())[:500] for o in options]
    if any(not o for o in clean):
        raise ValidationFailed("Options cannot be empty.", field="options")
    if len(clean) < 2:
        raise ValidationFailed("Give at least two options.", field="options")
    if len(clean) > MAX_OPTIONS:
        raise ValidationFailed(f"Give at most {MAX_OPTIONS} options.", field="options")
    if len({o.lower() for o in clean}) != len(clean):
        raise ValidationFailed("Two options say the same thing.", field="options")
    try:
        right = sorted({int(i) for i in answer})
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("Mark the right options.", field="answer") from exc
    if any(i < 0 or i >= len(clean) for i in right):
        raise ValidationFailed("A right answer points at no option.", field="answer")
    if kind == QuestionKind.single and len(right) != 1:
        raise ValidationFailed(
            "A single-choice question needs exactly one right option.", field="answer"
        )
    if kind == QuestionKind.multiple and not right:
        raise ValidationFailed(
            "A multiple-choice question needs at least one right option.", field="answer"
        )
    return kind, prompt, clean, right, points_n, explanation


def _quiz(session: Session, ctx: OrgContext, course: Course, lesson_id: uuid.UUID | str) -> Lesson:
    lesson = course_read.access_lesson(session, ctx, course, lesson_id)
    if lesson.kind != LessonKind.quiz:
        raise ValidationFailed("Questions belong to quiz lessons.", field="lesson_id")
    return lesson


def _lesson_questions(
    session: Session, ctx: OrgContext, course: Course, lesson_id: uuid.UUID
) -> list[QuizQuestion]:
    return list(
        session.exec(
            scoped(ctx, QuizQuestion, org_ids=[course.org_id])
            .where(QuizQuestion.lesson_id == lesson_id)
            .order_by(col(QuizQuestion.position), col(QuizQuestion.created))
        ).all()
    )


def add_question(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    lesson_id: uuid.UUID | str,
    kind: str,
    prompt: str,
    options: list[str] | None = None,
    answer: list[Any] | None = None,
    points: int | str = 1,
    explanation: str = "",
) -> QuizQuestion:
    """A question at the end of a quiz. `single`: >= 2 options, exactly one right index in
    `answer`; `multiple`: >= 2 options, >= 1 right index; `short`: accepted answers in
    `answer` (matched ignoring case). Points 1-100."""
    course = _course(session, ctx, course_id)
    lesson = _quiz(session, ctx, course, lesson_id)
    kind, prompt, opts, ans, pts, expl = _check_question(
        kind, prompt, options or [], answer or [], points, explanation
    )
    existing = _lesson_questions(session, ctx, course, lesson.id)
    question = QuizQuestion(
        org_id=course.org_id,
        lesson_id=lesson.id,
        position=max((q.position for q in existing), default=-1) + 1,
        kind=kind,
        prompt=prompt,
        options=opts,
        answer=ans,
        points=pts,
        explanation=expl,
    )
    session.add(question)
    _touch(course)
    session.add(course)
    session.commit()
    return question


def update_question(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    question_id: uuid.UUID | str,
    kind: str,
    prompt: str,
    options: list[str] | None = None,
    answer: list[Any] | None = None,
    points: int | str = 1,
    explanation: str = "",
) -> QuizQuestion:
    """Replace a question's content (same rules as `add_question`)."""
    course = _course(session, ctx, course_id)
    _lesson, question = _question(session, ctx, course, question_id)
    kind, prompt, opts, ans, pts, expl = _check_question(
        kind, prompt, options or [], answer or [], points, explanation
    )
    question.kind, question.prompt, question.options = kind, prompt, opts
    question.answer, question.points, question.explanation = ans, pts, expl
    question.modified = utcnow()
    session.add(question)
    _touch(course)
    session.add(course)
    session.commit()
    return question


def delete_question(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    question_id: uuid.UUID | str,
) -> None:
    """Remove a question from its quiz (a published quiz must keep at least one)."""
    course = _course(session, ctx, course_id)
    lesson, question = _question(session, ctx, course, question_id)
    rest = [q for q in _lesson_questions(session, ctx, course, lesson.id) if q.id != question.id]
    if course.status == CourseStatus.published and not rest:
        raise Conflict("A published quiz needs at least one question.")
    session.delete(question)
    _renumber(rest)
    _touch(course)
    session.add_all([*rest, course])
    session.commit()


def move_question(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    question_id: uuid.UUID | str,
    direction: Literal["up", "down"] | str,
) -> bool:
    """Move a question one place up or down in its quiz; False at that end."""
    course = _course(session, ctx, course_id)
    lesson, question = _question(session, ctx, course, question_id)
    rows = _lesson_questions(session, ctx, course, lesson.id)
    moved = _swap(rows, question, direction)
    _touch(course)
    session.add_all([*rows, course])
    session.commit()
    return moved


# --------------------------------------------------------------------------- reads


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
    _start(session, ctx)
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
    course = _course(session, ctx, course_id)
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
    modes = org_config.cached_config(session, ctx.org_id).delivery.modes
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
        delivery_modes=[Choice(m, org_config.DELIVERY_MODES.get(m, m)) for m in mode_values],
        prerequisite_choices=[Choice(str(c.id), c.title) for c in others],
        programs=[Choice(str(p.id), p.title) for p in programs],
        problems=_problems(session, ctx, course),
    )


def delivery_mode_choices(session: Session, ctx: OrgContext) -> list[Choice]:
    """The delivery modes the active org offers (for the create-course form)."""
    org_id = _start(session, ctx)
    modes = org_config.cached_config(session, org_id).delivery.modes
    return [Choice(m, org_config.DELIVERY_MODES.get(m, m)) for m in modes]


# Media edits, re-exported (they live with the rest of the storage handling).
from app.services.authoring.media import attach_media, remove_media, set_cover  # noqa: E402

__all__ = [
    "LESSON_KINDS",
    "LEVELS",
    "QUESTION_KINDS",
    "Choice",
    "CourseEditorView",
    "CourseInput",
    "CoursePage",
    "CourseRow",
    "LessonView",
    "ModuleView",
    "ProgramView",
    "PublishRefused",
    "QuestionView",
    "add_lesson",
    "add_module",
    "add_question",
    "archive_course",
    "attach_media",
    "catalog_topic",
    "check_course_input",
    "course_detail_for_editor",
    "course_input_from_form",
    "create_course",
    "create_program",
    "delete_lesson",
    "delete_module",
    "delete_question",
    "delivery_mode_choices",
    "list_authored",
    "list_programs",
    "marked_options",
    "move_lesson",
    "move_lesson_to_module",
    "move_module",
    "move_question",
    "parse_marked_options",
    "parse_price",
    "publish_course",
    "publish_problems",
    "remove_media",
    "rename_module",
    "restore_to_draft",
    "set_cover",
    "set_lesson_required",
    "unpublish_course",
    "update_course",
    "update_lesson",
]
