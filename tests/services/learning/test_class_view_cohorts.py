"""The class view's cohorts (`app.services.learning.class_view`): each row names its cohort, a
course's roster narrows to one cohort (or to the learners in none) with the other filters,
sorts and pages still working, and only cohorts of this course in the active org count."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from app.models.enrollment import Cohort, Enrollment
from app.models.user import Role
from app.services.core.errors import NotFound, PermissionDenied
from app.services.core.tenancy import scoped, tenant_session
from app.services.learning import class_view, class_view_rows
from tests import factories as f
from tests import learning_factories as lf
from tests.services.learning.test_class_view import (
    ClassWorld,
    _manager_of,
    class_world,
    names,
    roster,
)

pytestmark = pytest.mark.usefixtures("backend")


@dataclass(frozen=True)
class Cohorts:
    """The class of `class_world` in two cohorts: "Red" (ann, ben, fay) and "Blue" (cat);
    dan and eve are in none."""

    w: ClassWorld
    red: uuid.UUID
    blue: uuid.UUID
    red_name: str
    blue_name: str


def with_cohorts() -> Cohorts:
    w = class_world()
    red_name, blue_name = f.unique("Red"), f.unique("Blue")
    red = lf.cohort(
        w.admin.ctx, w.course, red_name, members=[w.enrollments[k] for k in ("ann", "ben", "fay")]
    )
    blue = lf.cohort(w.admin.ctx, w.course, blue_name, members=[w.enrollments["cat"]])
    return Cohorts(w, red, blue, red_name, blue_name)


def test_each_row_names_its_cohort() -> None:
    c = with_cohorts()
    page = roster(c.w.instructor.ctx, c.w)
    assert dict(zip(names(page, c.w), [r.cohort for r in page.rows], strict=True)) == {
        "ann": c.red_name,
        "ben": c.red_name,
        "cat": c.blue_name,
        "dan": "",
        "eve": "",
        "fay": c.red_name,
    }


def test_the_cohort_filter_keeps_that_cohort_and_counts_it() -> None:
    c = with_cohorts()
    red = roster(c.w.instructor.ctx, c.w, cohort_id=str(c.red))
    assert names(red, c.w) == ["ann", "ben", "fay"] and red.total == 3
    assert red.counts == class_view_rows.RosterCounts(
        total=3, active_now=3, struggling=2, inactive=0, completed=0
    )
    assert names(roster(c.w.instructor.ctx, c.w, cohort_id=str(c.blue)), c.w) == ["cat"]
    none = roster(c.w.instructor.ctx, c.w, cohort_id="none")
    assert names(none, c.w) == ["dan", "eve"] and none.counts.total == 2
    for everyone in ("", "all"):
        assert roster(c.w.instructor.ctx, c.w, cohort_id=everyone).total == 6


def test_filters_sorts_and_pages_work_inside_a_cohort() -> None:
    c = with_cohorts()
    ctx, w, red = c.w.instructor.ctx, c.w, str(c.red)
    assert names(roster(ctx, w, cohort_id=red, filter="struggling"), w) == ["ben", "fay"]
    assert names(roster(ctx, w, cohort_id=red, filter="completed"), w) == []
    assert names(roster(ctx, w, cohort_id="none", filter="inactive"), w) == ["dan"]
    assert names(roster(ctx, w, cohort_id=red, sort="progress"), w) == ["ann", "ben", "fay"]
    first = roster(ctx, w, cohort_id=red, page=1, page_size=2)
    second = roster(ctx, w, cohort_id=red, page=2, page_size=2)
    assert (first.total, names(first, w), names(second, w)) == (3, ["ann", "ben"], ["fay"])


def test_a_learner_moved_between_cohorts_moves_in_the_roster() -> None:
    c = with_cohorts()
    with tenant_session(c.w.admin.ctx) as session:
        row = session.exec(
            scoped(c.w.admin.ctx, Enrollment).where(Enrollment.id == c.w.enrollments["ann"])
        ).one()
        row.cohort_id = c.blue
        session.add(row)
        session.commit()
    assert names(roster(c.w.instructor.ctx, c.w, cohort_id=str(c.blue)), c.w) == ["ann", "cat"]
    assert names(roster(c.w.instructor.ctx, c.w, cohort_id=str(c.red)), c.w) == ["ben", "fay"]


def test_only_a_cohort_of_this_course_in_the_active_org_is_accepted() -> None:
    c = with_cohorts()
    ctx = c.w.instructor.ctx
    other_course = lf.published_course(c.w.admin.ctx)
    elsewhere = lf.cohort(c.w.admin.ctx, other_course, f.unique("Other course"))
    other = f.new_admin()
    theirs = lf.cohort(other.ctx, lf.published_course(other.ctx), f.unique("Theirs"))
    for bad in (str(elsewhere), str(theirs), str(uuid.uuid4()), "not-a-uuid", "nobody"):
        with pytest.raises(NotFound):
            roster(ctx, c.w, cohort_id=bad)


def test_cohort_choices_list_the_course_s_cohorts_archived_last() -> None:
    c = with_cohorts()
    archived_name = f.unique("Aardvark")  # sorts first by name, yet comes last
    archived = lf.cohort(c.w.admin.ctx, c.w.course, archived_name)
    with tenant_session(c.w.admin.ctx) as session:
        row = session.exec(scoped(c.w.admin.ctx, Cohort).where(Cohort.id == archived)).one()
        row.is_archived = True
        session.add(row)
        session.commit()
    lf.cohort(c.w.admin.ctx, lf.published_course(c.w.admin.ctx), f.unique("Other course"))
    with tenant_session(c.w.instructor.ctx) as session:
        choices = class_view.cohort_choices(session, c.w.instructor.ctx, c.w.course.course_id)
    assert choices == [
        (str(c.blue), c.blue_name),
        (str(c.red), c.red_name),
        (str(archived), archived_name),
    ]
    # an archived cohort can still be looked at
    assert roster(c.w.instructor.ctx, c.w, cohort_id=str(archived)).total == 0


def test_cohort_choices_are_for_the_view_s_viewers_only() -> None:
    c = with_cohorts()
    with pytest.raises(PermissionDenied), tenant_session(c.w.learners["ann"].ctx) as session:
        class_view.cohort_choices(session, c.w.learners["ann"].ctx, c.w.course.course_id)
    other = f.new_admin()
    with pytest.raises(NotFound), tenant_session(other.ctx) as session:
        class_view.cohort_choices(session, other.ctx, c.w.course.course_id)


def test_a_manager_filters_their_team_by_cohort() -> None:
    c = with_cohorts()
    manager = _manager_of(c.w, "ben", "cat", "dan")
    assert names(roster(manager.ctx, c.w, cohort_id=str(c.red)), c.w) == ["ben"]
    assert names(roster(manager.ctx, c.w, cohort_id="none"), c.w) == ["dan"]
    with tenant_session(manager.ctx) as session:
        choices = class_view.cohort_choices(session, manager.ctx, c.w.course.course_id)
    assert {name for _id, name in choices} == {c.red_name, c.blue_name}


def test_team_and_org_views_show_the_cohort() -> None:
    c = with_cohorts()
    with tenant_session(c.w.admin.ctx) as session:
        page = class_view.org_view(session, c.w.admin.ctx, page_size=50)
    assert {(r.name, r.cohort) for r in page.rows} >= {
        (c.w.name_of("ann"), c.red_name),
        (c.w.name_of("cat"), c.blue_name),
        (c.w.name_of("dan"), ""),
    }
    staff = f.invite_and_accept_member(c.w.admin.ctx, Role.staff)
    assert roster(staff.ctx, c.w, cohort_id=str(c.blue)).total == 1
