"""Cohorts: staff create and edit them (errors beside the right field), seats are counted and
never overbooked (a batch fits whole or nobody moves), archived cohorts take nobody new,
learners pick an open cohort as they enroll or apply, approval keeps (or staff change) the
cohort, each org runs its own cohorts of a course shared down, and every move is published
after commit to the class view and the moved learners' chat lists."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from app.models.base import utcnow
from app.models.enrollment import Enrollment
from app.models.user import Role
from app.services.authoring import course_read
from app.services.config import cache, writes
from app.services.core import audit, topics
from app.services.core.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed
from app.services.core.tenancy import OrgContext, access, tenant_session
from app.services.learning import (
    cohort_lifecycle,
    cohort_placement,
    cohort_rows,
    cohort_views,
    enrollment_approvals,
    enrollments,
)
from tests import factories as f
from tests import learning_factories as lf
from tests.services.learning.test_class_view import complete, drain

pytestmark = pytest.mark.usefixtures("backend")

# What a chat-list push carries (the learner's list reloads).
CHANNELS = topics.ChatListChanged().as_message()


# --------------------------------------------------------------------------- helpers


def run(ctx: OrgContext, fn: Any, **kw: Any) -> Any:
    with tenant_session(ctx) as session:
        return fn(session, ctx, **kw)


def create(ctx: OrgContext, course: lf.CourseWorld, name: str, **kw: str) -> cohort_rows.CohortRow:
    return run(ctx, cohort_lifecycle.do_create_cohort, course_id=course.course_id, name=name, **kw)  # type: ignore[no-any-return]


def listed(ctx: OrgContext, course: lf.CourseWorld, **kw: Any) -> list[cohort_rows.CohortRow]:
    return run(ctx, cohort_views.list_cohorts, course_id=course.course_id, **kw)  # type: ignore[no-any-return]


def enroll(ctx: OrgContext, course: lf.CourseWorld, **kw: Any) -> enrollments.EnrollmentView:
    kw.setdefault("funding_source", "self_pay")
    return run(ctx, enrollments.do_enroll, course_id=course.course_id, **kw)  # type: ignore[no-any-return]


def member_emails(ctx: OrgContext, cohort_id: str, **kw: Any) -> list[str]:
    page = run(ctx, cohort_views.members, cohort_id=cohort_id, **kw)
    return [r.email for r in page.rows]


def unplaced_emails(ctx: OrgContext, course: lf.CourseWorld, **kw: Any) -> list[str]:
    page = run(ctx, cohort_views.unplaced, course_id=course.course_id, **kw)
    return [r.email for r in page.rows]


def cohort_of(ctx: OrgContext, enrollment_id: uuid.UUID | str) -> uuid.UUID | None:
    with tenant_session(ctx) as session:
        return access(session, ctx, Enrollment, enrollment_id).cohort_id


def field_error(exc: pytest.ExceptionInfo[ValidationFailed]) -> tuple[str | None, str]:
    return exc.value.field, exc.value.message


def date_in(days: int) -> str:
    return (utcnow() + timedelta(days=days)).date().isoformat()


def learners(admin: f.SignedIn, n: int) -> list[f.SignedIn]:
    return [f.invite_and_accept_member(admin.ctx, Role.learner) for _ in range(n)]


@pytest.fixture(autouse=True)
def _drained(backend: Any) -> Iterator[None]:
    """Run the jobs a test queued (welcome mail), leaving no backlog for later tests."""
    yield
    drain()


# --------------------------------------------------------------------------- creating


def test_create_and_list_in_date_order_with_seats() -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    later = create(admin.ctx, course, "  Autumn   intake ", starts_on=date_in(60), capacity="2")
    sooner = create(admin.ctx, course, "Spring intake", starts_on=date_in(5), ends_on=date_in(40))
    undated = create(admin.ctx, course, "Site crew", capacity="")
    assert later.name == "Autumn intake" and later.capacity == 2 and later.seats_left == 2
    assert later.is_open and not later.is_archived and later.members == 0
    assert undated.capacity is None and undated.seats_left is None and undated.starts_on is None
    assert sooner.starts_on is not None and sooner.starts_on.isoformat() == date_in(5)
    assert [r.name for r in listed(admin.ctx, course)] == [
        "Spring intake",
        "Autumn intake",
        "Site crew",
    ]


def test_the_cohorts_page_names_the_course_and_refuses_a_learner() -> None:
    admin = f.new_admin()
    title = f.unique("Forklift refresher")
    course = lf.published_course(admin.ctx, title=title)
    create(admin.ctx, course, "Spring intake", starts_on=date_in(5))
    archived = create(admin.ctx, course, "Old intake")
    run(admin.ctx, cohort_lifecycle.do_archive_cohort, cohort_id=archived.id)
    page = run(admin.ctx, cohort_views.course_cohorts_page, course_id=course.course_id)
    assert (page.course_id, page.course_title) == (str(course.course_id), title)
    assert [c.name for c in page.cohorts] == ["Spring intake"]
    every = run(
        admin.ctx,
        cohort_views.course_cohorts_page,
        course_id=course.course_id,
        include_archived=True,
    )
    assert sorted(c.name for c in every.cohorts) == ["Old intake", "Spring intake"]
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    with pytest.raises(PermissionDenied):
        run(learner.ctx, cohort_views.course_cohorts_page, course_id=course.course_id)


@pytest.mark.parametrize(
    ("form", "field", "words"),
    [
        ({"name": "   "}, "name", "name"),
        ({"name": "x" * 81}, "name", "80"),
        ({"starts_on": "2026-13-01"}, "starts_on", "YYYY-MM-DD"),
        ({"starts_on": "1/2/2026"}, "starts_on", "YYYY-MM-DD"),
        ({"ends_on": "soon"}, "ends_on", "YYYY-MM-DD"),
        ({"starts_on": "2026-05-02", "ends_on": "2026-05-01"}, "ends_on", "before"),
        ({"capacity": "0"}, "capacity", "whole number"),
        ({"capacity": "10001"}, "capacity", "whole number"),
        ({"capacity": "2.5"}, "capacity", "whole number"),
        ({"capacity": "-3"}, "capacity", "whole number"),
        ({"capacity": "ten"}, "capacity", "whole number"),
    ],
)
def test_form_errors_name_their_field(form: dict[str, str], field: str, words: str) -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    kw = {"name": "Intake", **form}
    with pytest.raises(ValidationFailed) as exc:
        create(admin.ctx, course, **kw)
    got_field, message = field_error(exc)
    assert got_field == field and words in message
    assert listed(admin.ctx, course, include_archived=True) == []


def test_the_edges_that_are_allowed() -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    one_day = create(admin.ctx, course, "x" * 80, starts_on="2026-05-01", ends_on="2026-05-01")
    assert one_day.capacity is None and one_day.ends_on == one_day.starts_on
    assert create(admin.ctx, course, "Big", capacity=" 10000 ").capacity == 10000


def test_names_are_unique_per_course_and_org_ignoring_case() -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    other_course = lf.published_course(admin.ctx)
    create(admin.ctx, course, "Spring")
    with pytest.raises(ValidationFailed) as exc:
        create(admin.ctx, course, "SPRING")
    assert field_error(exc)[0] == "name"
    create(admin.ctx, other_course, "Spring")  # another course may reuse the name
    other_org = f.new_admin()
    shared = lf.published_course(other_org.ctx)
    create(other_org.ctx, shared, "Spring")


def test_update_checks_the_same_and_is_audited_with_before_and_after() -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    spring = create(admin.ctx, course, "Spring", capacity="5")
    create(admin.ctx, course, "Autumn")
    with pytest.raises(ValidationFailed) as exc:
        run(admin.ctx, cohort_lifecycle.do_update_cohort, cohort_id=spring.id, name="autumn")
    assert field_error(exc)[0] == "name"
    with pytest.raises(ValidationFailed) as exc:
        run(
            admin.ctx,
            cohort_lifecycle.do_update_cohort,
            cohort_id=spring.id,
            name="Spring",
            starts_on="2026-06-01",
            ends_on="2026-05-01",
        )
    assert field_error(exc)[0] == "ends_on"
    changed = run(
        admin.ctx,
        cohort_lifecycle.do_update_cohort,
        cohort_id=spring.id,
        name="Spring 2026",
        starts_on="2026-03-01",
        ends_on="2026-06-30",
        capacity="",
    )
    assert changed.name == "Spring 2026" and changed.capacity is None
    assert changed.ends_on is not None and changed.ends_on.isoformat() == "2026-06-30"
    events = run(admin.ctx, audit.list_events, action="cohort.updated", page_size=50).rows
    (event,) = [e for e in events if e.detail.get("cohort_id") == spring.id]
    assert event.detail["before"]["name"] == "Spring" and event.detail["before"]["capacity"] == 5
    assert event.detail["after"] == {
        "name": "Spring 2026",
        "starts_on": "2026-03-01",
        "ends_on": "2026-06-30",
        "capacity": None,
        "is_archived": False,
    }
    created = run(admin.ctx, audit.list_events, action="cohort.created", page_size=50).rows
    assert {e.detail.get("cohort_id") for e in created} >= {spring.id}


def test_capacity_cannot_drop_below_the_members() -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    people = learners(admin, 3)
    ids = [lf.enrollment(p.ctx, course) for p in people]
    spring = create(admin.ctx, course, "Spring")
    assert run(admin.ctx, cohort_placement.do_assign, cohort_id=spring.id, enrollment_ids=ids) == 3
    with pytest.raises(ValidationFailed) as exc:
        run(
            admin.ctx,
            cohort_lifecycle.do_update_cohort,
            cohort_id=spring.id,
            name="Spring",
            capacity="2",
        )
    assert field_error(exc)[0] == "capacity" and "3 learners" in field_error(exc)[1]
    ok = run(
        admin.ctx,
        cohort_lifecycle.do_update_cohort,
        cohort_id=spring.id,
        name="Spring",
        capacity="3",
    )
    assert ok.seats_left == 0 and not ok.is_open


# --------------------------------------------------------------------------- seats


def test_assign_is_all_or_nothing_and_never_overbooks() -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    people = learners(admin, 4)
    ids = [lf.enrollment(p.ctx, course) for p in people]
    small = create(admin.ctx, course, "Small", capacity="2")

    with pytest.raises(ValidationFailed) as exc:
        run(admin.ctx, cohort_placement.do_assign, cohort_id=small.id, enrollment_ids=ids[:3])
    assert field_error(exc)[0] == "cohort_id" and "2 seats left" in field_error(exc)[1]
    assert member_emails(admin.ctx, small.id) == []
    assert all(cohort_of(admin.ctx, i) is None for i in ids)

    assert (
        run(admin.ctx, cohort_placement.do_assign, cohort_id=small.id, enrollment_ids=ids[:2]) == 2
    )
    # Already in: costs no seat and counts as nothing moved.
    assert (
        run(admin.ctx, cohort_placement.do_assign, cohort_id=small.id, enrollment_ids=ids[:1]) == 0
    )
    with pytest.raises(ValidationFailed) as exc:
        run(admin.ctx, cohort_placement.do_assign, cohort_id=small.id, enrollment_ids=[ids[2]])
    assert "full" in field_error(exc)[1]
    (row,) = [r for r in listed(admin.ctx, course) if r.id == small.id]
    assert row.members == 2 and row.seats_left == 0 and not row.is_open
    assert sorted(member_emails(admin.ctx, small.id)) == sorted(p.email for p in people[:2])
    assert sorted(unplaced_emails(admin.ctx, course)) == sorted(p.email for p in people[2:])

    # An id of another course makes the whole batch NotFound, nothing moves.
    other = lf.published_course(admin.ctx)
    stranger = lf.enrollment(people[3].ctx, other)
    big = create(admin.ctx, course, "Big")
    with pytest.raises(NotFound):
        run(
            admin.ctx,
            cohort_placement.do_assign,
            cohort_id=big.id,
            enrollment_ids=[ids[3], stranger],
        )
    assert cohort_of(admin.ctx, ids[3]) is None
    with pytest.raises(NotFound):
        run(admin.ctx, cohort_placement.do_assign, cohort_id=big.id, enrollment_ids=["not-an-id"])
    with pytest.raises(ValidationFailed):
        run(admin.ctx, cohort_placement.do_assign, cohort_id=big.id, enrollment_ids=[])

    # Moving from one cohort to another frees the seat in the first.
    assert (
        run(admin.ctx, cohort_placement.do_assign, cohort_id=big.id, enrollment_ids=[ids[0]]) == 1
    )
    assert cohort_of(admin.ctx, ids[0]) == uuid.UUID(big.id)
    assert member_emails(admin.ctx, small.id) == [people[1].email]
    assert run(admin.ctx, cohort_placement.do_unassign, enrollment_ids=[ids[0], ids[2]]) == 1
    assert cohort_of(admin.ctx, ids[0]) is None


def test_withdrawn_and_rejected_enrollments_free_their_seat() -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    a, b = learners(admin, 2)
    small = create(admin.ctx, course, "Small", capacity="1")
    got = enroll(a.ctx, course, cohort_id=small.id)
    assert got.cohort_id == small.id
    with pytest.raises(ValidationFailed):
        enroll(b.ctx, course, cohort_id=small.id)
    run(a.ctx, enrollments.do_withdraw, enrollment_id=got.id)
    assert enroll(b.ctx, course, cohort_id=small.id).cohort_id == small.id
    assert member_emails(admin.ctx, small.id) == [b.email]


def test_a_withdrawn_learner_made_to_enroll_again_is_not_put_back_in_a_full_cohort() -> None:
    """Mandatory training (or staff) re-enrolling a withdrawn learner reactivates the row:
    the seat they gave up may be taken, so they come back without a cohort."""
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    a, b = learners(admin, 2)
    small = create(admin.ctx, course, "Small", capacity="1")
    got = enroll(a.ctx, course, cohort_id=small.id)
    run(a.ctx, enrollments.do_withdraw, enrollment_id=got.id)
    enroll(b.ctx, course, cohort_id=small.id)
    with tenant_session(admin.ctx) as session:
        row = enrollments.ensure_enrollment(
            session,
            org_id=a.ctx.org_id,
            user_id=a.ctx.user_id,
            course=course_read.access_course(session, admin.ctx, course.course_id),
            source="mandatory",
            mandatory=True,
        )
        assert row is not None and row.status == "active"
        session.commit()
    assert cohort_of(admin.ctx, got.id) is None
    assert member_emails(admin.ctx, small.id) == [b.email]
    assert [c.members for c in listed(admin.ctx, course)] == [1]


def test_archived_cohorts_take_nobody_new_but_keep_their_members() -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    a, b, c = learners(admin, 3)
    spring = create(admin.ctx, course, "Spring")
    enroll(a.ctx, course, cohort_id=spring.id)
    archived = run(admin.ctx, cohort_lifecycle.do_archive_cohort, cohort_id=spring.id)
    assert archived.is_archived and not archived.is_open and archived.members == 1
    assert listed(admin.ctx, course) == []
    assert [r.id for r in listed(admin.ctx, course, include_archived=True)] == [spring.id]
    assert run(b.ctx, cohort_views.open_cohorts, course_id=course.course_id) == []
    with pytest.raises(ValidationFailed) as exc:
        enroll(b.ctx, course, cohort_id=spring.id)
    assert field_error(exc)[0] == "cohort_id" and "archived" in field_error(exc)[1]
    c_id = lf.enrollment(c.ctx, course)
    with pytest.raises(ValidationFailed):
        run(admin.ctx, cohort_placement.do_assign, cohort_id=spring.id, enrollment_ids=[c_id])
    assert member_emails(admin.ctx, spring.id) == [a.email]
    restored = run(admin.ctx, cohort_lifecycle.do_restore_cohort, cohort_id=spring.id)
    assert restored.is_open
    assert (
        run(admin.ctx, cohort_placement.do_assign, cohort_id=spring.id, enrollment_ids=[c_id]) == 1
    )
    actions = [
        e.action
        for e in run(admin.ctx, audit.list_events, page_size=100).rows
        if e.detail.get("cohort_id") == spring.id
    ]
    assert {"cohort.created", "cohort.archived", "cohort.restored", "cohort.assigned"} <= set(
        actions
    )


# --------------------------------------------------------------------------- learners


def test_a_learner_may_pick_an_open_cohort_when_enrolling() -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    a, b, c = learners(admin, 3)
    spring = create(admin.ctx, course, "Spring", starts_on=date_in(3), capacity="10")
    create(admin.ctx, course, "Past", starts_on=date_in(-60), ends_on=date_in(-1))
    full = create(admin.ctx, course, "Full", capacity="1")
    run(
        admin.ctx,
        cohort_placement.do_assign,
        cohort_id=full.id,
        enrollment_ids=[lf.enrollment(c.ctx, course)],
    )
    offered = run(a.ctx, cohort_views.open_cohorts, course_id=course.course_id)
    assert [r.name for r in offered] == ["Spring"]  # not the ended one, not the full one

    got = enroll(a.ctx, course, cohort_id=spring.id)
    assert got.status == "active" and got.cohort_id == spring.id
    assert member_emails(admin.ctx, spring.id) == [a.email]
    mine = run(a.ctx, cohort_views.my_cohort, course_id=course.course_id)
    assert mine is not None and mine.name == "Spring"

    # Not forced: enrolling without a choice works while cohorts are open.
    plain = enroll(b.ctx, course)
    assert plain.status == "active" and plain.cohort_id == ""
    assert b.email in unplaced_emails(admin.ctx, course)


def test_a_cohort_that_is_not_open_is_refused_and_nothing_is_written(peek: Any) -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    other_course = lf.published_course(admin.ctx)
    (a,) = learners(admin, 1)
    past = create(admin.ctx, course, "Past", ends_on=date_in(-1))
    elsewhere = create(admin.ctx, other_course, "Elsewhere")
    for choice, words in [
        (past.id, "ended"),
        (elsewhere.id, "Choose one of this course's cohorts"),
        ("not-a-uuid", "Choose one of this course's cohorts"),
        (str(uuid.uuid4()), "Choose one of this course's cohorts"),
    ]:
        with pytest.raises(ValidationFailed) as exc:
            enroll(a.ctx, course, cohort_id=choice)
        assert field_error(exc)[0] == "cohort_id" and words in field_error(exc)[1]
    with tenant_session(a.ctx) as session:
        assert enrollments.own_enrollment(session, a.ctx, course.course_id) is None
    # Staff may still place someone in a cohort that has ended (a late joiner).
    enrolled = enroll(a.ctx, course)
    assert (
        run(admin.ctx, cohort_placement.do_assign, cohort_id=past.id, enrollment_ids=[enrolled.id])
        == 1
    )


def test_an_application_holds_its_seat_and_approval_keeps_the_cohort() -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx, requires_approval=True)
    a, b = learners(admin, 2)
    small = create(admin.ctx, course, "Small", capacity="1")
    applied = enroll(a.ctx, course, cohort_id=small.id, note="Please")
    assert applied.status == "pending" and applied.cohort_id == small.id
    (row,) = listed(admin.ctx, course)
    assert row.members == 1 and row.seats_left == 0  # the application holds the seat
    with pytest.raises(ValidationFailed):
        enroll(b.ctx, course, cohort_id=small.id)
    # Staff see the chosen cohort on the application.
    apps, _ = run(admin.ctx, enrollment_approvals.list_applications)
    assert [(r.learner_email, r.cohort) for r in apps] == [(a.email, "Small")]

    # Archiving meanwhile does not take the seat away: members (applicants too) stay.
    run(admin.ctx, cohort_lifecycle.do_archive_cohort, cohort_id=small.id)
    with tenant_session(admin.ctx) as session:
        approved = enrollment_approvals.do_approve(session, admin.ctx, applied.id)
    assert approved.status == "active" and approved.cohort_id == small.id
    assert "Small" in approved.notice
    assert member_emails(admin.ctx, small.id) == [a.email]


def test_staff_may_place_an_applicant_in_another_cohort_as_they_approve() -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx, requires_approval=True)
    a, b, c = learners(admin, 3)
    first = create(admin.ctx, course, "First")
    second = create(admin.ctx, course, "Second", capacity="1")
    app_a = enroll(a.ctx, course, cohort_id=first.id)
    app_b = enroll(b.ctx, course)
    app_c = enroll(c.ctx, course)
    with tenant_session(admin.ctx) as session:
        moved = enrollment_approvals.do_approve(session, admin.ctx, app_a.id, cohort_id=second.id)
    assert moved.cohort_id == second.id and member_emails(admin.ctx, first.id) == []
    # Second is now full: approving into it is refused and the application stays pending.
    with tenant_session(admin.ctx) as session, pytest.raises(ValidationFailed) as exc:
        enrollment_approvals.do_approve(session, admin.ctx, app_b.id, cohort_id=second.id)
    assert field_error(exc)[0] == "cohort_id"
    with tenant_session(admin.ctx) as session:
        assert access(session, admin.ctx, Enrollment, app_b.id).status == "pending"
        placed = enrollment_approvals.do_approve(session, admin.ctx, app_b.id, cohort_id=first.id)
        plain = enrollment_approvals.do_approve(session, admin.ctx, app_c.id)
    assert placed.cohort_id == first.id and placed.status == "active"
    assert plain.cohort_id == "" and plain.notice == ""


def test_another_orgs_cohort_is_refused_everywhere() -> None:
    a_admin, b_admin = f.new_admin(), f.new_admin()
    a_course = lf.published_course(a_admin.ctx)
    b_course = lf.published_course(b_admin.ctx)
    a_cohort = create(a_admin.ctx, a_course, "A's cohort")
    b_cohort = create(b_admin.ctx, b_course, "B's cohort")
    (a_learner,) = learners(a_admin, 1)
    (b_learner,) = learners(b_admin, 1)
    a_enrollment = lf.enrollment(a_learner.ctx, a_course)
    b_enrollment = lf.enrollment(b_learner.ctx, b_course)

    # B's learner, enrolling in B's course, cannot take a seat in A's cohort.
    other = lf.published_course(b_admin.ctx)
    with pytest.raises(ValidationFailed) as exc:
        enroll(b_learner.ctx, other, cohort_id=a_cohort.id)
    assert field_error(exc)[0] == "cohort_id"
    # B's admin can neither touch A's cohort nor move A's enrollment into B's.
    for attempt in (
        lambda s, c: cohort_lifecycle.do_update_cohort(s, c, cohort_id=a_cohort.id, name="Mine"),
        lambda s, c: cohort_lifecycle.do_archive_cohort(s, c, cohort_id=a_cohort.id),
        lambda s, c: cohort_views.members(s, c, cohort_id=a_cohort.id),
        lambda s, c: cohort_placement.do_assign(
            s, c, cohort_id=a_cohort.id, enrollment_ids=[b_enrollment]
        ),
        lambda s, c: cohort_placement.do_assign(
            s, c, cohort_id=b_cohort.id, enrollment_ids=[a_enrollment]
        ),
        lambda s, c: cohort_placement.do_unassign(s, c, enrollment_ids=[a_enrollment]),
        lambda s, c: cohort_views.list_cohorts(s, c, course_id=a_course.course_id),
    ):
        with tenant_session(b_admin.ctx) as session, pytest.raises(NotFound):
            attempt(session, b_admin.ctx)
    assert [r.name for r in listed(a_admin.ctx, a_course)] == ["A's cohort"]
    assert cohort_of(a_admin.ctx, a_enrollment) is None


def test_a_child_org_runs_its_own_cohorts_of_a_parents_shared_course() -> None:
    parent = f.new_admin()
    child = f.child_org(parent.ctx)
    parent = f.refresh(parent)
    child_admin = f.invite_and_accept_member(parent.ctx, Role.org_admin, org_id=child.id)
    child_instructor = f.invite_and_accept_member(child_admin.ctx, Role.instructor)
    shared = lf.published_course(parent.ctx, shared=True)
    parents_own = create(parent.ctx, shared, "Head office")
    ours = create(child_admin.ctx, shared, "Head office")  # same name: another org's set
    assert [r.id for r in listed(child_admin.ctx, shared)] == [ours.id]
    assert [r.id for r in listed(parent.ctx, shared)] == [parents_own.id]

    (learner,) = learners(child_admin, 1)
    offered = run(learner.ctx, cohort_views.open_cohorts, course_id=shared.course_id)
    assert [r.id for r in offered] == [ours.id]
    with pytest.raises(ValidationFailed):
        enroll(learner.ctx, shared, cohort_id=parents_own.id)
    got = enroll(learner.ctx, shared, cohort_id=ours.id)
    assert got.org_id == str(child.id) and got.cohort_id == ours.id
    assert member_emails(child_admin.ctx, ours.id) == [learner.email]

    # The parent's admin reads the child's learners elsewhere, but cannot move them into a
    # parent cohort (an enrollment only ever sits in a cohort of its own org).
    with pytest.raises(NotFound):
        run(
            parent.ctx,
            cohort_placement.do_assign,
            cohort_id=parents_own.id,
            enrollment_ids=[got.id],
        )
    # The child's instructor did not write the parent's course: not theirs to run.
    with pytest.raises(NotFound):
        listed(child_instructor.ctx, shared)
    # An unshared course of the parent is not the child's at all.
    private = lf.published_course(parent.ctx)
    with pytest.raises(NotFound):
        create(child_admin.ctx, private, "Ours")


def test_who_may_manage() -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    instructor = f.invite_and_accept_member(admin.ctx, Role.instructor)
    staff = f.invite_and_accept_member(admin.ctx, Role.staff)
    assert create(instructor.ctx, course, "By the instructor").name == "By the instructor"
    assert len(listed(staff.ctx, course)) == 1
    for role in (Role.learner, Role.manager, Role.auditor):
        who = f.invite_and_accept_member(admin.ctx, role)
        with pytest.raises(PermissionDenied):
            listed(who.ctx, course)
        with pytest.raises(PermissionDenied):
            create(who.ctx, course, "Mine")
    with tenant_session(admin.ctx) as session:
        writes.set_overrides(session, admin.org_id, {"features": {"lms": False}})
        session.commit()
    cache.invalidate()
    with pytest.raises(PermissionDenied):
        listed(admin.ctx, course)


def test_members_and_unplaced_are_searchable_and_paged() -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    tag = uuid.uuid4().hex[:6]
    people = [
        f.invite_and_accept_member(admin.ctx, Role.learner, full_name=f"{name} {tag}")
        for name in ("Ada", "Bea", "Cy", "Dee", "Eli")
    ]
    ids = [lf.enrollment(p.ctx, course) for p in people]
    complete(people[0].ctx, course, course.lesson_ids[0])  # 25 %
    withdrawn = f.invite_and_accept_member(admin.ctx, Role.learner)
    lf.enrollment(withdrawn.ctx, course, status="withdrawn")
    page1 = run(admin.ctx, cohort_views.unplaced, course_id=course.course_id, page=1, page_size=2)
    assert page1.total == 5 and [r.name.split()[0] for r in page1.rows] == ["Ada", "Bea"]
    assert page1.rows[0].progress_percent == 25 and page1.rows[0].status == "active"
    page3 = run(admin.ctx, cohort_views.unplaced, course_id=course.course_id, page=9, page_size=2)
    assert page3.page == 3 and [r.name.split()[0] for r in page3.rows] == ["Eli"]
    assert unplaced_emails(admin.ctx, course, q="cy ") == [people[2].email]
    assert unplaced_emails(admin.ctx, course, q=people[3].email.upper()) == [people[3].email]
    assert unplaced_emails(admin.ctx, course, q="%") == []

    crew = create(admin.ctx, course, "Crew")
    run(admin.ctx, cohort_placement.do_assign, cohort_id=crew.id, enrollment_ids=ids[1:4])
    assert member_emails(admin.ctx, crew.id, q="dee") == [people[3].email]
    got = run(admin.ctx, cohort_views.members, cohort_id=crew.id, page_size=2)
    assert got.total == 3 and len(got.rows) == 2
    assert sorted(unplaced_emails(admin.ctx, course)) == sorted([people[0].email, people[4].email])


# --------------------------------------------------------------------------- live


def test_moves_publish_the_class_view_and_the_learners_chat_lists(
    heard: list[tuple[str, dict[str, Any]]],
) -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    a, b = learners(admin, 2)
    ids = [lf.enrollment(a.ctx, course), lf.enrollment(b.ctx, course)]
    crew = create(admin.ctx, course, "Crew", capacity="1")
    progress_topic = topics.PROGRESS.name(org=admin.org_id, course=course.course_id)
    chat_a = topics.CHAT_LIST.name(org=admin.org_id, user=a.user_id)
    chat_b = topics.CHAT_LIST.name(org=admin.org_id, user=b.user_id)

    heard.clear()
    with pytest.raises(ServiceError):  # refused: nothing committed, nothing published
        run(admin.ctx, cohort_placement.do_assign, cohort_id=crew.id, enrollment_ids=ids)
    assert heard == []
    run(admin.ctx, cohort_placement.do_assign, cohort_id=crew.id, enrollment_ids=ids[:1])
    watched = [t for t, _ in heard]
    assert progress_topic in watched and (chat_a, CHANNELS) in heard and chat_b not in watched

    heard.clear()
    run(admin.ctx, cohort_placement.do_unassign, enrollment_ids=ids)
    assert progress_topic in [t for t, _ in heard] and (chat_a, CHANNELS) in heard
    assert chat_b not in [t for t, _ in heard]  # b was in no cohort: nothing moved


def test_enrolling_and_approval_tell_the_learners_chat_list(
    heard: list[tuple[str, dict[str, Any]]],
) -> None:
    admin = f.new_admin()
    free = lf.published_course(admin.ctx)
    gated = lf.published_course(admin.ctx, requires_approval=True)
    crew = create(admin.ctx, free, "Crew")
    a, b = learners(admin, 2)
    chat_a = topics.CHAT_LIST.name(org=admin.org_id, user=a.user_id)
    chat_b = topics.CHAT_LIST.name(org=admin.org_id, user=b.user_id)

    heard.clear()
    enroll(a.ctx, free, cohort_id=crew.id)
    assert (chat_a, CHANNELS) in heard
    assert topics.PROGRESS.name(org=admin.org_id, course=free.course_id) in [t for t, _ in heard]

    heard.clear()
    applied = enroll(b.ctx, gated)
    assert chat_b not in [t for t, _ in heard]  # pending: no course channel yet
    with tenant_session(admin.ctx) as session:
        enrollment_approvals.do_approve(session, admin.ctx, applied.id)
    assert (chat_b, CHANNELS) in heard
