"""`OrgsState` and `OrgDetailState`: the admin's tree; creating under an org of another tenant."""

from __future__ import annotations

import pytest

from app.models.user import Role
from app.services.config import orgs
from app.services.core.tenancy import OrgContext, tenant_session
from app.state.orgs import OrgDetailState, OrgsState
from tests import factories as f
from tests.state.harness import StateHarness

pytestmark = pytest.mark.usefixtures("backend")


def _tree(ctx: OrgContext) -> list[tuple[str, str, str]]:
    with tenant_session(ctx) as session:
        return [(n.id, n.parent_id, n.name) for n in orgs.org_tree(session, ctx)]


def test_admin_creates_a_child_org() -> None:
    admin = f.new_admin()
    name = f.unique("Region")
    with StateHarness(cookie=admin.token, path="/admin/orgs") as tab:
        tab.dispatch(OrgsState.load())
        assert [n["id"] for n in tab.state(OrgsState).tree] == [str(admin.org_id)]
        reply = tab.dispatch(
            OrgsState.create({"parent_id": str(admin.org_id), "name": name, "kind": "regional"})
        )
        assert reply.toast("success", name)
        assert [(n["name"], n["depth"]) for n in tab.state(OrgsState).tree][1] == (name, 1)
    assert name in {n for _id, _parent, n in _tree(f.refresh(admin).ctx)}


def test_create_under_another_tenants_org_is_refused_and_creates_nothing(peek) -> None:  # type: ignore[no-untyped-def]
    t = f.two_tenants()
    name = f.unique("Implant")
    a_tree = _tree(t.a.ctx)
    with StateHarness(cookie=t.b.token, path="/admin/orgs") as tab:
        tab.dispatch(OrgsState.load())
        reply = tab.dispatch(
            OrgsState.create({"parent_id": str(t.a.org_id), "name": name, "kind": "regional"})
        )
        state = tab.state(OrgsState)
        assert reply.toast("error", "Not found.")
        assert not reply.toasts("success")
        assert state.form_error == "Not found." and state.busy is False
        assert [n["id"] for n in state.tree] == [str(t.b.org_id)]
    assert peek("SELECT count(*) FROM organizations WHERE name = :n", n=name)[0][0] == 0
    assert _tree(t.a.ctx) == a_tree


def test_a_field_error_shows_beside_the_field_without_a_toast() -> None:
    admin = f.new_admin("regional")
    with StateHarness(cookie=admin.token, path="/admin/orgs") as tab:
        reply = tab.dispatch(
            OrgsState.create({"parent_id": str(admin.org_id), "name": "X Y", "kind": "national"})
        )
        assert tab.state(OrgsState).kind_error
        assert reply.toasts() == []


def test_learner_gets_an_empty_tree_and_cannot_create() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    name = f.unique("Nope")
    with StateHarness(cookie=learner.token, path="/admin/orgs") as tab:
        tab.dispatch(OrgsState.load())
        assert tab.state(OrgsState).tree == []
        reply = tab.dispatch(
            OrgsState.create({"parent_id": str(admin.org_id), "name": name, "kind": "regional"})
        )
        assert reply.toast("error", "You are not allowed to do that.")
    assert name not in {n for _id, _parent, n in _tree(admin.ctx)}


def test_admin_moves_a_child_org_under_another() -> None:
    admin = f.new_admin()
    region = f.child_org(admin.ctx, kind="regional")
    local = f.child_org(f.refresh(admin).ctx, kind="local")
    with StateHarness(cookie=admin.token, path="/admin/orgs") as tab:
        reply = tab.dispatch(OrgsState.move({"org_id": str(local.id), "parent_id": str(region.id)}))
        assert reply.toast("success", f"Moved {local.name}.")
        state = tab.state(OrgsState)
        assert state.move_error == ""
        assert {n["name"]: n["depth"] for n in state.tree}[local.name] == 2
    assert (str(local.id), str(region.id), local.name) in _tree(f.refresh(admin).ctx)


def test_a_refused_move_says_why_and_keeps_the_tree() -> None:
    admin = f.new_admin()
    region = f.child_org(admin.ctx, kind="regional")
    local = f.child_org(f.refresh(admin).ctx, kind="local")
    with StateHarness(cookie=admin.token, path="/admin/orgs") as tab:
        tab.dispatch(OrgsState.load())
        before = tab.state(OrgsState).tree
        reply = tab.dispatch(OrgsState.move({"org_id": str(region.id), "parent_id": str(local.id)}))
        state = tab.state(OrgsState)
        assert reply.toast("error", "cannot sit under a local one")
        assert "cannot sit under" in state.move_error and state.tree == before


def test_move_with_another_tenants_org_is_refused() -> None:
    t = f.two_tenants()
    a_child = f.child_org(t.a.ctx)
    a_tree = _tree(f.refresh(t.a).ctx)
    with StateHarness(cookie=t.b.token, path="/admin/orgs") as tab:
        reply = tab.dispatch(
            OrgsState.move({"org_id": str(a_child.id), "parent_id": str(t.b.org_id)})
        )
        assert reply.toast("error", "Not found.")
        assert tab.state(OrgsState).move_error == "Not found."
    assert _tree(f.refresh(t.a).ctx) == a_tree


def test_org_detail_of_another_tenant_is_not_found() -> None:
    t = f.two_tenants()
    with StateHarness(cookie=t.b.token, path=f"/orgs/{t.a.org_id}") as tab:
        tab.dispatch(OrgDetailState.load())
        state = tab.state(OrgDetailState)
        assert state.found is False and state.detail_name == ""
        tab.navigate(f"/orgs/{t.b.org_id}")
        tab.dispatch(OrgDetailState.load())
        assert tab.state(OrgDetailState).found is True
