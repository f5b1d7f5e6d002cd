"""Org config: every service entry point and settings handler, tried against org A by the
admin of an unrelated org B and by the admin of C, a child of A.

Rows reuse the tables of `test_surfaces` (its scenarios, `Surface`, `HandlerSurface` and the
A-unchanged checks); on top, A's config (its own and its child's: values, sources, stored
version) must be exactly as before, and A's secret site name must not reach the attacker.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from reflex.state import State

from app.services.config import gates, inheritance, logo, writes
from app.services.core.errors import NotFound
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.people import seats
from app.state.settings import SettingsState
from tests.isolation.test_surfaces import (  # fixtures are found by name in this module
    HandlerSurface,
    Scenario,
    Surface,
    Victim,
    _error_toast,
    _run_attack,
    attacker_tab,
    child_admin,
    other_tenant,
    scenario,
)
from tests.state.harness import StateHarness

__all__ = ["attacker_tab", "child_admin", "other_tenant", "scenario"]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _local_storage(tmp_path: Any, settings_env: Any) -> None:
    settings_env(storage_dir=str(tmp_path / "files"))


def _secret(v: Victim) -> str:
    return f"Secret site {v.org_id.hex[:12]}"


def _give_a_config(v: Victim) -> None:
    """A's own overrides (with a secret site name) and one on its child."""
    ctx = v.admin.ctx
    with tenant_session(ctx) as session:
        writes.do_update_section(
            session,
            ctx,
            org_id=v.org_id,
            section="branding",
            values={"site_name": _secret(v), "primary_color": "jade"},
        )
    with tenant_session(ctx) as session:
        writes.do_update_section(
            session, ctx, org_id=v.child_id, section="features", values={"chat": False}
        )


def _config_view(v: Victim) -> dict[str, Any]:
    ctx = v.admin.ctx
    with tenant_session(ctx) as session:
        return {
            str(org): {
                section: {name: (fv.value, fv.source, fv.overridden) for name, fv in fields.items()}
                for section, fields in inheritance.effective_with_sources(
                    session, ctx, org_id=org
                ).items()
            }
            for org in (v.org_id, v.child_id)
        }


def _attack(scenario: Scenario, surface: Surface) -> None:
    victim = scenario.victim
    _give_a_config(victim)
    before = _config_view(victim)
    _run_attack(scenario, surface)
    assert _config_view(victim) == before, f"{surface.name} changed A's config"


# --------------------------------------------------------------------------- services


def _update(org: uuid.UUID) -> Any:
    return lambda s, me, a: writes.do_update_section(
        s, me, org_id=getattr(a, org), section="features", values={"chat": True, "events": False}
    )


CONFIG_SURFACES: list[Surface] = [
    Surface(
        "inheritance.effective_with_sources(A)",
        lambda s, me, a: inheritance.effective_with_sources(s, me, org_id=a.org_id),
    ),
    Surface(
        "inheritance.effective_with_sources(A's child)",
        lambda s, me, a: inheritance.effective_with_sources(s, me, org_id=a.child_id),
    ),
    Surface("writes.do_update_section(A)", _update("org_id")),
    Surface("writes.do_update_section(A's child)", _update("child_id")),
    Surface(
        "writes.do_update_section(A, branding)",
        lambda s, me, a: writes.do_update_section(
            s, me, org_id=a.org_id, section="branding", values={"site_name": "Pwned"}
        ),
    ),
    Surface(
        "writes.do_reset_override(A's site name)",
        lambda s, me, a: writes.do_reset_override(
            s, me, org_id=a.org_id, section="branding", field="site_name"
        ),
    ),
    Surface(
        "writes.do_reset_override(A's child's chat)",
        lambda s, me, a: writes.do_reset_override(
            s, me, org_id=a.child_id, section="features", field="chat"
        ),
    ),
    Surface("seats.usage(A)", lambda s, me, a: seats.usage(s, me, org_id=a.org_id)),
    Surface(
        "logo.set_logo(A)",
        lambda s, me, a: logo.set_logo(s, me, org_id=a.org_id, data=PNG),
    ),
]

# The cached helpers take an org id the caller vouches for; the session's scope is the
# wall. An unrelated tenant's scope does not cover A. (A child's scope names A as an ancestor:
# A's config is what C inherits, readable by design, so these rows are B's only.)
CACHED_SURFACES: list[Surface] = [
    Surface(
        "gates.feature_enabled(A)",
        lambda s, me, a: gates.feature_enabled(s, a.org_id, "chat"),
    ),
    Surface("gates.branding(A)", lambda s, me, a: gates.branding(s, a.org_id)),
    Surface(
        "gates.within_limit(A's child)",
        lambda s, me, a: gates.within_limit(s, a.child_id, "max_staff", 0),
    ),
    Surface(
        "gates.license_allows(A)",
        lambda s, me, a: gates.license_allows(s, a.org_id, "admin"),
    ),
]


@pytest.mark.parametrize("surface", CONFIG_SURFACES + CACHED_SURFACES, ids=lambda s: s.name)
def test_other_tenant_cannot_reach_a_config(other_tenant: Scenario, surface: Surface) -> None:
    _attack(other_tenant, surface)


@pytest.mark.parametrize("surface", CONFIG_SURFACES, ids=lambda s: s.name)
def test_child_admin_cannot_reach_the_parent_config(
    child_admin: Scenario, surface: Surface
) -> None:
    _attack(child_admin, surface)


@pytest.mark.parametrize("surface", CONFIG_SURFACES + CACHED_SURFACES, ids=lambda s: s.name)
def test_owner_control(other_tenant: Scenario, surface: Surface) -> None:
    """A's own admin gets through every row: the refusals above are about who asks."""
    victim = other_tenant.victim
    _give_a_config(victim)
    with tenant_session(victim.admin.ctx) as session:
        surface.attempt(session, victim.admin.ctx, victim)


# --------------------------------------------------------------------------- handlers


def _missing(tab: StateHarness, _replies: list[Any]) -> bool:
    state = tab.state(SettingsState)
    return state.missing and not state.ready and state.feature_rows == []


CONFIG_HANDLERS: list[HandlerSurface] = [
    HandlerSurface(
        "SettingsState.load on /admin/settings?org=<A>",
        lambda v: f"/admin/settings?org={v.org_id}",
        lambda v, me: [SettingsState.load()],
        check=_missing,
    ),
    HandlerSurface(
        "SettingsState.load on /admin/settings?org=<A's child>",
        lambda v: f"/admin/settings?org={v.child_id}",
        lambda v, me: [SettingsState.load()],
        check=_missing,
    ),
    HandlerSurface(
        "SettingsState.choose_org(A)",
        lambda v: "/admin/settings",
        lambda v, me: [SettingsState.load(), SettingsState.choose_org(str(v.org_id))],
        check=lambda tab, r: _error_toast(tab, r) and tab.state(SettingsState).target_org != "",
    ),
    HandlerSurface(
        "SettingsState.save_features on ?org=<A>",
        lambda v: f"/admin/settings?org={v.org_id}",
        lambda v, me: [SettingsState.load(), SettingsState.save_features({"lms": "on"})],
        check=_error_toast,
    ),
    HandlerSurface(
        "SettingsState.save_branding on ?org=<A's child>",
        lambda v: f"/admin/settings?org={v.child_id}",
        lambda v, me: [
            SettingsState.load(),
            SettingsState.save_branding({"site_name": "Pwned", "primary_color": "red"}),
        ],
        check=_error_toast,
    ),
    HandlerSurface(
        "SettingsState.save_limits on ?org=<A>",
        lambda v: f"/admin/settings?org={v.org_id}",
        lambda v, me: [
            SettingsState.load(),
            SettingsState.save_limits({"max_staff": "0", "max_students": "0"}),
        ],
        check=_error_toast,
    ),
    HandlerSurface(
        "SettingsState.reset_field on ?org=<A>",
        lambda v: f"/admin/settings?org={v.org_id}",
        lambda v, me: [SettingsState.load(), SettingsState.reset_field("branding", "site_name")],
        check=_error_toast,
    ),
    HandlerSurface(
        "SettingsState.add_custom_source on ?org=<A>",
        lambda v: f"/admin/settings?org={v.org_id}",
        lambda v, me: [
            SettingsState.load(),
            SettingsState.add_custom_source({"slug": "pwned", "label": "Pwned"}),
        ],
        check=_error_toast,
    ),
    HandlerSurface(
        "SettingsState.remove_logo on ?org=<A>",
        lambda v: f"/admin/settings?org={v.org_id}",
        lambda v, me: [SettingsState.load(), SettingsState.remove_logo()],
        check=_error_toast,
    ),
]


@pytest.mark.parametrize("surface", CONFIG_HANDLERS, ids=lambda s: s.name)
def test_settings_handler_gives_attacker_nothing(
    scenario: Scenario, attacker_tab: StateHarness, surface: HandlerSurface
) -> None:
    victim = scenario.victim
    _give_a_config(victim)
    before = _config_view(victim)
    attacker_tab.navigate(surface.path(victim))
    replies = [
        attacker_tab.dispatch(spec) for spec in surface.events(victim, scenario.attacker.ctx)
    ]
    for reply in replies:
        assert not reply.toasts("success"), f"{surface.name} reported success"
    state = attacker_tab.state(SettingsState)
    if victim.org_id in scenario.attacker.ctx.ancestor_ids:
        # C inherits from A: its own page rightly shows A's inherited values and name as
        # their source. What it must never show is A (or A's other child) as the org edited.
        assert state.target_org_name != victim.org_name, f"{surface.name} opened A"
        assert not state.ready or state.target_org == str(scenario.attacker.org_id)
    else:
        whole_tab = repr(attacker_tab.state(State).dict())
        assert _secret(victim) not in whole_tab, f"{surface.name} showed A's site name"
        assert not [s for s in victim.secrets if s in whole_tab], f"{surface.name} leaked"
    if surface.check is not None:
        assert surface.check(attacker_tab, replies), f"{surface.name}: refusal not shown"
    assert _config_view(victim) == before, f"{surface.name} changed A's config"


def test_attacker_session_never_caches_a_config(other_tenant: Scenario) -> None:
    """A refused read must not warm the cache for the attacker's next call either."""
    victim = other_tenant.victim
    _give_a_config(victim)
    me: OrgContext = other_tenant.attacker.ctx
    for _ in range(2):
        with tenant_session(me) as session, pytest.raises(NotFound):
            gates.branding(session, victim.org_id)
