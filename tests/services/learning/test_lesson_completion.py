"""Completing lessons: the percentage, the events, the course's completion, the live
update and the instructor's notice of a passed quiz."""

from __future__ import annotations

from typing import Any

import pytest

from app.models.course import Lesson
from app.services.core import topics
from app.services.core.errors import ValidationFailed
from app.services.core.tenancy import access, tenant_session
from app.services.infra import broker, outbox
from tests import learning_factories as lf
from tests.conftest import Backend
from tests.services.learning import learner_helpers as h

pytestmark = pytest.mark.usefixtures("backend")


def _jobs(peek: Any, key: str) -> int:
    return int(peek("SELECT count(*) FROM outbox_jobs WHERE dedupe_key = :k", k=key)[0][0])


def test_completing_lessons_counts_required_ones_and_completes_the_course(
    backend: Backend, peek: Any
) -> None:
    _admin, learner, world = h.learner_with()
    enrollment_id = lf.enrollment(learner, world)
    topic = topics.PROGRESS.name(org=learner.org_id, course=world.course_id)
    heard: list[dict[str, Any]] = []
    broker.get_broker().listen(lambda t, p: heard.append(p) if t == topic else None)

    first = h.complete(learner, world, world.lesson_ids[0])
    assert first.newly_completed and first.progress_percent == 25
    again = h.complete(learner, world, world.lesson_ids[0])
    assert not again.newly_completed and again.progress_percent == 25
    assert _jobs(peek, f"lesson.completed:{enrollment_id}:{world.lesson_ids[0]}") == 1
    assert heard == [
        {
            "user_ids": [str(learner.user_id)],
            "enrollment_id": str(enrollment_id),
            "lesson_id": str(world.lesson_ids[0]),
            "kind": "lesson_completed",
            "percent": 25,
            "score": None,
        }
    ]

    h.complete(learner, world, world.lesson_ids[1])
    h.complete(learner, world, world.lesson_ids[2])
    with pytest.raises(ValidationFailed, match="passing"):
        h.complete(learner, world, world.quiz_lesson_id)
    row = h.enrollment_row(learner, enrollment_id)
    assert row.status == "active" and row.progress_percent == 75
    assert row.last_lesson_id == world.lesson_ids[2]
    assert _jobs(peek, f"enrollment.completed:{enrollment_id}") == 0


def test_last_required_lesson_completes_the_enrollment(backend: Backend, peek: Any) -> None:
    admin, learner, world = h.learner_with()
    with tenant_session(admin.ctx) as session:
        quiz = access(session, admin.ctx, Lesson, world.quiz_lesson_id)
        quiz.required = False
        session.add(quiz)
        session.commit()
    enrollment_id = lf.enrollment(learner, world)
    for lesson_id in world.lesson_ids[:2]:
        assert not h.complete(learner, world, lesson_id).enrollment_completed
    done = h.complete(learner, world, world.lesson_ids[2])
    assert done.enrollment_completed and done.progress_percent == 100
    row = h.enrollment_row(learner, enrollment_id)
    assert row.status == "completed" and row.completed_at is not None
    ((payload,),) = peek(
        "SELECT payload FROM outbox_jobs WHERE dedupe_key = :k",
        k=f"enrollment.completed:{enrollment_id}",
    )
    import json

    data = payload if isinstance(payload, dict) else json.loads(payload)
    assert data == {
        "enrollment_id": str(enrollment_id),
        "user_id": str(learner.user_id),
        "course_id": str(world.course_id),
    }


def test_completing_without_an_active_enrollment_is_refused(backend: Backend, peek: Any) -> None:
    _admin, learner, world = h.learner_with()
    with pytest.raises(ValidationFailed, match="Enroll in this course first"):
        h.complete(learner, world, world.lesson_ids[0])
    lf.enrollment(learner, world, status="pending")
    with pytest.raises(ValidationFailed, match="Enroll"):
        h.complete(learner, world, world.lesson_ids[0])
    view = h.view(learner, world, world.lesson_ids[0])
    assert view.locked and view.lesson.body == "" and "approval" in view.lock_reason


def test_quiz_completion_notifies_the_instructor_other_lessons_do_not(
    backend: Backend, peek: Any
) -> None:
    _admin, learner, world = h.learner_with()
    enrollment_id = lf.enrollment(learner, world)
    h.complete(learner, world, world.lesson_ids[0])
    from app.services.learning import quizzes

    with tenant_session(learner) as session:
        quizzes.do_submit_attempt(
            session,
            learner,
            course_id=world.course_id,
            lesson_id=world.quiz_lesson_id,
            answers={str(world.question_ids[0]): [1], str(world.question_ids[1]): " Blue "},
        )
    outbox.run_due(worker="test")
    rows = peek(
        "SELECT dedupe_key FROM notifications WHERE dedupe_key LIKE :k",
        k=f"lesson.completed:{enrollment_id}:%",
    )
    assert [r[0] for r in rows] == [
        f"lesson.completed:{enrollment_id}:{world.quiz_lesson_id}:instructor"
    ]
