"""Isolation rows for learning (catalog, course pages, the player, progress, quizzes,
enrollments, applications): the admin of an unrelated org B and the admin (and a learner) of
C, a child org of A, try A's ids through the services and the page handlers.

A has: an unpublished (draft) course, a published course that is not shared, a published
shared course, a learner of A enrolled with progress, and a pending application. Attackers
must not find or open the first two, must not read or change A's learner's enrollment,
progress or attempts, and must not decide A's applications. The positive controls: A's own
learner and admin get through the same calls, and C's learner does see A's shared course.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from app.models.user import Role
from app.services.core import topics
from app.services.core.errors import NotFound, ServiceError
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.learning import (
    catalog,
    enrollment_approvals,
    enrollments,
    lesson_completion,
    my_learning,
    player,
    quizzes,
    video_progress,
)
from app.state.learn import (
    ApplicationsState,
    CatalogState,
    CourseState,
    MyLearningState,
    _catalog_changed,
)
from app.state.learn_player import PlayerState
from app.state.live import hub
from tests import factories as f
from tests import learning_factories as lf
from tests.conftest import Backend
from tests.state.harness import StateHarness


@dataclass(frozen=True)
class World:
    admin: f.SignedIn  # A's admin
    learner: f.SignedIn  # A's learner, enrolled in `private` with progress
    applicant: f.SignedIn  # A's learner with a pending application to `gated`
    draft: lf.CourseWorld
    private: lf.CourseWorld  # published, not shared
    shared: lf.CourseWorld  # published, shared down
    gated: lf.CourseWorld  # published, requires approval
    enrollment_id: uuid.UUID
    application_id: str
    child_id: uuid.UUID


def _world() -> World:
    admin = f.new_admin()
    child = f.child_org(admin.ctx)
    admin = f.refresh(admin)
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    applicant = f.invite_and_accept_member(admin.ctx, Role.learner)
    draft = lf.published_course(admin.ctx, status="draft", title=f"Draft {uuid.uuid4().hex[:6]}")
    private = lf.published_course(admin.ctx, title=f"Private {uuid.uuid4().hex[:6]}")
    shared = lf.published_course(admin.ctx, shared=True, title=f"Shared {uuid.uuid4().hex[:6]}")
    gated = lf.published_course(admin.ctx, requires_approval=True, shared=True)
    enrollment_id = lf.enrollment(learner.ctx, private, progress=True)
    with tenant_session(applicant.ctx) as session:
        applied = enrollments.do_enroll(
            session, applicant.ctx, course_id=gated.course_id, funding_source="self_pay"
        )
    return World(
        admin,
        learner,
        applicant,
        draft,
        private,
        shared,
        gated,
        enrollment_id,
        applied.id,
        child.id,
    )


def _other_tenant(w: World) -> list[f.SignedIn]:
    b = f.new_admin()
    return [b, f.invite_and_accept_member(b.ctx, Role.learner)]


def _child(w: World) -> list[f.SignedIn]:
    c_admin = f.invite_and_accept_member(w.admin.ctx, Role.org_admin, org_id=w.child_id)
    c_learner = f.invite_and_accept_member(w.admin.ctx, Role.learner, org_id=w.child_id)
    return [f.refresh(c_admin), c_learner]


@pytest.fixture(params=["other_tenant", "child"])
def setup(request: pytest.FixtureRequest, backend: Backend) -> tuple[World, list[f.SignedIn]]:
    w = _world()
    attackers = _other_tenant(w) if request.param == "other_tenant" else _child(w)
    return w, attackers


def _a_state(w: World) -> tuple[Any, ...]:
    """A's learner's enrollment, progress and attempts, and the application, read as A."""
    ctx = w.learner.ctx
    with tenant_session(ctx) as session:
        cards = {
            c.course_id: (c.status, c.progress_percent)
            for c in my_learning.my_learning(session, ctx)
        }
        view = player.player_view(
            session, ctx, course_id=w.private.course_id, lesson_id=w.private.by_kind["video"]
        )
        quiz = quizzes.quiz_for_learner(
            session, ctx, course_id=w.private.course_id, lesson_id=w.private.quiz_lesson_id
        )
    with tenant_session(w.admin.ctx) as session:
        apps = [a.id for a in enrollment_approvals.list_applications(session, w.admin.ctx)[0]]
    return (cards, view.position_seconds, view.watched_seconds, quiz.attempts_used, apps)


def test_services_give_attackers_nothing(setup: tuple[World, list[f.SignedIn]]) -> None:
    w, attackers = setup
    before = _a_state(w)
    for who in attackers:
        ctx = who.ctx
        with tenant_session(ctx) as session:
            found = {c.id for c in catalog.search(session, ctx, page_size=48, text="").cards}
            assert str(w.draft.course_id) not in found
            assert str(w.private.course_id) not in found
            for course in (w.draft, w.private):
                with pytest.raises(NotFound):
                    catalog.course_page(session, ctx, course.course_id)
                with pytest.raises(NotFound):
                    player.player_view(
                        session, ctx, course_id=course.course_id, lesson_id=course.lesson_ids[0]
                    )
                with pytest.raises(NotFound):
                    lesson_completion.do_complete_lesson(
                        session, ctx, course_id=course.course_id, lesson_id=course.lesson_ids[0]
                    )
                with pytest.raises(NotFound):
                    video_progress.do_save_video_position(
                        session,
                        ctx,
                        course_id=course.course_id,
                        lesson_id=course.by_kind["video"],
                        position=60,
                        played_ranges=[[0, 60]],
                        duration=60,
                    )
                with pytest.raises(NotFound):
                    quizzes.do_submit_attempt(
                        session,
                        ctx,
                        course_id=course.course_id,
                        lesson_id=course.quiz_lesson_id,
                        answers={str(course.question_ids[0]): [1]},
                    )
                with pytest.raises(NotFound):
                    enrollments.do_enroll(
                        session, ctx, course_id=course.course_id, funding_source="self_pay"
                    )
                with pytest.raises(NotFound):
                    player.player_view(
                        session,
                        ctx,
                        course_id=course.course_id,
                        lesson_id=course.lesson_ids[0],
                        preview=True,
                    )
            # A's learner's enrollment and A's application, by id
            for enrollment_id in (str(w.enrollment_id), w.application_id):
                with pytest.raises(ServiceError) as err:
                    enrollments.do_withdraw(session, ctx, enrollment_id)
                assert err.value.code == "not_found"
                with pytest.raises(ServiceError) as err:
                    enrollment_approvals.do_approve(session, ctx, enrollment_id)
                assert err.value.code in ("not_found", "forbidden")
                with pytest.raises(ServiceError) as err:
                    enrollment_approvals.do_reject(session, ctx, enrollment_id, "Not today")
                assert err.value.code in ("not_found", "forbidden")
            try:
                rows = enrollment_approvals.list_applications(session, ctx)[0]
                assert w.application_id not in {r.id for r in rows}
            except ServiceError:
                pass  # learners may not list applications at all
            mine = my_learning.my_learning(session, ctx)
            assert str(w.enrollment_id) not in {c.enrollment_id for c in mine}
    assert _a_state(w) == before


def test_handlers_give_attackers_nothing(setup: tuple[World, list[f.SignedIn]]) -> None:
    w, attackers = setup
    before = _a_state(w)
    for who in attackers:
        with StateHarness(cookie=who.token, path="/catalog") as tab:
            tab.dispatch(CatalogState.load())
            titles = {c["title"] for c in tab.state(CatalogState).cards}
            assert w.draft.title not in titles and w.private.title not in titles
            # The live catalog: an attacker's tab follows A's catalog only from below (a
            # child org, for what A shares down), and a push from A shows nothing more.
            follows_a = topics.CATALOG.name(org=w.admin.org_id) in hub.watching(tab.token)
            assert follows_a == (who.ctx.org_id == w.child_id)
            tab._runner.run(
                _catalog_changed(
                    tab.state(CatalogState), [(topics.CATALOG.name(org=w.admin.org_id), None)]
                )
            )
            titles = {c["title"] for c in tab.state(CatalogState).cards}
            assert w.draft.title not in titles and w.private.title not in titles
        for course in (w.draft, w.private):
            with StateHarness(cookie=who.token, path=f"/courses/{course.course_id}") as tab:
                tab.dispatch(CourseState.load())
                assert not tab.state(CourseState).found
                assert not tab.dispatch(CourseState.enroll({"funding_source": "self_pay"})).toast(
                    "success"
                )
            path = f"/learn/{course.course_id}/{course.by_kind['video']}"
            with StateHarness(cookie=who.token, path=path) as tab:
                tab.dispatch(PlayerState.load())
                state = tab.state(PlayerState)
                assert not state.found and state.lesson.get("body", "") == ""
                tab.dispatch(PlayerState.mark_complete())
                tab.dispatch(
                    PlayerState.save_video(
                        {"position": "60", "ranges": json.dumps([[0, 60]]), "duration": "60"}
                    )
                )
        with StateHarness(cookie=who.token, path="/teach/applications") as tab:
            tab.dispatch(ApplicationsState.load())
            assert w.application_id not in {r["id"] for r in tab.state(ApplicationsState).rows}
            assert not tab.dispatch(ApplicationsState.approve(w.application_id)).toast("success")
            tab.dispatch(ApplicationsState.open_reject(w.application_id))
            assert not tab.dispatch(ApplicationsState.reject({"reason": "Nope nope"})).toast(
                "success"
            )
        with StateHarness(cookie=who.token, path="/my-learning") as tab:
            tab.dispatch(MyLearningState.load())
            assert str(w.enrollment_id) not in {
                c["enrollment_id"] for c in tab.state(MyLearningState).cards
            }
    assert _a_state(w) == before


def test_owner_controls_and_child_learner_sees_shared(backend: Backend) -> None:
    """A's own people get through the same calls, and C's learner does see A's shared course
    (and can learn it, with rows in C)."""
    w = _world()
    with tenant_session(w.admin.ctx) as session:
        assert w.application_id in {
            a.id for a in enrollment_approvals.list_applications(session, w.admin.ctx)[0]
        }
        found = {c.id for c in catalog.search(session, w.admin.ctx, page_size=48).cards}
        assert str(w.private.course_id) in found
        player.player_view(
            session,
            w.admin.ctx,
            course_id=w.draft.course_id,
            lesson_id=w.draft.lesson_ids[0],
            preview=True,
        )
    ctx = w.learner.ctx
    with tenant_session(ctx) as session:
        done = lesson_completion.do_complete_lesson(
            session, ctx, course_id=w.private.course_id, lesson_id=w.private.lesson_ids[1]
        )
        assert done.newly_completed
    c_learner = _child(w)[1]
    cctx: OrgContext = c_learner.ctx
    with tenant_session(cctx) as session:
        found = {c.id for c in catalog.search(session, cctx, page_size=48).cards}
        assert str(w.shared.course_id) in found and str(w.private.course_id) not in found
        got = enrollments.do_enroll(
            session, cctx, course_id=w.shared.course_id, funding_source="self_pay"
        )
        assert got.org_id == str(w.child_id)
    with tenant_session(cctx) as session:
        view = player.player_view(
            session, cctx, course_id=w.shared.course_id, lesson_id=w.shared.lesson_ids[0]
        )
        assert not view.locked and view.lesson.body
        assert lesson_completion.do_complete_lesson(
            session, cctx, course_id=w.shared.course_id, lesson_id=w.shared.lesson_ids[0]
        ).newly_completed
    with tenant_session(cctx) as session:
        result = quizzes.do_submit_attempt(
            session,
            cctx,
            course_id=w.shared.course_id,
            lesson_id=w.shared.quiz_lesson_id,
            answers={str(w.shared.question_ids[0]): [1], str(w.shared.question_ids[1]): "blue"},
        )
        assert result.passed
    with tenant_session(w.admin.ctx) as session:
        assert (
            enrollment_approvals.do_approve(session, w.admin.ctx, w.application_id).status
            == "active"
        )
