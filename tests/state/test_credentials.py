"""The certificates, verification, compliance and notifications pages' states, driven like a
browser tab would drive them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete
from sqlmodel import col

from app.models.notification import Notification
from app.models.user import Role
from app.services.comms import notifications
from app.services.core.tenancy import tenant_session
from app.services.credentials import certificate_verify, compliance_report, compliance_rules
from app.state.credentials import CertificatesState, VerifyState
from app.state.credentials_compliance import ComplianceState
from app.state.notification_centre import NotificationsState
from tests import factories as f
from tests import learning_factories as lf
from tests.services.credentials.test_certificates import issued
from tests.state.harness import StateHarness

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture(autouse=True)
def _files(tmp_path: Path, settings_env: Any) -> None:
    settings_env(storage_dir=str(tmp_path / "files"))


# --------------------------------------------------------------------------- certificates


def test_learner_sees_their_certificate_and_cannot_revoke() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    cert = issued(learner.ctx, lf.published_course(admin.ctx, title="Ladder safety"))
    with StateHarness(cookie=learner.token, path="/certificates") as tab:
        tab.dispatch(CertificatesState.load())
        s = tab.state(CertificatesState)
        (row,) = s.mine
        assert (row["course"], row["status"], row["serial"]) == (
            "Ladder safety",
            "valid",
            cert.serial,
        )
        assert row["pdf_url"] == f"/api/certificates/{cert.id}.pdf"
        assert row["verify_url"] == f"/verify/{cert.serial}"
        assert not s.can_manage and s.org_rows == []
        tab.dispatch(CertificatesState.open_revoke(str(cert.id), "x"))
        reply = tab.dispatch(CertificatesState.confirm_revoke({"reason": "I want to"}))
        assert reply.toast("error")
    assert certificate_verify.verify(cert.serial).status == "valid"  # type: ignore[union-attr]


def test_signed_out_visitors_are_sent_to_sign_in() -> None:
    with StateHarness(path="/certificates") as tab:
        reply = tab.dispatch(CertificatesState.load())
        assert reply.redirects == ["/signin?next=/certificates"]


def test_admin_revokes_with_a_reason_through_the_dialog() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Rita Revoked")
    cert = issued(learner.ctx, lf.published_course(admin.ctx))
    with StateHarness(cookie=admin.token, path="/certificates") as tab:
        tab.dispatch(CertificatesState.load())
        s = tab.state(CertificatesState)
        assert s.can_manage and [r["id"] for r in s.org_rows] == [str(cert.id)]
        tab.dispatch(CertificatesState.show_tab("org"))
        tab.dispatch(CertificatesState.open_revoke(str(cert.id), cert.serial))
        assert tab.state(CertificatesState).revoke_open
        reply = tab.dispatch(CertificatesState.confirm_revoke({"reason": " "}))
        s = tab.state(CertificatesState)
        assert s.reason_error and s.revoke_open and not reply.toasts()
        reply = tab.dispatch(CertificatesState.confirm_revoke({"reason": "Wrong person"}))
        assert reply.toast("success", cert.serial)
        s = tab.state(CertificatesState)
        assert not s.revoke_open
        (row,) = s.org_rows
        assert (row["status"], row["reason"]) == ("revoked", "Wrong person")
        tab.dispatch(CertificatesState.filter_org({"search": "nobody-like-this", "status": ""}))
        assert tab.state(CertificatesState).org_rows == []
        tab.dispatch(CertificatesState.filter_org({"search": "rita", "status": "revoked"}))
        assert len(tab.state(CertificatesState).org_rows) == 1
    assert certificate_verify.verify(cert.serial).status == "revoked"  # type: ignore[union-attr]


def test_verify_page_is_public_and_says_what_it_is() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Vera Valid")
    cert = issued(learner.ctx, lf.published_course(admin.ctx, title="Forklifts"))
    with StateHarness(path=f"/verify/{cert.serial}") as tab:  # nobody signed in
        tab.dispatch(VerifyState.load())
        s = tab.state(VerifyState)
        assert (s.found, s.status_label, s.learner, s.course) == (
            True,
            "Valid",
            "Vera Valid",
            "Forklifts",
        )
        assert s.issuer == admin.ctx.org_name and s.shown_serial == cert.serial
        tab.navigate("/verify/GH-NOPE-NOPE-NOPE-NOPE")
        tab.dispatch(VerifyState.load())
        s = tab.state(VerifyState)
        assert s.checked and not s.found and s.learner == "" and s.course == ""


# --------------------------------------------------------------------------- compliance


def test_staff_make_a_course_mandatory_and_see_the_report() -> None:
    admin = f.new_admin()
    staff = f.invite_and_accept_member(admin.ctx, Role.staff)
    learner = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Lou Learner")
    course = lf.published_course(admin.ctx, title="Manual handling")
    with StateHarness(cookie=staff.token, path="/compliance") as tab:
        tab.dispatch(ComplianceState.load())
        s = tab.state(ComplianceState)
        assert s.can_manage and str(course.course_id) in [o["value"] for o in s.course_options]
        reply = tab.dispatch(
            ComplianceState.add_rule({"course_id": str(course.course_id), "role": "", "days": "0"})
        )
        assert tab.state(ComplianceState).days_error and not reply.toasts()
        reply = tab.dispatch(
            ComplianceState.add_rule(
                {"course_id": str(course.course_id), "role": Role.learner, "days": "21"}
            )
        )
        assert reply.toast("success", "1 enrolled")
        s = tab.state(ComplianceState)
        assert [(r["course"], r["role"], r["days"]) for r in s.rules] == [
            ("Manual handling", "Learner", "21")
        ]
        (row,) = s.rows
        assert (row["learner"], row["status"]) == ("Lou Learner", "not_started")
        assert s.counts["total"] == "1" and s.counts["not_started"] == "1"
        assert s.chart_data[2] == {"name": "Not started", "value": 1}
        assert s.status_choice == "all"  # the "All" segment shows as chosen on first load
        tab.dispatch(ComplianceState.show_status("overdue"))
        s = tab.state(ComplianceState)
        assert s.rows == [] and s.csv_url == "/api/reports/compliance.csv?status=overdue"
        assert s.status_choice == "overdue"
        tab.dispatch(ComplianceState.show_status("all"))  # and "All" can be chosen again
        s = tab.state(ComplianceState)
        assert s.status_filter == "" and s.status_choice == "all" and len(s.rows) == 1
        tab.dispatch(ComplianceState.show_status("overdue"))
        s = tab.state(ComplianceState)
        reply = tab.dispatch(ComplianceState.delete_rule(s.rules[0]["id"]))
        assert reply.toast("success") and tab.state(ComplianceState).rules == []
    assert learner.user_id  # enrolled and still enrolled after the rule went
    with tenant_session(admin.ctx) as session:
        assert compliance_report.compliance_report(session, admin.ctx).total == 1


def test_learners_and_managers_cannot_add_rules() -> None:
    admin = f.new_admin()
    course = lf.published_course(admin.ctx)
    for role in (Role.learner, Role.manager):
        who = f.invite_and_accept_member(admin.ctx, role)
        with StateHarness(cookie=who.token, path="/compliance") as tab:
            tab.dispatch(ComplianceState.load())
            assert not tab.state(ComplianceState).can_manage
            reply = tab.dispatch(
                ComplianceState.add_rule(
                    {"course_id": str(course.course_id), "role": "", "days": "5"}
                )
            )
            assert reply.toast("error")
    with tenant_session(admin.ctx) as session:
        assert compliance_rules.list_rules(session, admin.ctx) == []


def test_a_manager_sees_their_team_only() -> None:
    from app.services.people import members

    admin = f.new_admin()
    manager = f.invite_and_accept_member(admin.ctx, Role.manager)
    mine = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Tess Team")
    f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Oscar Other")
    course = lf.published_course(admin.ctx)
    with tenant_session(admin.ctx) as session:
        compliance_rules.do_set_rule(
            session, admin.ctx, course_id=course.course_id, role="learner", days_to_complete=5
        )
        (row,) = members.list_members(session, admin.ctx, search=mine.email).rows
        members.do_assign_manager(session, admin.ctx, row.membership_id, manager.user_id)
    with StateHarness(cookie=manager.token, path="/compliance") as tab:
        tab.dispatch(ComplianceState.load())
        s = tab.state(ComplianceState)
        assert s.team_only and [r["learner"] for r in s.rows] == ["Tess Team"]


# --------------------------------------------------------------------------- notifications


def test_notifications_list_mark_read_and_mark_all() -> None:
    admin = f.new_admin()
    other = f.invite_and_accept_member(admin.ctx, Role.learner)
    with tenant_session(admin.ctx) as session:
        # Start from an empty inbox (accepting the invite told the admin).
        session.execute(delete(Notification).where(col(Notification.user_id) == admin.user_id))
        session.commit()
        ids = [
            notifications.notify(
                session,
                org_id=admin.org_id,
                user_id=admin.user_id,
                kind="test",
                title=f"Hello {i}",
                link="/my-learning" if i else "https://evil.example.com",
            )
            for i in range(3)
        ]
        theirs = notifications.notify(
            session, org_id=admin.org_id, user_id=other.user_id, kind="test", title="Theirs"
        )
        session.commit()
    assert theirs is not None and all(ids)
    with StateHarness(cookie=admin.token, path="/notifications") as tab:
        tab.dispatch(NotificationsState.load())
        s = tab.state(NotificationsState)
        assert [n["title"] for n in s.items] == ["Hello 2", "Hello 1", "Hello 0"]
        assert s.unread == 3 and all(n["read"] == "" for n in s.items)
        assert s.items[2]["link"] == ""  # off-site links are dropped
        reply = tab.dispatch(NotificationsState.open_item(s.items[0]["id"], s.items[0]["link"]))
        assert reply.redirects == ["/my-learning"]
        assert tab.state(NotificationsState).unread == 2
        reply = tab.dispatch(NotificationsState.mark_read(str(theirs.id)))
        assert reply.toast("error")
        reply = tab.dispatch(NotificationsState.mark_all_read())
        assert reply.toast("success", "2 marked read")
        assert tab.state(NotificationsState).unread == 0
    with tenant_session(other.ctx) as session:
        assert notifications.unread_count(session, other.ctx) == 1
