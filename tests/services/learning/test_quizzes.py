"""Taking quizzes: no answers sent, grading by kind, attempt limits, answers for another quiz,
double submits, shuffling by original indexes, and passing completes the lesson."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.models.course import Lesson, QuestionKind, QuizQuestion
from app.models.user import Role
from app.services.core.errors import Conflict, NotFound, ValidationFailed
from app.services.core.tenancy import OrgContext, access, tenant_session
from app.services.learning import quizzes
from tests import factories as f
from tests import learning_factories as lf
from tests.conftest import Backend

pytestmark = pytest.mark.usefixtures("backend")


def _setup(**kw: Any) -> tuple[f.SignedIn, OrgContext, lf.CourseWorld]:
    admin = f.new_admin()
    learner = f.invite_and_accept(admin.ctx, Role.learner)
    world = lf.published_course(admin.ctx, **kw)
    return admin, learner, world


def _right(world: lf.CourseWorld) -> dict[str, Any]:
    return {str(world.question_ids[0]): [1], str(world.question_ids[1]): "  BLUE "}


def _submit(
    ctx: OrgContext, world: lf.CourseWorld, answers: dict[str, Any], **kw: Any
) -> quizzes.AttemptResult:
    with tenant_session(ctx) as session:
        return quizzes.do_submit_attempt(
            session,
            ctx,
            course_id=world.course_id,
            lesson_id=world.quiz_lesson_id,
            answers=answers,
            **kw,
        )


def _quiz(ctx: OrgContext, world: lf.CourseWorld) -> quizzes.QuizView:
    with tenant_session(ctx) as session:
        return quizzes.quiz_for_learner(
            session, ctx, course_id=world.course_id, lesson_id=world.quiz_lesson_id
        )


def _attempts(peek: Any, backend: Backend, lesson_id: uuid.UUID) -> int:
    key = str(lesson_id) if backend.is_postgres else lesson_id.hex
    return int(peek("SELECT count(*) FROM quiz_attempts WHERE lesson_id = :l", l=key)[0][0])


def test_questions_come_without_answers(backend: Backend) -> None:
    _admin, learner, world = _setup()
    lf.enrollment(learner, world)
    view = _quiz(learner, world)
    first, second = view.questions
    assert first.prompt == "Which colour is the sky?"
    assert [o.text for o in first.options] == ["Green", "Blue", "Red"]
    assert second.options == [] and "blue" not in repr(second).lower()
    assert "answer" not in {name.lower() for name in vars(first)}
    assert "Look up." not in repr(view.questions)  # explanations only after submitting
    assert view.attempts_used == 0 and view.attempts_left == 2 and view.can_attempt
    assert view.last is None and view.best_percent is None


def test_fail_then_pass_completes_the_lesson(backend: Backend) -> None:
    _admin, learner, world = _setup()
    lf.enrollment(learner, world)
    failed = _submit(learner, world, {str(world.question_ids[0]): [0]}, attempt_number=1)
    assert not failed.passed and failed.score == 0 and failed.max_score == 2
    assert failed.attempts_left == 1 and failed.number == 1
    fb = {x.question_id: x for x in failed.feedback}
    assert not fb[str(world.question_ids[0])].correct
    # With an attempt left, the right answers stay hidden (on reload too), and so does the
    # explanation of a missed question, which would give its answer away.
    assert fb[str(world.question_ids[0])].explanation == ""
    assert [x.right_answer for x in failed.feedback] == ["", ""]
    view = _quiz(learner, world)
    assert view.last is not None and view.last.number == 1 and view.best_percent == 0
    assert [x.right_answer for x in view.last.feedback] == ["", ""]
    passed = _submit(learner, world, _right(world), attempt_number=2)
    assert passed.passed and passed.percent == 100 and passed.lesson_completed
    assert passed.attempts_left == 0
    fb = {x.question_id: x for x in passed.feedback}
    assert fb[str(world.question_ids[0])].right_answer == "Blue"
    assert fb[str(world.question_ids[0])].explanation == "Look up."
    assert fb[str(world.question_ids[1])].right_answer == "blue"
    view = _quiz(learner, world)
    assert view.passed and view.best_percent == 100 and not view.can_attempt


def test_no_attempts_after_the_limit(backend: Backend, peek: Any) -> None:
    _admin, learner, world = _setup()
    lf.enrollment(learner, world)
    first = _submit(learner, world, {})
    last = _submit(learner, world, {})
    # The last attempt used up, the learner may now see what was right.
    assert [x.right_answer for x in first.feedback] == ["", ""]
    assert [x.right_answer for x in last.feedback] == ["Blue", "blue"]
    with pytest.raises(ValidationFailed, match="No attempts left"):
        _submit(learner, world, _right(world))
    assert _attempts(peek, backend, world.quiz_lesson_id) == 2


def test_answers_for_another_quiz_are_refused(backend: Backend, peek: Any) -> None:
    admin, learner, world = _setup()
    other = lf.published_course(admin.ctx)
    lf.enrollment(learner, world)
    with pytest.raises(ValidationFailed, match="another quiz"):
        _submit(learner, world, {str(other.question_ids[0]): [1]})
    with pytest.raises(ValidationFailed, match="another quiz"):
        _submit(learner, world, {**_right(world), "not-an-id": "x"})
    with pytest.raises(NotFound), tenant_session(learner) as session:  # via this course
        quizzes.do_submit_attempt(
            session,
            learner,
            course_id=world.course_id,
            lesson_id=other.quiz_lesson_id,
            answers={},
        )
    assert _attempts(peek, backend, world.quiz_lesson_id) == 0


def test_bad_option_indexes_are_refused(backend: Backend) -> None:
    _admin, learner, world = _setup()
    lf.enrollment(learner, world)
    q = str(world.question_ids[0])
    for bad in ([7], [-1], ["x"], [True], [0, 1], [float("inf")], [float("nan")]):
        with pytest.raises(ValidationFailed):
            _submit(learner, world, {q: bad})
    with pytest.raises(ValidationFailed):
        _submit(learner, world, {str(world.question_ids[1]): "x" * 501})


def test_double_submit_is_reported_once(backend: Backend, peek: Any) -> None:
    _admin, learner, world = _setup()
    lf.enrollment(learner, world)
    _submit(learner, world, {}, attempt_number=1)
    with pytest.raises(Conflict, match="already submitted"):
        _submit(learner, world, {}, attempt_number=1)
    assert _attempts(peek, backend, world.quiz_lesson_id) == 1


def test_refused_without_enrollment_and_on_non_quiz_lessons(backend: Backend) -> None:
    _admin, learner, world = _setup()
    with pytest.raises(ValidationFailed, match="Enroll"):
        _submit(learner, world, _right(world))
    lf.enrollment(learner, world)
    with tenant_session(learner) as session, pytest.raises(ValidationFailed):
        quizzes.do_submit_attempt(
            session, learner, course_id=world.course_id, lesson_id=world.lesson_ids[0], answers={}
        )


def test_a_passed_quiz_is_not_offered_again_even_with_tries_left(backend: Backend) -> None:
    admin, learner, world = _setup()
    with tenant_session(admin.ctx) as session:
        lesson = access(session, admin.ctx, Lesson, world.quiz_lesson_id)
        lesson.max_attempts = 0  # unlimited
        session.add(lesson)
        session.commit()
    lf.enrollment(learner, world)
    failed = _submit(learner, world, {str(world.question_ids[0]): [0]})
    assert not failed.passed and _quiz(learner, world).can_attempt  # try again: yes
    passed = _submit(learner, world, _right(world))
    assert passed.passed and passed.attempts_left is None
    view = _quiz(learner, world)
    assert view.passed and not view.can_attempt  # passed: no "Try again"
    assert view.last is not None and view.last.percent == 100


def test_multiple_choice_needs_exactly_the_right_set(backend: Backend) -> None:
    admin, learner, world = _setup()
    with tenant_session(admin.ctx) as session:
        lesson = access(session, admin.ctx, Lesson, world.quiz_lesson_id)
        lesson.max_attempts = 0
        lesson.passing_score = 50
        session.add(lesson)
        session.add(
            QuizQuestion(
                org_id=admin.org_id,
                lesson_id=lesson.id,
                position=2,
                kind=QuestionKind.multiple,
                prompt="Primary colours?",
                options=["Red", "Green", "Blue", "Yellow"],
                answer=[0, 2, 3],
                points=2,
            )
        )
        session.commit()
    lf.enrollment(learner, world)
    view = _quiz(learner, world)
    assert view.attempts_left is None
    multi = next(q.id for q in view.questions if q.kind == "multiple")
    partial = _submit(learner, world, {multi: [0, 2]})
    assert partial.score == 0
    extra = _submit(learner, world, {multi: [0, 1, 2, 3]})
    assert extra.score == 0
    exact = _submit(learner, world, {multi: [3, 0, 2]})
    assert exact.score == 2 and exact.percent == 50 and exact.passed


def test_shuffle_is_stable_per_attempt_and_grades_original_indexes(backend: Backend) -> None:
    admin, learner, world = _setup()
    with tenant_session(admin.ctx) as session:
        lesson = access(session, admin.ctx, Lesson, world.quiz_lesson_id)
        lesson.shuffle, lesson.max_attempts = True, 0
        session.add(lesson)
        for i in range(6):
            session.add(
                QuizQuestion(
                    org_id=admin.org_id,
                    lesson_id=lesson.id,
                    position=10 + i,
                    kind=QuestionKind.single,
                    prompt=f"Q{i}",
                    options=[f"a{i}", f"b{i}", f"c{i}", f"d{i}", f"e{i}"],
                    answer=[3],
                )
            )
        session.commit()
    lf.enrollment(learner, world)
    first = _quiz(learner, world)
    assert first.questions == _quiz(learner, world).questions  # a reload shows the same order
    orders = {tuple(q.id for q in first.questions)}
    answers: dict[str, Any] = dict(_right(world))
    for q in first.questions:
        if q.prompt.startswith("Q"):
            answers[q.id] = [3]  # the original index, whatever position it is shown at
    result = _submit(learner, world, answers)
    assert result.passed and result.percent == 100
    for _ in range(3):
        _submit(learner, world, {})
        orders.add(tuple(q.id for q in _quiz(learner, world).questions))
    assert len(orders) > 1  # later attempts are shuffled differently
