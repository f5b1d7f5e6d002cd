"""Organizations: nesting, names, moves, subtree visibility and the org switcher."""

from __future__ import annotations

import pytest

from app.models.user import Role
from app.services.config import orgs
from app.services.core.errors import Conflict, NotFound, ValidationFailed
from app.services.core.tenancy import public_session, tenant_session
from app.services.people import auth, invites, members
from tests import factories as f

pytestmark = pytest.mark.usefixtures("backend")


def test_admin_creates_a_child_org_and_sees_it_after_refresh() -> None:
    admin = f.new_admin("national")
    name = f.unique("Northern Region")
    child = f.child_org(admin.ctx, kind="regional", name=name)
    assert (child.name, child.kind, child.parent_id) == (name, "regional", admin.org_id)

    admin = f.refresh(admin)
    assert child.id in admin.ctx.org_ids
    with tenant_session(admin.ctx) as session:
        tree = orgs.org_tree(session, admin.ctx)
        assert orgs.get_org(session, admin.ctx, child.id).name == name
    assert [(n.id, n.depth) for n in tree] == [(str(admin.org_id), 0), (str(child.id), 1)]


@pytest.mark.parametrize(
    ("parent_kind", "child_kind"),
    [("national", "regional"), ("national", "local"), ("regional", "group"), ("local", "provider")],
)
def test_kinds_nest_downwards(parent_kind: str, child_kind: str) -> None:
    admin = f.new_admin(parent_kind)
    assert f.child_org(admin.ctx, kind=child_kind).kind == child_kind


@pytest.mark.parametrize(
    ("parent_kind", "child_kind"),
    [("regional", "national"), ("regional", "regional"), ("group", "local")],
)
def test_kinds_may_not_outrank_their_parent(parent_kind: str, child_kind: str) -> None:
    admin = f.new_admin(parent_kind)
    with pytest.raises(ValidationFailed) as err:
        f.child_org(admin.ctx, kind=child_kind)
    assert err.value.field == "kind"
    assert f"{child_kind} organization cannot sit under a {parent_kind}" in err.value.message


def test_unknown_kind_is_refused() -> None:
    admin = f.new_admin()
    with pytest.raises(ValidationFailed) as err:
        f.child_org(admin.ctx, kind="galaxy")
    assert err.value.field == "kind"


def test_name_is_unique_per_parent_case_insensitively() -> None:
    admin = f.new_admin("national")
    first = f.child_org(admin.ctx, kind="regional")
    second = f.child_org(admin.ctx, kind="regional")
    admin = f.refresh(admin)  # a context is built per request: new children need a refresh
    name = f.unique("Riverside")
    f.child_org(admin.ctx, kind="local", name=name, parent_id=first.id)

    with pytest.raises(Conflict) as err:
        f.child_org(admin.ctx, kind="local", name=f"  {name.upper()} ", parent_id=first.id)
    assert err.value.field == "name"
    assert "already exists" in err.value.message
    # The same name under another parent is fine.
    assert f.child_org(admin.ctx, kind="local", name=name, parent_id=second.id).name == name


def test_child_name_may_match_another_tenants_child() -> None:
    t = f.two_tenants()
    name = f.unique("Downtown")
    f.child_org(t.a.ctx, name=name)
    assert f.child_org(t.b.ctx, name=name).name == name


def _tree(kind: str = "provider") -> tuple[f.SignedIn, object, object]:
    """An admin of a root with a child and a grandchild (kinds that never fail nesting)."""
    admin = f.new_admin(kind)
    child = f.child_org(admin.ctx, kind=kind)
    grandchild = f.child_org(f.refresh(admin).ctx, kind=kind, parent_id=child.id)
    return f.refresh(admin), child, grandchild


def test_move_refuses_a_cycle() -> None:
    admin, child, grandchild = _tree()
    with tenant_session(admin.ctx) as session, pytest.raises(ValidationFailed) as err:
        orgs.do_move_org(session, admin.ctx, org_id=child.id, new_parent_id=grandchild.id)
    assert err.value.field == "parent_id"
    assert "loop" in err.value.message and grandchild.name in err.value.message
    with tenant_session(admin.ctx) as session, pytest.raises(ValidationFailed):
        orgs.do_move_org(session, admin.ctx, org_id=child.id, new_parent_id=child.id)
    # Nothing moved.
    with tenant_session(admin.ctx) as session:
        assert orgs.get_org(session, admin.ctx, child.id).parent_id == admin.org_id


def test_move_reparents_inside_the_subtree() -> None:
    admin, _child, grandchild = _tree()
    other = f.child_org(admin.ctx, kind="provider")
    admin = f.refresh(admin)
    with tenant_session(admin.ctx) as session:
        moved = orgs.do_move_org(session, admin.ctx, org_id=grandchild.id, new_parent_id=other.id)
    assert moved.parent_id == other.id
    with tenant_session(admin.ctx) as session:
        tree = {n.id: n.parent_id for n in orgs.org_tree(session, admin.ctx)}
    assert tree[str(grandchild.id)] == str(other.id)


def test_move_refuses_a_name_clash_and_bad_nesting() -> None:
    admin = f.new_admin("national")
    north = f.child_org(admin.ctx, kind="regional")
    south = f.child_org(admin.ctx, kind="regional")
    admin = f.refresh(admin)
    name = f.unique("Harbour")
    a = f.child_org(admin.ctx, kind="local", name=name, parent_id=north.id)
    f.child_org(admin.ctx, kind="local", name=name, parent_id=south.id)
    admin = f.refresh(admin)
    with tenant_session(admin.ctx) as session, pytest.raises(Conflict) as err:
        orgs.do_move_org(session, admin.ctx, org_id=a.id, new_parent_id=south.id)
    assert "already has an organization named" in err.value.message
    with tenant_session(admin.ctx) as session, pytest.raises(ValidationFailed) as bad:
        orgs.do_move_org(session, admin.ctx, org_id=north.id, new_parent_id=south.id)
    assert bad.value.field == "kind"


def test_parent_admin_sees_the_whole_subtree() -> None:
    admin = f.new_admin("national")
    region = f.child_org(admin.ctx, kind="regional")
    local = f.child_org(f.refresh(admin).ctx, kind="local", parent_id=region.id)
    admin = f.refresh(admin)
    assert {admin.org_id, region.id, local.id} <= admin.ctx.org_ids

    member = f.invite_and_accept_member(admin.ctx, Role.learner, org_id=local.id)
    with tenant_session(admin.ctx) as session:
        page = members.list_members(session, admin.ctx, org_id=local.id)
    assert [r.email for r in page.rows] == [member.email]


def test_child_admin_cannot_see_or_touch_the_parent() -> None:
    parent_admin = f.new_admin("national")
    region = f.child_org(parent_admin.ctx, kind="regional")
    parent_admin = f.refresh(parent_admin)
    child_admin = f.invite_and_accept_member(parent_admin.ctx, Role.org_admin, org_id=region.id)
    ctx = child_admin.ctx
    assert ctx.org_id == region.id and ctx.role == Role.org_admin
    assert parent_admin.org_id not in ctx.org_ids

    parent = parent_admin.org_id
    with tenant_session(ctx) as session:
        with pytest.raises(NotFound):
            orgs.get_org(session, ctx, parent)
        with pytest.raises(NotFound):
            orgs.do_create_child_org(
                session, ctx, parent_id=parent, name=f.unique("X"), kind="local"
            )
        with pytest.raises(NotFound):
            orgs.do_move_org(session, ctx, org_id=parent, new_parent_id=region.id)
        with pytest.raises(NotFound):
            members.list_members(session, ctx, org_id=parent)
        with pytest.raises(NotFound):
            invites.do_invite(
                session, ctx, email=f.unique_email("x"), role=Role.learner, org_id=parent
            )
        # Its own org is still fully usable.
        assert orgs.get_org(session, ctx, region.id).id == region.id


def test_an_org_page_lists_its_direct_children_a_child_admin_sees_no_sibling() -> None:
    national = f.new_admin("national")
    north = f.child_org(national.ctx, kind="regional", name=f.unique("North"))
    south = f.child_org(national.ctx, kind="regional", name=f.unique("South"))
    national = f.refresh(national)
    town = f.child_org(national.ctx, kind="local", parent_id=north.id, name=f.unique("Town"))
    national = f.refresh(national)
    with tenant_session(national.ctx) as session:
        top = orgs.org_detail(session, national.ctx, national.org_id)
        region = orgs.org_detail(session, national.ctx, north.id)
    assert sorted(c.id for c in top.children) == sorted([str(north.id), str(south.id)])
    assert [(c.id, c.kind) for c in region.children] == [(str(town.id), "local")]
    assert (region.org.name, region.org.kind) == (north.name, "regional")

    south_admin = f.invite_and_accept_member(national.ctx, Role.org_admin, org_id=south.id)
    with tenant_session(south_admin.ctx) as session:
        assert orgs.org_detail(session, south_admin.ctx, south.id).children == []
        with pytest.raises(NotFound):
            orgs.org_detail(session, south_admin.ctx, north.id)
        with pytest.raises(NotFound):
            orgs.org_detail(session, south_admin.ctx, national.org_id)


def test_the_org_picker_offers_the_subtree_to_org_admins_and_one_org_to_staff() -> None:
    national = f.new_admin("national")
    north = f.child_org(national.ctx, kind="regional", name=f.unique("North"))
    national = f.refresh(national)
    with tenant_session(national.ctx) as session:
        mine = orgs.org_picker(session, national.ctx, None)
        chosen = orgs.org_picker(session, national.ctx, str(north.id))
    assert mine.org.id == str(national.org_id)
    assert mine.choices == [
        (str(national.org_id), national.ctx.org_name),
        (str(north.id), f"— {north.name}"),
    ]
    assert (chosen.org.id, chosen.org.name) == (str(north.id), north.name)

    staff = f.invite_and_accept_member(national.ctx, Role.staff)
    with tenant_session(staff.ctx) as session:
        theirs = orgs.org_picker(session, staff.ctx, None)
    assert theirs.choices == [(str(national.org_id), national.ctx.org_name)]


def test_switch_between_two_memberships() -> None:
    a = f.new_admin()
    b = f.new_admin()
    # B's admin is also invited into A as an instructor, and links the existing account.
    _, token = f.invite(a.ctx, Role.instructor, email=b.email)
    invites.do_accept_invite(token, signed_in_user_id=b.user_id)

    with public_session() as session:
        choices = auth.user_orgs(session, b.user_id)
    assert {(c.id, c.role) for c in choices} == {
        (str(b.org_id), Role.org_admin),
        (str(a.org_id), Role.instructor),
    }

    assert b.ctx.org_id == b.org_id
    with tenant_session(b.ctx) as session:
        auth.do_switch_org(session, b.ctx, str(a.org_id))
    ctx = f.context(b.token)
    assert (ctx.org_id, ctx.role) == (a.org_id, Role.instructor)
    assert b.org_id not in ctx.org_ids

    with tenant_session(ctx) as session:
        auth.do_switch_org(session, ctx, b.org_id)
    back = f.context(b.token)
    assert (back.org_id, back.role) == (b.org_id, Role.org_admin)


def test_switch_to_an_org_you_do_not_belong_to_is_not_found() -> None:
    t = f.two_tenants()
    region = f.child_org(t.a.ctx)
    for target in (t.b.org_id, region.id, "not-a-uuid"):
        with tenant_session(t.a.ctx) as session, pytest.raises(NotFound):
            auth.do_switch_org(session, t.a.ctx, target)
    assert f.context(t.a.token).org_id == t.a.org_id
