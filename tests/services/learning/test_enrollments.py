"""Enrolling: free courses at once, applications staff decide, paid courses refused, one row
per learner and course whatever the clicks, and the welcome/instructor job."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from app.models.base import utcnow
from app.models.course import Course
from app.models.enrollment import Enrollment, EnrollmentStatus
from app.models.user import Role
from app.services.core import topics
from app.services.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.services.core.tenancy import OrgContext, access, mark_scoped, tenant_session
from app.services.infra import outbox
from app.services.learning import enrollment_approvals, enrollments
from tests import factories as f
from tests import learning_factories as lf
from tests.conftest import Backend

pytestmark = pytest.mark.usefixtures("backend")


def _enroll(ctx: OrgContext, course_id: uuid.UUID, **kw: Any) -> enrollments.EnrollmentView:
    kw.setdefault("funding_source", "self_pay")
    with tenant_session(ctx) as session:
        return enrollments.do_enroll(session, ctx, course_id=course_id, **kw)


def _count(peek: Any, sql: str, **params: Any) -> int:
    return int(peek(sql, **params)[0][0])


def _enrollment_count(peek: Any, backend: Backend, user_id: uuid.UUID, course_id: uuid.UUID) -> int:
    u, c = (str(user_id), str(course_id)) if backend.is_postgres else (user_id.hex, course_id.hex)
    return _count(
        peek, "SELECT count(*) FROM enrollments WHERE user_id = :u AND course_id = :c", u=u, c=c
    )


def _jobs(peek: Any, key: str) -> int:
    return _count(peek, "SELECT count(*) FROM outbox_jobs WHERE dedupe_key = :k", k=key)


def test_free_course_enrolls_at_once_with_funding_source(backend: Backend, peek: Any) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept(admin.ctx, Role.learner)
    course = lf.published_course(admin.ctx)
    got = _enroll(learner, course.course_id, funding_source="employer_paid")
    assert got.status == "active" and got.funding_source == "employer_paid"
    assert got.org_id == str(admin.org_id) and got.source == "self"
    assert _jobs(peek, f"enrollment.created:{got.id}") == 1


def test_double_click_two_tabs_and_replay_return_the_same_enrollment(
    backend: Backend, peek: Any
) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept(admin.ctx, Role.learner)
    course = lf.published_course(admin.ctx)
    first = _enroll(learner, course.course_id)
    second = _enroll(learner, course.course_id)
    third = _enroll(learner, str(course.course_id), funding_source="employer_paid")
    assert first.id == second.id == third.id
    assert third.funding_source == "self_pay"  # a replay changes nothing
    assert _enrollment_count(peek, backend, learner.user_id, course.course_id) == 1
    assert _jobs(peek, f"enrollment.created:{first.id}") == 1


def test_concurrent_enrollments_make_one_row(backend: Backend, peek: Any) -> None:
    """Two tabs submitting at the same moment (real concurrency on PostgreSQL)."""
    if not backend.is_postgres:
        pytest.skip("SQLite serializes writers; the unique key is exercised by the replay test")
    admin = f.new_admin()
    learner = f.invite_and_accept(admin.ctx, Role.learner)
    course = lf.published_course(admin.ctx)
    barrier = threading.Barrier(4)
    results: list[str] = []
    errors: list[BaseException] = []

    def tab() -> None:
        try:
            barrier.wait()
            results.append(_enroll(learner, course.course_id).id)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=tab) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(results)) == 1 and len(results) == 4
    assert _enrollment_count(peek, backend, learner.user_id, course.course_id) == 1
    assert _jobs(peek, f"enrollment.created:{results[0]}") == 1


def test_paid_course_is_refused_and_nothing_written(backend: Backend, peek: Any) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept(admin.ctx, Role.learner)
    course = lf.published_course(admin.ctx, price_cents=4900)
    with pytest.raises(ValidationFailed, match="billing"):
        _enroll(learner, course.course_id)
    assert _enrollment_count(peek, backend, learner.user_id, course.course_id) == 0


def test_funding_source_must_be_one_of_the_orgs(backend: Backend) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept(admin.ctx, Role.learner)
    course = lf.published_course(admin.ctx)
    for bad in ("", "grant_from_mars", "<script>"):
        with pytest.raises(ValidationFailed) as err:
            _enroll(learner, course.course_id, funding_source=bad)
        assert err.value.field == "funding_source"


def test_drafts_and_other_orgs_courses_cannot_be_enrolled(backend: Backend) -> None:
    pair = f.two_tenants()
    learner = f.invite_and_accept(pair.a.ctx, Role.learner)
    draft = lf.published_course(pair.a.ctx, status="draft")
    foreign = lf.published_course(pair.b.ctx, shared=True)
    with pytest.raises(NotFound):
        _enroll(learner, draft.course_id)
    with pytest.raises(NotFound):
        _enroll(learner, foreign.course_id)
    with pytest.raises(NotFound):
        _enroll(learner, "not-a-uuid")


def test_prerequisites_must_be_completed(backend: Backend) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept(admin.ctx, Role.learner)
    basics = lf.published_course(admin.ctx, title="Basics 101")
    advanced = lf.published_course(admin.ctx)
    with tenant_session(admin.ctx) as session:
        row = access(session, admin.ctx, Course, advanced.course_id)
        assert row is not None
        row.prerequisite_ids = [str(basics.course_id)]
        session.add(row)
        session.commit()
    with pytest.raises(ValidationFailed, match="Basics 101"):
        _enroll(learner, advanced.course_id)
    lf.enrollment(learner, basics, status="completed")
    assert _enroll(learner, advanced.course_id).status == "active"


def test_application_then_approval(backend: Backend, peek: Any) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept(admin.ctx, Role.learner)
    course = lf.published_course(admin.ctx, requires_approval=True)
    applied = _enroll(learner, course.course_id, note="My manager agreed.")
    assert applied.status == "pending" and applied.application_note == "My manager agreed."
    assert _jobs(peek, f"enrollment.created:{applied.id}") == 0  # not enrolled yet
    assert _enroll(learner, course.course_id).id == applied.id  # applying twice: same row

    with tenant_session(learner) as session, pytest.raises(PermissionDenied):
        enrollment_approvals.list_applications(session, learner)
    with tenant_session(admin.ctx) as session:
        rows, total = enrollment_approvals.list_applications(session, admin.ctx)
        mine = [r for r in rows if r.id == applied.id]
        assert total >= 1 and mine and mine[0].course_title == course.title
        assert mine[0].note == "My manager agreed."
        approved = enrollment_approvals.do_approve(session, admin.ctx, applied.id)
    assert approved.status == "active"
    with tenant_session(admin.ctx) as session, pytest.raises(Conflict):
        enrollment_approvals.do_approve(session, admin.ctx, applied.id)
    assert _jobs(peek, f"enrollment.created:{applied.id}") == 1
    assert (
        _count(
            peek,
            "SELECT count(*) FROM audit_events WHERE action = 'enrollment.approved'"
            " AND target = :t",
            t=course.title,
        )
        == 1
    )
    assert (
        _count(
            peek,
            "SELECT count(*) FROM notifications WHERE kind = 'enrollment.approved'"
            " AND title LIKE :t",
            t=f"%{course.title}%",
        )
        == 1
    )
    assert (
        _count(
            peek,
            "SELECT count(*) FROM outbound_emails WHERE to_email = :e"
            " AND kind = 'enrollment.approved'",
            e=learner.email,
        )
        == 1
    )


def test_rejection_needs_a_reason_and_the_learner_may_apply_again(
    backend: Backend, peek: Any
) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept(admin.ctx, Role.learner)
    course = lf.published_course(admin.ctx, requires_approval=True)
    applied = _enroll(learner, course.course_id)
    with tenant_session(admin.ctx) as session:
        for bad in ("", "  ", "no", "x" * 1001):
            with pytest.raises(ValidationFailed) as err:
                enrollment_approvals.do_reject(session, admin.ctx, applied.id, bad)
            assert err.value.field == "reason"
        rejected = enrollment_approvals.do_reject(
            session, admin.ctx, applied.id, "Class is full this term"
        )
    assert rejected.status == "rejected" and rejected.decision_reason == "Class is full this term"
    assert (
        _count(
            peek,
            "SELECT count(*) FROM outbound_emails WHERE to_email = :e"
            " AND body_text LIKE '%Class is full%'",
            e=learner.email,
        )
        == 1
    )
    again = _enroll(learner, course.course_id, note="Next term then")
    assert again.id == applied.id and again.status == "pending"
    assert again.decision_reason == ""


def test_withdraw_own_enrollment_only(backend: Backend) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept(admin.ctx, Role.learner)
    other = f.invite_and_accept(admin.ctx, Role.learner)
    course = lf.published_course(admin.ctx)
    got = _enroll(learner, course.course_id)
    with tenant_session(other) as session, pytest.raises(NotFound):
        enrollments.do_withdraw(session, other, got.id)
    with tenant_session(learner) as session:
        assert enrollments.do_withdraw(session, learner, got.id).status == "withdrawn"
    assert _enroll(learner, course.course_id).status == "active"  # re-enroll reuses the row


def test_welcome_email_and_instructor_notification_run_once(backend: Backend, peek: Any) -> None:
    admin = f.new_admin()
    learner_in = f.invite_and_accept_member(admin.ctx, Role.learner)
    course = lf.published_course(admin.ctx)
    got = _enroll(learner_in.ctx, course.course_id)
    outbox.run_due(worker="test")
    assert (
        _count(
            peek,
            "SELECT count(*) FROM outbound_emails WHERE to_email = :e"
            " AND kind = 'enrollment.welcome'",
            e=learner_in.email,
        )
        == 1
    )
    marker = f"enrollment.created:{got.id}:instructor"
    rows = peek("SELECT user_id, org_id FROM notifications WHERE dedupe_key = :k", k=marker)
    assert len(rows) == 1
    # a second run of the same job (a worker killed after the work) does nothing more
    handler = outbox._HANDLERS["enrollment.created"]
    from app.db import Scope, open_session
    from app.models.outbox import OutboxJob

    with open_session(Scope(system=True)) as session:
        job = session.exec(
            mark_scoped(
                select(OutboxJob).where(OutboxJob.dedupe_key == f"enrollment.created:{got.id}")
            )
        ).one()
    with open_session(Scope(org_ids={admin.org_id})) as session:
        handler(session, job)
        session.commit()
    assert (
        _count(
            peek,
            "SELECT count(*) FROM outbound_emails WHERE to_email = :e"
            " AND kind = 'enrollment.welcome'",
            e=learner_in.email,
        )
        == 1
    )
    assert len(peek("SELECT id FROM notifications WHERE dedupe_key = :k", k=marker)) == 1


def test_child_org_learner_enrolls_in_shared_course_notification_in_child_org(
    backend: Backend, peek: Any
) -> None:
    admin = f.new_admin()
    child = f.child_org(admin.ctx)
    admin = f.refresh(admin)
    learner = f.invite_and_accept(admin.ctx, Role.learner, org_id=child.id)
    course = lf.published_course(admin.ctx, shared=True)
    got = _enroll(learner, course.course_id)
    assert got.org_id == str(child.id)
    outbox.run_due(worker="test")
    marker = f"enrollment.created:{got.id}:instructor"
    ((user_id, org_id),) = peek(
        "SELECT user_id, org_id FROM notifications WHERE dedupe_key = :k", k=marker
    )
    assert str(uuid.UUID(str(user_id))) == str(admin.user_id)
    assert str(uuid.UUID(str(org_id))) == str(child.id)


# --------------------------------------------------------------------------- ensure_enrollment


def _course_row(ctx: OrgContext, course_id: uuid.UUID) -> Course:
    with tenant_session(ctx) as session:
        row = access(session, ctx, Course, course_id)
        assert row is not None
        return row


def _ensure(ctx: OrgContext, user_id: uuid.UUID, course: Course, **kw: Any) -> Enrollment | None:
    assert ctx.org_id is not None
    with tenant_session(ctx) as session:
        row = enrollments.ensure_enrollment(
            session, org_id=ctx.org_id, user_id=user_id, course=course, **kw
        )
        session.commit()
        return row


def _read(ctx: OrgContext, enrollment_id: uuid.UUID) -> Enrollment:
    with tenant_session(ctx) as session:
        row = session.exec(
            mark_scoped(select(Enrollment).where(Enrollment.id == enrollment_id))
        ).one()
        return row


def test_ensure_enrollment_creates_upgrades_and_never_downgrades(
    backend: Backend, peek: Any
) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept(admin.ctx, Role.learner)
    world = lf.published_course(admin.ctx, requires_approval=True)
    course = _course_row(admin.ctx, world.course_id)
    later, sooner = utcnow() + timedelta(days=30), utcnow() + timedelta(days=10)

    row = _ensure(admin.ctx, learner.user_id, course, source="mandatory", due_at=later)
    assert row is not None and row.status == "active" and row.source == "mandatory"
    assert _jobs(peek, f"enrollment.created:{row.id}") == 1
    again = _ensure(
        admin.ctx, learner.user_id, course, source="mandatory", mandatory=True, due_at=sooner
    )
    assert again is not None and again.id == row.id
    fresh = _read(admin.ctx, row.id)
    assert (
        fresh.mandatory
        and abs((fresh.due_at.replace(tzinfo=None) - sooner.replace(tzinfo=None)).total_seconds())
        < 1
    )  # type: ignore[union-attr]
    _ensure(admin.ctx, learner.user_id, course, source="mandatory", due_at=later)
    assert (
        abs(
            (
                _read(admin.ctx, row.id).due_at.replace(tzinfo=None) - sooner.replace(tzinfo=None)
            ).total_seconds()
        )
        < 1
    )  # type: ignore[union-attr]
    assert _enrollment_count(peek, backend, learner.user_id, world.course_id) == 1

    with tenant_session(admin.ctx) as session:
        done = session.exec(mark_scoped(select(Enrollment).where(Enrollment.id == row.id))).one()
        done.status = EnrollmentStatus.completed
        session.add(done)
        session.commit()
    _ensure(admin.ctx, learner.user_id, course, source="mandatory", mandatory=True)
    assert _read(admin.ctx, row.id).status == "completed"


def test_ensure_enrollment_activates_an_application_and_does_not_commit(
    backend: Backend, peek: Any
) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept(admin.ctx, Role.learner)
    other = f.invite_and_accept(admin.ctx, Role.learner)
    world = lf.published_course(admin.ctx, requires_approval=True)
    course = _course_row(admin.ctx, world.course_id)
    applied = _enroll(learner, world.course_id)
    assert applied.status == "pending"
    row = _ensure(admin.ctx, learner.user_id, course, source="staff")
    assert row is not None and str(row.id) == applied.id and row.status == "active"

    assert admin.ctx.org_id is not None
    with tenant_session(admin.ctx) as session:
        enrollments.ensure_enrollment(
            session, org_id=admin.ctx.org_id, user_id=other.user_id, course=course, source="staff"
        )
        session.rollback()  # the caller's transaction decides
    assert _enrollment_count(peek, backend, other.user_id, world.course_id) == 0


def _roster_pushes(heard: list[tuple[str, dict[str, Any]]], course: lf.CourseWorld) -> list[str]:
    """The enrollment ids pushed to the course's open class views (their progress topic)."""
    topic = topics.PROGRESS.name(org=course.org_id, course=course.course_id)
    got = [p.get("enrollment_id", "") for t, p in heard if t == topic]
    heard.clear()
    return got


def test_every_enrollment_change_reaches_the_open_class_views(
    heard: list[tuple[str, dict[str, Any]]],
) -> None:
    """An instructor's live roster shows someone the moment they enroll, apply, are
    approved or rejected, or withdraw: each is pushed on the course's progress topic."""
    admin = f.new_admin()
    ann = f.invite_and_accept(admin.ctx, Role.learner)
    ben = f.invite_and_accept(admin.ctx, Role.learner)
    free = lf.published_course(admin.ctx)
    vetted = lf.published_course(admin.ctx, requires_approval=True)
    heard.clear()

    enrolled = _enroll(ann, free.course_id)
    assert _roster_pushes(heard, free) == [enrolled.id]
    with tenant_session(ann) as session:
        enrollments.do_withdraw(session, ann, enrolled.id)
    assert _roster_pushes(heard, free) == [enrolled.id]

    applied = _enroll(ann, vetted.course_id)
    assert _roster_pushes(heard, vetted) == [applied.id]
    with tenant_session(admin.ctx) as session:
        enrollment_approvals.do_approve(session, admin.ctx, applied.id)
    assert _roster_pushes(heard, vetted) == [applied.id]
    other = _enroll(ben, vetted.course_id)
    heard.clear()
    with tenant_session(admin.ctx) as session:
        enrollment_approvals.do_reject(session, admin.ctx, other.id, "Not this term.")
    assert _roster_pushes(heard, vetted) == [other.id]

    with tenant_session(admin.ctx) as session:
        course = access(session, admin.ctx, Course, free.course_id)
        made = enrollments.ensure_enrollment(
            session, org_id=admin.org_id, user_id=ben.user_id, course=course, source="compliance"
        )
        assert made is not None
        session.commit()
    assert _roster_pushes(heard, free) == [str(made.id)]
