"""Members: the paginated, filtered list; role changes; deactivation; who may do what."""

from __future__ import annotations

import pytest

from app.models.user import Role
from app.services.core import audit
from app.services.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.people import members
from tests import factories as f

pytestmark = pytest.mark.usefixtures("backend")


def _list(ctx: OrgContext, **filters: object) -> members.MemberPage:
    with tenant_session(ctx) as session:
        return members.list_members(session, ctx, **filters)  # type: ignore[arg-type]


def _membership_id(ctx: OrgContext, email: str) -> str:
    (row,) = _list(ctx, search=email).rows
    return row.membership_id


@pytest.fixture
def team() -> dict[str, f.SignedIn]:
    """An org with an admin, two learners and an instructor, with sortable names."""
    admin = f.new_admin()
    people = {"admin": admin}
    for key, role, name in [
        ("amy", Role.learner, "Amy Archer"),
        ("bob", Role.learner, "Bob Baker"),
        ("cy", Role.instructor, "Cy Cooper"),
    ]:
        people[key] = f.invite_and_accept_member(admin.ctx, role, full_name=name)
    return people


def test_list_paginates_in_name_order(team: dict[str, f.SignedIn]) -> None:
    ctx = team["admin"].ctx
    first = _list(ctx, page=1, page_size=2)
    second = _list(ctx, page=2, page_size=2)
    third = _list(ctx, page=3, page_size=2)
    assert first.total == second.total == 4
    assert [r.full_name for r in first.rows] == ["Amy Archer", "Bob Baker"]
    assert [r.full_name for r in second.rows] == ["Cy Cooper", team["admin"].ctx.full_name]
    assert third.rows == []


def test_list_filters_by_search_role_and_status(team: dict[str, f.SignedIn]) -> None:
    ctx = team["admin"].ctx
    by_name = _list(ctx, search="  baker ")
    assert [r.email for r in by_name.rows] == [team["bob"].email] and by_name.total == 1
    by_email = _list(ctx, search=team["cy"].email.upper())
    assert [r.full_name for r in by_email.rows] == ["Cy Cooper"]

    learners = _list(ctx, role=Role.learner)
    assert {r.full_name for r in learners.rows} == {"Amy Archer", "Bob Baker"}
    assert learners.total == 2

    with tenant_session(ctx) as session:
        members.do_set_active(session, ctx, _membership_id(ctx, team["amy"].email), False)
    inactive = _list(ctx, status="inactive")
    assert [(r.full_name, r.is_active) for r in inactive.rows] == [("Amy Archer", False)]
    assert _list(ctx, status="active", role=Role.learner).total == 1
    assert _list(ctx).total == 4  # no status filter: everyone


def test_list_shows_only_the_org_asked_for() -> None:
    t = f.two_tenants()
    f.invite_and_accept(t.b.ctx, Role.learner, full_name="Only In B")
    page = _list(t.a.ctx, search="Only In B")
    assert page.rows == [] and page.total == 0
    with pytest.raises(NotFound):
        _list(t.a.ctx, org_id=t.b.org_id)


def test_change_role_is_applied_and_audited(team: dict[str, f.SignedIn]) -> None:
    ctx = team["admin"].ctx
    bob = team["bob"]
    with tenant_session(ctx) as session:
        changed = members.do_change_role(session, ctx, _membership_id(ctx, bob.email), Role.manager)
    assert changed.role == Role.manager
    assert f.context(bob.token).role == Role.manager

    with tenant_session(ctx) as session:
        events = audit.list_events(session, ctx, action="member.role_changed").rows
    (event,) = [e for e in events if e.target == bob.email]
    assert event.detail == {"before": {"role": "learner"}, "after": {"role": "manager"}}
    assert event.actor_email == ctx.email


def test_change_to_an_unknown_role_is_refused(team: dict[str, f.SignedIn]) -> None:
    ctx = team["admin"].ctx
    with tenant_session(ctx) as session, pytest.raises(ValidationFailed) as err:
        members.do_change_role(session, ctx, _membership_id(ctx, team["bob"].email), "emperor")
    assert err.value.field == "role"


def test_last_admin_cannot_be_demoted_or_deactivated() -> None:
    admin = f.new_admin()
    ctx = admin.ctx
    own = _membership_id(ctx, admin.email)
    with tenant_session(ctx) as session, pytest.raises(Conflict) as err:
        members.do_change_role(session, ctx, own, Role.staff)
    assert "at least one org admin" in err.value.message
    assert f.context(admin.token).role == Role.org_admin

    # With a second admin, the first may step down.
    second = f.invite_and_accept_member(ctx, Role.org_admin)
    with tenant_session(ctx) as session:
        members.do_change_role(session, ctx, own, Role.staff)
    assert f.context(admin.token).role == Role.staff
    # Now the second is the last one.
    with tenant_session(second.ctx) as session, pytest.raises(Conflict):
        members.do_change_role(
            session, second.ctx, _membership_id(second.ctx, second.email), Role.learner
        )


def test_admin_cannot_deactivate_themselves() -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session, pytest.raises(ValidationFailed):
        members.do_set_active(session, admin.ctx, _membership_id(admin.ctx, admin.email), False)


def test_deactivate_ends_sessions_and_reactivate_restores_access(
    team: dict[str, f.SignedIn],
) -> None:
    ctx = team["admin"].ctx
    amy = team["amy"]
    other_browser = f.sign_in_token(amy.email)
    mid = _membership_id(ctx, amy.email)
    with tenant_session(ctx) as session:
        assert members.do_set_active(session, ctx, mid, False).is_active is False
    assert f.resolve(amy.token) is None
    assert f.resolve(other_browser) is None
    assert f.resolve(team["bob"].token) is not None, "only the deactivated member is signed out"

    with tenant_session(ctx) as session:
        members.do_set_active(session, ctx, mid, True)
    assert f.signed_in(amy.email).ctx.org_id == ctx.org_id
    with tenant_session(ctx) as session:
        actions = [e.action for e in audit.list_events(session, ctx, action="member.").rows]
    assert {"member.deactivated", "member.reactivated"} <= set(actions)


@pytest.mark.parametrize("role", [Role.learner, Role.employer_partner])
def test_roles_without_members_view_are_refused(role: str) -> None:
    admin = f.new_admin()
    ctx = f.invite_and_accept(admin.ctx, role)
    with pytest.raises(PermissionDenied):
        _list(ctx)


def test_viewers_cannot_manage(team: dict[str, f.SignedIn]) -> None:
    instructor = team["cy"].ctx
    assert _list(instructor).total == 4  # may look
    bob_mid = _membership_id(instructor, team["bob"].email)
    with tenant_session(instructor) as session:
        with pytest.raises(PermissionDenied):
            members.do_change_role(session, instructor, bob_mid, Role.org_admin)
        with pytest.raises(PermissionDenied):
            members.do_set_active(session, instructor, bob_mid, False)


def test_admin_cannot_manage_another_tenants_membership() -> None:
    t = f.two_tenants()
    victim = f.invite_and_accept_member(t.b.ctx, Role.learner)
    mid = _membership_id(t.b.ctx, victim.email)
    with tenant_session(t.a.ctx) as session:
        with pytest.raises(NotFound):
            members.do_change_role(session, t.a.ctx, mid, Role.org_admin)
        with pytest.raises(NotFound):
            members.do_set_active(session, t.a.ctx, mid, False)
    assert f.resolve(victim.token) is not None
