"""`authz`: the one permission table. Each role predicate is pinned role by role (and channel
kind by channel kind), so changing who may do what fails here first."""

from __future__ import annotations

import importlib
import uuid

import pytest

from app.models.chat import ChannelKind
from app.models.user import Role
from app.services.core import authz
from app.services.core.authz import Permission
from app.services.core.tenancy import OrgContext

ROLES = list(Role)
R = Role


def ctx(role: str, *, super_admin: bool = False, org: bool = True) -> OrgContext:
    org_id = uuid.uuid4() if org else None
    return OrgContext(
        user_id=uuid.uuid4(),
        email="someone@example.com",
        full_name="Someone",
        org_id=org_id,
        role=role if org else "",
        org_ids=frozenset({org_id}) if org_id else frozenset(),
        is_super_admin=super_admin,
    )


def _table(members: set[Role]) -> list[tuple[Role, bool]]:
    """Every role with whether it is in `members` (the expected truth table)."""
    return [(role, role in members) for role in ROLES]


# --------------------------------------------------------------------------- role tables


@pytest.mark.parametrize(
    ("role", "expected"), _table({R.org_admin, R.staff, R.instructor}), ids=str
)
def test_course_staff(role: Role, expected: bool) -> None:
    assert authz.is_course_staff(role) is expected
    assert (role in authz.COURSE_STAFF_ROLES) is expected


@pytest.mark.parametrize(("role", "expected"), _table({R.manager, R.org_admin, R.staff}), ids=str)
def test_who_may_manage_learners(role: Role, expected: bool) -> None:
    assert authz.may_manage_learners(role) is expected


@pytest.mark.parametrize(("role", "expected"), _table({R.learner}), ids=str)
def test_who_may_have_a_manager(role: Role, expected: bool) -> None:
    assert authz.may_have_manager(role) is expected


@pytest.mark.parametrize(("role", "expected"), _table({R.org_admin}), ids=str)
def test_the_role_an_org_must_keep(role: Role, expected: bool) -> None:
    assert authz.is_org_admin_role(role) is expected


@pytest.mark.parametrize(("role", "expected"), _table({R.org_admin, R.staff}), ids=str)
def test_who_may_archive_channels(role: Role, expected: bool) -> None:
    assert authz.may_archive_channels(role) is expected


@pytest.mark.parametrize(("role", "expected"), _table({R.learner}), ids=str)
def test_student_seats(role: Role, expected: bool) -> None:
    assert (role in authz.STUDENT_ROLES) is expected


# Who moderates which kind of channel: org admins and staff all; instructors course and cohort.
MODERATES = {
    R.org_admin: set(ChannelKind),
    R.staff: set(ChannelKind),
    R.instructor: {ChannelKind.course, ChannelKind.cohort},
}


@pytest.mark.parametrize("kind", list(ChannelKind), ids=str)
@pytest.mark.parametrize("role", ROLES, ids=str)
def test_who_moderates_which_channel_kind(role: Role, kind: ChannelKind) -> None:
    assert authz.moderates(role, kind) is (kind in MODERATES.get(role, set()))


def test_no_role_decides_nothing() -> None:
    for predicate in (
        authz.is_course_staff,
        authz.may_manage_learners,
        authz.may_have_manager,
        authz.is_org_admin_role,
        authz.may_archive_channels,
    ):
        assert not predicate(""), predicate
        assert not predicate(None), predicate
        assert not predicate("super_admin"), predicate  # a platform flag, never a role
    assert not any(authz.moderates("", kind) for kind in ChannelKind)


# --------------------------------------------------------------------------- contexts


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_effective_role(role: Role) -> None:
    assert authz.effective_role(ctx(role)) == role
    assert authz.effective_role(ctx(role, super_admin=True)) == Role.org_admin
    assert authz.effective_role(ctx(role, org=False)) == ""
    assert authz.effective_role(ctx(role, super_admin=True, org=False)) == ""


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_effective_role_is_the_role_has_sees(role: Role) -> None:
    for c in (ctx(role), ctx(role, super_admin=True), ctx(role, org=False)):
        for permission in Permission:
            assert authz.has(c, permission) is (
                permission in authz.permissions_for(authz.effective_role(c))
            ), (c, permission)


@pytest.mark.parametrize(("role", "expected"), _table({R.org_admin}), ids=str)
def test_is_org_admin(role: Role, expected: bool) -> None:
    assert authz.is_org_admin(ctx(role)) is expected
    assert authz.is_org_admin(ctx(role, super_admin=True))  # super admins act as org admins
    assert not authz.is_org_admin(ctx(role, org=False))


@pytest.mark.parametrize(("role", "expected"), _table({R.manager}), ids=str)
def test_sees_team_only(role: Role, expected: bool) -> None:
    assert authz.sees_team_only(ctx(role)) is expected
    assert not authz.sees_team_only(ctx(role, super_admin=True))  # a super admin sees the org
    assert not authz.sees_team_only(ctx(role, org=False))


@pytest.mark.parametrize(
    ("role", "expected"), _table({R.org_admin, R.staff, R.manager, R.auditor}), ids=str
)
def test_may_open_team_view(role: Role, expected: bool) -> None:
    assert authz.may_open_team_view(ctx(role)) is expected
    assert authz.may_open_team_view(ctx(role, super_admin=True))
    assert not authz.may_open_team_view(ctx(role, org=False))


def test_the_team_view_opens_for_either_permission(monkeypatch: pytest.MonkeyPatch) -> None:
    """Today every role managing enrollments also sees compliance; the rule still takes each."""
    for permission in (Permission.enrollments_manage, Permission.compliance_view):
        monkeypatch.setitem(authz.ROLE_PERMISSIONS, Role.learner, frozenset({permission}))
        assert authz.may_open_team_view(ctx(Role.learner)), permission


def test_course_staff_are_who_author_or_manage_enrollments() -> None:
    assert {Permission.courses_author, Permission.enrollments_manage} == (
        authz.COURSE_STAFF_PERMISSIONS
    )


# --------------------------------------------------------------------------- one table


def test_every_role_has_a_label_and_permissions() -> None:
    assert set(authz.ROLE_LABELS) == set(Role)
    assert set(authz.ROLE_PERMISSIONS) == set(Role)
    assert authz.ROLE_LABELS[Role.org_admin] == "Org admin"


def test_the_rules_live_only_in_authz() -> None:
    """The copies that used to decide roles elsewhere are gone or are authz's own objects."""
    gone = {
        "app.services.comms.chat_access": ("MODERATOR_ROLES", "STAFF_MODERATED", "_ctx_role"),
        "app.services.comms.chat_members": ("STAFF_MODERATED_KINDS", "_staff_roles"),
        "app.services.learning.class_view": ("is_course_staff",),
        "app.services.people.members": ("MANAGER_ROLES",),
        "app.state.class_view": ("may_open_team_view",),
    }
    for name, attrs in gone.items():
        module = importlib.import_module(name)
        for attr in attrs:
            value = getattr(module, attr, None)
            owned = (
                value is None
                or value is getattr(authz, attr, object())
                or getattr(value, "__module__", "") == authz.__name__
            )
            assert owned, f"{name}.{attr} decides roles outside authz"
    from app.services.comms import chat_access, chat_members

    assert chat_access.is_course_staff is authz.is_course_staff
    assert chat_members.moderates is authz.moderates
    from app.state import chat_rows as chat_state

    assert chat_state.ROLE_LABELS is authz.ROLE_LABELS  # one label table
