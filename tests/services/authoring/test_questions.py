"""Quiz questions (`authoring.questions`): the rules per kind, add / edit / move / delete, and
the marked-options text format."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.models.course import LessonKind
from app.services.authoring import course_lessons, questions
from app.services.core.errors import ValidationFailed
from app.services.core.tenancy import OrgContext
from tests import factories as f
from tests.services.authoring.helpers import detail, ready_course, run

pytestmark = pytest.mark.usefixtures("backend")


def _quiz(ctx: OrgContext) -> tuple[uuid.UUID, uuid.UUID]:
    course_id, module_id, _ = ready_course(ctx)
    quiz = run(
        ctx,
        course_lessons.do_add_lesson,
        course_id=course_id,
        module_id=module_id,
        kind="quiz",
        title="Quiz",
    )
    return course_id, quiz.id


@pytest.mark.parametrize(
    ("kind", "options", "answer", "points", "field"),
    [
        ("single", ["Only"], [0], 1, "options"),
        ("single", ["A", "B"], [0, 1], 1, "answer"),
        ("single", ["A", "B"], [], 1, "answer"),
        ("multiple", ["A", "B"], [], 1, "answer"),
        ("multiple", ["A", "B"], [5], 1, "answer"),
        ("multiple", ["A", "a"], [0], 1, "options"),
        ("short", [], [" "], 1, "answer"),
        ("single", ["A", "B"], [0], 0, "points"),
        ("single", ["A", "B"], [0], 101, "points"),
        ("essay", ["A", "B"], [0], 1, "kind"),
    ],
)
def test_question_rules(
    kind: str, options: list[str], answer: list[Any], points: int, field: str
) -> None:
    admin = f.new_admin()
    course_id, quiz_id = _quiz(admin.ctx)
    with pytest.raises(ValidationFailed) as err:
        run(
            admin.ctx,
            questions.do_add_question,
            course_id=course_id,
            lesson_id=quiz_id,
            kind=kind,
            prompt="Which?",
            options=options,
            answer=answer,
            points=points,
        )
    assert err.value.field == field


def test_questions_add_edit_move_delete() -> None:
    admin = f.new_admin()
    course_id, quiz_id = _quiz(admin.ctx)

    def add(prompt: str, **kw: Any) -> Any:
        return run(
            admin.ctx,
            questions.do_add_question,
            course_id=course_id,
            lesson_id=quiz_id,
            prompt=prompt,
            **kw,
        )

    q1 = add("Pick one", kind="single", options=["A", "B", "C"], answer=[2], points=2)
    q2 = add("Pick some", kind="multiple", options=["A", "B", "C"], answer=[0, 2])
    q3 = add("Say it", kind="short", answer=["Blue", "blue ", "azure"])
    assert q3.answer == ["Blue", "azure"]
    run(
        admin.ctx,
        questions.do_move_question,
        course_id=course_id,
        question_id=q3.id,
        direction="up",
    )
    run(
        admin.ctx,
        questions.do_update_question,
        course_id=course_id,
        question_id=q1.id,
        kind="single",
        prompt="Pick exactly one",
        options=["A", "B"],
        answer=[0],
        points=5,
        explanation="Because.",
    )
    run(admin.ctx, questions.do_delete_question, course_id=course_id, question_id=q2.id)
    quiz = next(
        lsn
        for lsn in detail(admin.ctx, course_id).modules[0].lessons
        if lsn.kind == LessonKind.quiz
    )
    assert [(q.prompt, q.points) for q in quiz.questions] == [
        ("Pick exactly one", 5),
        ("Say it", 1),
    ]
    assert quiz.questions[0].answer == [0] and quiz.questions[0].explanation == "Because."
    text_lesson = detail(admin.ctx, course_id).modules[0].lessons[0]
    with pytest.raises(ValidationFailed, match="quiz lessons"):
        run(
            admin.ctx,
            questions.do_add_question,
            course_id=course_id,
            lesson_id=text_lesson.id,
            kind="short",
            prompt="x",
            answer=["x"],
        )


def test_marked_options_round_trip() -> None:
    options, right = questions.parse_marked_options("Green\n* Blue\n\n  *Red  \n")
    assert options == ["Green", "Blue", "Red"] and right == [1, 2]
    assert questions.parse_marked_options(questions.marked_options(options, right)) == (
        options,
        right,
    )
