"""Video progress: only time actually played counts, and the video's length."""

from __future__ import annotations

import pytest

from app.models.course import Lesson
from app.services.core.errors import ValidationFailed
from app.services.core.tenancy import access, tenant_session
from app.services.learning import video_progress
from tests import learning_factories as lf
from tests.conftest import Backend
from tests.services.learning import learner_helpers as h

pytestmark = pytest.mark.usefixtures("backend")


def test_video_counts_only_time_actually_played(backend: Backend) -> None:
    _admin, learner, world = h.learner_with()
    lf.enrollment(learner, world)
    # watched 0-10, then skipped to 50 and watched to 55
    saved = h.video(learner, world, [[0, 10], [50, 55]], position=55)
    assert saved.watched_seconds == 15 and saved.position_seconds == 55 and not saved.completed
    # replaying 0-10 again adds nothing; garbage is dropped; out-of-range is clamped
    saved = h.video(
        learner, world, [[0, 10], ["x", 3], [5], [-20, 2], [58, 9999], [30, 20]], position=-5
    )
    assert saved.watched_seconds == 17 and saved.position_seconds == 0
    view = h.view(learner, world, world.by_kind["video"])
    assert view.watched_seconds == 17 and view.position_seconds == 0
    saved = h.video(learner, world, [[10, 50]], position=80)
    assert saved.position_seconds == 60 and saved.watched_seconds == 57  # 0-55 and 58-60
    assert saved.completed  # 57 >= 90 % of 60
    assert h.view(learner, world, world.by_kind["video"]).completed


def test_video_duration_from_the_player_when_the_lesson_has_none(backend: Backend) -> None:
    admin, learner, world = h.learner_with()
    with tenant_session(admin.ctx) as session:
        lesson = access(session, admin.ctx, Lesson, world.by_kind["video"])
        lesson.duration_seconds = 0
        session.add(lesson)
        session.commit()
    lf.enrollment(learner, world)
    with pytest.raises(ValidationFailed):
        h.video(learner, world, [[0, 5]], duration=float("nan"))
    saved = h.video(learner, world, [[0, 5]], position=5, duration=100)
    assert saved.duration_seconds == 100 and saved.watched_seconds == 5
    with tenant_session(admin.ctx) as session:
        assert access(session, admin.ctx, Lesson, world.by_kind["video"]).duration_seconds == 100
    # the stored duration now wins over what a player claims
    assert h.video(learner, world, [], duration=5).duration_seconds == 100


def test_video_of_a_text_lesson_or_without_enrollment_is_refused(backend: Backend) -> None:
    _admin, learner, world = h.learner_with()
    with pytest.raises(ValidationFailed, match="Enroll"):
        h.video(learner, world, [[0, 60]])
    lf.enrollment(learner, world)
    with tenant_session(learner) as session, pytest.raises(ValidationFailed):
        video_progress.do_save_video_position(
            session,
            learner,
            course_id=world.course_id,
            lesson_id=world.lesson_ids[0],
            position=1,
            played_ranges=[[0, 1]],
            duration=60,
        )
