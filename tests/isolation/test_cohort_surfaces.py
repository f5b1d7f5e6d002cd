"""Isolation rows for cohorts: `app.services.learning.cohort_*`, the cohort choice of
`enrollments.do_enroll`, and the `/teach/courses/<id>/cohorts` handlers.

Attackers (from `test_surfaces.py`): the admin of an unrelated org B and the admin of C, a
child org of A. A has a course with a cohort holding A's learner. Every attempt at A's
course, cohort or enrollment ids is refused like a missing id (or, enrolling, refused on the
`cohort_id` field) and leaves A's cohorts exactly as they were. The child admin may run C's
own cohorts of a course A shares down, but never sees or touches A's. A's admin gets
through the same calls (`test_owner_control`), so the rows can fail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from app.models.user import Role
from app.services.core.errors import NotFound, ServiceError, ValidationFailed
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.learning import (
    cohort_access,
    cohort_lifecycle,
    cohort_placement,
    cohort_views,
    enrollments,
)
from app.state.cohorts import CohortsState
from tests import factories as f
from tests import learning_factories as lf
from tests.isolation.test_surfaces import (  # the fixtures are used by name
    Scenario,
    child_admin,  # noqa: F401
    other_tenant,  # noqa: F401
    scenario,  # noqa: F401
)
from tests.services.learning.test_class_view import drain
from tests.state.harness import StateHarness


@dataclass(frozen=True)
class ACohort:
    """A's course (not shared) with a cohort holding A's learner, and a second enrollment of
    A's in no cohort."""

    admin: f.SignedIn
    course: lf.CourseWorld
    cohort_id: str
    member_enrollment: str
    unplaced_enrollment: str
    learner_email: str

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.learner_email, "A's intake")


def _a(s: Scenario) -> ACohort:
    admin = s.victim.admin
    course = lf.published_course(admin.ctx, title=f.unique("A's course"))
    member = str(lf.enrollment(s.victim.learner.ctx, course))
    other = f.invite_and_accept_member(admin.ctx, Role.learner)
    unplaced = str(lf.enrollment(other.ctx, course))
    with tenant_session(admin.ctx) as session:
        cohort = cohort_lifecycle.do_create_cohort(
            session, admin.ctx, course_id=course.course_id, name="A's intake", capacity="5"
        )
    with tenant_session(admin.ctx) as session:
        cohort_placement.do_assign(session, admin.ctx, cohort_id=cohort.id, enrollment_ids=[member])
    return ACohort(
        admin=admin,
        course=course,
        cohort_id=cohort.id,
        member_enrollment=member,
        unplaced_enrollment=unplaced,
        learner_email=s.victim.learner.email,
    )


def _a_view(a: ACohort) -> Any:
    """A's cohorts and their members, read as A's admin."""
    ctx = a.admin.ctx
    with tenant_session(ctx) as session:
        rows = cohort_views.list_cohorts(
            session, ctx, course_id=a.course.course_id, include_archived=True
        )
        people = cohort_views.members(session, ctx, cohort_id=a.cohort_id, page_size=100)
        loose = cohort_views.unplaced(session, ctx, course_id=a.course.course_id, page_size=100)
    return (
        rows,
        sorted(r.enrollment_id for r in people.rows),
        sorted(r.enrollment_id for r in loose.rows),
    )


def _own(ctx: OrgContext) -> tuple[lf.CourseWorld, str, str]:
    """The attacker's own course, a cohort of it, and an enrollment of theirs in it."""
    course = lf.published_course(ctx)
    with tenant_session(ctx) as session:
        cohort = cohort_lifecycle.do_create_cohort(
            session, ctx, course_id=course.course_id, name="Ours"
        )
    return course, cohort.id, str(lf.enrollment(ctx, course))


# --------------------------------------------------------------------------- services

Attempt = Callable[[Any, OrgContext, ACohort], Any]

SERVICE_ATTEMPTS: list[tuple[str, Attempt]] = [
    ("list", lambda s, ctx, a: cohort_views.list_cohorts(s, ctx, course_id=a.course.course_id)),
    (
        "list_archived",
        lambda s, ctx, a: cohort_views.list_cohorts(
            s, ctx, course_id=a.course.course_id, include_archived=True
        ),
    ),
    ("may_manage", lambda s, ctx, a: cohort_access.may_manage(s, ctx, a.course.course_id)),
    (
        "course_cohorts_page",
        lambda s, ctx, a: cohort_views.course_cohorts_page(s, ctx, course_id=a.course.course_id),
    ),
    (
        "create",
        lambda s, ctx, a: cohort_lifecycle.do_create_cohort(
            s, ctx, course_id=a.course.course_id, name="Planted"
        ),
    ),
    (
        "update",
        lambda s, ctx, a: cohort_lifecycle.do_update_cohort(
            s, ctx, cohort_id=a.cohort_id, name="Renamed", capacity="5"
        ),
    ),
    (
        "archive",
        lambda s, ctx, a: cohort_lifecycle.do_archive_cohort(s, ctx, cohort_id=a.cohort_id),
    ),
    (
        "restore",
        lambda s, ctx, a: cohort_lifecycle.do_restore_cohort(s, ctx, cohort_id=a.cohort_id),
    ),
    ("members", lambda s, ctx, a: cohort_views.members(s, ctx, cohort_id=a.cohort_id)),
    ("unplaced", lambda s, ctx, a: cohort_views.unplaced(s, ctx, course_id=a.course.course_id)),
    (
        "assign_a_to_a",
        lambda s, ctx, a: cohort_placement.do_assign(
            s, ctx, cohort_id=a.cohort_id, enrollment_ids=[a.unplaced_enrollment]
        ),
    ),
    (
        "unassign_a",
        lambda s, ctx, a: cohort_placement.do_unassign(
            s, ctx, enrollment_ids=[a.member_enrollment]
        ),
    ),
    (
        "open_cohorts",
        lambda s, ctx, a: cohort_views.open_cohorts(s, ctx, course_id=a.course.course_id),
    ),
]


@pytest.mark.parametrize(
    ("name", "attempt"), SERVICE_ATTEMPTS, ids=[n for n, _ in SERVICE_ATTEMPTS]
)
def test_services_refuse_a_s_ids(scenario: Scenario, name: str, attempt: Attempt) -> None:  # noqa: F811
    a = _a(scenario)
    before = _a_view(a)
    ctx = scenario.attacker.ctx
    with tenant_session(ctx) as session, pytest.raises(NotFound):
        attempt(session, ctx, a)
    assert _a_view(a) == before
    drain()


def test_a_s_ids_do_not_mix_into_the_attackers_own_cohorts(scenario: Scenario) -> None:  # noqa: F811
    a = _a(scenario)
    before = _a_view(a)
    ctx = scenario.attacker.ctx
    course, own_cohort, own_enrollment = _own(ctx)
    # A's enrollment into the attacker's cohort, also hidden in a batch of their own.
    for batch in ([a.unplaced_enrollment], [own_enrollment, a.member_enrollment]):
        with tenant_session(ctx) as session, pytest.raises(NotFound):
            cohort_placement.do_assign(session, ctx, cohort_id=own_cohort, enrollment_ids=batch)
    with tenant_session(ctx) as session, pytest.raises(NotFound):
        cohort_placement.do_unassign(
            session, ctx, enrollment_ids=[own_enrollment, a.member_enrollment]
        )
    # Enrolling (the attacker is a learner of their own org too) into A's cohort.
    fresh = lf.published_course(ctx)
    with tenant_session(ctx) as session, pytest.raises(ValidationFailed) as exc:
        enrollments.do_enroll(
            session,
            ctx,
            course_id=fresh.course_id,
            funding_source="self_pay",
            cohort_id=a.cohort_id,
        )
    assert exc.value.field == "cohort_id"
    with tenant_session(ctx) as session:
        assert enrollments.own_enrollment(session, ctx, fresh.course_id) is None  # not written
        own = cohort_views.list_cohorts(session, ctx, course_id=course.course_id)
        assert [r.id for r in own] == [own_cohort]
        assert cohort_views.members(session, ctx, cohort_id=own_cohort).rows == []
    assert _a_view(a) == before
    drain()


def test_the_child_runs_its_own_cohorts_of_a_shared_course_never_a_s(
    child_admin: Scenario,  # noqa: F811
) -> None:
    victim = child_admin.victim
    c_admin = child_admin.attacker
    shared = lf.published_course(victim.admin.ctx, shared=True, title=f.unique("Shared"))
    member = str(lf.enrollment(victim.learner.ctx, shared))
    with tenant_session(victim.admin.ctx) as session:
        a_cohort = cohort_lifecycle.do_create_cohort(
            session, victim.admin.ctx, course_id=shared.course_id, name="A's intake"
        )
        cohort_placement.do_assign(
            session, victim.admin.ctx, cohort_id=a_cohort.id, enrollment_ids=[member]
        )
    ctx = c_admin.ctx
    with tenant_session(ctx) as session:
        assert cohort_views.list_cohorts(session, ctx, course_id=shared.course_id) == []
        mine = cohort_lifecycle.do_create_cohort(
            session, ctx, course_id=shared.course_id, name="C's intake"
        )
    assert mine.id != a_cohort.id
    for attempt in (
        lambda s: cohort_lifecycle.do_update_cohort(s, ctx, cohort_id=a_cohort.id, name="x"),
        lambda s: cohort_lifecycle.do_archive_cohort(s, ctx, cohort_id=a_cohort.id),
        lambda s: cohort_views.members(s, ctx, cohort_id=a_cohort.id),
        lambda s: cohort_placement.do_assign(s, ctx, cohort_id=mine.id, enrollment_ids=[member]),
        lambda s: cohort_placement.do_unassign(s, ctx, enrollment_ids=[member]),
    ):
        with tenant_session(ctx) as session, pytest.raises(NotFound):
            attempt(session)
    with tenant_session(ctx) as session:
        offered = cohort_views.open_cohorts(session, ctx, course_id=shared.course_id)
        assert [r.id for r in offered] == [mine.id]
        with pytest.raises(ValidationFailed):
            enrollments.do_enroll(
                session,
                ctx,
                course_id=shared.course_id,
                funding_source="self_pay",
                cohort_id=a_cohort.id,
            )
    with tenant_session(victim.admin.ctx) as session:
        rows = cohort_views.list_cohorts(session, victim.admin.ctx, course_id=shared.course_id)
        people = cohort_views.members(session, victim.admin.ctx, cohort_id=a_cohort.id)
    assert [(r.id, r.name, r.members) for r in rows] == [(a_cohort.id, "A's intake", 1)]
    assert [r.enrollment_id for r in people.rows] == [member]
    drain()


def test_owner_control(backend: Any) -> None:
    """A's admin gets through every call the attackers tried (in an order where each can
    succeed: restore after archive, unassign last)."""
    a_admin = f.new_admin()
    learner = f.invite_and_accept_member(a_admin.ctx, Role.learner)
    a = _a(Scenario(attacker=a_admin, victim=_FakeVictim(a_admin, learner)))  # type: ignore[arg-type]
    ctx = a_admin.ctx
    for name, attempt in SERVICE_ATTEMPTS:
        with tenant_session(ctx) as session:
            try:
                result = attempt(session, ctx, a)
            except ServiceError as exc:  # pragma: no cover - the failure message
                pytest.fail(f"{name}: the owner was refused: {exc.message}")
        if name == "members":
            assert [r.email for r in result.rows] == [a.learner_email]
    # A's own learner may enroll choosing A's open cohort.
    newcomer = f.invite_and_accept_member(a_admin.ctx, Role.learner)
    with tenant_session(newcomer.ctx) as session:
        got = enrollments.do_enroll(
            session,
            newcomer.ctx,
            course_id=a.course.course_id,
            funding_source="self_pay",
            cohort_id=a.cohort_id,
        )
    assert got.cohort_id == a.cohort_id
    with StateHarness(
        cookie=a_admin.token, path=f"/teach/courses/{a.course.course_id}/cohorts"
    ) as tab:
        tab.dispatch(CohortsState.load())
        tab.dispatch(CohortsState.select_cohort(a.cohort_id))
        s = tab.state(CohortsState)
        assert s.found and {c["name"] for c in s.cohorts} == {"Renamed", "Planted"}
        assert newcomer.email in repr(s.members_rows)
    drain()


@dataclass(frozen=True)
class _FakeVictim:
    admin: f.SignedIn
    learner: f.SignedIn


# --------------------------------------------------------------------------- handlers


def test_the_page_handlers_show_and_change_nothing_of_a(scenario: Scenario) -> None:  # noqa: F811
    a = _a(scenario)
    before = _a_view(a)
    attacker = scenario.attacker
    own_course, own_cohort, _own_enrollment = _own(attacker.ctx)

    # On A's course page: nothing found, nothing shown, whatever is sent.
    with StateHarness(
        cookie=attacker.token, path=f"/teach/courses/{a.course.course_id}/cohorts"
    ) as tab:
        tab.dispatch(CohortsState.load())
        for spec in (
            CohortsState.set_show_archived(True),
            CohortsState.select_cohort(a.cohort_id),
            CohortsState.edit_cohort(a.cohort_id),
            CohortsState.archive(a.cohort_id),
            CohortsState.restore(a.cohort_id),
            CohortsState.remove_member(a.member_enrollment),
            CohortsState.search_unplaced({"q": a.learner_email}),
            CohortsState.save({"name": "Planted", "starts_on": "", "ends_on": "", "capacity": ""}),
        ):
            tab.dispatch(spec)
            s = tab.state(CohortsState)
            assert not s.found and s.cohorts == [] and s.members_rows == []
            shown = repr((s.cohorts, s.members_rows, s.unplaced_rows, s.course_title))
            for secret in a.secrets:
                assert secret not in shown

    # On their own course page: A's ids do not slip in through the handlers either.
    with StateHarness(
        cookie=attacker.token, path=f"/teach/courses/{own_course.course_id}/cohorts"
    ) as tab:
        tab.dispatch(CohortsState.load())
        tab.dispatch(CohortsState.select_cohort(a.cohort_id))  # not one of theirs: dropped
        assert tab.state(CohortsState).selected_id == ""
        tab.dispatch(CohortsState.select_cohort(own_cohort))
        tab.dispatch(CohortsState.toggle_pick(a.unplaced_enrollment, True))
        assert tab.dispatch(CohortsState.add_to_cohort()).toast("error")
        assert tab.dispatch(CohortsState.remove_member(a.member_enrollment)).toast("error")
        s = tab.state(CohortsState)
        assert s.members_rows == [] and s.picked == []
        shown = repr((s.cohorts, s.members_rows, s.unplaced_rows))
        for secret in a.secrets:
            assert secret not in shown
    assert _a_view(a) == before
    drain()
