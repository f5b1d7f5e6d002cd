"""`ClassViewState` and `TeamLiveState`: the live roster loads, filters and sorts through the
handlers, watches only what the viewer may see, and a progress message refreshes it in place
(coalesced, permission re-checked, skipped once the tab shows another page)."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

import pytest

from app.models.base import utcnow
from app.models.user import Membership, Role
from app.services.core import topics
from app.services.core.tenancy import scoped, tenant_session
from app.services.people import members
from app.state import class_view as cv
from app.state.class_view import ClassViewState, TeamLiveState
from app.state.live import hub
from app.state.session import SessionState
from tests import factories as f
from tests import learning_factories as lf
from tests.services.learning.test_class_view import ClassWorld, class_world, complete
from tests.state.harness import StateHarness

pytestmark = pytest.mark.usefixtures("backend")


def _path(w: ClassWorld) -> str:
    return f"/teach/courses/{w.course.course_id}/live"


def _topic(w: ClassWorld) -> str:
    return topics.PROGRESS.name(org=w.admin.org_id, course=w.course.course_id)


def _push(tab: StateHarness, cls: type[Any], w: ClassWorld) -> Any:
    """Deliver a progress message to the tab the way the live hub does (`hub.on_tab`)."""
    tab._runner.run(cv.refresh_tab(_App(tab._state_manager), tab.token, cls))
    return tab.state(cls)


def _progress_of(state: Any, w: ClassWorld, key: str) -> str:
    (row,) = [r for r in state.rows if r["id"] == str(w.enrollments[key])]
    return str(row["progress"])


def test_the_instructor_sees_the_roster_and_watches_the_course() -> None:
    w = class_world()
    with StateHarness(cookie=w.instructor.token, path=_path(w)) as tab:
        tab.dispatch(ClassViewState.load())
        s = tab.state(ClassViewState)
        assert s.found and not s.denied and s.title == w.course.title
        assert [r["name"] for r in s.rows][:2] == [w.name_of("ann"), w.name_of("ben")]
        assert _progress_of(s, w, "ann") == "25" and _progress_of(s, w, "cat") == "100"
        ann = next(r for r in s.rows if r["name"] == w.name_of("ann"))
        assert ann["active"] == "yes" and ann["activity"] == "just now"
        assert ann["current"] == "Welcome" and ann["score"] == "—"
        ben = next(r for r in s.rows if r["name"] == w.name_of("ben"))
        assert ben["score"] == "0%" and ben["passed"] == "no" and ben["reasons"] == "failed quiz"
        assert s.counts == {
            "total": "6",
            "active_now": "4",
            "struggling": "3",
            "inactive": "1",
            "completed": "1",
        }
        assert _topic(w) in hub.watching(tab.token)


def test_filter_sort_and_inactive_days_through_the_handlers() -> None:
    w = class_world()
    with StateHarness(cookie=w.instructor.token, path=_path(w)) as tab:
        tab.dispatch(ClassViewState.load())
        tab.dispatch(ClassViewState.set_filter("struggling"))
        s = tab.state(ClassViewState)
        assert {r["name"] for r in s.rows} == {w.name_of(k) for k in ("ben", "dan", "fay")}
        assert s.counts["total"] == "6" and s.total == 3
        tab.dispatch(ClassViewState.set_filter("nonsense"))
        assert tab.state(ClassViewState).filter_by == "all"
        tab.dispatch(ClassViewState.set_sort("progress"))
        assert tab.state(ClassViewState).rows[0]["name"] == w.name_of("cat")
        tab.dispatch(ClassViewState.set_filter(["inactive"]))
        assert [r["name"] for r in tab.state(ClassViewState).rows] == [w.name_of("dan")]
        tab.dispatch(ClassViewState.set_inactive_days("30"))
        assert tab.state(ClassViewState).rows == []
        tab.dispatch(ClassViewState.set_inactive_days("0"))
        s = tab.state(ClassViewState)
        assert s.inactive_error and s.inactive_days == "30"


def test_a_progress_message_refreshes_the_open_roster_keeping_filter_and_sort() -> None:
    w = class_world()
    with StateHarness(cookie=w.instructor.token, path=_path(w)) as tab:
        tab.dispatch(ClassViewState.load())
        tab.dispatch(ClassViewState.set_sort("progress"))
        assert _progress_of(tab.state(ClassViewState), w, "ben") == "0"

        # Ben completes two lessons in another browser; the broker tells this worker.
        complete(w.learners["ben"].ctx, w.course, w.course.lesson_ids[0])
        complete(w.learners["ben"].ctx, w.course, w.course.lesson_ids[1])
        s = _push(tab, ClassViewState, w)
        assert _progress_of(s, w, "ben") == "50" and s.updates == 1
        assert [r["name"] for r in s.rows][:3] == [
            w.name_of("cat"),
            w.name_of("ben"),
            w.name_of("ann"),
        ]  # still sorted by progress
        assert s.sort_by == "progress"

        # A doubled message costs a refresh and shows the same thing.
        again = _push(tab, ClassViewState, w)
        assert _progress_of(again, w, "ben") == "50" and again.updates == 2


def test_the_refresher_leaves_a_tab_that_moved_to_another_page_alone() -> None:
    w = class_world()
    with StateHarness(cookie=w.instructor.token, path=_path(w)) as tab:
        tab.dispatch(ClassViewState.load())
        tab.navigate("/dashboard").dispatch(SessionState.load_private())
        assert _topic(w) not in hub.watching(tab.token)
        complete(w.learners["ben"].ctx, w.course, w.course.lesson_ids[0])
        s = _push(tab, ClassViewState, w)
        assert s.updates == 0 and _progress_of(s, w, "ben") == "0"


def test_a_viewer_who_lost_access_gets_nothing_more() -> None:
    w = class_world()
    with StateHarness(cookie=w.instructor.token, path=_path(w)) as tab:
        tab.dispatch(ClassViewState.load())
        assert tab.state(ClassViewState).rows
        with tenant_session(w.admin.ctx) as session:
            membership = session.exec(
                scoped(w.admin.ctx, Membership).where(Membership.user_id == w.instructor.user_id)
            ).one()
            members.do_change_role(session, w.admin.ctx, membership.id, Role.learner)
        s = _push(tab, ClassViewState, w)
        assert s.rows == [] and not s.found and s.denied
        assert _topic(w) not in hub.watching(tab.token)
        tab.dispatch(ClassViewState.refresh_now())
        assert tab.state(ClassViewState).rows == []


def test_a_learner_opening_the_view_sees_nothing_and_watches_nothing() -> None:
    w = class_world()
    with StateHarness(cookie=w.learners["ann"].token, path=_path(w)) as tab:
        tab.dispatch(ClassViewState.load())
        s = tab.state(ClassViewState)
        assert s.denied and s.rows == [] and s.counts["total"] == "0"
        assert not [t for t in hub.watching(tab.token) if t.endswith(":progress")]


def test_a_signed_out_visitor_is_sent_to_sign_in() -> None:
    w = class_world()
    with StateHarness(cookie=None, path=_path(w)) as tab:
        reply = tab.dispatch(ClassViewState.load())
        assert reply.redirects and reply.redirects[0].startswith("/signin")


def test_the_team_view_is_live_for_a_manager() -> None:
    w = class_world()
    manager = f.invite_and_accept_member(w.admin.ctx, Role.manager)
    with tenant_session(w.admin.ctx) as session:
        membership = session.exec(
            scoped(w.admin.ctx, Membership).where(Membership.user_id == w.learners["ben"].user_id)
        ).one()
        members.do_assign_manager(session, w.admin.ctx, membership.id, manager.user_id)
    with StateHarness(cookie=manager.token, path="/team/live") as tab:
        tab.dispatch(TeamLiveState.load())
        s = tab.state(TeamLiveState)
        assert s.found and s.team_only and s.scope == "team"
        assert [(r["name"], r["course"]) for r in s.rows] == [(w.name_of("ben"), w.course.title)]
        assert _topic(w) in hub.watching(tab.token)
        complete(w.learners["ben"].ctx, w.course, w.course.lesson_ids[0])
        s = _push(tab, TeamLiveState, w)
        assert s.rows[0]["progress"] == "25"


def test_the_org_admin_gets_the_org_on_the_team_page() -> None:
    w = class_world()
    with StateHarness(cookie=w.admin.token, path="/team/live") as tab:
        tab.dispatch(TeamLiveState.load())
        s = tab.state(TeamLiveState)
        assert s.scope == "org" and not s.team_only and s.counts["total"] == "6"


def test_an_auditor_gets_the_org_read_only_not_an_empty_team() -> None:
    """Auditors read compliance for their whole scope: their live page is the org's, not
    "Your team — Nobody here"; a manager still gets their team."""
    w = class_world()
    auditor = f.invite_and_accept_member(w.admin.ctx, Role.auditor)
    with StateHarness(cookie=auditor.token, path="/team/live") as tab:
        tab.dispatch(TeamLiveState.load())
        s = tab.state(TeamLiveState)
        assert s.scope == "org" and not s.team_only and not s.denied
        assert s.title == w.admin.ctx.org_name and s.counts["total"] == "6"
    manager = f.invite_and_accept_member(w.admin.ctx, Role.manager)
    with StateHarness(cookie=manager.token, path="/team/live") as tab:
        tab.dispatch(TeamLiveState.load())
        s = tab.state(TeamLiveState)
        assert s.scope == "team" and s.team_only and s.title == "Your team"


def test_ago_says_it_like_people_do() -> None:
    from datetime import timedelta

    from app.models.base import utcnow

    now = utcnow()
    assert cv.ago(now - timedelta(seconds=30), now) == "just now"
    assert cv.ago(now - timedelta(minutes=2, seconds=5), now) == "2 min ago"
    assert cv.ago(now - timedelta(hours=3), now) == "3 h ago"
    assert cv.ago(now - timedelta(days=1, hours=2), now) == "1 day ago"
    assert cv.ago(now - timedelta(days=9), now) == "9 days ago"


# --------------------------------------------------------------------------- cohorts


def _two_cohorts(w: ClassWorld) -> tuple[str, str, str, str]:
    """ann and ben in "Red", cat in "Blue" (the rest in none): (red id, name, blue id, name)."""
    red_name, blue_name = f.unique("Red"), f.unique("Blue")
    red = lf.cohort(
        w.admin.ctx, w.course, red_name, members=[w.enrollments["ann"], w.enrollments["ben"]]
    )
    blue = lf.cohort(w.admin.ctx, w.course, blue_name, members=[w.enrollments["cat"]])
    return str(red), red_name, str(blue), blue_name


def test_the_cohort_filter_narrows_the_roster_and_survives_a_live_refresh() -> None:
    w = class_world()
    red, red_name, blue, blue_name = _two_cohorts(w)
    with StateHarness(cookie=w.instructor.token, path=_path(w)) as tab:
        tab.dispatch(ClassViewState.load())
        s = tab.state(ClassViewState)
        assert s.cohort_by == "all"
        assert s.cohorts == [{"id": blue, "name": blue_name}, {"id": red, "name": red_name}]
        cohort_of = {r["name"]: r["cohort"] for r in s.rows}
        assert cohort_of[w.name_of("ann")] == red_name and cohort_of[w.name_of("dan")] == "—"

        tab.dispatch(ClassViewState.set_cohort(red))
        tab.dispatch(ClassViewState.set_sort("progress"))
        s = tab.state(ClassViewState)
        assert [r["name"] for r in s.rows] == [w.name_of("ann"), w.name_of("ben")]
        assert s.counts["total"] == "2" and s.cohort_by == red

        # Ben completes two lessons; the push re-reads with the tab's cohort and sort.
        complete(w.learners["ben"].ctx, w.course, w.course.lesson_ids[0])
        complete(w.learners["ben"].ctx, w.course, w.course.lesson_ids[1])
        s = _push(tab, ClassViewState, w)
        assert s.updates == 1 and s.cohort_by == red and s.sort_by == "progress"
        assert [r["name"] for r in s.rows] == [w.name_of("ben"), w.name_of("ann")]
        assert _progress_of(s, w, "ben") == "50" and s.counts["total"] == "2"

        tab.dispatch(ClassViewState.set_cohort("none"))
        names = {r["name"] for r in tab.state(ClassViewState).rows}
        assert names == {w.name_of(k) for k in ("dan", "eve", "fay")}
        tab.dispatch(ClassViewState.set_filter("inactive"))
        assert [r["name"] for r in tab.state(ClassViewState).rows] == [w.name_of("dan")]
        s = _push(tab, ClassViewState, w)
        assert s.cohort_by == "none" and [r["name"] for r in s.rows] == [w.name_of("dan")]


def test_an_unknown_cohort_shows_everyone_and_no_cohorts_means_no_choices() -> None:
    w = class_world()
    with StateHarness(cookie=w.instructor.token, path=_path(w)) as tab:
        tab.dispatch(ClassViewState.load())
        assert tab.state(ClassViewState).cohorts == []  # the page hides the select
        other = f.new_admin()
        theirs = lf.cohort(other.ctx, lf.published_course(other.ctx), f.unique("Theirs"))
        tab.dispatch(ClassViewState.set_cohort(str(theirs)))
        s = tab.state(ClassViewState)
        assert s.cohort_by == "all" and s.found and s.counts["total"] == "6"
        # a cohort created while the page is open shows up with the next refresh
        red, red_name, _blue, _blue_name = _two_cohorts(w)
        s = _push(tab, ClassViewState, w)
        assert {"id": red, "name": red_name} in s.cohorts
        tab.dispatch(ClassViewState.set_cohort(red))
        assert tab.state(ClassViewState).counts["total"] == "2"


def test_the_team_view_shows_cohorts_without_a_filter() -> None:
    w = class_world()
    _red, red_name, _blue, _blue_name = _two_cohorts(w)
    with StateHarness(cookie=w.admin.token, path="/team/live") as tab:
        tab.dispatch(TeamLiveState.load())
        s = tab.state(TeamLiveState)
        cohort_of = {r["name"]: r["cohort"] for r in s.rows}
        assert cohort_of[w.name_of("ben")] == red_name and cohort_of[w.name_of("eve")] == "—"
        assert not hasattr(s, "cohort_by")


def test_a_quiet_view_is_read_again_by_its_minute_timer() -> None:
    """With nobody acting there is no push: the page's timer re-reads rows older than a
    minute (so "active now" and "last activity" age), and leaves fresh ones alone."""
    w = class_world()
    with StateHarness(cookie=w.instructor.token, path=_path(w)) as tab:
        tab.dispatch(ClassViewState.load())
        complete(w.learners["ben"].ctx, w.course, w.course.lesson_ids[0])  # no push arrives
        tab.dispatch(ClassViewState.age_tick(""))
        assert _progress_of(tab.state(ClassViewState), w, "ben") == "0"  # read just now

        tab.state(ClassViewState).shown_at = (utcnow() - timedelta(seconds=61)).isoformat()
        tab.dispatch(ClassViewState.age_tick(""))
        s = tab.state(ClassViewState)
        assert _progress_of(s, w, "ben") == "25"
        assert datetime.fromisoformat(s.shown_at) > utcnow() - timedelta(seconds=5)


class _App:
    """What `refresh_tab` needs of the app: its state manager and `modify_state`."""

    def __init__(self, manager: Any) -> None:
        self.state_manager = manager

    def modify_state(self, token: Any) -> Any:
        return self.state_manager.modify_state(token)

    def set_contexts(self) -> Any:
        return contextlib.nullcontext()


def test_a_live_refresh_reads_without_the_lock_and_shows_only_what_is_still_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The dispatcher's refresh reads the roster without holding the tab (the instructor's
    clicks are not held up behind a slow read) and shows it under the lock, unless the tab
    meanwhile asked for something else (another sort): then the click's own read stands."""
    w = class_world()
    with StateHarness(cookie=w.instructor.token, path=_path(w)) as tab:
        tab.dispatch(ClassViewState.load())
        app = _App(tab._state_manager)
        complete(w.learners["ben"].ctx, w.course, w.course.lesson_ids[0])
        assert tab._runner.run(cv.refresh_tab(app, tab.token, ClassViewState))
        s = tab.state(ClassViewState)
        assert _progress_of(s, w, "ben") == "25" and s.updates == 1

        original = ClassViewState._live_read

        async def read_then_click(self: ClassViewState) -> Any:
            found = await original(self)
            live = await tab._get_state(ClassViewState)
            live.sort_by = "progress"  # the instructor sorted while the read ran
            return found

        monkeypatch.setattr(ClassViewState, "_live_read", read_then_click)
        complete(w.learners["ben"].ctx, w.course, w.course.lesson_ids[1])
        assert not tab._runner.run(cv.refresh_tab(app, tab.token, ClassViewState))
        s = tab.state(ClassViewState)
        assert s.updates == 1 and _progress_of(s, w, "ben") == "25"  # the stale read dropped

        tab.navigate("/dashboard").dispatch(SessionState.load_private())
        assert not tab._runner.run(cv.refresh_tab(app, tab.token, ClassViewState))
