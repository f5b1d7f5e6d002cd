"""A learner's manager: who may be one, who may assign one, the audit, and team views."""

from __future__ import annotations

from typing import Any

import pytest

from app.models.user import Role
from app.services.core import audit
from app.services.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.people import members
from tests import factories as f

pytestmark = pytest.mark.usefixtures("backend")


def _row(ctx: OrgContext, email: str, org_id: Any = None) -> members.MemberRow:
    with tenant_session(ctx) as session:
        (row,) = members.list_members(session, ctx, org_id=org_id, search=email).rows
    return row


def _assign(ctx: OrgContext, membership_id: str, manager: Any) -> None:
    with tenant_session(ctx) as session:
        members.do_assign_manager(session, ctx, membership_id, manager)


def _team(ctx: OrgContext, manager: Any) -> list[str]:
    with tenant_session(ctx) as session:
        return [r.email for r in members.team_of(session, ctx, manager)]


@pytest.mark.parametrize("role", [Role.manager, Role.staff, Role.org_admin])
def test_assign_and_clear_a_manager_with_audit(role: str) -> None:
    admin = f.new_admin()
    boss = f.invite_and_accept_member(admin.ctx, role, full_name="Bea Boss")
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    row = _row(admin.ctx, learner.email)
    assert (row.manager_user_id, row.manager_name) == ("", "")

    _assign(admin.ctx, row.membership_id, str(boss.user_id))
    row = _row(admin.ctx, learner.email)
    assert (row.manager_user_id, row.manager_name) == (str(boss.user_id), "Bea Boss")
    assert _team(admin.ctx, boss.user_id) == [learner.email]
    assert _team(boss.ctx, boss.user_id) == [learner.email]  # a manager sees their own team

    _assign(admin.ctx, row.membership_id, None)
    assert _row(admin.ctx, learner.email).manager_user_id == ""
    assert _team(admin.ctx, boss.user_id) == []
    with tenant_session(admin.ctx) as session:
        events = audit.list_events(session, admin.ctx, action="member.manager_changed").rows
    assert [(e.target, e.detail) for e in events] == [
        (learner.email, {"before": {"manager": boss.email}, "after": {"manager": None}}),
        (learner.email, {"before": {"manager": None}, "after": {"manager": boss.email}}),
    ]


@pytest.mark.parametrize(
    ("who", "says"),
    [
        ("instructor", "cannot manage learners"),
        ("learner", "cannot manage learners"),
        ("inactive", "not an active member"),
        ("other_org", "must be a member of this organization"),
        ("self", "cannot manage learners"),  # a learner is no manager of anyone, self included
        ("garbage", "Choose a manager"),
    ],
)
def test_manager_rules(who: str, says: str) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    candidates = {
        "instructor": lambda: str(f.invite_and_accept(admin.ctx, Role.instructor).user_id),
        "learner": lambda: str(f.invite_and_accept(admin.ctx, Role.learner).user_id),
        "other_org": lambda: str(f.new_admin().user_id),
        "self": lambda: str(learner.user_id),
        "garbage": lambda: "not-a-uuid",
    }
    if who == "inactive":
        boss = f.invite_and_accept_member(admin.ctx, Role.manager)
        with tenant_session(admin.ctx) as session:
            members.do_set_active(
                session, admin.ctx, _row(admin.ctx, boss.email).membership_id, False
            )
        manager = str(boss.user_id)
    else:
        manager = candidates[who]()
    with pytest.raises(ValidationFailed) as err:
        _assign(admin.ctx, _row(admin.ctx, learner.email).membership_id, manager)
    assert says in err.value.message and err.value.field == "manager"
    assert _row(admin.ctx, learner.email).manager_user_id == ""


def test_nobody_manages_themselves_and_only_learners_have_managers() -> None:
    admin = f.new_admin()
    boss = f.invite_and_accept_member(admin.ctx, Role.manager)
    with pytest.raises(ValidationFailed) as err:
        _assign(admin.ctx, _row(admin.ctx, boss.email).membership_id, str(boss.user_id))
    assert "Only learners" in err.value.message


def test_manager_must_be_in_the_learners_own_org_not_just_the_subtree() -> None:
    admin = f.new_admin()
    child = f.child_org(admin.ctx)
    admin = f.refresh(admin)
    kid = f.invite_and_accept_member(admin.ctx, Role.learner, org_id=child.id)
    parent_boss = f.invite_and_accept_member(admin.ctx, Role.manager)
    row = _row(admin.ctx, kid.email, org_id=child.id)
    with pytest.raises(ValidationFailed):
        _assign(admin.ctx, row.membership_id, str(parent_boss.user_id))
    child_boss = f.invite_and_accept_member(admin.ctx, Role.manager, org_id=child.id)
    _assign(admin.ctx, row.membership_id, str(child_boss.user_id))  # the parent admin may
    assert _row(admin.ctx, kid.email, org_id=child.id).manager_user_id == str(child_boss.user_id)


def test_only_member_managers_assign() -> None:
    admin = f.new_admin()
    boss = f.invite_and_accept_member(admin.ctx, Role.manager)
    staff = f.invite_and_accept(admin.ctx, Role.staff)
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    membership_id = _row(admin.ctx, learner.email).membership_id
    for ctx in (staff, boss.ctx, learner.ctx):
        with tenant_session(ctx) as session, pytest.raises(PermissionDenied):
            members.do_assign_manager(session, ctx, membership_id, str(boss.user_id))


def test_team_of_someone_else_needs_members_view_and_stays_in_scope() -> None:
    admin = f.new_admin()
    boss = f.invite_and_accept_member(admin.ctx, Role.manager)
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    _assign(admin.ctx, _row(admin.ctx, learner.email).membership_id, str(boss.user_id))
    with tenant_session(learner.ctx) as session:
        with pytest.raises(PermissionDenied):
            members.team_of(session, learner.ctx, boss.user_id)
        assert members.team_of(session, learner.ctx, learner.user_id) == []
        with pytest.raises(NotFound):
            members.team_of(session, learner.ctx, "nope")
    other = f.new_admin()
    assert _team(other.ctx, boss.user_id) == []  # another org's team shows nothing


def test_team_of_lists_only_active_learners() -> None:
    admin = f.new_admin()
    boss = f.invite_and_accept_member(admin.ctx, Role.manager)
    stay = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Aaron Stay")
    leave = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Zed Leave")
    for who in (stay, leave):
        _assign(admin.ctx, _row(admin.ctx, who.email).membership_id, str(boss.user_id))
    assert _team(boss.ctx, boss.user_id) == [stay.email, leave.email]
    with tenant_session(admin.ctx) as session:
        members.do_set_active(session, admin.ctx, _row(admin.ctx, leave.email).membership_id, False)
    assert _team(boss.ctx, boss.user_id) == [stay.email]
