"""Lessons (`authoring.course_lessons`): settings checked, Markdown kept verbatim, deletes that
learners' records or a double click would break are refused cleanly."""

from __future__ import annotations

import pytest

from app.services.authoring import course_lessons, course_status
from app.services.core.errors import Conflict, NotFound, ValidationFailed
from tests import factories as f
from tests import learning_factories as lf
from tests.services.authoring.helpers import detail, ready_course, run

pytestmark = pytest.mark.usefixtures("backend")


def test_lesson_settings_are_checked_and_markdown_kept_verbatim() -> None:
    admin = f.new_admin()
    course_id, module_id, lesson_id = ready_course(admin.ctx)
    body = "# Title\n\n<script>alert('x')</script>\n\n* one"
    run(
        admin.ctx,
        course_lessons.do_update_lesson,
        course_id=course_id,
        lesson_id=lesson_id,
        body=body,
        title="Intro",
    )
    (lesson,) = detail(admin.ctx, course_id).modules[0].lessons
    assert lesson.body == body and lesson.title == "Intro"
    quiz = run(
        admin.ctx,
        course_lessons.do_add_lesson,
        course_id=course_id,
        module_id=module_id,
        kind="quiz",
        title="Q",
    )
    run(
        admin.ctx,
        course_lessons.do_update_lesson,
        course_id=course_id,
        lesson_id=quiz.id,
        passing_score="80",
        max_attempts=0,
        shuffle=True,
    )
    view = detail(admin.ctx, course_id).modules[0].lessons[1]
    assert (view.passing_score, view.max_attempts, view.shuffle) == (80, 0, True)
    for field, value in (
        ("passing_score", 101),
        ("passing_score", -1),
        ("max_attempts", 21),
        ("max_attempts", "x"),
    ):
        with pytest.raises(ValidationFailed) as err:
            run(
                admin.ctx,
                course_lessons.do_update_lesson,
                course_id=course_id,
                lesson_id=quiz.id,
                **{field: value},
            )
        assert err.value.field == field
    with pytest.raises(ValidationFailed):
        run(
            admin.ctx,
            course_lessons.do_add_lesson,
            course_id=course_id,
            module_id=module_id,
            kind="live",
            title="x",
        )


def test_deleting_a_lesson_with_learner_records_is_refused_not_crashed() -> None:
    admin = f.new_admin()
    world = lf.published_course(admin.ctx)
    lf.enrollment(admin.ctx, world, progress=True)
    run(admin.ctx, course_status.do_unpublish_course, course_id=world.course_id)
    with pytest.raises(Conflict, match="Learners have records"):
        run(
            admin.ctx,
            course_lessons.do_delete_lesson,
            course_id=world.course_id,
            lesson_id=world.lesson_ids[0],
        )
    assert len(detail(admin.ctx, world.course_id).modules[0].lessons) == 2


def test_replay_of_structure_calls_is_harmless() -> None:
    """Double clicks: a second delete of the same lesson is NotFound, not a crash; a second
    publish is a no-op."""
    admin = f.new_admin()
    course_id, module_id, _lesson = ready_course(admin.ctx)
    extra = run(
        admin.ctx,
        course_lessons.do_add_lesson,
        course_id=course_id,
        module_id=module_id,
        kind="text",
        title="X",
    )
    run(admin.ctx, course_lessons.do_delete_lesson, course_id=course_id, lesson_id=extra.id)
    with pytest.raises(NotFound):
        run(admin.ctx, course_lessons.do_delete_lesson, course_id=course_id, lesson_id=extra.id)
