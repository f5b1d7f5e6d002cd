"""The enrollment rules the pages show (`app.services.learning.lesson_access`): which
enrollments open a course's lessons, when a course page offers "Start"/"Continue", and when
the player offers "Mark complete". The rules are pinned on their own, and against what the
services actually do (an offered button is accepted, a refused action is never offered)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.models.course import LessonKind
from app.models.enrollment import EnrollmentStatus
from app.models.user import Role
from app.services.core.errors import ValidationFailed
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.learning import catalog, lesson_access, lesson_completion, player
from tests import factories as f
from tests import learning_factories as lf

OPEN = {EnrollmentStatus.active, EnrollmentStatus.completed}
NOT_OPEN = ["", EnrollmentStatus.pending, EnrollmentStatus.rejected, EnrollmentStatus.withdrawn]


# --------------------------------------------------------------------------- the rules


@pytest.mark.parametrize("status", [*EnrollmentStatus, ""])
def test_only_active_and_completed_enrollments_open_the_lessons(status: str) -> None:
    assert lesson_access.opens_lessons(status) is (status in OPEN)
    assert lesson_access.opens_lessons(str(status)) is (status in OPEN)  # as the pages hold it


@pytest.mark.parametrize("status", [*EnrollmentStatus, ""])
def test_the_course_page_offers_the_player_to_an_open_enrollment_with_a_lesson(
    status: str,
) -> None:
    lesson = str(uuid.uuid4())
    assert lesson_access.can_open_course(enrollment_status=status, next_lesson_id=lesson) is (
        status in OPEN
    )
    assert not lesson_access.can_open_course(enrollment_status=status, next_lesson_id="")


def _mark(
    *,
    enrollment_status: str = "active",
    lesson_kind: str = "text",
    locked: bool = False,
    completed: bool = False,
    preview: bool = False,
) -> bool:
    """The rule for an open, unlocked, unfinished text lesson, with one thing changed."""
    return lesson_access.can_mark_complete(
        enrollment_status=enrollment_status,
        lesson_kind=lesson_kind,
        locked=locked,
        completed=completed,
        preview=preview,
    )


def test_mark_complete_is_offered_for_an_open_unlocked_unfinished_lesson() -> None:
    for kind in (LessonKind.text, LessonKind.file, LessonKind.video, "text", "video"):
        assert _mark(lesson_kind=kind), kind
    assert _mark(enrollment_status="completed")  # a finished course stays open for review


@pytest.mark.parametrize(
    "change",
    [
        {"preview": True},
        {"locked": True},
        {"completed": True},
        {"lesson_kind": LessonKind.quiz},  # passing completes a quiz
        {"lesson_kind": "quiz"},
        *({"enrollment_status": s} for s in NOT_OPEN),
    ],
)
def test_mark_complete_is_not_offered(change: dict[str, Any]) -> None:
    assert not _mark(**change)


# --------------------------------------------------------------------------- vs the services


def _learner(admin: f.SignedIn, world: lf.CourseWorld, status: str) -> OrgContext:
    learner = f.invite_and_accept(admin.ctx, Role.learner)
    if status:
        lf.enrollment(learner, world, status=status)
    return learner


def _offered(view: player.PlayerView) -> bool:
    return lesson_access.can_mark_complete(
        enrollment_status=view.enrollment_status,
        lesson_kind=view.lesson.kind,
        locked=view.locked,
        completed=view.completed,
        preview=view.preview,
    )


@pytest.mark.usefixtures("backend")
def test_mark_complete_is_offered_exactly_where_the_service_records_it() -> None:
    admin = f.new_admin()
    world = lf.published_course(admin.ctx, sequential=True)  # module 2 waits for module 1
    for status in [*OPEN, *NOT_OPEN]:
        ctx = _learner(admin, world, status)
        # last lesson first: the quiz and the video are locked until module 1 is done; then
        # the first lesson again, now completed
        offers = 0
        for lesson_id in [*reversed(world.lesson_ids), world.lesson_ids[0]]:
            with tenant_session(ctx) as session:
                view = player.player_view(
                    session, ctx, course_id=world.course_id, lesson_id=lesson_id
                )
                offered = _offered(view)
                try:
                    done = lesson_completion.do_complete_lesson(
                        session, ctx, course_id=world.course_id, lesson_id=lesson_id
                    ).newly_completed
                except ValidationFailed:
                    done = False
            assert offered is done, (status, view.lesson.title, view.locked, view.completed)
            offers += offered
        assert offers == (2 if status in OPEN else 0), status  # module 1's text and file
        with tenant_session(ctx) as session:  # module 1 done: the video opens, the quiz is one
            views = [
                player.player_view(session, ctx, course_id=world.course_id, lesson_id=lesson)
                for lesson in world.lesson_ids
            ]
        now = {v.lesson.title for v in views if _offered(v)}
        assert now == ({"Demo video"} if status in OPEN else set()), status

    with tenant_session(admin.ctx) as session:  # an author's preview records nothing
        for lesson_id in world.lesson_ids:
            view = player.player_view(
                session, admin.ctx, course_id=world.course_id, lesson_id=lesson_id, preview=True
            )
            assert view.preview and not view.locked and not _offered(view)


@pytest.mark.usefixtures("backend")
def test_the_course_page_offers_the_player_exactly_where_its_lesson_opens() -> None:
    admin = f.new_admin()
    world = lf.published_course(admin.ctx)
    for status in [*OPEN, *NOT_OPEN]:
        ctx = _learner(admin, world, status)
        with tenant_session(ctx) as session:
            page = catalog.course_page(session, ctx, str(world.course_id))
            shown = page.enrollment.status if page.enrollment else ""
            assert shown == status
            offered = lesson_access.can_open_course(
                enrollment_status=shown, next_lesson_id=page.next_lesson_id
            )
            view = player.player_view(
                session, ctx, course_id=world.course_id, lesson_id=page.next_lesson_id
            )
        assert offered is (status in OPEN), status
        assert offered is (not view.locked), (status, view.lock_reason)
