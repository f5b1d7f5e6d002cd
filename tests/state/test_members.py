"""`MembersState` on the members page: what each role sees, and handlers that check anyway."""

from __future__ import annotations

import pytest

from app.models.user import Role
from app.services.comms import mail
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.people import invites, members
from app.state.members import MembersState
from tests import factories as f
from tests.state.harness import StateHarness

pytestmark = pytest.mark.usefixtures("backend")


def _pending_invites(ctx: OrgContext) -> dict[str, str]:
    with tenant_session(ctx) as session:
        return {
            i.email: i.role for i in invites.list_invites(session, ctx) if i.status == "pending"
        }


def _mail_to(ctx: OrgContext, email: str) -> int:
    with tenant_session(ctx) as session:
        rows, _total = mail.list_mail(session, ctx, page_size=200)
    return sum(1 for r in rows if r.to_email == email)


def _role_of(ctx: OrgContext, email: str) -> str:
    with tenant_session(ctx) as session:
        (row,) = members.list_members(session, ctx, search=email).rows
    return row.role


def test_admin_loads_members_and_invites() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    pending, _ = f.invite(admin.ctx, Role.staff)
    with StateHarness(cookie=admin.token, path="/admin/members") as tab:
        reply = tab.dispatch(MembersState.load())
        state = tab.state(MembersState)
        assert reply.redirects == [] and state.missing is False
        assert {r["email"] for r in state.rows} == {admin.email, learner.email}
        assert state.total == 2
        assert state.can_invite is True and state.can_manage is True
        assert {(i["email"], i["status"]) for i in state.invites} == {
            (pending, "pending"),
            (learner.email, "accepted"),
        }
        assert state.target_org == str(admin.org_id)


def test_learner_load_leaves_rows_empty() -> None:
    admin = f.new_admin()
    f.invite_and_accept_member(admin.ctx, Role.learner)
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    with StateHarness(cookie=learner.token, path="/admin/members") as tab:
        reply = tab.dispatch(MembersState.load())
        state = tab.state(MembersState)
        assert reply.redirects == []
        assert state.rows == [] and state.invites == [] and state.total == 0
        assert state.can_invite is False and state.can_manage is False


def test_learner_invite_is_refused_even_though_the_page_hides_the_form() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    email = f.unique_email("friend")
    with StateHarness(cookie=learner.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        reply = tab.dispatch(MembersState.invite({"email": email, "role": Role.learner}))
        state = tab.state(MembersState)
        assert reply.toast("error", "You are not allowed to do that.")
        assert not reply.toasts("success")
        assert state.busy is False and state.form_error
    assert email not in _pending_invites(admin.ctx)
    assert _mail_to(admin.ctx, email) == 0


@pytest.mark.parametrize(
    "handler",
    [
        pytest.param(lambda m: MembersState.change_role(m, Role.org_admin), id="change_role"),
        pytest.param(lambda m: MembersState.set_active(m, False), id="set_active"),
    ],
)
def test_staff_cannot_manage_members(handler) -> None:  # type: ignore[no-untyped-def]
    admin = f.new_admin()
    staff = f.invite_and_accept_member(admin.ctx, Role.staff)
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    with tenant_session(admin.ctx) as session:
        (row,) = members.list_members(session, admin.ctx, search=learner.email).rows
    with StateHarness(cookie=staff.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        assert tab.state(MembersState).can_manage is False
        reply = tab.dispatch(handler(row.membership_id))
        assert reply.toast("error", "You are not allowed to do that.")
    with tenant_session(admin.ctx) as session:
        (after,) = members.list_members(session, admin.ctx, search=learner.email).rows
    assert (after.role, after.is_active) == (Role.learner, True)


def test_admin_invite_creates_an_invite_and_its_email() -> None:
    admin = f.new_admin()
    email = f.unique_email("newcomer")
    with StateHarness(cookie=admin.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        reply = tab.dispatch(MembersState.invite({"email": email, "role": Role.instructor}))
        state = tab.state(MembersState)
        assert reply.toast("success", email)
        assert state.errors == {} and state.busy is False
        assert [(i["email"], i["status"]) for i in state.invites] == [(email, "pending")]
    assert _pending_invites(admin.ctx)[email] == Role.instructor
    assert _mail_to(admin.ctx, email) == 1


def test_admin_invite_with_a_bad_email_shows_the_field_error() -> None:
    admin = f.new_admin()
    with StateHarness(cookie=admin.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        tab.dispatch(MembersState.invite({"email": "not an email", "role": Role.learner}))
        state = tab.state(MembersState)
        assert state.email_error
        assert state.invites == []


def test_admin_invites_into_a_child_org_chosen_on_the_page() -> None:
    admin = f.new_admin()
    child = f.child_org(admin.ctx)
    admin = f.refresh(admin)
    email = f.unique_email("regional")
    with StateHarness(cookie=admin.token, path=f"/admin/members?org={child.id}") as tab:
        tab.dispatch(MembersState.load())
        assert tab.state(MembersState).target_org_name == child.name
        reply = tab.dispatch(MembersState.invite({"email": email, "role": Role.learner}))
        assert reply.toast("success")
    with tenant_session(admin.ctx) as session:
        in_child = {i.email for i in invites.list_invites(session, admin.ctx, org_id=child.id)}
    assert email in in_child
    assert email not in _pending_invites(admin.ctx)


def test_change_role_with_another_orgs_membership_is_refused() -> None:
    t = f.two_tenants()
    a_learner = f.invite_and_accept_member(t.a.ctx, Role.learner)
    with tenant_session(t.a.ctx) as session:
        (row,) = members.list_members(session, t.a.ctx, search=a_learner.email).rows
    with StateHarness(cookie=t.b.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        reply = tab.dispatch(MembersState.change_role(row.membership_id, Role.org_admin))
        assert reply.toast("error", "Not found.")
        assert not reply.toasts("success")
        # B's page still shows B's own members, none of A's.
        assert {r["email"] for r in tab.state(MembersState).rows} == {t.b.email}
    assert _role_of(t.a.ctx, a_learner.email) == Role.learner


def test_change_role_by_admin_is_applied() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    with tenant_session(admin.ctx) as session:
        (row,) = members.list_members(session, admin.ctx, search=learner.email).rows
    with StateHarness(cookie=admin.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        reply = tab.dispatch(MembersState.change_role(row.membership_id, Role.staff))
        assert reply.toast("success", "Staff")
        assert {r["email"]: r["role"] for r in tab.state(MembersState).rows}[learner.email] == (
            Role.staff
        )
    assert _role_of(admin.ctx, learner.email) == Role.staff


def test_revoke_with_another_orgs_invite_is_refused() -> None:
    t = f.two_tenants()
    email, _ = f.invite(t.a.ctx, Role.learner)
    with tenant_session(t.a.ctx) as session:
        (invite,) = [i for i in invites.list_invites(session, t.a.ctx) if i.email == email]
    with StateHarness(cookie=t.b.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        assert tab.dispatch(MembersState.revoke(invite.id)).toast("error", "Not found.")
    assert email in _pending_invites(t.a.ctx)


def test_choosing_an_org_outside_the_subtree_keeps_the_page_on_the_shown_org() -> None:
    """After a refused `choose_org`, the page still shows org B, so its invite form must
    still invite into B (not into the id that was refused)."""
    t = f.two_tenants()
    email = f.unique_email("after")
    with StateHarness(cookie=t.b.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        assert tab.dispatch(MembersState.choose_org(str(t.a.org_id))).toast("error", "Not found.")
        state = tab.state(MembersState)
        assert (state.target_org, state.target_org_name) == (str(t.b.org_id), t.b.ctx.org_name)
        assert tab.dispatch(MembersState.invite({"email": email, "role": Role.learner})).toast(
            "success"
        )
    assert email in _pending_invites(t.b.ctx)
