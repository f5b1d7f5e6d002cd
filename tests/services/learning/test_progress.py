"""The player and progress: gating, completing lessons, video time actually watched, and
"My learning"."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from app.models.base import utcnow
from app.models.course import Course, Lesson
from app.models.enrollment import Enrollment
from app.models.user import Role
from app.services.core.errors import NotFound, ValidationFailed
from app.services.core.tenancy import OrgContext, access, mark_scoped, tenant_session
from app.services.infra import broker, outbox
from app.services.learning import progress
from tests import factories as f
from tests import learning_factories as lf
from tests.conftest import Backend

pytestmark = pytest.mark.usefixtures("backend")


def _learner_with(**kw: Any) -> tuple[f.SignedIn, OrgContext, lf.CourseWorld]:
    admin = f.new_admin()
    learner = f.invite_and_accept(admin.ctx, Role.learner)
    return admin, learner, lf.published_course(admin.ctx, **kw)


def _complete(ctx: OrgContext, world: lf.CourseWorld, lesson_id: uuid.UUID) -> progress.Completion:
    with tenant_session(ctx) as session:
        return progress.complete_lesson(
            session, ctx, course_id=world.course_id, lesson_id=lesson_id
        )


def _view(
    ctx: OrgContext, world: lf.CourseWorld, lesson_id: uuid.UUID, **kw: Any
) -> progress.PlayerView:
    with tenant_session(ctx) as session:
        return progress.player_view(
            session, ctx, course_id=world.course_id, lesson_id=lesson_id, **kw
        )


def _video(
    ctx: OrgContext,
    world: lf.CourseWorld,
    ranges: Any,
    position: float = 0.0,
    duration: float = 60.0,
) -> progress.VideoProgress:
    with tenant_session(ctx) as session:
        return progress.save_video_position(
            session,
            ctx,
            course_id=world.course_id,
            lesson_id=world.by_kind["video"],
            position=position,
            played_ranges=ranges,
            duration=duration,
        )


def _enrollment(ctx: OrgContext, enrollment_id: uuid.UUID) -> Enrollment:
    with tenant_session(ctx) as session:
        return access(session, ctx, Enrollment, enrollment_id)


def _jobs(peek: Any, key: str) -> int:
    return int(peek("SELECT count(*) FROM outbox_jobs WHERE dedupe_key = :k", k=key)[0][0])


def test_completing_lessons_counts_required_ones_and_completes_the_course(
    backend: Backend, peek: Any
) -> None:
    _admin, learner, world = _learner_with()
    enrollment_id = lf.enrollment(learner, world)
    topic = progress.progress_topic(learner.org_id, world.course_id)
    heard: list[dict[str, Any]] = []
    broker.get_broker().listen(lambda t, p: heard.append(p) if t == topic else None)

    first = _complete(learner, world, world.lesson_ids[0])
    assert first.newly_completed and first.progress_percent == 25
    again = _complete(learner, world, world.lesson_ids[0])
    assert not again.newly_completed and again.progress_percent == 25
    assert _jobs(peek, f"lesson.completed:{enrollment_id}:{world.lesson_ids[0]}") == 1
    assert heard == [
        {
            "user_id": str(learner.user_id),
            "enrollment_id": str(enrollment_id),
            "lesson_id": str(world.lesson_ids[0]),
            "kind": "lesson_completed",
            "percent": 25,
        }
    ]

    _complete(learner, world, world.lesson_ids[1])
    _complete(learner, world, world.lesson_ids[2])
    with pytest.raises(ValidationFailed, match="passing"):
        _complete(learner, world, world.quiz_lesson_id)
    row = _enrollment(learner, enrollment_id)
    assert row.status == "active" and row.progress_percent == 75
    assert row.last_lesson_id == world.lesson_ids[2]
    assert _jobs(peek, f"enrollment.completed:{enrollment_id}") == 0


def test_last_required_lesson_completes_the_enrollment(backend: Backend, peek: Any) -> None:
    admin, learner, world = _learner_with()
    with tenant_session(admin.ctx) as session:
        quiz = access(session, admin.ctx, Lesson, world.quiz_lesson_id)
        quiz.required = False
        session.add(quiz)
        session.commit()
    enrollment_id = lf.enrollment(learner, world)
    for lesson_id in world.lesson_ids[:2]:
        assert not _complete(learner, world, lesson_id).enrollment_completed
    done = _complete(learner, world, world.lesson_ids[2])
    assert done.enrollment_completed and done.progress_percent == 100
    row = _enrollment(learner, enrollment_id)
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
    _admin, learner, world = _learner_with()
    with pytest.raises(ValidationFailed, match="Enroll in this course first"):
        _complete(learner, world, world.lesson_ids[0])
    lf.enrollment(learner, world, status="pending")
    with pytest.raises(ValidationFailed, match="Enroll"):
        _complete(learner, world, world.lesson_ids[0])
    view = _view(learner, world, world.lesson_ids[0])
    assert view.locked and view.lesson.body == "" and "approval" in view.lock_reason


def test_a_lesson_id_of_another_course_is_not_found(backend: Backend) -> None:
    admin, learner, world = _learner_with()
    other = lf.published_course(admin.ctx)
    lf.enrollment(learner, world)
    with pytest.raises(NotFound):
        _complete(learner, world, other.lesson_ids[0])
    with pytest.raises(NotFound):
        _view(learner, world, other.lesson_ids[0])
    with pytest.raises(NotFound):
        _complete(learner, world, uuid.uuid4())


def test_sequential_course_locks_later_modules(backend: Backend) -> None:
    _admin, learner, world = _learner_with(sequential=True)
    lf.enrollment(learner, world)
    video = world.by_kind["video"]
    view = _view(learner, world, video)
    assert view.locked and "Basics" in view.lock_reason and view.lesson.media_url == ""
    assert [i.status for p in view.outline for i in p.lessons] == [
        "open",
        "open",
        "current",
        "locked",
    ]
    with pytest.raises(ValidationFailed, match="Basics"):
        _complete(learner, world, video)
    _complete(learner, world, world.lesson_ids[0])
    _complete(learner, world, world.lesson_ids[1])
    view = _view(learner, world, video)
    assert not view.locked and view.lesson.media_url.startswith("/files/org/")
    assert view.previous_id == str(world.lesson_ids[1])
    assert view.next_id == str(world.quiz_lesson_id)
    assert [i.status for p in view.outline for i in p.lessons] == [
        "done",
        "done",
        "current",
        "open",
    ]


def test_prerequisites_lock_every_lesson(backend: Backend) -> None:
    admin, learner, world = _learner_with()
    basics = lf.published_course(admin.ctx, title="Needed first")
    with tenant_session(admin.ctx) as session:
        row = access(session, admin.ctx, Course, world.course_id)
        row.prerequisite_ids = [str(basics.course_id)]
        session.add(row)
        session.commit()
    lf.enrollment(learner, world)  # enrolled by staff before the rule, say
    view = _view(learner, world, world.lesson_ids[0])
    assert view.locked and "Needed first" in view.lock_reason
    with pytest.raises(ValidationFailed, match="Needed first"):
        _complete(learner, world, world.lesson_ids[0])


def test_preview_is_for_authors_sees_drafts_and_records_nothing(
    backend: Backend, peek: Any
) -> None:
    admin, learner, _world = _learner_with()
    draft = lf.published_course(admin.ctx, status="draft", sequential=True)
    view = _view(admin.ctx, draft, draft.by_kind["video"], preview=True)
    assert view.preview and not view.locked and view.lesson.media_url
    assert (
        int(
            peek(
                "SELECT count(*) FROM lesson_progress WHERE lesson_id = :l",
                l=str(draft.by_kind["video"])
                if backend.is_postgres
                else draft.by_kind["video"].hex,
            )[0][0]
        )
        == 0
    )
    with pytest.raises(NotFound):
        _view(learner, draft, draft.lesson_ids[0], preview=True)
    with pytest.raises(NotFound):
        _view(learner, draft, draft.lesson_ids[0])


def test_video_counts_only_time_actually_played(backend: Backend) -> None:
    _admin, learner, world = _learner_with()
    lf.enrollment(learner, world)
    # watched 0-10, then skipped to 50 and watched to 55
    saved = _video(learner, world, [[0, 10], [50, 55]], position=55)
    assert saved.watched_seconds == 15 and saved.position_seconds == 55 and not saved.completed
    # replaying 0-10 again adds nothing; garbage is dropped; out-of-range is clamped
    saved = _video(
        learner, world, [[0, 10], ["x", 3], [5], [-20, 2], [58, 9999], [30, 20]], position=-5
    )
    assert saved.watched_seconds == 17 and saved.position_seconds == 0
    view = _view(learner, world, world.by_kind["video"])
    assert view.watched_seconds == 17 and view.position_seconds == 0
    saved = _video(learner, world, [[10, 50]], position=80)
    assert saved.position_seconds == 60 and saved.watched_seconds == 57  # 0-55 and 58-60
    assert saved.completed  # 57 >= 90 % of 60
    assert _view(learner, world, world.by_kind["video"]).completed


def test_video_duration_from_the_player_when_the_lesson_has_none(backend: Backend) -> None:
    admin, learner, world = _learner_with()
    with tenant_session(admin.ctx) as session:
        lesson = access(session, admin.ctx, Lesson, world.by_kind["video"])
        lesson.duration_seconds = 0
        session.add(lesson)
        session.commit()
    lf.enrollment(learner, world)
    with pytest.raises(ValidationFailed):
        _video(learner, world, [[0, 5]], duration=float("nan"))
    saved = _video(learner, world, [[0, 5]], position=5, duration=100)
    assert saved.duration_seconds == 100 and saved.watched_seconds == 5
    with tenant_session(admin.ctx) as session:
        assert access(session, admin.ctx, Lesson, world.by_kind["video"]).duration_seconds == 100
    # the stored duration now wins over what a player claims
    assert _video(learner, world, [], duration=5).duration_seconds == 100


def test_video_of_a_text_lesson_or_without_enrollment_is_refused(backend: Backend) -> None:
    _admin, learner, world = _learner_with()
    with pytest.raises(ValidationFailed, match="Enroll"):
        _video(learner, world, [[0, 60]])
    lf.enrollment(learner, world)
    with tenant_session(learner) as session, pytest.raises(ValidationFailed):
        progress.save_video_position(
            session,
            learner,
            course_id=world.course_id,
            lesson_id=world.lesson_ids[0],
            position=1,
            played_ranges=[[0, 1]],
            duration=60,
        )


def test_my_learning_lists_progress_due_dates_overdue_and_next_lesson(backend: Backend) -> None:
    admin, learner, world = _learner_with()
    late = lf.published_course(admin.ctx, title="Late one")
    gated = lf.published_course(admin.ctx, requires_approval=True)
    lf.enrollment(learner, world, progress=True)
    late_id = lf.enrollment(learner, late)
    lf.enrollment(learner, gated, status="pending")
    with tenant_session(learner) as session:
        row = session.exec(mark_scoped(select(Enrollment).where(Enrollment.id == late_id))).one()
        row.due_at = utcnow() - timedelta(days=1)
        row.mandatory = True
        session.add(row)
        session.commit()
    other = f.invite_and_accept(admin.ctx, Role.learner)
    lf.enrollment(other, world)
    with tenant_session(learner) as session:
        cards = {c.course_id: c for c in progress.my_learning(session, learner)}
    assert set(cards) == {str(world.course_id), str(late.course_id), str(gated.course_id)}
    assert cards[str(world.course_id)].next_lesson_id == str(world.lesson_ids[1])
    assert cards[str(late.course_id)].overdue and cards[str(late.course_id)].mandatory
    assert not cards[str(world.course_id)].overdue
    assert cards[str(gated.course_id)].status == "pending"
    assert cards[str(gated.course_id)].next_lesson_id == ""


def test_quiz_completion_notifies_the_instructor_other_lessons_do_not(
    backend: Backend, peek: Any
) -> None:
    _admin, learner, world = _learner_with()
    enrollment_id = lf.enrollment(learner, world)
    _complete(learner, world, world.lesson_ids[0])
    from app.services.learning import quizzes

    with tenant_session(learner) as session:
        quizzes.submit_attempt(
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
