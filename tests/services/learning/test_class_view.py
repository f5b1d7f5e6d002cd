"""The live class view's data: one course's roster for its staff, a manager's team and an
org admin's org across courses; the filters, sorts and counts; who may see what; which
topics a viewer follows; and the progress events the learning services publish."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col

from app.models.base import utcnow
from app.models.enrollment import Enrollment, LessonProgress
from app.models.user import Membership, Role
from app.services.core import topics
from app.services.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.services.core.tenancy import OrgContext, scoped, tenant_session
from app.services.infra import broker, outbox
from app.services.learning import (
    class_view,
    class_view_rows,
    lesson_completion,
    quizzes,
    video_progress,
)
from app.services.people import members
from tests import factories as f
from tests import learning_factories as lf

pytestmark = pytest.mark.usefixtures("backend")


# --------------------------------------------------------------------------- a class


@dataclass(frozen=True)
class ClassWorld:
    """An org with an instructor's course and six learners in every state the view shows.

    ann: completed the first lesson just now (25 %, active now)
    ben: failed the quiz (struggling: failed quiz)
    cat: completed the whole course (100 %, completed)
    dan: enrolled, nothing done for 10 days (struggling and inactive)
    eve: applied, waiting for approval (pending)
    fay: active just now but past her due date (struggling: overdue)
    """

    admin: f.SignedIn
    instructor: f.SignedIn
    course: lf.CourseWorld
    learners: dict[str, f.SignedIn]
    enrollments: dict[str, uuid.UUID]

    def name_of(self, key: str) -> str:
        return self.learners[key].ctx.full_name


def complete(ctx: OrgContext, world: lf.CourseWorld, lesson_id: uuid.UUID) -> None:
    """Complete a lesson through the real service."""
    with tenant_session(ctx) as session:
        lesson_completion.do_complete_lesson(
            session, ctx, course_id=world.course_id, lesson_id=lesson_id
        )


def take_quiz(ctx: OrgContext, world: lf.CourseWorld, *, right: bool) -> quizzes.AttemptResult:
    """Submit the factory quiz, all right or all wrong."""
    q1, q2 = world.question_ids
    answers: dict[str, Any] = {str(q1): 1, str(q2): "blue"} if right else {str(q1): 0}
    with tenant_session(ctx) as session:
        return quizzes.do_submit_attempt(
            session, ctx, course_id=world.course_id, lesson_id=world.quiz_lesson_id, answers=answers
        )


def age(admin: OrgContext, enrollment_id: uuid.UUID, days: float) -> None:
    """Make everything an enrollment did `days` old."""
    when = utcnow() - timedelta(days=days)
    with tenant_session(admin) as session:
        session.execute(
            update(Enrollment).where(col(Enrollment.id) == enrollment_id).values(modified=when)
        )
        session.execute(
            update(LessonProgress)
            .where(col(LessonProgress.enrollment_id) == enrollment_id)
            .values(modified=when)
        )
        session.commit()


def set_due(admin: OrgContext, enrollment_id: uuid.UUID, days_from_now: float) -> None:
    with tenant_session(admin) as session:
        session.execute(
            update(Enrollment)
            .where(col(Enrollment.id) == enrollment_id)
            .values(due_at=utcnow() + timedelta(days=days_from_now))
        )
        session.commit()


def class_world() -> ClassWorld:
    """Build the class described on `ClassWorld`."""
    admin = f.new_admin()
    instructor = f.invite_and_accept_member(admin.ctx, Role.instructor)
    course = lf.published_course(instructor.ctx)
    names = {
        k: f"{k.capitalize()} {uuid.uuid4().hex[:6]}"
        for k in ["ann", "ben", "cat", "dan", "eve", "fay"]
    }
    learners = {
        k: f.invite_and_accept_member(admin.ctx, Role.learner, full_name=name)
        for k, name in names.items()
    }
    enrollments = {
        k: lf.enrollment(who.ctx, course, status="pending" if k == "eve" else "active")
        for k, who in learners.items()
    }
    complete(learners["ann"].ctx, course, course.lesson_ids[0])
    take_quiz(learners["ben"].ctx, course, right=False)
    for lesson_id in course.lesson_ids[:3]:
        complete(learners["cat"].ctx, course, lesson_id)
    take_quiz(learners["cat"].ctx, course, right=True)
    age(admin.ctx, enrollments["dan"], 10)
    age(admin.ctx, enrollments["eve"], 10)  # pending: never inactive nor struggling
    set_due(admin.ctx, enrollments["fay"], -1)
    drain()
    return ClassWorld(admin, instructor, course, learners, enrollments)


def drain() -> None:
    """Run the jobs this world queued (mail, completions), so no test after it finds a
    backlog in the shared database (tests that `run_due(limit=50)` would miss their own)."""
    while outbox.run_due(worker="class-view-tests", limit=500):
        pass


def roster(ctx: OrgContext, world: ClassWorld, **kw: Any) -> class_view_rows.RosterPage:
    with tenant_session(ctx) as session:
        return class_view.course_roster(session, ctx, course_id=world.course.course_id, **kw)


def names(page: class_view_rows.RosterPage, world: ClassWorld) -> list[str]:
    """The learners' keys (ann, ben, ...) in the page's order."""
    by_name = {who.ctx.full_name: k for k, who in world.learners.items()}
    return [by_name[r.name] for r in page.rows]


# --------------------------------------------------------------------------- contents


def test_the_roster_shows_each_learner_as_they_are() -> None:
    w = class_world()
    page = roster(w.instructor.ctx, w)
    assert page.title == w.course.title and page.scope == "course" and not page.team_only
    assert names(page, w) == ["ann", "ben", "cat", "dan", "eve", "fay"]
    rows = {k: r for k, r in zip(names(page, w), page.rows, strict=True)}

    ann = rows["ann"]
    assert ann.email == w.learners["ann"].email
    assert (ann.progress_percent, ann.status, ann.current_lesson) == (25, "active", "Welcome")
    assert ann.active_now and not ann.struggling and ann.latest_score is None
    assert ann.enrollment_id == str(w.enrollments["ann"])
    assert ann.course_title == w.course.title

    ben = rows["ben"]
    assert (ben.latest_score, ben.latest_passed) == (0, False)
    assert ben.struggling and ben.reasons == ("failed quiz",)
    assert ben.current_lesson == "Welcome"  # nothing completed: where they start

    cat = rows["cat"]
    assert (cat.progress_percent, cat.status, cat.latest_score) == (100, "completed", 100)
    assert cat.current_lesson == "Check yourself" and not cat.struggling

    dan = rows["dan"]
    assert not dan.active_now and dan.struggling and dan.reasons == ("inactive",)
    assert utcnow() - dan.last_activity > timedelta(days=9)

    eve = rows["eve"]
    assert eve.status == "pending" and not eve.struggling

    fay = rows["fay"]
    assert fay.active_now and fay.reasons == ("overdue",) and fay.due_at is not None

    assert page.counts == class_view_rows.RosterCounts(
        total=6, active_now=4, struggling=3, inactive=1, completed=1
    )


def test_last_activity_counts_quiz_attempts_and_lesson_progress() -> None:
    w = class_world()
    age(w.admin.ctx, w.enrollments["ann"], 3)
    before = {r.name: r.last_activity for r in roster(w.instructor.ctx, w).rows}
    assert utcnow() - before[w.name_of("ann")] > timedelta(days=2)
    # A quiz attempt alone (it does not touch the enrollment) makes her active again.
    take_quiz(w.learners["ann"].ctx, w.course, right=False)
    after = {r.name: r for r in roster(w.instructor.ctx, w).rows}[w.name_of("ann")]
    assert after.active_now and after.latest_score == 0


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        ("", ["ann", "ben", "cat", "dan", "eve", "fay"]),
        ("all", ["ann", "ben", "cat", "dan", "eve", "fay"]),
        ("struggling", ["ben", "dan", "fay"]),
        ("inactive", ["dan"]),
        ("completed", ["cat"]),
    ],
)
def test_each_filter_keeps_the_right_learners(chosen: str, expected: list[str]) -> None:
    w = class_world()
    page = roster(w.instructor.ctx, w, filter=chosen)
    assert names(page, w) == expected and page.total == len(expected)
    assert page.counts.total == 6  # the summary always counts the whole class


def test_inactive_days_moves_the_line() -> None:
    w = class_world()
    assert names(roster(w.instructor.ctx, w, filter="inactive", inactive_days=30), w) == []
    assert names(roster(w.instructor.ctx, w, filter="inactive", inactive_days="9"), w) == ["dan"]
    with pytest.raises(ValidationFailed) as exc:
        roster(w.instructor.ctx, w, inactive_days=0)
    assert exc.value.field == "inactive_days"
    with pytest.raises(ValidationFailed):
        roster(w.instructor.ctx, w, inactive_days="soon")


def test_sorts_by_progress_and_by_last_activity() -> None:
    w = class_world()
    by_progress = names(roster(w.instructor.ctx, w, sort="progress"), w)
    assert by_progress[:2] == ["cat", "ann"]  # 100 %, 25 %, then the zeros by name
    assert by_progress[2:] == ["ben", "dan", "eve", "fay"]
    age(w.admin.ctx, w.enrollments["ann"], 2)
    by_activity = names(roster(w.instructor.ctx, w, sort="activity"), w)
    assert by_activity.index("ann") == 3  # 2 days ago: after the recent, before the 10-day-old
    assert set(by_activity[-2:]) == {"dan", "eve"}
    assert set(by_activity[:3]) == {"ben", "cat", "fay"}


def test_unknown_filters_and_sorts_are_refused() -> None:
    w = class_world()
    with pytest.raises(ValidationFailed):
        roster(w.instructor.ctx, w, filter="everyone")
    with pytest.raises(ValidationFailed):
        roster(w.instructor.ctx, w, sort="email; drop table")


def test_pages_come_from_the_database() -> None:
    w = class_world()
    first = roster(w.instructor.ctx, w, page=1, page_size=4)
    second = roster(w.instructor.ctx, w, page=2, page_size=4)
    assert (first.total, len(first.rows), len(second.rows)) == (6, 4, 2)
    assert names(first, w) + names(second, w) == ["ann", "ben", "cat", "dan", "eve", "fay"]
    assert roster(w.instructor.ctx, w, page=99, page_size=4).page == 2


# --------------------------------------------------------------------------- who may see


def test_staff_and_admins_see_the_roster_learners_do_not() -> None:
    w = class_world()
    staff = f.invite_and_accept_member(w.admin.ctx, Role.staff)
    assert roster(staff.ctx, w).total == 6
    assert roster(w.admin.ctx, w).total == 6
    with pytest.raises(PermissionDenied):
        roster(w.learners["ann"].ctx, w)
    employer = f.invite_and_accept_member(w.admin.ctx, Role.employer_partner)
    with pytest.raises(PermissionDenied):
        roster(employer.ctx, w)


def test_other_orgs_staff_do_not_find_the_course() -> None:
    w = class_world()
    other = f.new_admin()
    other_instructor = f.invite_and_accept_member(other.ctx, Role.instructor)
    for ctx in (other.ctx, other_instructor.ctx):
        with pytest.raises(NotFound):
            roster(ctx, w)
    with pytest.raises(NotFound), tenant_session(w.instructor.ctx) as session:
        class_view.course_roster(session, w.instructor.ctx, course_id="not-a-uuid")


def test_a_child_org_admin_does_not_staff_the_parent_s_shared_course() -> None:
    admin = f.new_admin()
    child = f.child_org(admin.ctx)
    child_admin = f.invite_and_accept_member(f.refresh(admin).ctx, Role.org_admin, org_id=child.id)
    shared = lf.published_course(admin.ctx, shared=True)
    learner = f.invite_and_accept_member(child_admin.ctx, Role.learner)
    lf.enrollment(learner.ctx, shared)
    with pytest.raises(NotFound), tenant_session(child_admin.ctx) as session:
        class_view.course_roster(session, child_admin.ctx, course_id=shared.course_id)
    with pytest.raises(NotFound), tenant_session(child_admin.ctx) as session:
        class_view.progress_topics(session, child_admin.ctx, course_id=shared.course_id)
    # ... but their own learner's enrollment shows in their org view.
    with tenant_session(child_admin.ctx) as session:
        mine = class_view.org_view(session, child_admin.ctx)
    assert [r.name for r in mine.rows] == [learner.ctx.full_name]
    # The parent's admin sees the child's learner in the course (their subtree).
    parent = f.refresh(admin)
    with tenant_session(parent.ctx) as session:
        theirs = class_view.course_roster(session, parent.ctx, course_id=shared.course_id)
    assert [r.name for r in theirs.rows] == [learner.ctx.full_name]


def _manager_of(w: ClassWorld, *keys: str) -> f.SignedIn:
    manager = f.invite_and_accept_member(w.admin.ctx, Role.manager)
    with tenant_session(w.admin.ctx) as session:
        for key in keys:
            membership = session.exec(
                scoped(w.admin.ctx, Membership).where(Membership.user_id == w.learners[key].user_id)
            ).one()
            members.do_assign_manager(session, w.admin.ctx, membership.id, manager.user_id)
    return manager


def test_a_manager_sees_only_their_team() -> None:
    w = class_world()
    manager = _manager_of(w, "ben", "dan")
    page = roster(manager.ctx, w)
    assert page.team_only and names(page, w) == ["ben", "dan"]
    other_course = lf.published_course(w.admin.ctx)
    lf.enrollment(w.learners["ben"].ctx, other_course)
    lf.enrollment(w.learners["ann"].ctx, other_course)  # not in the team
    with tenant_session(manager.ctx) as session:
        team = class_view.team_view(session, manager.ctx, filter="struggling")
        every = class_view.team_view(session, manager.ctx, sort="name")
    assert team.scope == "team" and names(team, w) == ["ben", "dan"]
    assert sorted((r.name, r.course_title) for r in every.rows) == sorted(
        [
            (w.name_of("ben"), w.course.title),
            (w.name_of("ben"), other_course.title),
            (w.name_of("dan"), w.course.title),
        ]
    )
    with pytest.raises(PermissionDenied), tenant_session(manager.ctx) as session:
        class_view.org_view(session, manager.ctx)


def test_the_org_view_spans_courses_for_admins_and_staff_only() -> None:
    w = class_world()
    other_course = lf.published_course(w.admin.ctx)
    lf.enrollment(w.learners["ann"].ctx, other_course)
    with tenant_session(w.admin.ctx) as session:
        page = class_view.org_view(session, w.admin.ctx, filter="all", page_size=50)
    assert page.total == 7 and page.scope == "org"
    assert {r.course_title for r in page.rows} == {w.course.title, other_course.title}
    for who in (w.instructor, w.learners["ann"]):
        with pytest.raises(PermissionDenied), tenant_session(who.ctx) as session:
            class_view.org_view(session, who.ctx)
    with pytest.raises(PermissionDenied), tenant_session(w.learners["ann"].ctx) as session:
        class_view.team_view(session, w.learners["ann"].ctx)


# --------------------------------------------------------------------------- topics


def test_topics_are_one_per_readable_org_of_the_course() -> None:
    admin = f.new_admin()
    child = f.child_org(admin.ctx)
    admin = f.refresh(admin)
    course = lf.published_course(admin.ctx, shared=True)
    with tenant_session(admin.ctx) as session:
        watched = class_view.progress_topics(session, admin.ctx, course_id=course.course_id)
    assert watched == {
        topics.PROGRESS.name(org=admin.org_id, course=course.course_id),
        topics.PROGRESS.name(org=child.id, course=course.course_id),
    }
    instructor = f.invite_and_accept_member(admin.ctx, Role.instructor)
    with tenant_session(instructor.ctx) as session:
        mine = class_view.progress_topics(session, instructor.ctx, course_id=course.course_id)
    assert mine == {topics.PROGRESS.name(org=admin.org_id, course=course.course_id)}


def test_team_and_org_topics_follow_the_enrollments_shown() -> None:
    w = class_world()
    manager = _manager_of(w, "ben")
    other_course = lf.published_course(w.admin.ctx)
    lf.enrollment(w.learners["ann"].ctx, other_course)
    with tenant_session(manager.ctx) as session:
        team = class_view.progress_topics(session, manager.ctx, scope="team")
    with tenant_session(w.admin.ctx) as session:
        org = class_view.progress_topics(session, w.admin.ctx, scope="org")
        with pytest.raises(NotFound):
            class_view.progress_topics(session, w.admin.ctx, scope="everything")
    course_topic = topics.PROGRESS.name(org=w.admin.org_id, course=w.course.course_id)
    assert team == {course_topic}
    assert org == {
        course_topic,
        topics.PROGRESS.name(org=w.admin.org_id, course=other_course.course_id),
    }


# --------------------------------------------------------------------------- publishing


def _listen(topic: str) -> list[dict[str, Any]]:
    heard: list[dict[str, Any]] = []
    broker.get_broker().listen(lambda t, p: heard.append(p) if t == topic else None)
    return heard


def test_completion_quiz_attempts_and_video_publish_progress() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    course = lf.published_course(admin.ctx)
    enrollment_id = lf.enrollment(learner.ctx, course)
    heard = _listen(topics.PROGRESS.name(org=learner.org_id, course=course.course_id))
    base = {"user_ids": [str(learner.user_id)], "enrollment_id": str(enrollment_id)}

    complete(learner.ctx, course, course.lesson_ids[0])
    assert heard == [
        {
            **base,
            "lesson_id": str(course.lesson_ids[0]),
            "kind": "lesson_completed",
            "percent": 25,
            "score": None,
        }
    ]
    heard.clear()

    take_quiz(learner.ctx, course, right=False)  # a failure is news too, with the score
    assert heard == [
        {
            **base,
            "lesson_id": str(course.quiz_lesson_id),
            "kind": "quiz_attempt",
            "percent": 25,
            "score": 0,
        }
    ]
    heard.clear()

    video = course.by_kind["video"]

    def watch(start: float, end: float) -> None:
        with tenant_session(learner.ctx) as session:
            video_progress.do_save_video_position(
                session,
                learner.ctx,
                course_id=course.course_id,
                lesson_id=video,
                position=end,
                played_ranges=[[start, end]],
                duration=60,
            )

    watch(0, 3)  # under 5 s of new watching: no message
    assert heard == []
    watch(0, 9)  # 6 s more
    assert [(p["kind"], p["lesson_id"]) for p in heard] == [("video", str(video))]
    watch(0, 11)  # 2 s more
    assert len(heard) == 1
    watch(0, 55)  # 90 %: completes the lesson, one message for it
    assert [p["kind"] for p in heard] == ["video", "lesson_completed"]
    assert heard[-1]["percent"] == 50


def test_nothing_is_published_when_the_attempt_is_refused() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    course = lf.published_course(admin.ctx)
    heard = _listen(topics.PROGRESS.name(org=learner.org_id, course=course.course_id))
    with pytest.raises(ValidationFailed):  # not enrolled
        take_quiz(learner.ctx, course, right=True)
    assert heard == []
