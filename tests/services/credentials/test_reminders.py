"""Reminders: due soon and overdue mandatory training, once per enrollment and due date,
found by a worker that has no org scope of its own."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from app.db import Scope, open_session
from app.models.base import utcnow
from app.models.certificate import Certificate
from app.models.enrollment import Enrollment
from app.models.mail import OutboundEmail
from app.models.outbox import OutboxJob
from app.models.user import Role
from app.services.comms import notifications
from app.services.core.tenancy import mark_scoped, tenant_session
from app.services.credentials import compliance_rules, reminders
from app.services.infra import outbox
from tests import factories as f
from tests import learning_factories as lf
from tests import outbox_helpers as oh

pytestmark = pytest.mark.usefixtures("backend")


def make_mandatory(enrollment_id: uuid.UUID, org_id: uuid.UUID, due: datetime | None) -> None:
    with open_session(Scope(org_ids={org_id})) as session:
        session.execute(
            update(Enrollment)
            .where(col(Enrollment.id) == enrollment_id)
            .values(mandatory=True, source="mandatory", due_at=due)
        )
        session.commit()


def scan(org_id: uuid.UUID, now: datetime | None = None) -> reminders.ScanResult:
    with open_session(Scope(org_ids={org_id})) as session:
        result = reminders.scan_org(session, org_id=org_id, now=now)
        session.commit()
    return result


def titles(who: f.SignedIn, kind: str) -> list[str]:
    with tenant_session(who.ctx) as session:
        return [r.title for r in notifications.list_for_user(session, who.ctx, kind=kind).rows]


def setup_learner() -> tuple[f.SignedIn, f.SignedIn, lf.CourseWorld]:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    course = lf.published_course(admin.ctx, title=f.unique("Fire safety"))
    return admin, learner, course


def test_due_soon_reminds_once_per_enrollment_and_due_date() -> None:
    admin, learner, course = setup_learner()
    enrollment_id = lf.enrollment(learner.ctx, course)
    make_mandatory(enrollment_id, admin.org_id, utcnow() + timedelta(days=2))
    assert scan(admin.org_id) == reminders.ScanResult(due_soon=1)
    assert scan(admin.org_id) == reminders.ScanResult()  # the next pass adds nothing
    assert titles(learner, "lesson.due_soon") == [f"Due soon: {course.title}"]
    # The due date moves (still within the window): one more reminder for the new date.
    make_mandatory(enrollment_id, admin.org_id, utcnow() + timedelta(days=1))
    assert scan(admin.org_id) == reminders.ScanResult(due_soon=1)
    assert len(titles(learner, "lesson.due_soon")) == 2


def test_overdue_reminds_once_and_is_emailed_by_default() -> None:
    admin, learner, course = setup_learner()
    enrollment_id = lf.enrollment(learner.ctx, course)
    due = utcnow() + timedelta(days=2)
    make_mandatory(enrollment_id, admin.org_id, due)
    scan(admin.org_id)  # due soon
    later = due + timedelta(hours=1)
    assert scan(admin.org_id, now=later) == reminders.ScanResult(overdue=1)
    assert scan(admin.org_id, now=later + timedelta(days=1)) == reminders.ScanResult()
    assert titles(learner, "mandatory.overdue") == [f"Overdue: {course.title}"]
    with open_session(Scope(org_ids={admin.org_id})) as session:
        kinds = session.exec(
            mark_scoped(
                select(OutboundEmail.kind).where(
                    OutboundEmail.org_id == admin.org_id, OutboundEmail.to_email == learner.email
                )
            )
        ).all()
    assert sorted(kinds) == ["invite", "mandatory.overdue"]  # due-soon is not emailed by default


@pytest.mark.parametrize(
    ("mandatory", "status", "days"),
    [
        (False, "active", 1),  # not mandatory
        (True, "completed", -1),  # already done
        (True, "withdrawn", -1),
        (True, "active", 10),  # not due for a while
        (True, "active", None),  # no due date
    ],
)
def test_nothing_to_remind(mandatory: bool, status: str, days: int | None) -> None:
    admin, learner, course = setup_learner()
    enrollment_id = lf.enrollment(learner.ctx, course, status=status)
    due = None if days is None else utcnow() + timedelta(days=days)
    make_mandatory(enrollment_id, admin.org_id, due)
    if not mandatory:
        with open_session(Scope(org_ids={admin.org_id})) as session:
            session.execute(
                update(Enrollment)
                .where(col(Enrollment.id) == enrollment_id)
                .values(mandatory=False)
            )
            session.commit()
    assert scan(admin.org_id) == reminders.ScanResult()


def test_a_course_shared_from_the_parent_org_is_named() -> None:
    parent = f.new_admin()
    child = f.child_org(parent.ctx)
    parent = f.refresh(parent)
    course = lf.published_course(parent.ctx, shared=True, title=f.unique("Shared course"))
    learner = f.invite_and_accept_member(parent.ctx, Role.learner, org_id=child.id)
    assert learner.org_id == child.id
    enrollment_id = lf.enrollment(learner.ctx, course)
    make_mandatory(enrollment_id, child.id, utcnow() - timedelta(days=1))
    assert scan(child.id) == reminders.ScanResult(overdue=1)
    assert titles(learner, "mandatory.overdue") == [f"Overdue: {course.title}"]


def test_the_worker_finds_every_org_and_scans_each_in_its_own_scope() -> None:
    t = f.two_tenants()
    found = set(reminders.active_org_ids())
    assert {t.a.org_id, t.b.org_id} <= found  # the system scope may list orgs (0006)
    learners = []
    for admin in (t.a, t.b):
        learner = f.invite_and_accept_member(admin.ctx, Role.learner)
        course = lf.published_course(admin.ctx)
        make_mandatory(lf.enrollment(learner.ctx, course), admin.org_id, utcnow())
        learners.append(learner)
    now = utcnow()
    assert reminders.run_reminders(now=now, org_ids=[t.a.org_id, t.b.org_id]) == 2
    # Two workers in the same slot: still one job per org.
    assert reminders.run_reminders(now=now, org_ids=[t.a.org_id, t.b.org_id]) == 2
    jobs = []
    for admin in (t.a, t.b):
        with open_session(Scope(org_ids={admin.org_id})) as session:
            rows = session.exec(
                mark_scoped(
                    select(OutboxJob).where(
                        OutboxJob.org_id == admin.org_id, OutboxJob.kind == reminders.SCAN_JOB
                    )
                )
            ).all()
        assert len(rows) == 1
        jobs.append(rows[0].id)
    for _ in range(50):
        if all(oh.status(j) == "done" for j in jobs):
            break
        outbox.run_due(worker="test")
    assert [oh.status(j) for j in jobs] == ["done", "done"]
    for learner in learners:
        assert len(titles(learner, "mandatory.overdue")) == 1


def test_inline_run_reminds_directly() -> None:
    admin, learner, course = setup_learner()
    make_mandatory(lf.enrollment(learner.ctx, course), admin.org_id, utcnow())
    assert reminders.run_reminders(inline=True, org_ids=[admin.org_id]) == 1
    assert reminders.run_reminders(inline=True, org_ids=[admin.org_id]) == 1
    assert len(titles(learner, "mandatory.overdue")) == 1


def test_the_slot_is_stable_within_its_minutes() -> None:
    base = datetime(2026, 5, 1, 10, 0)
    assert reminders._slot(base) == reminders._slot(base + timedelta(minutes=14))
    assert reminders._slot(base) != reminders._slot(base + timedelta(minutes=15))


def test_the_scan_opens_recertifications_and_then_reminds_them_like_any_due_training() -> None:
    admin, learner, course = setup_learner()
    with tenant_session(admin.ctx) as session:
        compliance_rules.do_set_rule(
            session, admin.ctx, course_id=course.course_id, role=Role.learner, days_to_complete=30
        )
    with open_session(Scope(org_ids={admin.org_id})) as session:
        row = session.exec(
            mark_scoped(select(Enrollment).where(Enrollment.user_id == learner.user_id))
        ).one()
        row.status, row.completed_at, row.progress_percent = "completed", utcnow(), 100
        expires = utcnow() + timedelta(days=5)
        session.add(row)
        session.add(
            Certificate(
                org_id=admin.org_id,
                enrollment_id=row.id,
                user_id=learner.user_id,
                course_id=course.course_id,
                serial=f.unique("GH-TEST")[:40],
                learner_name="x",
                course_title=course.title,
                issuer_name="x",
                expires_at=expires,
            )
        )
        session.commit()
        enrollment_id = row.id
    # Through the worker: the org's scan job reopens the enrollment, in the org's scope.
    assert reminders.run_reminders(org_ids=[admin.org_id]) == 1
    for _ in range(20):
        if outbox.run_due(worker="test") == 0:
            break
    assert titles(learner, "recertification.due") == [f"Recertify: {course.title}"]
    with open_session(Scope(org_ids={admin.org_id})) as session:
        row = session.exec(
            mark_scoped(select(Enrollment).where(Enrollment.id == enrollment_id))
        ).one()
        assert (row.status, row.mandatory, row.progress_percent) == ("active", True, 0)
    assert scan(admin.org_id) == reminders.ScanResult()  # once per certificate
    # Three days before the expiry it is due soon like any mandatory training.
    assert scan(admin.org_id, now=expires - timedelta(days=2)) == reminders.ScanResult(due_soon=1)
    assert scan(admin.org_id, now=expires + timedelta(hours=1)) == reminders.ScanResult(overdue=1)
