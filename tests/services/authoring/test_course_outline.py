"""Modules (`authoring.course_outline`): reorder, rename, move lessons between them, and no
deleting while the course is published."""

from __future__ import annotations

import pytest

from app.services.authoring import course_lessons, course_outline
from app.services.core.errors import Conflict, ValidationFailed
from tests import factories as f
from tests.services.authoring.helpers import new_course, publish, ready_course, run, titles

pytestmark = pytest.mark.usefixtures("backend")


def test_modules_and_lessons_reorder_rename_and_delete() -> None:
    admin = f.new_admin()
    course_id = new_course(admin.ctx)
    m1 = run(admin.ctx, course_outline.do_add_module, course_id=course_id, title="One")
    m2 = run(admin.ctx, course_outline.do_add_module, course_id=course_id, title="Two")
    a = run(
        admin.ctx,
        course_lessons.do_add_lesson,
        course_id=course_id,
        module_id=m1.id,
        kind="text",
        title="A",
    )
    b = run(
        admin.ctx,
        course_lessons.do_add_lesson,
        course_id=course_id,
        module_id=m1.id,
        kind="text",
        title="B",
    )
    assert titles(admin.ctx, course_id) == [("One", ["A", "B"]), ("Two", [])]
    assert run(
        admin.ctx,
        course_outline.do_move_module,
        course_id=course_id,
        module_id=m2.id,
        direction="up",
    )
    assert not run(
        admin.ctx,
        course_outline.do_move_module,
        course_id=course_id,
        module_id=m2.id,
        direction="up",
    )
    assert run(
        admin.ctx,
        course_lessons.do_move_lesson,
        course_id=course_id,
        lesson_id=b.id,
        direction="up",
    )
    assert titles(admin.ctx, course_id) == [("Two", []), ("One", ["B", "A"])]
    run(
        admin.ctx,
        course_outline.do_rename_module,
        course_id=course_id,
        module_id=m2.id,
        title="Second",
    )
    run(
        admin.ctx,
        course_lessons.do_move_lesson_to_module,
        course_id=course_id,
        lesson_id=a.id,
        module_id=m2.id,
    )
    assert titles(admin.ctx, course_id) == [("Second", ["A"]), ("One", ["B"])]
    with pytest.raises(ValidationFailed):
        run(
            admin.ctx,
            course_lessons.do_move_lesson,
            course_id=course_id,
            lesson_id=a.id,
            direction="sideways",
        )
    with pytest.raises(ValidationFailed) as err:
        run(
            admin.ctx,
            course_outline.do_rename_module,
            course_id=course_id,
            module_id=m2.id,
            title=" ",
        )
    assert err.value.field == "title"
    run(admin.ctx, course_lessons.do_delete_lesson, course_id=course_id, lesson_id=a.id)
    run(admin.ctx, course_outline.do_delete_module, course_id=course_id, module_id=m1.id)
    assert titles(admin.ctx, course_id) == [("Second", [])]


def test_published_courses_keep_their_lessons() -> None:
    admin = f.new_admin()
    course_id, module_id, lesson_id = ready_course(admin.ctx)
    publish(admin.ctx, course_id)
    with pytest.raises(Conflict, match="back to draft"):
        run(admin.ctx, course_lessons.do_delete_lesson, course_id=course_id, lesson_id=lesson_id)
    with pytest.raises(Conflict):
        run(admin.ctx, course_outline.do_delete_module, course_id=course_id, module_id=module_id)
