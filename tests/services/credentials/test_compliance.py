"""Mandatory training: rules enroll the members they cover (now and when they join later),
due dates follow, and the compliance report classifies and scopes what it shows."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col

from app.models.base import as_utc, utcnow
from app.models.certificate import Certificate
from app.models.course import CourseStatus
from app.models.enrollment import Enrollment
from app.models.outbox import OutboxJob
from app.models.user import Membership, Role
from app.services.config import cache, writes
from app.services.core import audit, events
from app.services.core.errors import PermissionDenied, ValidationFailed
from app.services.core.tenancy import OrgContext, scoped, tenant_session
from app.services.credentials import (
    compliance_enrollment,
    compliance_export,
    compliance_report,
    compliance_rules,
)
from app.services.infra import outbox
from app.services.people import members
from tests import factories as f
from tests import learning_factories as lf
from tests.services.credentials.test_certificates import drain

pytestmark = pytest.mark.usefixtures("backend")


# --------------------------------------------------------------------------- helpers


def enrolled(ctx: OrgContext, course_id: uuid.UUID) -> dict[uuid.UUID, Enrollment]:
    """The enrollments in `course_id` the context may read, by user."""
    with tenant_session(ctx) as session:
        rows = session.exec(scoped(ctx, Enrollment).where(Enrollment.course_id == course_id)).all()
    return {r.user_id: r for r in rows}


def close_to(when: datetime | None, expected: datetime, slack: int = 120) -> bool:
    return when is not None and abs((as_utc(when) - expected).total_seconds()) < slack


def set_rule(ctx: OrgContext, course_id: uuid.UUID, role: str = "", days: Any = 30) -> Any:
    with tenant_session(ctx) as session:
        return compliance_rules.do_set_rule(
            session, ctx, course_id=course_id, role=role, days_to_complete=days
        )


def update_enrollment(ctx: OrgContext, enrollment_id: uuid.UUID, **values: Any) -> None:
    with tenant_session(ctx) as session:
        session.execute(
            update(Enrollment).where(col(Enrollment.id) == enrollment_id).values(**values)
        )
        session.commit()


def membership_id(admin: f.SignedIn, email: str) -> str:
    with tenant_session(admin.ctx) as session:
        rows = members.list_members(session, admin.ctx, search=email).rows
    return rows[0].membership_id


# --------------------------------------------------------------------------- rules


def test_a_rule_for_everyone_enrolls_every_active_member_due_in_n_days() -> None:
    admin = f.new_admin()
    a = f.invite_and_accept_member(admin.ctx, Role.learner)
    b = f.invite_and_accept_member(admin.ctx, Role.learner)
    staff = f.invite_and_accept_member(admin.ctx, Role.staff)
    gone = f.invite_and_accept_member(admin.ctx, Role.learner)
    with tenant_session(admin.ctx) as session:
        members.do_set_active(session, admin.ctx, membership_id(admin, gone.email), False)
    course = lf.published_course(admin.ctx)
    result = set_rule(admin.ctx, course.course_id, days=14)
    assert result.enrolled == 4 and not result.queued
    rows = enrolled(admin.ctx, course.course_id)
    assert set(rows) == {admin.user_id, a.user_id, b.user_id, staff.user_id}
    for row in rows.values():
        assert row.mandatory and row.source == "mandatory" and row.status == "active"
        assert close_to(row.due_at, utcnow() + timedelta(days=14))
    # Setting it again (other days) keeps one rule and one enrollment each.
    set_rule(admin.ctx, course.course_id, days=30)
    with tenant_session(admin.ctx) as session:
        (rule,) = compliance_rules.list_rules(session, admin.ctx)
    assert (rule.days_to_complete, rule.role_label, rule.course_title) == (
        30,
        "Everyone",
        course.title,
    )
    assert set(enrolled(admin.ctx, course.course_id)) == set(rows)


def test_a_role_rule_enrolls_only_that_role() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    staff = f.invite_and_accept_member(admin.ctx, Role.staff)
    course = lf.published_course(admin.ctx)
    set_rule(admin.ctx, course.course_id, role=Role.learner, days=7)
    rows = enrolled(admin.ctx, course.course_id)
    assert set(rows) == {learner.user_id}
    assert staff.user_id not in rows


def test_an_existing_self_enrollment_becomes_mandatory_with_a_due_date() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    course = lf.published_course(admin.ctx)
    enrollment_id = lf.enrollment(learner.ctx, course, progress=True)
    set_rule(admin.ctx, course.course_id, role=Role.learner, days=10)
    row = enrolled(admin.ctx, course.course_id)[learner.user_id]
    assert row.id == enrollment_id and row.mandatory
    assert close_to(row.due_at, utcnow() + timedelta(days=10))


def test_later_joiners_are_enrolled_due_from_the_day_they_join() -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    set_rule(admin.ctx, course.course_id, role=Role.learner, days=5)
    joiner = f.invite_and_accept_member(admin.ctx, Role.learner)
    staff = f.invite_and_accept_member(admin.ctx, Role.staff)
    drain()
    rows = enrolled(admin.ctx, course.course_id)
    assert joiner.user_id in rows and staff.user_id not in rows
    assert close_to(rows[joiner.user_id].due_at, utcnow() + timedelta(days=5))
    assert rows[joiner.user_id].mandatory
    # The staff member becomes a learner: now the rule covers them.
    with tenant_session(admin.ctx) as session:
        members.do_change_role(session, admin.ctx, membership_id(admin, staff.email), Role.learner)
    drain()
    assert staff.user_id in enrolled(admin.ctx, course.course_id)


def test_reactivated_members_are_enrolled_and_jobs_are_idempotent() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    drain()
    mid = membership_id(admin, learner.email)
    with tenant_session(admin.ctx) as session:
        members.do_set_active(session, admin.ctx, mid, False)
    course = lf.published_course(admin.ctx)
    set_rule(admin.ctx, course.course_id, days=3)
    drain()
    assert learner.user_id not in enrolled(admin.ctx, course.course_id)
    with tenant_session(admin.ctx) as session:
        members.do_set_active(session, admin.ctx, mid, True)
    drain()
    first = enrolled(admin.ctx, course.course_id)[learner.user_id]
    # The same job again (a retried run) changes nothing.
    with tenant_session(admin.ctx) as session:
        compliance_enrollment.apply_for_member(
            session, org_id=admin.org_id, user_id=learner.user_id, since=utcnow()
        )
        session.commit()
    again = enrolled(admin.ctx, course.course_id)[learner.user_id]
    assert (again.id, again.due_at) == (first.id, first.due_at)


def test_a_join_queued_by_the_previous_release_still_enrolls_and_a_bad_one_is_dropped() -> None:
    """Jobs queued before an upgrade, under the kind compliance used to enqueue itself,
    are still handled; a malformed payload ends `done` (retrying would not mend it)."""
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    course = lf.published_course(admin.ctx)
    set_rule(admin.ctx, course.course_id, role=Role.staff, days=4)  # covers nobody yet
    payload = {"user_id": str(learner.user_id), "role": Role.staff, "since": utcnow().isoformat()}
    with tenant_session(admin.ctx) as session:
        session.execute(
            update(Membership)
            .where(col(Membership.user_id) == learner.user_id)
            .values(role=Role.staff)
        )
        old = outbox.enqueue(
            session, kind=events.MEMBER_JOINED_BEFORE, payload=payload, org_id=admin.org_id
        )
        bad = outbox.enqueue(
            session, kind=events.MEMBER_JOINED, payload={"user_id": "x"}, org_id=admin.org_id
        )
        session.commit()
        ids = (old.id, bad.id)
    drain()
    assert enrolled(admin.ctx, course.course_id)[learner.user_id].mandatory
    with tenant_session(admin.ctx) as session:
        jobs = session.exec(scoped(admin.ctx, OutboxJob).where(col(OutboxJob.id).in_(ids))).all()
    assert [j.status for j in jobs] == ["done", "done"]


def test_large_orgs_are_enrolled_by_the_job(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compliance_rules, "INLINE_LIMIT", 1)
    admin = f.new_admin()
    learners = [f.invite_and_accept_member(admin.ctx, Role.learner) for _ in range(2)]
    drain()
    course = lf.published_course(admin.ctx)
    result = set_rule(admin.ctx, course.course_id, role=Role.learner)
    assert result.queued and result.enrolled == 0
    assert enrolled(admin.ctx, course.course_id) == {}
    drain()
    assert set(enrolled(admin.ctx, course.course_id)) == {p.user_id for p in learners}


def test_a_course_shared_by_the_parent_can_be_mandatory_in_the_child() -> None:
    parent = f.new_admin()
    child = f.child_org(parent.ctx)
    parent = f.refresh(parent)
    course = lf.published_course(parent.ctx, shared=True)
    child_admin = f.invite_and_accept_member(parent.ctx, Role.org_admin, org_id=child.id)
    learner = f.invite_and_accept_member(parent.ctx, Role.learner, org_id=child.id)
    set_rule(child_admin.ctx, course.course_id, role=Role.learner, days=9)
    row = enrolled(child_admin.ctx, course.course_id)[learner.user_id]
    assert row.org_id == child.id and row.course_org_id == parent.org_id
    late = f.invite_and_accept_member(parent.ctx, Role.learner, org_id=child.id)
    drain()
    assert late.user_id in enrolled(child_admin.ctx, course.course_id)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"days": 0}, "days"),
        ({"days": 731}, "days"),
        ({"days": "soon"}, "days"),
        ({"role": "pirate"}, "role"),
    ],
)
def test_bad_rules_are_refused_beside_the_field(values: dict[str, Any], field: str) -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    kwargs: dict[str, Any] = {"role": "", "days": 30, **values}
    with pytest.raises(ValidationFailed) as err:
        set_rule(admin.ctx, course.course_id, role=kwargs["role"], days=kwargs["days"])
    assert err.value.field == field
    assert enrolled(admin.ctx, course.course_id) == {}


def test_drafts_and_other_tenants_courses_cannot_be_mandatory() -> None:
    pair = f.two_tenants()
    draft = lf.published_course(pair.a.ctx, status=CourseStatus.draft)
    foreign = lf.published_course(pair.b.ctx)
    for course_id in (draft.course_id, foreign.course_id, uuid.uuid4()):
        with pytest.raises(ValidationFailed) as err:
            set_rule(pair.a.ctx, course_id)
        assert err.value.field == "course_id"
    assert enrolled(pair.b.ctx, foreign.course_id) == {}


def test_only_compliance_managers_set_and_delete_rules() -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    rule = set_rule(admin.ctx, course.course_id).rule
    for role in (Role.learner, Role.manager, Role.instructor, Role.auditor):
        who = f.invite_and_accept_member(admin.ctx, role)
        with tenant_session(who.ctx) as session:
            with pytest.raises(PermissionDenied):
                compliance_rules.do_set_rule(
                    session, who.ctx, course_id=course.course_id, role="", days_to_complete=5
                )
            with pytest.raises(PermissionDenied):
                compliance_rules.do_delete_rule(session, who.ctx, rule.id)
    staff = f.invite_and_accept_member(admin.ctx, Role.staff)
    with tenant_session(staff.ctx) as session:
        compliance_rules.do_delete_rule(session, staff.ctx, rule.id)
        assert compliance_rules.list_rules(session, staff.ctx) == []
        events = audit.list_events(session, admin.ctx, action="compliance.").rows
    assert {e.action for e in events} == {"compliance.rule_set", "compliance.rule_deleted"}


# --------------------------------------------------------------------------- the report


def _report_world() -> dict[str, Any]:
    """An org with a mandatory course and four learners: completed, in progress, not
    started and overdue; one of them managed by a manager."""
    admin = f.new_admin()
    manager = f.invite_and_accept_member(admin.ctx, Role.manager, full_name="Mia Manager")
    people = {
        name: f.invite_and_accept_member(admin.ctx, Role.learner, full_name=name)
        for name in ("Cara Done", "Ian Going", "Nora New", "Otto Late")
    }
    course = lf.published_course(admin.ctx)
    set_rule(admin.ctx, course.course_id, role=Role.learner, days=30)
    rows = enrolled(admin.ctx, course.course_id)
    ids = {name: rows[p.user_id].id for name, p in people.items()}
    update_enrollment(
        admin.ctx, ids["Cara Done"], status="completed", progress_percent=100, completed_at=utcnow()
    )
    update_enrollment(admin.ctx, ids["Ian Going"], progress_percent=40)
    update_enrollment(admin.ctx, ids["Nora New"], due_at=utcnow() + timedelta(days=3))
    update_enrollment(
        admin.ctx, ids["Otto Late"], due_at=utcnow() - timedelta(days=2), progress_percent=10
    )
    with tenant_session(admin.ctx) as session:
        members.do_assign_manager(
            session, admin.ctx, membership_id(admin, people["Otto Late"].email), manager.user_id
        )
    return {"admin": admin, "manager": manager, "people": people, "course": course}


def test_report_classifies_and_summarizes() -> None:
    w = _report_world()
    admin = w["admin"]
    with tenant_session(admin.ctx) as session:
        report = compliance_report.compliance_report(session, admin.ctx)
    by_name = {r.learner_name: r for r in report.rows}
    assert {n: r.status for n, r in by_name.items()} == {
        "Cara Done": "completed",
        "Ian Going": "in_progress",
        "Nora New": "not_started",
        "Otto Late": "overdue",
    }
    assert by_name["Cara Done"].progress == 100 and by_name["Ian Going"].progress == 40
    assert by_name["Otto Late"].email == w["people"]["Otto Late"].email
    assert report.rows[0].learner_name == "Otto Late"  # overdue first
    assert report.rows[-1].learner_name == "Cara Done"  # done last
    s = report.summary
    assert (s.total, s.completed, s.in_progress, s.not_started, s.overdue, s.due_soon) == (
        4,
        1,
        1,
        1,
        1,
        1,
    )
    assert s.compliant_percent == 25 and not report.team_only
    with tenant_session(admin.ctx) as session:
        for status, name in (
            ("overdue", "Otto Late"),
            ("completed", "Cara Done"),
            ("in_progress", "Ian Going"),
            ("not_started", "Nora New"),
            ("due_soon", "Nora New"),
        ):
            only = compliance_report.compliance_report(session, admin.ctx, status=status)
            assert [r.learner_name for r in only.rows] == [name], status
            assert only.total == 1 and only.summary.total == 4
        found = compliance_report.compliance_report(session, admin.ctx, search="nora")
        assert [r.learner_name for r in found.rows] == ["Nora New"]
        paged = compliance_report.compliance_report(session, admin.ctx, page=2, page_size=3)
        assert paged.total == 4 and len(paged.rows) == 1


def test_a_manager_sees_only_their_team() -> None:
    w = _report_world()
    manager = w["manager"]
    with tenant_session(manager.ctx) as session:
        report = compliance_report.compliance_report(session, manager.ctx)
        assert [r.learner_name for r in report.rows] == ["Otto Late"]
        assert report.team_only and report.summary.total == 1
        assert report.summary.overdue == 1
        assert compliance_report.compliance_report(session, manager.ctx, search="cara").rows == []


def test_auditors_see_the_report_but_learners_do_not() -> None:
    w = _report_world()
    auditor = f.invite_and_accept_member(w["admin"].ctx, Role.auditor)
    with tenant_session(auditor.ctx) as session:
        assert compliance_report.compliance_report(session, auditor.ctx).total == 4
    learner = w["people"]["Nora New"]
    with tenant_session(learner.ctx) as session, pytest.raises(PermissionDenied):
        compliance_report.compliance_report(session, learner.ctx)


def test_csv_export_follows_scope_and_filter_and_the_exports_setting() -> None:
    w = _report_world()
    admin, manager = w["admin"], w["manager"]
    with tenant_session(admin.ctx) as session:
        export = compliance_export.compliance_csv(session, admin.ctx)
        rows = list(csv.DictReader(io.StringIO(export.csv)))
        assert export.rows == 4 and not export.truncated
        assert {r["learner"]: r["status"] for r in rows}["Otto Late"] == "Overdue"
        overdue = compliance_export.compliance_csv(session, admin.ctx, status="overdue")
        assert overdue.rows == 1
    with tenant_session(manager.ctx) as session:
        mine = list(
            csv.DictReader(io.StringIO(compliance_export.compliance_csv(session, manager.ctx).csv))
        )
    assert [r["learner"] for r in mine] == ["Otto Late"]
    with tenant_session(admin.ctx) as session:
        writes.set_overrides(session, admin.org_id, {"reporting": {"exports": False}})
        session.commit()
    cache.invalidate()
    with tenant_session(admin.ctx) as session, pytest.raises(PermissionDenied):
        compliance_export.compliance_csv(session, admin.ctx)


def test_csv_cells_cannot_run_formulas() -> None:
    admin = f.new_admin()
    f.invite_and_accept_member(admin.ctx, Role.learner, full_name="=HYPERLINK(1)")
    course = lf.published_course(admin.ctx)
    set_rule(admin.ctx, course.course_id, role=Role.learner)
    with tenant_session(admin.ctx) as session:
        text = compliance_export.compliance_csv(session, admin.ctx).csv
    assert "'=HYPERLINK(1)" in text


def add_certificate(
    ctx: OrgContext,
    enrollment_id: uuid.UUID,
    *,
    expires_in_days: float | None,
    revoked: bool = False,
) -> datetime | None:
    """A certificate row of the enrollment (in the context's org), expiring as asked."""
    expires = None if expires_in_days is None else utcnow() + timedelta(days=expires_in_days)
    with tenant_session(ctx) as session:
        row = session.exec(scoped(ctx, Enrollment).where(Enrollment.id == enrollment_id)).one()
        session.add(
            Certificate(
                org_id=row.org_id,
                enrollment_id=row.id,
                user_id=row.user_id,
                course_id=row.course_id,
                serial=f.unique("GH-TEST")[:40],
                learner_name="x",
                course_title="x",
                issuer_name="x",
                issued_at=utcnow() - timedelta(days=300),
                expires_at=expires,
                revoked_at=utcnow() if revoked else None,
            )
        )
        session.commit()
    return expires


def test_expired_certificates_and_open_recertifications_in_the_report() -> None:
    """Compliant: completed with a valid certificate, or recertifying before the old one runs
    out. Not compliant: every certificate expired (reopened or not). Revoked ones count as
    none."""
    w = _report_world()
    admin, course = w["admin"], w["course"]
    more = {
        name: f.invite_and_accept_member(admin.ctx, Role.learner, full_name=name)
        for name in ("Vera Valid", "Eve Expired", "Rex Renewing", "Lou Lapsed", "Rob Revoked")
    }
    set_rule(admin.ctx, course.course_id, role=Role.learner, days=30)  # enrolls the new ones
    rows = enrolled(admin.ctx, course.course_id)
    ids = {name: rows[p.user_id].id for name, p in more.items()}
    done = {"status": "completed", "progress_percent": 100, "completed_at": utcnow()}
    for name in ("Vera Valid", "Eve Expired", "Rob Revoked"):
        update_enrollment(admin.ctx, ids[name], **done)
    add_certificate(admin.ctx, ids["Vera Valid"], expires_in_days=100)
    expired_on = add_certificate(admin.ctx, ids["Eve Expired"], expires_in_days=-1)
    add_certificate(admin.ctx, ids["Rob Revoked"], expires_in_days=-1, revoked=True)
    # Reopened to recertify (as `recertification` leaves them): due on the expiry.
    renew_by = add_certificate(admin.ctx, ids["Rex Renewing"], expires_in_days=5)
    update_enrollment(admin.ctx, ids["Rex Renewing"], due_at=renew_by, progress_percent=0)
    lapsed = add_certificate(admin.ctx, ids["Lou Lapsed"], expires_in_days=-1)
    update_enrollment(admin.ctx, ids["Lou Lapsed"], due_at=lapsed, progress_percent=20)

    with tenant_session(admin.ctx) as session:
        report = compliance_report.compliance_report(session, admin.ctx)
    by_name = {r.learner_name: r for r in report.rows}
    assert {n: r.status for n, r in by_name.items()} == {
        "Cara Done": "completed",
        "Ian Going": "in_progress",
        "Nora New": "not_started",
        "Otto Late": "overdue",
        "Vera Valid": "completed",
        "Eve Expired": "expired",
        "Rex Renewing": "recertify",
        "Lou Lapsed": "expired",
        "Rob Revoked": "completed",
    }
    assert renew_by is not None and expired_on is not None
    assert by_name["Rex Renewing"].status_label == f"Recertification due by {renew_by:%Y-%m-%d}"
    assert by_name["Eve Expired"].status_label == "Certificate expired"
    assert by_name["Otto Late"].status_label == "Overdue"
    assert close_to(by_name["Eve Expired"].certificate_expires_at, expired_on)
    # The non-compliant first (whatever their due dates), the completed last.
    order = [r.status for r in report.rows]
    assert sorted(order[:3]) == ["expired", "expired", "overdue"]
    assert order[-3:] == ["completed"] * 3
    s = report.summary
    assert (s.total, s.completed, s.recertify, s.expired, s.overdue) == (9, 3, 1, 2, 1)
    assert (s.in_progress, s.not_started, s.due_soon) == (1, 1, 2)  # Nora and Rex
    assert (s.compliant, s.compliant_percent) == (4, 44)
    with tenant_session(admin.ctx) as session:
        for status, names in (
            ("expired", {"Eve Expired", "Lou Lapsed"}),
            ("recertify", {"Rex Renewing"}),
            ("completed", {"Cara Done", "Vera Valid", "Rob Revoked"}),
            ("overdue", {"Otto Late"}),
            ("in_progress", {"Ian Going"}),
            ("not_started", {"Nora New"}),
            ("due_soon", {"Nora New", "Rex Renewing"}),
        ):
            only = compliance_report.compliance_report(session, admin.ctx, status=status)
            assert {r.learner_name for r in only.rows} == names, status
        export = compliance_export.compliance_csv(session, admin.ctx)
    cells = {r["learner"]: r for r in csv.DictReader(io.StringIO(export.csv))}
    assert cells["Eve Expired"]["status"] == "Certificate expired"
    assert cells["Eve Expired"]["certificate_expires"] == f"{expired_on:%Y-%m-%d}"
    assert cells["Rex Renewing"]["status"] == f"Recertification due by {renew_by:%Y-%m-%d}"
    assert cells["Cara Done"]["certificate_expires"] == ""
