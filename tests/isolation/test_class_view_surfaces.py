"""Isolation rows for the live class view: `app.services.learning.class_view`, the
`/teach/courses/<id>/live` and `/team/live` handlers, and the topics their tabs watch.

Attackers (from `test_surfaces.py`): the admin of an unrelated org B and the admin of C, a
child org of A (A's course is shared down to C, so C's admin can find it in the catalog, yet
is not its staff). Also: A's own learner, and an instructor of B. None may read A's roster,
and the topics a tab watches after load never name an org the viewer may not read. A's
admin gets through the same calls (`test_owner_control`), so the rows can fail.

Cohorts: A's learner is in a cohort of A's course. Neither attacker may list A's cohorts,
filter by A's cohort id (not even on a course of their own), nor see its name; A's admin may
not filter by a cohort of the course that belongs to the child org C (only cohorts of the
active org count).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from app.models.user import Role
from app.services.core import topics
from app.services.core.errors import NotFound, PermissionDenied, ServiceError
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.learning import class_view
from app.state import class_view as cv
from app.state.class_view import ClassViewState, TeamLiveState
from app.state.live import hub
from tests import factories as f
from tests import learning_factories as lf
from tests.isolation.test_surfaces import (  # the fixtures are used by name
    Scenario,
    child_admin,  # noqa: F401
    other_tenant,  # noqa: F401
    scenario,  # noqa: F401
)
from tests.services.learning.test_class_view import complete, drain
from tests.state.harness import StateHarness
from tests.state.test_class_view import _App

TOPIC = re.compile(r"^org:([0-9a-f-]+):")


@dataclass(frozen=True)
class Class:
    """A's course (shared down), with A's learner enrolled and part-way."""

    admin: f.SignedIn
    course_id: uuid.UUID
    topic: str
    learner_email: str
    learner_name: str
    cohort_id: uuid.UUID
    cohort_name: str
    course: lf.CourseWorld

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.learner_email, self.learner_name, self.cohort_name)


def _class(s: Scenario) -> Class:
    admin = s.victim.admin
    course = lf.published_course(admin.ctx, shared=True, title=f.unique("A's class"))
    enrollment_id = lf.enrollment(s.victim.learner.ctx, course)
    cohort_name = f.unique("A's cohort")
    cohort_id = lf.cohort(admin.ctx, course, cohort_name, members=[enrollment_id])
    complete(s.victim.learner.ctx, course, course.lesson_ids[0])
    drain()
    return Class(
        admin=admin,
        course_id=course.course_id,
        topic=topics.PROGRESS.name(org=admin.org_id, course=course.course_id),
        learner_email=s.victim.learner.email,
        learner_name=s.victim.learner.ctx.full_name,
        cohort_id=cohort_id,
        cohort_name=cohort_name,
        course=course,
    )


def _text(value: Any) -> str:
    return repr(value)


def _topics_allowed(watched: set[str], ctx: OrgContext) -> None:
    """Every progress topic names an org the viewer may read (config topics of ancestors
    belong to the session and are checked elsewhere)."""
    for topic in {t for t in watched if t.endswith(":progress")}:
        m = TOPIC.match(topic)
        assert m is not None, topic
        assert uuid.UUID(m.group(1)) in ctx.org_ids, f"watches {topic} outside its orgs"


# --------------------------------------------------------------------------- services

Attempt = Callable[[Any, OrgContext, Class], Any]

SERVICE_ATTEMPTS: list[tuple[str, Attempt, type[ServiceError] | None]] = [
    (
        "course_roster",
        lambda s, ctx, c: class_view.course_roster(s, ctx, course_id=c.course_id),
        NotFound,
    ),
    (
        "course_roster_filtered",
        lambda s, ctx, c: class_view.course_roster(
            s, ctx, course_id=str(c.course_id), filter="struggling", sort="activity"
        ),
        NotFound,
    ),
    (
        "course_roster_cohort",
        lambda s, ctx, c: class_view.course_roster(
            s, ctx, course_id=c.course_id, cohort_id=str(c.cohort_id)
        ),
        NotFound,
    ),
    (
        "cohort_choices",
        lambda s, ctx, c: class_view.cohort_choices(s, ctx, c.course_id),
        NotFound,
    ),
    (
        "progress_topics_course",
        lambda s, ctx, c: class_view.progress_topics(s, ctx, course_id=c.course_id),
        NotFound,
    ),
    ("org_view", lambda s, ctx, c: class_view.org_view(s, ctx, page_size=100), None),
    ("team_view", lambda s, ctx, c: class_view.team_view(s, ctx, page_size=100), None),
    (
        "progress_topics_org",
        lambda s, ctx, c: class_view.progress_topics(s, ctx, scope="org"),
        None,
    ),
    (
        "progress_topics_team",
        lambda s, ctx, c: class_view.progress_topics(s, ctx, scope="team"),
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "attempt", "refused"), SERVICE_ATTEMPTS, ids=[a[0] for a in SERVICE_ATTEMPTS]
)
def test_services_refuse_or_show_nothing_of_a(
    scenario: Scenario,  # noqa: F811
    name: str,
    attempt: Attempt,
    refused: type[ServiceError] | None,
) -> None:
    c = _class(scenario)
    ctx = scenario.attacker.ctx
    with tenant_session(ctx) as session:
        if refused is not None:
            with pytest.raises(refused):
                attempt(session, ctx, c)
            return
        result = attempt(session, ctx, c)
    for secret in c.secrets:
        assert secret not in _text(result), f"{name} showed {secret}"
    if isinstance(result, set):
        assert c.topic not in result
        _topics_allowed(result, ctx)


def test_a_s_cohort_id_is_refused_on_the_attacker_s_own_course(scenario: Scenario) -> None:  # noqa: F811
    c = _class(scenario)
    attacker = scenario.attacker
    own = lf.published_course(attacker.ctx)
    lf.cohort(attacker.ctx, own, f.unique("Own cohort"))
    with tenant_session(attacker.ctx) as session:
        with pytest.raises(NotFound):
            class_view.course_roster(
                session, attacker.ctx, course_id=own.course_id, cohort_id=str(c.cohort_id)
            )
        choices = class_view.cohort_choices(session, attacker.ctx, own.course_id)
    assert [name for _id, name in choices] != [] and c.cohort_name not in _text(choices)


def test_a_parent_admin_filters_only_by_its_own_org_s_cohorts(child_admin: Scenario) -> None:  # noqa: F811
    """A's course is shared down to C; C's cohort of it is C's: A's admin sees C's learner
    in the roster (their subtree) with the cohort's name, but cannot filter by it."""
    c = _class(child_admin)
    c_admin = child_admin.attacker
    c_learner = f.invite_and_accept_member(c_admin.ctx, Role.learner)
    course = c.course
    c_cohort_name = f.unique("C's cohort")
    c_cohort = lf.cohort(
        c_admin.ctx, course, c_cohort_name, members=[lf.enrollment(c_learner.ctx, course)]
    )
    a = f.refresh(c.admin)
    with tenant_session(a.ctx) as session:
        with pytest.raises(NotFound):
            class_view.course_roster(session, a.ctx, course_id=c.course_id, cohort_id=str(c_cohort))
        everyone = class_view.course_roster(session, a.ctx, course_id=c.course_id)
        mine = class_view.course_roster(
            session, a.ctx, course_id=c.course_id, cohort_id=str(c.cohort_id)
        )
        choices = class_view.cohort_choices(session, a.ctx, c.course_id)
    assert (c_learner.email, c_cohort_name) in {(r.email, r.cohort) for r in everyone.rows}
    assert [r.email for r in mine.rows] == [c.learner_email]
    assert choices == [(str(c.cohort_id), c.cohort_name)]


def test_a_s_learner_and_another_org_s_instructor_are_refused(backend: Any) -> None:
    a = f.new_admin()
    learner = f.invite_and_accept_member(a.ctx, Role.learner)
    course = lf.published_course(a.ctx)
    lf.enrollment(learner.ctx, course)
    b_instructor = f.invite_and_accept_member(f.new_admin().ctx, Role.instructor)
    with tenant_session(learner.ctx) as session:
        with pytest.raises(PermissionDenied):
            class_view.course_roster(session, learner.ctx, course_id=course.course_id)
        with pytest.raises(PermissionDenied):
            class_view.progress_topics(session, learner.ctx, course_id=course.course_id)
        with pytest.raises(PermissionDenied):
            class_view.progress_topics(session, learner.ctx, scope="org")
    with tenant_session(b_instructor.ctx) as session:
        with pytest.raises(NotFound):
            class_view.course_roster(session, b_instructor.ctx, course_id=course.course_id)
        with pytest.raises(NotFound):
            class_view.progress_topics(session, b_instructor.ctx, course_id=course.course_id)


def test_owner_control(backend: Any) -> None:
    """A's admin gets through every call the attackers tried."""
    a = f.new_admin()
    learner = f.invite_and_accept_member(a.ctx, Role.learner)
    c = _class(Scenario(attacker=a, victim=_FakeVictim(a, learner)))  # type: ignore[arg-type]
    with tenant_session(a.ctx) as session:
        page = class_view.course_roster(session, a.ctx, course_id=c.course_id)
        assert [r.email for r in page.rows] == [c.learner_email]
        assert [r.cohort for r in page.rows] == [c.cohort_name]
        page = class_view.course_roster(
            session, a.ctx, course_id=c.course_id, cohort_id=str(c.cohort_id)
        )
        assert [r.email for r in page.rows] == [c.learner_email]
        assert class_view.cohort_choices(session, a.ctx, c.course_id) == [
            (str(c.cohort_id), c.cohort_name)
        ]
        assert c.topic in class_view.progress_topics(session, a.ctx, course_id=c.course_id)
        assert c.topic in class_view.progress_topics(session, a.ctx, scope="org")
        assert c.learner_email in _text(class_view.org_view(session, a.ctx))
    with StateHarness(cookie=a.token, path=f"/teach/courses/{c.course_id}/live") as tab:
        tab.dispatch(ClassViewState.load())
        assert c.learner_email in _text(tab.state(ClassViewState).rows)
        assert c.topic in hub.watching(tab.token)
        tab.dispatch(ClassViewState.set_cohort(str(c.cohort_id)))
        s = tab.state(ClassViewState)
        assert s.cohort_by == str(c.cohort_id) and c.learner_email in _text(s.rows)


@dataclass(frozen=True)
class _FakeVictim:
    admin: f.SignedIn
    learner: f.SignedIn


# --------------------------------------------------------------------------- handlers


def test_the_course_page_handlers_show_and_watch_nothing_of_a(scenario: Scenario) -> None:  # noqa: F811
    c = _class(scenario)
    attacker = scenario.attacker
    with StateHarness(cookie=attacker.token, path=f"/teach/courses/{c.course_id}/live") as tab:
        tab.dispatch(ClassViewState.load())
        for spec in (
            ClassViewState.set_filter("all"),
            ClassViewState.set_sort("activity"),
            ClassViewState.set_inactive_days("3"),
            ClassViewState.set_cohort(str(c.cohort_id)),
            ClassViewState.refresh_now(),
            ClassViewState.next_page(),
            ClassViewState.age_tick(""),
        ):
            tab.dispatch(spec)
            s = tab.state(ClassViewState)
            assert s.rows == [] and not s.found
            for secret in c.secrets:
                assert secret not in _text(s.rows) + _text(s.title) + _text(s.counts)
                assert secret not in _text(s.cohorts)
        watched = hub.watching(tab.token)
        assert c.topic not in watched
        _topics_allowed(watched, attacker.ctx)

        # Even a message on A's topic that reached this tab would refresh the attacker's own
        # (refused) view, never A's: the hub's lock-free refresh of the tab.
        tab._runner.run(cv.refresh_tab(_App(tab._state_manager), tab.token, ClassViewState))
        assert tab.state(ClassViewState).rows == []


def test_the_team_page_shows_and_watches_only_the_attackers_own(scenario: Scenario) -> None:  # noqa: F811
    c = _class(scenario)
    attacker = scenario.attacker
    with StateHarness(cookie=attacker.token, path="/team/live") as tab:
        tab.dispatch(TeamLiveState.load())
        tab.dispatch(TeamLiveState.set_filter("struggling"))
        tab.dispatch(TeamLiveState.set_filter("all"))
        s = tab.state(TeamLiveState)
        for secret in c.secrets:
            assert secret not in _text(s.rows)
        watched = hub.watching(tab.token)
        assert c.topic not in watched
        _topics_allowed(watched, attacker.ctx)
