"""Who may author (`authoring.course_access`): authors only, with the LMS feature on, and ids of
another course or org are not found by any edit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.models.course import CourseStatus
from app.models.user import Role
from app.services.authoring import (
    course_lessons,
    course_outline,
    course_status,
    course_views,
    media,
    questions,
)
from app.services.config import writes
from app.services.core.errors import NotFound, PermissionDenied
from app.services.core.tenancy import tenant_session
from tests import factories as f
from tests import learning_factories as lf
from tests.fixtures import media_samples as samples
from tests.services.authoring.helpers import detail, new_course, ready_course, run, titles

pytestmark = pytest.mark.usefixtures("backend")


def test_only_authors_and_only_with_the_lms_feature() -> None:
    admin = f.new_admin()
    course_id = new_course(admin.ctx)
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    with pytest.raises(PermissionDenied):
        new_course(learner.ctx)
    with pytest.raises(PermissionDenied):
        run(learner.ctx, course_outline.do_add_module, course_id=course_id, title="Sneaky")
    instructor = f.invite_and_accept_member(admin.ctx, Role.instructor)
    run(instructor.ctx, course_outline.do_add_module, course_id=course_id, title="Allowed")
    with tenant_session(admin.ctx) as session:
        writes.set_overrides(session, admin.org_id, {"features": {"lms": False}})
        session.commit()
    with pytest.raises(PermissionDenied, match="turned off"):
        run(instructor.ctx, course_outline.do_add_module, course_id=course_id, title="Off")


def test_ids_of_another_course_or_org_are_not_found() -> None:
    pair = f.two_tenants()
    mine, my_module, my_lesson = ready_course(pair.a.ctx)
    other = lf.published_course(pair.a.ctx, status=CourseStatus.draft)  # same org
    theirs = lf.published_course(pair.b.ctx, status=CourseStatus.draft)
    ctx = pair.a.ctx
    o, t = other, theirs
    cross: list[tuple[Callable[..., Any], dict[str, Any]]] = [
        (
            course_lessons.do_update_lesson,
            {"course_id": mine, "lesson_id": o.lesson_ids[0], "title": "X"},
        ),
        (course_lessons.do_delete_lesson, {"course_id": mine, "lesson_id": o.lesson_ids[0]}),
        (
            course_lessons.do_move_lesson,
            {"course_id": mine, "lesson_id": o.lesson_ids[1], "direction": "up"},
        ),
        (
            course_outline.do_rename_module,
            {"course_id": mine, "module_id": o.module_ids[0], "title": "X"},
        ),
        (
            course_lessons.do_add_lesson,
            {"course_id": mine, "module_id": o.module_ids[0], "kind": "text", "title": "X"},
        ),
        (
            course_lessons.do_move_lesson_to_module,
            {"course_id": mine, "lesson_id": my_lesson, "module_id": o.module_ids[0]},
        ),
        (
            course_lessons.do_move_lesson_to_module,
            {"course_id": o.course_id, "lesson_id": my_lesson, "module_id": o.module_ids[0]},
        ),
        (questions.do_delete_question, {"course_id": mine, "question_id": o.question_ids[0]}),
        (
            questions.do_add_question,
            {
                "course_id": mine,
                "lesson_id": o.quiz_lesson_id,
                "kind": "short",
                "prompt": "x",
                "answer": ["x"],
            },
        ),
        (course_status.do_publish_course, {"course_id": t.course_id}),
        (course_views.course_detail_for_editor, {"course_id": t.course_id}),
        (
            course_lessons.do_update_lesson,
            {"course_id": t.course_id, "lesson_id": t.lesson_ids[0], "title": "X"},
        ),
        (course_outline.do_delete_module, {"course_id": mine, "module_id": t.module_ids[0]}),
        (
            course_lessons.do_update_lesson,
            {"course_id": "not-a-uuid", "lesson_id": my_lesson, "title": "X"},
        ),
        (
            media.do_attach_media,
            {
                "course_id": mine,
                "lesson_id": o.by_kind["file"],
                "source": samples.pdf(),
                "filename": "a.pdf",
            },
        ),
    ]
    for fn, kwargs in cross:
        with pytest.raises(NotFound):
            run(ctx, fn, **kwargs)
    assert titles(ctx, mine) == [("Basics", ["Hi"])]
    assert detail(ctx, other.course_id).modules[0].title == "Basics"
    assert my_module
