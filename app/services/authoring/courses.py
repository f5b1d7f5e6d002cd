"""Course-level authoring: creating a course and editing its details under the org's rules."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlmodel import Session

from app.models.course import Course, CourseStatus, Program
from app.services.authoring import course_read
from app.services.authoring.course_access import editable_course, require_authoring, touch
from app.services.authoring.course_input import CourseInput, check_course_input
from app.services.config import cache, schema
from app.services.core import audit, topics
from app.services.core.errors import ValidationFailed
from app.services.core.tenancy import OrgContext, scoped
from app.services.infra import broker


def _check_course_rules(
    session: Session, ctx: OrgContext, data: CourseInput, *, course: Course | None
) -> tuple[list[str], uuid.UUID | None]:
    """Org-dependent rules: delivery mode, prerequisites, program. Returns the prerequisite
    ids (as strings) and the program id."""
    assert ctx.org_id is not None
    modes = cache.cached_config(session, ctx.org_id).delivery.modes
    if data.delivery_mode not in modes:
        names = ", ".join(schema.DELIVERY_MODES.get(m, m) for m in modes)
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


def do_create_course(
    session: Session, ctx: OrgContext, *, data: CourseInput | Mapping[str, Any]
) -> Course:
    """A new draft course in the active org; the author becomes its instructor."""
    org_id = require_authoring(session, ctx)
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


def do_update_course(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    data: CourseInput | Mapping[str, Any],
) -> Course:
    """Change a course's details (any state); the audit row lists what changed."""
    course = editable_course(session, ctx, course_id)
    checked = check_course_input(data)
    prereqs, program = _check_course_rules(session, ctx, checked, course=course)
    before = {name: _plain(getattr(course, name)) for name in _AUDITED_FIELDS}
    _apply(course, checked, prereqs, program)
    after = {name: _plain(getattr(course, name)) for name in _AUDITED_FIELDS}
    changed = {k: {"from": before[k], "to": after[k]} for k in before if before[k] != after[k]}
    touch(course)
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
            topics.CATALOG.name(org=course.org_id),
            topics.CatalogChanged(course_id=str(course.id), status=course.status),
        )
    session.commit()
    return course


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list):
        return [str(v) for v in value]
    return value


__all__ = ["do_create_course", "do_update_course"]
