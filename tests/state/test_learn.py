"""Learner pages' states driven like a browser tab: catalog, enrolling (double clicks),
the player (mark complete, video saves, quizzes), my learning and applications."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from app.models.user import Role
from app.services.authoring import course_status
from app.services.core import topics
from app.services.core.tenancy import tenant_session
from app.state import covers
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

pytestmark = pytest.mark.usefixtures("backend")


def _enrollments(peek: Any, backend: Backend, user_id: uuid.UUID) -> list[Any]:
    key = str(user_id) if backend.is_postgres else user_id.hex
    return peek("SELECT status FROM enrollments WHERE user_id = :u", u=key)


def test_catalog_search_and_filters() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    tag = uuid.uuid4().hex[:8]
    lf.published_course(admin.ctx, title=f"Welding {tag}", category="Trades")
    lf.published_course(admin.ctx, title=f"Typing {tag}", category="Office")
    with StateHarness(cookie=learner.token, path="/catalog") as tab:
        tab.dispatch(CatalogState.load())
        assert tab.state(CatalogState).total == 2
        assert tab.state(CatalogState).total_label == "2 courses"
        tab.dispatch(CatalogState.search({"q": f"WELDING {tag}"}))
        state = tab.state(CatalogState)
        assert [c["title"] for c in state.cards] == [f"Welding {tag}"]
        assert state.total_label == "1 course"
        assert state.cards[0]["price"] == "Free"
        # No cover uploaded: the card draws one from its category and initials.
        assert state.cards[0]["cover"] == "" and state.cards[0]["initials"] == "W" + tag[0].upper()
        assert state.cards[0]["tint"] == covers.cover_tint("Trades")
        tab.dispatch(CatalogState.search({"q": tag}))
        tab.dispatch(CatalogState.set_category("Office"))
        assert [c["title"] for c in tab.state(CatalogState).cards] == [f"Typing {tag}"]
        tab.dispatch(CatalogState.set_category("any"))
        assert tab.state(CatalogState).total == 2


def test_an_open_catalog_follows_publishing_here_and_above_and_keeps_its_search() -> None:
    """A course published (or archived) while a learner's catalog is open appears (or goes)
    through a live push, with the learner's search kept; the tab watches its own org and
    the orgs above it (which share courses down), nothing else."""
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    other = f.new_admin()
    tag = uuid.uuid4().hex[:8]
    lf.published_course(admin.ctx, title=f"Welding {tag}")
    draft = lf.published_course(admin.ctx, title=f"Welding two {tag}", status="draft")
    with StateHarness(cookie=learner.token, path="/catalog") as tab:
        tab.dispatch(CatalogState.load())
        tab.dispatch(CatalogState.search({"q": tag}))
        assert tab.state(CatalogState).total == 1
        topic = topics.CATALOG.name(org=admin.org_id)
        assert topic in hub.watching(tab.token)
        assert topics.CATALOG.name(org=other.org_id) not in hub.watching(tab.token)

        with tenant_session(admin.ctx) as session:
            course_status.do_publish_course(session, admin.ctx, course_id=draft.course_id)
        state = tab.state(CatalogState)
        tab._runner.run(_catalog_changed(state, [(topic, None)]))
        state = tab.state(CatalogState)
        assert sorted(c["title"] for c in state.cards) == [f"Welding {tag}", f"Welding two {tag}"]
        assert state.query == tag

        with tenant_session(admin.ctx) as session:
            course_status.do_archive_course(session, admin.ctx, course_id=draft.course_id)
        tab._runner.run(_catalog_changed(tab.state(CatalogState), [(topic, None)]))
        assert [c["title"] for c in tab.state(CatalogState).cards] == [f"Welding {tag}"]


def test_signed_out_catalog_redirects() -> None:
    with StateHarness(cookie=None, path="/catalog") as tab:
        assert tab.dispatch(CatalogState.load()).redirects == ["/signin?next=/catalog"]


def test_enroll_twice_makes_one_enrollment(backend: Backend, peek: Any) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    world = lf.published_course(admin.ctx)
    path = f"/courses/{world.course_id}"
    with (
        StateHarness(cookie=learner.token, path=path) as tab,
        StateHarness(cookie=learner.token, path=path) as other_tab,
    ):
        tab.dispatch(CourseState.load())
        other_tab.dispatch(CourseState.load())
        state = tab.state(CourseState)
        assert state.found and state.can_enroll and state.course["title"] == world.title
        assert {o["value"] for o in state.funding} == {"self_pay", "employer_paid"}
        reply = tab.dispatch(CourseState.enroll({"funding_source": "bogus"}))
        assert tab.state(CourseState).funding_error and not reply.toast("success")
        assert tab.dispatch(CourseState.enroll({"funding_source": "self_pay"})).toast("success")
        assert other_tab.dispatch(CourseState.enroll({"funding_source": "self_pay"})).toast(
            "success"
        )
        state = tab.state(CourseState)
        assert state.enrollment_status == "active" and not state.can_enroll and state.can_open
        assert state.next_lesson_id == str(world.lesson_ids[0])
    assert [r[0] for r in _enrollments(peek, backend, learner.user_id)] == ["active"]


def test_paid_course_shows_price_and_refuses(backend: Backend, peek: Any) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    world = lf.published_course(admin.ctx, price_cents=1999)
    with StateHarness(cookie=learner.token, path=f"/courses/{world.course_id}") as tab:
        tab.dispatch(CourseState.load())
        state = tab.state(CourseState)
        assert state.is_paid and not state.can_enroll and state.course["price"] == "$19.99"
        tab.dispatch(CourseState.enroll({"funding_source": "self_pay"}))
        assert "billing" in tab.state(CourseState).form_error
    assert _enrollments(peek, backend, learner.user_id) == []


def test_player_mark_complete_and_navigation() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    world = lf.published_course(admin.ctx)
    lf.enrollment(learner.ctx, world)
    first = world.lesson_ids[0]
    with StateHarness(cookie=learner.token, path=f"/learn/{world.course_id}") as tab:
        assert tab.dispatch(PlayerState.resume()).redirects == [f"/learn/{world.course_id}/{first}"]
        tab.navigate(f"/learn/{world.course_id}/{first}")
        tab.dispatch(PlayerState.load())
        state = tab.state(PlayerState)
        assert state.found and not state.locked and state.can_mark
        assert "Read this first" in state.lesson["body"]
        assert state.next_id == str(world.lesson_ids[1]) and state.previous_id == ""
        assert tab.dispatch(PlayerState.mark_complete()).toast("success")
        state = tab.state(PlayerState)
        assert state.completed and state.progress_percent == 25 and not state.can_mark
        assert next(r["status"] for r in state.outline if r["type"] == "lesson") == "current"
        tab.navigate(f"/learn/{world.course_id}")
        assert tab.dispatch(PlayerState.resume()).redirects == [
            f"/learn/{world.course_id}/{world.lesson_ids[1]}"
        ]


def test_player_refuses_without_enrollment() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    world = lf.published_course(admin.ctx)
    with StateHarness(
        cookie=learner.token, path=f"/learn/{world.course_id}/{world.lesson_ids[0]}"
    ) as tab:
        tab.dispatch(PlayerState.load())
        state = tab.state(PlayerState)
        assert state.locked and "Enroll" in state.lock_reason and state.lesson["body"] == ""
        assert not state.can_mark
        assert tab.dispatch(PlayerState.mark_complete()).toast("error", "Enroll")


def test_save_video_counts_played_ranges_and_completes() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    world = lf.published_course(admin.ctx)
    lf.enrollment(learner.ctx, world)
    video = world.by_kind["video"]
    with StateHarness(cookie=learner.token, path=f"/learn/{world.course_id}/{video}") as tab:
        tab.dispatch(PlayerState.load())
        assert tab.state(PlayerState).lesson["media_url"].startswith("/files/")
        tab.dispatch(
            PlayerState.save_video(
                {"position": "40", "ranges": json.dumps([[0, 10], [35, 40]]), "duration": "60"}
            )
        )
        state = tab.state(PlayerState)
        assert state.watched == "15.0" and state.position == "40.0" and not state.completed
        tab.dispatch(PlayerState.save_video({"position": "x", "ranges": "not json"}))
        assert tab.state(PlayerState).watched == "15.0"
        reply = tab.dispatch(
            PlayerState.save_video(
                {"position": "60", "ranges": json.dumps([[0, 60]]), "duration": "60"}
            )
        )
        assert reply.toast("success") and tab.state(PlayerState).completed
        tab.dispatch(PlayerState.load())  # a return visit resumes at the saved place
        assert tab.state(PlayerState).position == "60.0"


def test_quiz_fail_then_pass_with_the_form() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    world = lf.published_course(admin.ctx)
    lf.enrollment(learner.ctx, world)
    q1, q2 = (str(q) for q in world.question_ids)
    with StateHarness(
        cookie=learner.token, path=f"/learn/{world.course_id}/{world.quiz_lesson_id}"
    ) as tab:
        tab.dispatch(PlayerState.load())
        state = tab.state(PlayerState)
        assert [q["id"] for q in state.questions] == [q1, q2] and state.can_attempt
        assert {o["text"] for o in state.options} == {"Green", "Blue", "Red"}
        assert tab.dispatch(PlayerState.submit_quiz({q1: "0", q2: "red"})).toast("warning")
        state = tab.state(PlayerState)
        assert state.show_result and state.result["passed"] == ""
        assert state.result["left"] == "1" and state.feedback[0]["right"] == ""  # not yet
        tab.dispatch(PlayerState.try_again())
        assert tab.state(PlayerState).attempt_number == 2
        assert tab.dispatch(PlayerState.submit_quiz({q1: "1", q2: " BLUE "})).toast("success")
        state = tab.state(PlayerState)
        assert state.result["passed"] == "yes" and state.completed
        assert state.feedback[0]["right"] == "Blue"
        assert not state.can_attempt
        assert tab.dispatch(PlayerState.submit_quiz({q1: "1", q2: "blue"})).toast("error")


def test_a_double_clicked_submit_stores_one_attempt(backend: Backend, peek: Any) -> None:
    """Two submits of the attempt the page showed (the second queued behind the first, its
    form already reset to empty): one attempt, and the pass stays on screen."""
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    world = lf.published_course(admin.ctx)
    lf.enrollment(learner.ctx, world)
    q1, q2 = (str(q) for q in world.question_ids)
    with StateHarness(
        cookie=learner.token, path=f"/learn/{world.course_id}/{world.quiz_lesson_id}"
    ) as tab:
        tab.dispatch(PlayerState.load())
        first = tab.dispatch(PlayerState.submit_quiz({q1: "1", q2: "blue", "_attempt": "1"}))
        second = tab.dispatch(PlayerState.submit_quiz({"_attempt": "1"}))
        state = tab.state(PlayerState)
    assert first.toast("success") and second.toasts() == []
    assert state.result["passed"] == "yes" and state.result["percent"] == "100"
    key = str(learner.ctx.user_id) if backend.is_postgres else learner.ctx.user_id.hex
    attempts = peek("SELECT count(*) FROM quiz_attempts WHERE user_id = :u", u=key)
    assert attempts[0][0] == 1


def test_preview_for_authors_only() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    draft = lf.published_course(admin.ctx, status="draft")
    path = f"/preview/{draft.course_id}/{draft.lesson_ids[0]}"
    with StateHarness(cookie=admin.token, path=path) as tab:
        tab.dispatch(PlayerState.load())
        state = tab.state(PlayerState)
        assert state.found and state.preview and not state.can_mark
        assert tab.dispatch(PlayerState.mark_complete()).events == []
    with StateHarness(cookie=learner.token, path=path) as tab:
        tab.dispatch(PlayerState.load())
        assert not tab.state(PlayerState).found


def test_my_learning_cards() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    world = lf.published_course(admin.ctx)
    lf.enrollment(learner.ctx, world, progress=True)
    with StateHarness(cookie=learner.token, path="/my-learning") as tab:
        tab.dispatch(MyLearningState.load())
        (card,) = tab.state(MyLearningState).cards
        assert card["title"] == world.title and card["status"] == "active"
        assert card["next"] == f"/learn/{world.course_id}/{world.lesson_ids[1]}"
        assert card["overdue"] == "" and card["certificate"] == ""


def test_applications_approve_and_reject_with_reason() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    other = f.invite_and_accept_member(admin.ctx, Role.learner)
    world = lf.published_course(admin.ctx, requires_approval=True)
    for who in (learner, other):
        with StateHarness(cookie=who.token, path=f"/courses/{world.course_id}") as tab:
            tab.dispatch(CourseState.load())
            assert tab.dispatch(
                CourseState.enroll({"funding_source": "self_pay", "note": "hi"})
            ).toast("success", "Application")
            assert tab.state(CourseState).enrollment_status == "pending"
    with StateHarness(cookie=learner.token, path="/teach/applications") as tab:
        tab.dispatch(ApplicationsState.load())
        assert tab.state(ApplicationsState).rows == []
    with StateHarness(cookie=admin.token, path="/teach/applications") as tab:
        tab.dispatch(ApplicationsState.load())
        rows = {r["email"]: r["id"] for r in tab.state(ApplicationsState).rows}
        assert set(rows) == {learner.email, other.email}
        assert tab.dispatch(ApplicationsState.approve(rows[learner.email])).toast("success")
        tab.dispatch(ApplicationsState.open_reject(rows[other.email]))
        tab.dispatch(ApplicationsState.reject({"reason": "x"}))
        state = tab.state(ApplicationsState)
        assert state.reason_error and state.reject_open
        assert tab.dispatch(ApplicationsState.reject({"reason": "Course is full"})).toast("success")
        state = tab.state(ApplicationsState)
        assert state.rows == [] and not state.reject_open
