"""`CohortsState` (the staff page) and the cohort choice on `CourseState` (the course page),
driven through their real handlers: create and edit with errors beside the field, archive
and restore, members and the "Add learners" panel with its capacity refusal, and a learner
picking a cohort as they enroll."""

from __future__ import annotations

from typing import Any

import pytest

from app.models.user import Role
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.learning import cohort_lifecycle, cohort_views
from app.state.cohorts import CohortsState
from app.state.learn import ApplicationsState, CourseState
from tests import factories as f
from tests import learning_factories as lf
from tests.services.learning.test_class_view import drain
from tests.state.harness import StateHarness

pytestmark = pytest.mark.usefixtures("backend")


def _path(course: lf.CourseWorld) -> str:
    return f"/teach/courses/{course.course_id}/cohorts"


def _form(name: str, *, start: str = "", end: str = "", capacity: str = "") -> dict[str, Any]:
    return {"name": name, "starts_on": start, "ends_on": end, "capacity": capacity}


def _create(ctx: OrgContext, course: lf.CourseWorld, name: str, **kw: str) -> str:
    with tenant_session(ctx) as session:
        return cohort_lifecycle.do_create_cohort(
            session, ctx, course_id=course.course_id, name=name, **kw
        ).id


@pytest.fixture(autouse=True)
def _drained(backend: Any) -> Any:
    yield
    drain()


def test_create_edit_and_archive_through_the_form() -> None:
    admin = f.new_admin()
    instructor = f.invite_and_accept_member(admin.ctx, Role.instructor)
    course = lf.published_course(admin.ctx)
    with StateHarness(cookie=instructor.token, path=_path(course)) as tab:
        tab.dispatch(CohortsState.load())
        s = tab.state(CohortsState)
        assert s.found and not s.denied and s.loaded and s.course_title == course.title
        assert s.cohorts == [] and not s.form_open

        tab.dispatch(CohortsState.new_cohort())
        assert tab.state(CohortsState).form_open
        reply = tab.dispatch(
            CohortsState.save(_form("Spring", start="2026-05-02", end="2026-05-01"))
        )
        s = tab.state(CohortsState)
        assert "before" in s.ends_on_error and s.form_open and not reply.toast("success")
        assert s.form_values["starts_on"] == "2026-05-02"  # what was typed stays in the form
        tab.dispatch(CohortsState.save(_form("Spring", capacity="lots")))
        assert "whole number" in tab.state(CohortsState).capacity_error

        reply = tab.dispatch(
            CohortsState.save(_form("Spring", start="2099-03-01", end="2099-06-30", capacity="2"))
        )
        assert reply.toast("success", "Spring")
        s = tab.state(CohortsState)
        assert not s.form_open and s.errors == {}
        (row,) = s.cohorts
        assert row["name"] == "Spring" and row["dates"] == "2099-03-01 to 2099-06-30"
        assert row["seats"] == "0 / 2" and row["state"] == "open"
        assert s.selected_id == row["id"] and s.selected_name == "Spring"

        tab.dispatch(CohortsState.new_cohort())
        tab.dispatch(CohortsState.save(_form("spring")))
        assert "already" in tab.state(CohortsState).cohort_name_error

        tab.dispatch(CohortsState.edit_cohort(row["id"]))
        s = tab.state(CohortsState)
        assert s.editing_id == row["id"] and s.form_values["capacity"] == "2"
        assert tab.dispatch(CohortsState.save(_form("Spring 26", capacity=""))).toast("success")
        (row,) = tab.state(CohortsState).cohorts
        assert row["name"] == "Spring 26" and row["seats"] == "0" and row["dates"] == "No dates"

        assert tab.dispatch(CohortsState.archive(row["id"])).toast("success", "archived")
        assert tab.state(CohortsState).cohorts == []
        tab.dispatch(CohortsState.set_show_archived(True))
        (row,) = tab.state(CohortsState).cohorts
        assert row["state"] == "archived"
        assert tab.dispatch(CohortsState.restore(row["id"])).toast("success", "restored")
        assert tab.state(CohortsState).cohorts[0]["state"] == "open"

        # A malformed id from the browser is "not found", never an exception.
        assert tab.dispatch(CohortsState.archive("../etc")).toast("error")
        assert tab.dispatch(CohortsState.select_cohort("nope")).toast("error")


def test_members_and_adding_learners_with_the_capacity_refusal() -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    people = [f.invite_and_accept_member(admin.ctx, Role.learner) for _ in range(3)]
    ids = [str(lf.enrollment(p.ctx, course)) for p in people]
    small = _create(admin.ctx, course, "Small", capacity="2")
    with StateHarness(cookie=admin.token, path=_path(course)) as tab:
        tab.dispatch(CohortsState.load())
        tab.dispatch(CohortsState.select_cohort(small))
        s = tab.state(CohortsState)
        assert s.members_rows == [] and {r["id"] for r in s.unplaced_rows} == set(ids)

        reply = tab.dispatch(CohortsState.add_to_cohort())
        assert "Tick" in tab.state(CohortsState).assign_error and not reply.toast("success")
        for enrollment_id in ids:
            tab.dispatch(CohortsState.toggle_pick(enrollment_id, True))
        assert tab.state(CohortsState).picked_count == 3
        reply = tab.dispatch(CohortsState.add_to_cohort())
        s = tab.state(CohortsState)
        assert reply.toast("error", "seats left") and "2 seats left" in s.assign_error
        assert s.members_rows == [] and len(s.unplaced_rows) == 3  # nobody moved

        tab.dispatch(CohortsState.toggle_pick(ids[2], False))
        reply = tab.dispatch(CohortsState.add_to_cohort())
        assert reply.toast("success", "Added 2 learners")
        s = tab.state(CohortsState)
        assert {r["id"] for r in s.members_rows} == set(ids[:2]) and s.picked == []
        assert [r["id"] for r in s.unplaced_rows] == [ids[2]]
        assert s.cohorts[0]["seats"] == "2 / 2" and s.cohorts[0]["state"] == "full"

        assert tab.dispatch(CohortsState.remove_member(ids[0])).toast("success", "Removed")
        s = tab.state(CohortsState)
        assert [r["id"] for r in s.members_rows] == [ids[1]]
        assert {r["id"] for r in s.unplaced_rows} == {ids[0], ids[2]}

        tab.dispatch(CohortsState.search_unplaced({"q": people[2].email}))
        assert [r["id"] for r in tab.state(CohortsState).unplaced_rows] == [ids[2]]


def test_learners_and_other_orgs_get_nothing() -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    _create(admin.ctx, course, "Secret intake")
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    stranger = f.new_admin()
    with StateHarness(cookie=learner.token, path=_path(course)) as tab:
        tab.dispatch(CohortsState.load())
        s = tab.state(CohortsState)
        assert s.denied and not s.found and s.cohorts == []
    with StateHarness(cookie=stranger.token, path=_path(course)) as tab:
        tab.dispatch(CohortsState.load())
        s = tab.state(CohortsState)
        assert not s.found and not s.denied and s.cohorts == []
        tab.dispatch(CohortsState.new_cohort())
        reply = tab.dispatch(CohortsState.save(_form("Mine")))
        assert reply.toast("error") and tab.state(CohortsState).cohorts == []
    with StateHarness(cookie=None, path=_path(course)) as tab:
        assert tab.dispatch(CohortsState.load()).redirects == [
            f"/signin?next=/teach/courses/{course.course_id}/cohorts"
        ]


def test_a_learner_picks_a_cohort_on_the_course_page() -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    plain_course = lf.published_course(admin.ctx)
    spring = _create(admin.ctx, course, "Spring", starts_on="2099-03-01", capacity="5")
    _create(admin.ctx, course, "Gone", ends_on="2020-01-01")
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    with StateHarness(cookie=learner.token, path=f"/courses/{plain_course.course_id}") as tab:
        tab.dispatch(CourseState.load())
        assert tab.state(CourseState).cohort_choices == []  # no select without cohorts
    with StateHarness(cookie=learner.token, path=f"/courses/{course.course_id}") as tab:
        tab.dispatch(CourseState.load())
        s = tab.state(CourseState)
        assert s.cohort_choices == [
            {"value": spring, "label": "Spring (from 2099-03-01, 5 seats left)"}
        ]
        assert s.my_cohort == ""
        reply = tab.dispatch(
            CourseState.enroll({"funding_source": "self_pay", "cohort_id": "not-a-cohort"})
        )
        assert tab.state(CourseState).cohort_error and not reply.toast("success")
        reply = tab.dispatch(
            CourseState.enroll({"funding_source": "self_pay", "cohort_id": spring})
        )
        assert reply.toast("success")
        s = tab.state(CourseState)
        assert s.enrollment_status == "active" and s.my_cohort.startswith("Spring")
    with tenant_session(admin.ctx) as session:
        page = cohort_views.members(session, admin.ctx, cohort_id=spring)
    assert [r.email for r in page.rows] == [learner.email]


def test_approving_an_application_says_which_cohort() -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx, requires_approval=True)
    crew = _create(admin.ctx, course, "Crew")
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    with StateHarness(cookie=learner.token, path=f"/courses/{course.course_id}") as tab:
        tab.dispatch(CourseState.load())
        tab.dispatch(CourseState.enroll({"funding_source": "self_pay", "cohort_id": crew}))
        assert tab.state(CourseState).enrollment_status == "pending"
    with StateHarness(cookie=admin.token, path="/teach/applications") as tab:
        tab.dispatch(ApplicationsState.load())
        (row,) = [r for r in tab.state(ApplicationsState).rows if r["email"] == learner.email]
        reply = tab.dispatch(ApplicationsState.approve(row["id"]))
        assert reply.toast("success", "Crew")
