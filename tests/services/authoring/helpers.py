"""Shared builders for the authoring service tests: course input, drafts and reads."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from app.services.authoring import (
    course_lessons,
    course_outline,
    course_status,
    course_views,
    courses,
)
from app.services.core.tenancy import OrgContext, tenant_session


def base(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Forklift safety",
        "summary": "Drive it safely",
        "description": "# Hello\n\nStay **safe**.",
        "category": "Safety",
        "level": "beginner",
        "delivery_mode": "online",
    }
    data.update(over)
    return data


def run(ctx: OrgContext, fn: Callable[..., Any], **kwargs: Any) -> Any:
    with tenant_session(ctx) as session:
        return fn(session, ctx, **kwargs)


def new_course(ctx: OrgContext, **over: Any) -> uuid.UUID:
    course = run(ctx, courses.do_create_course, data=base(**over))
    return course.id  # type: ignore[no-any-return]


def ready_course(ctx: OrgContext) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A draft that can be published: one module, one text lesson. (course, module, lesson)"""
    course_id = new_course(ctx)
    module = run(ctx, course_outline.do_add_module, course_id=course_id, title="Basics")
    lesson = run(
        ctx,
        course_lessons.do_add_lesson,
        course_id=course_id,
        module_id=module.id,
        kind="text",
        title="Hi",
    )
    return course_id, module.id, lesson.id


def detail(ctx: OrgContext, course_id: uuid.UUID) -> course_views.CourseEditorView:
    return run(ctx, course_views.course_detail_for_editor, course_id=course_id)  # type: ignore[no-any-return]


def publish(ctx: OrgContext, course_id: uuid.UUID) -> Any:
    return run(ctx, course_status.do_publish_course, course_id=course_id)


def titles(ctx: OrgContext, course_id: uuid.UUID) -> list[tuple[str, list[str]]]:
    """Module titles with their lesson titles, in order."""
    return [(m.title, [lsn.title for lsn in m.lessons]) for m in detail(ctx, course_id).modules]
