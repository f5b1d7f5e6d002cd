"""The audit log: what is recorded, with whom, where and when; filters; who may read it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.models.base import utcnow
from app.models.user import Role
from app.services.core import audit
from app.services.core.errors import PermissionDenied, ValidationFailed
from app.services.core.tenancy import OrgContext, public_session, tenant_session
from app.services.people import auth, members
from tests import factories as f

pytestmark = pytest.mark.usefixtures("backend")


def _events(ctx: OrgContext, **filters: object) -> list[audit.AuditRow]:
    with tenant_session(ctx) as session:
        return audit.list_events(session, ctx, page_size=100, **filters).rows  # type: ignore[arg-type]


def test_the_main_actions_are_recorded_with_actor_ip_and_time() -> None:
    started = utcnow() - timedelta(seconds=5)
    admin = f.new_admin()
    ctx = admin.ctx
    # A failed sign-in from another address.
    with public_session() as session, pytest.raises(ValidationFailed):
        auth.do_sign_in(session, email=admin.email, password="Wrong-password-1", ip="198.51.100.9")
    email, _ = f.invite(ctx, Role.learner)
    learner = f.invite_and_accept_member(ctx, Role.learner)
    with tenant_session(ctx) as session:
        (row,) = members.list_members(session, ctx, search=learner.email).rows
        members.do_change_role(session, ctx, row.membership_id, Role.manager)
    child = f.child_org(ctx, name=f.unique("Audited Child"))

    events = _events(ctx)
    by_action: dict[str, list[audit.AuditRow]] = {}
    for e in events:
        by_action.setdefault(e.action, []).append(e)

    signed_in = [e for e in by_action["auth.signed_in"] if e.actor_email == admin.email]
    assert signed_in and signed_in[0].ip == f.IP
    (failed,) = by_action["auth.sign_in_failed"]
    assert (failed.actor_email, failed.target, failed.ip) == (
        admin.email,
        admin.email,
        "198.51.100.9",
    )
    sent = {e.target: e for e in by_action["invite.sent"]}
    assert sent[email].actor_email == admin.email and sent[email].ip == f.IP
    assert sent[email].detail == {"role": "learner"}
    (changed,) = by_action["member.role_changed"]
    assert (changed.actor_email, changed.target) == (admin.email, learner.email)
    (created,) = by_action["org.child_created"]
    assert created.target == child.name and created.detail["child_id"] == str(child.id)
    assert created.actor_email == admin.email and created.ip == f.IP
    assert "user.signed_up" in by_action

    for e in events:
        assert started <= e.created <= utcnow() + timedelta(seconds=5)
        assert e.org_id == str(ctx.org_id)
    assert [e.created for e in events] == sorted((e.created for e in events), reverse=True)


def test_the_child_orgs_own_creation_event_is_visible_to_the_parent_admin() -> None:
    admin = f.new_admin()
    child = f.child_org(admin.ctx)
    admin = f.refresh(admin)
    created = [e for e in _events(admin.ctx, action="org.created") if e.org_id == str(child.id)]
    assert [(e.target, e.actor_email) for e in created] == [(child.name, admin.email)]


def test_filters_by_action_prefix_and_actor() -> None:
    admin = f.new_admin()
    staff = f.invite_and_accept_member(admin.ctx, Role.staff)
    invited_by_staff, _ = f.invite(staff.ctx, Role.learner)
    invited_by_admin, _ = f.invite(admin.ctx, Role.learner)

    auth_only = _events(admin.ctx, action="auth.")
    assert auth_only and all(e.action.startswith("auth.") for e in auth_only)

    invites_by_staff = _events(admin.ctx, action="invite.", actor=staff.email.upper())
    assert {(e.action, e.target) for e in invites_by_staff} == {
        ("invite.accepted", staff.email),  # the staff member accepting their own invite
        ("invite.sent", invited_by_staff),
    }
    invites_by_admin = _events(admin.ctx, action="invite.sent", actor=admin.email)
    assert {e.target for e in invites_by_admin} >= {invited_by_admin, staff.email}
    assert invited_by_staff not in {e.target for e in invites_by_admin}


def test_pagination_and_total() -> None:
    admin = f.new_admin()
    for _ in range(3):
        f.invite(admin.ctx, Role.learner)
    with tenant_session(admin.ctx) as session:
        first = audit.list_events(session, admin.ctx, action="invite.sent", page_size=2)
        second = audit.list_events(session, admin.ctx, action="invite.sent", page=2, page_size=2)
    assert first.total == second.total == 3
    assert len(first.rows) == 2 and len(second.rows) == 1
    assert not {r.id for r in first.rows} & {r.id for r in second.rows}


def test_another_tenants_events_are_not_listed() -> None:
    t = f.two_tenants()
    email, _ = f.invite(t.b.ctx, Role.learner)
    assert email not in {e.target for e in _events(t.a.ctx)}
    assert all(e.org_id == str(t.a.org_id) for e in _events(t.a.ctx))


def test_auditor_can_read_and_learner_cannot() -> None:
    admin = f.new_admin()
    auditor = f.invite_and_accept(admin.ctx, Role.auditor)
    learner = f.invite_and_accept(admin.ctx, Role.learner)
    invited, _ = f.invite(admin.ctx, Role.instructor)
    assert invited in {e.target for e in _events(auditor, action="invite.sent")}
    for role_ctx in (learner, f.invite_and_accept(admin.ctx, Role.staff)):
        with pytest.raises(PermissionDenied):
            _events(role_ctx)
