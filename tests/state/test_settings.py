"""`SettingsState` on /admin/settings: sources shown, saves, errors beside fields, resets, and
handlers that refuse other roles even when called directly."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.models.user import Role
from app.services.config import inheritance, schema, writes
from app.services.core.tenancy import OrgContext, tenant_session
from app.state.settings import SettingsState
from tests import factories as f
from tests.state.harness import StateHarness

pytestmark = pytest.mark.usefixtures("backend")

FEATURES_ALL_ON = {name: "on" for name in schema.FEATURE_NAMES}


def _config(ctx: OrgContext, org_id: uuid.UUID) -> schema.OrgConfig:
    with tenant_session(ctx) as session:
        return inheritance.effective_config(session, org_id)


def _row(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (row,) = [r for r in rows if r["name"] == name]
    return row


def test_admin_sees_values_and_where_they_come_from() -> None:
    parent = f.new_admin()
    child = f.child_org(parent.ctx)
    parent = f.refresh(parent)
    with tenant_session(parent.ctx) as session:
        writes.do_update_section(
            session, parent.ctx, org_id=parent.org_id, section="features", values={"chat": False}
        )
    with StateHarness(cookie=parent.token, path=f"/admin/settings?org={child.id}") as tab:
        reply = tab.dispatch(SettingsState.load())
        state = tab.state(SettingsState)
        assert reply.redirects == [] and state.ready and not state.missing
        assert state.target_org == str(child.id)
        chat = _row(state.feature_rows, "chat")
        assert chat["value"] is False and chat["overridden"] is False
        assert chat["badge"] == f"inherited from {parent.ctx.org_name}"
        assert _row(state.feature_rows, "events")["badge"] == "default"
        assert {o["value"] for o in state.org_choices} >= {str(parent.org_id), str(child.id)}
        assert state.license_info["state"] == "active"
        assert _row(state.limit_rows, "max_staff")["cap"] == "unlimited"

        tab.dispatch(SettingsState.choose_org(str(parent.org_id)))
        chat = _row(tab.state(SettingsState).feature_rows, "chat")
        assert (chat["badge"], chat["overridden"]) == ("set here", True)


def test_save_reset_and_custom_source() -> None:
    admin = f.new_admin()
    with StateHarness(cookie=admin.token, path="/admin/settings") as tab:
        tab.dispatch(SettingsState.load())
        keys = dict(tab.state(SettingsState).form_keys)
        assert set(keys) >= {"features", "funding", "delivery", "reporting", "branding", "limits"}
        form = {**FEATURES_ALL_ON}
        del form["chat"]  # an unchecked switch is absent from the form
        reply = tab.dispatch(SettingsState.save_features(form))
        assert reply.toast("success", "Features saved")
        state = tab.state(SettingsState)
        assert _row(state.feature_rows, "chat")["value"] is False
        # The saved section remounts with the saved values; what is being typed in the
        # other sections stays (their forms keep their key).
        assert state.form_keys["features"] != keys["features"]
        assert {k: v for k, v in state.form_keys.items() if k != "features"} == {
            k: v for k, v in keys.items() if k != "features"
        }
        assert _config(admin.ctx, admin.org_id).features.chat is False

        reply = tab.dispatch(SettingsState.reset_field("features", "chat"))
        assert reply.toast("success")
        assert _row(tab.state(SettingsState).feature_rows, "chat")["badge"] == "default"
        assert _config(admin.ctx, admin.org_id).features.chat is True

        reply = tab.dispatch(
            SettingsState.save_branding({"site_name": "River", "primary_color": "crimson"})
        )
        assert reply.toast("success", "Branding saved")
        assert tab.state(SettingsState).accent == "crimson"  # the shell re-themes at once

        reply = tab.dispatch(SettingsState.add_custom_source({"slug": "Vet_Grant", "label": "VA"}))
        assert reply.toast("success")
        rows = {r["slug"]: r for r in tab.state(SettingsState).source_rows}
        assert rows["vet_grant"]["checked"] and rows["vet_grant"]["custom"]
        assert "vet_grant" in _config(admin.ctx, admin.org_id).funding.sources

        reply = tab.dispatch(SettingsState.remove_custom_source("vet_grant"))
        assert reply.toast("success")
        assert "vet_grant" not in {r["slug"] for r in tab.state(SettingsState).source_rows}


def test_invalid_value_shows_beside_its_field_and_saves_nothing() -> None:
    admin = f.new_admin()
    with StateHarness(cookie=admin.token, path="/admin/settings") as tab:
        tab.dispatch(SettingsState.load())
        reply = tab.dispatch(
            SettingsState.save_limits({"max_students": "-3", "max_staff": "4", "max_programs": ""})
        )
        assert reply.toasts("error") and not reply.toasts("success")
        state = tab.state(SettingsState)
        assert "0 or more" in _row(state.limit_rows, "max_students")["error"]
        assert state.errors == {"limits.max_students": "Enter 0 or more."}
        assert state.busy is False

        reply = tab.dispatch(
            SettingsState.save_branding({"site_name": "Ok", "primary_color": "plaid"})
        )
        assert "indigo" in tab.state(SettingsState).meta["branding.primary_color"]["error"]
    config = _config(admin.ctx, admin.org_id)
    assert config.limits.max_staff is None  # the valid field beside it was not saved
    assert config.branding.site_name == ""


def test_limits_show_usage_and_over_limit() -> None:
    admin = f.new_admin()
    f.invite(admin.ctx, Role.learner)
    f.invite(admin.ctx, Role.learner)
    with StateHarness(cookie=admin.token, path="/admin/settings") as tab:
        tab.dispatch(SettingsState.load())
        reply = tab.dispatch(
            SettingsState.save_limits({"max_students": "1", "max_staff": "", "max_programs": ""})
        )
        assert reply.toast("success")
        row = _row(tab.state(SettingsState).limit_rows, "max_students")
        assert (row["used"], row["cap"], row["over"], row["percent"]) == (2, "1", True, 100)


@pytest.mark.parametrize("role", [Role.learner, Role.staff])
def test_other_roles_are_refused_by_every_handler(role: str) -> None:
    admin = f.new_admin()
    member = f.invite_and_accept_member(admin.ctx, role)
    before = _config(admin.ctx, admin.org_id)
    with StateHarness(cookie=member.token, path="/admin/settings") as tab:
        tab.dispatch(SettingsState.load())
        state = tab.state(SettingsState)
        assert not state.ready and state.feature_rows == [] and state.meta == {}
        for event in (
            SettingsState.save_features({}),
            SettingsState.save_branding({"primary_color": "red", "site_name": "Mine"}),
            SettingsState.save_limits({"max_staff": "0"}),
            SettingsState.reset_field("features", "chat"),
            SettingsState.remove_logo(),
            SettingsState.choose_org(str(admin.org_id)),
        ):
            reply = tab.dispatch(event)
            assert reply.toast("error", "You are not allowed to do that."), event
            assert not reply.toasts("success")
    assert _config(admin.ctx, admin.org_id) == before


def test_signed_out_load_redirects_to_sign_in() -> None:
    with StateHarness(cookie=None, path="/admin/settings") as tab:
        reply = tab.dispatch(SettingsState.load())
        assert reply.redirects == ["/signin?next=/admin/settings"]
