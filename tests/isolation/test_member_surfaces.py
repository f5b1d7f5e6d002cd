"""Isolation rows for managers and the CSV import: org B's admin (and a child org's admin)
against org A. Same tables, attackers and checks as `test_surfaces.py`, whose fixtures and
checks are reused here (imported under names pytest does not collect twice).

A is prepared first (`_prepare`): A's admin manages A's learner, and A's admin ran an import
whose error report names A's learner (a secret the attacker must never see). The last test
is the other way round: B's admin puts A's admin's address in a file, and must learn nothing
about them nor add them anywhere (the import only invites).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from reflex.state import State

from app.models.user import Role
from app.services.core.tenancy import public_session, tenant_session
from app.services.people import auth, invites, member_csv, member_import, members
from app.state.members import MembersState
from tests import factories as f
from tests.isolation.test_surfaces import (
    HandlerSurface,
    HttpSurface,
    Scenario,
    Surface,
    Victim,
    _a_view,
    _attacker_unchanged,
    _error_toast,
    _leaks,
    _run_attack,
    attacker_tab,
    child_admin,
    other_tenant,
    scenario,
)
from tests.isolation.test_surfaces import (
    test_event_handler_gives_attacker_nothing as check_handler,
)
from tests.isolation.test_surfaces import (
    test_http_route_gives_attacker_nothing as check_http_route,
)
from tests.state.harness import StateHarness
from tests.state.test_member_import import upload

__all__ = ["attacker_tab", "child_admin", "other_tenant", "scenario"]  # fixtures, re-exported

_A_IMPORTS: dict[uuid.UUID, str] = {}


def _prepare(v: Victim) -> str:
    """A's admin manages A's learner and has run an import; returns that import's id."""
    if v.org_id in _A_IMPORTS:
        return _A_IMPORTS[v.org_id]
    ctx = v.admin.ctx
    data = (
        "email,full_name,role\n"
        f"{v.learner.email},Already Here,learner\n"
        f"{f.unique_email('new')},Brand New,learner\n"
    ).encode()
    with tenant_session(ctx) as session:
        members.do_assign_manager(session, ctx, v.learner_membership_id, v.admin.user_id)
        staged = member_import.do_stage_import(session, ctx, org_id=v.org_id, data=data)
        summary = member_import.do_confirm_import(session, ctx, staged.import_id)
    assert summary.failed == 1 and summary.invited == 1
    _A_IMPORTS[v.org_id] = summary.import_id
    return summary.import_id


def _a_import(v: Victim) -> str:
    return _A_IMPORTS[v.org_id]


def _csv(email: str) -> bytes:
    return f"email,full_name\n{email},Planted\n".encode()


def _csv_rows(email: str) -> list[member_csv.CsvRow]:
    return member_csv.parse_csv(_csv(email))


@pytest.fixture
def prepared_other_tenant(other_tenant: Scenario) -> Scenario:
    _prepare(other_tenant.victim)
    return other_tenant


@pytest.fixture
def prepared_child_admin(child_admin: Scenario) -> Scenario:
    _prepare(child_admin.victim)
    return child_admin


@pytest.fixture
def prepared_scenario(scenario: Scenario) -> Scenario:
    _prepare(scenario.victim)
    return scenario


@pytest.fixture(autouse=True)
def _forget_prepared() -> Iterator[None]:
    yield
    _A_IMPORTS.clear()


# --------------------------------------------------------------------------- services

MEMBER_SURFACES: list[Surface] = [
    Surface(
        "members.do_assign_manager(A's learner -> A's admin)",
        lambda s, me, a: members.do_assign_manager(s, me, a.learner_membership_id, a.admin.user_id),
    ),
    Surface(
        "members.do_assign_manager(A's learner -> me)",
        lambda s, me, a: members.do_assign_manager(s, me, a.learner_membership_id, me.user_id),
        owner_may=False,  # A's admin is not the attacker: the attacker is no member of A
    ),
    Surface(
        "members.do_assign_manager(A's learner -> nobody)",
        lambda s, me, a: members.do_assign_manager(s, me, a.learner_membership_id, None),
    ),
    Surface(
        "members.team_of(A's admin) shows none of A",
        lambda s, me, a: members.team_of(s, me, a.admin.user_id),
        refused_with=None,
    ),
    Surface(
        "members.manager_choices(A)",
        lambda s, me, a: members.manager_choices(s, me, a.org_id),
    ),
    Surface(
        "member_csv.preview(org_id=A)",
        lambda s, me, a: member_csv.preview(
            s, me, org_id=a.org_id, data=f"email,full_name\n{f.unique_email()},X\n".encode()
        ),
    ),
    Surface(
        "member_csv.preview(org_id=A's child)",
        lambda s, me, a: member_csv.preview(
            s, me, org_id=a.child_id, data=f"email,full_name\n{f.unique_email()},X\n".encode()
        ),
    ),
    Surface(
        "member_import.do_stage_import(org_id=A)",
        lambda s, me, a: member_import.do_stage_import(
            s, me, org_id=a.org_id, data=_csv(f.unique_email("plant"))
        ),
        owner_may=False,  # A's own import changes A: run in test_member_import instead
    ),
    Surface(
        "member_import.do_stage_import(org_id=A's child)",
        lambda s, me, a: member_import.do_stage_import(
            s, me, org_id=a.child_id, data=_csv(f.unique_email("plant"))
        ),
        owner_may=False,  # same: it writes a row of A's child
    ),
    Surface(
        "member_import.do_confirm_import(A's import)",
        lambda s, me, a: member_import.do_confirm_import(s, me, _a_import(a)),
        owner_may=False,  # same (and A's import is finished: A's admin is refused too)
    ),
    Surface(
        "member_import.claim_import(A's import)",
        lambda s, me, a: member_import.claim_import(s, me, _a_import(a)),
        owner_may=False,  # same
    ),
    Surface(
        "member_import.invite_rows(A's import)",
        lambda s, me, a: member_import.invite_rows(
            s, me, import_id=_a_import(a), rows=_csv_rows(f.unique_email("plant"))
        ),
        owner_may=False,  # same (and A's import is finished: A's admin is refused too)
    ),
    Surface(
        "member_import.get_import(A's import)",
        lambda s, me, a: member_import.get_import(s, me, _a_import(a)),
    ),
    Surface(
        "member_import.error_report_csv(A's import)",
        lambda s, me, a: member_import.error_report_csv(s, me, _a_import(a)),
    ),
]


@pytest.mark.parametrize("surface", MEMBER_SURFACES, ids=lambda s: s.name)
def test_other_tenant_cannot_reach_a(prepared_other_tenant: Scenario, surface: Surface) -> None:
    _run_attack(prepared_other_tenant, surface)


@pytest.mark.parametrize("surface", MEMBER_SURFACES, ids=lambda s: s.name)
def test_child_admin_cannot_reach_the_parent(
    prepared_child_admin: Scenario, surface: Surface
) -> None:
    _run_attack(prepared_child_admin, surface)


@pytest.mark.parametrize(
    "surface", [s for s in MEMBER_SURFACES if s.owner_may], ids=lambda s: s.name
)
def test_owner_control(prepared_other_tenant: Scenario, surface: Surface) -> None:
    """A's own admin gets through every row: the refusals above are about who asks."""
    victim = prepared_other_tenant.victim
    with tenant_session(victim.admin.ctx) as session:
        result = surface.attempt(session, victim.admin.ctx, victim)
    if surface.refused_with is None:
        assert _leaks(victim, result), f"{surface.name}: A's own admin sees none of A's rows"


# --------------------------------------------------------------------------- HTTP routes

IMPORT_HTTP_SURFACES: list[HttpSurface] = [
    HttpSurface(
        "GET /api/imports/<A's import>/errors.csv",
        lambda c, v, import_id: c.get(f"/api/imports/{import_id}/errors.csv"),
        statuses=frozenset({404}),
        check=lambda me, r: r.json()["error"]["code"] == "not_found",
        prepare=_prepare,
    ),
]


@pytest.mark.parametrize("surface", IMPORT_HTTP_SURFACES, ids=lambda s: s.name)
def test_import_route_gives_attacker_nothing(scenario: Scenario, surface: HttpSurface) -> None:
    check_http_route(scenario, surface)


def test_owner_downloads_the_report_the_attackers_cannot(other_tenant: Scenario) -> None:
    """Control for the row above: the route does serve A's report to A's admin."""
    from starlette.testclient import TestClient

    from app.api.routes import build_api
    from app.settings import get_settings

    victim = other_tenant.victim
    import_id = _prepare(victim)
    with TestClient(build_api(), base_url="http://localhost:3000") as client:
        client.cookies.set(get_settings().session_cookie_name, victim.admin.token)
        r = client.get(f"/api/imports/{import_id}/errors.csv")
    assert r.status_code == 200 and victim.learner.email in r.text


# --------------------------------------------------------------------------- event handlers

IMPORT_HANDLER_SURFACES: list[HandlerSurface] = [
    HandlerSurface(
        "MembersState.assign_manager(A's learner -> A's admin)",
        lambda v: "/admin/members",
        lambda v, me: [
            MembersState.load(),
            MembersState.assign_manager(v.learner_membership_id, str(v.admin.user_id)),
        ],
        check=_error_toast,
    ),
    HandlerSurface(
        "MembersState.assign_manager(A's learner -> nobody)",
        lambda v: "/admin/members",
        lambda v, me: [
            MembersState.load(),
            MembersState.assign_manager(v.learner_membership_id, ""),
        ],
        check=_error_toast,
    ),
    HandlerSurface(
        "MembersState.confirm_import with nothing previewed, on ?org=<A>",
        lambda v: f"/admin/members?org={v.org_id}",
        lambda v, me: [MembersState.load(), MembersState.confirm_import()],
        check=lambda tab, r: tab.state(MembersState).import_step == "",
    ),
]


@pytest.mark.parametrize("surface", IMPORT_HANDLER_SURFACES, ids=lambda s: s.name)
def test_member_handler_gives_attacker_nothing(
    prepared_scenario: Scenario, attacker_tab: StateHarness, surface: HandlerSurface
) -> None:
    check_handler(prepared_scenario, attacker_tab, surface)


@pytest.mark.parametrize("page", ["?org={a}", "?org={child}"])
def test_upload_into_a_cannot_preview_or_import(
    prepared_scenario: Scenario, attacker_tab: StateHarness, page: str
) -> None:
    """The upload handler on A's members page (A or A's child selected): refused, nothing of
    A's checked against the file, and Confirm afterwards imports nothing anywhere."""
    attacker, victim = prepared_scenario.attacker, prepared_scenario.victim
    before = _a_view(victim)
    planted = f.unique_email("plant")
    data = f"email,full_name\n{planted},Planted\n{victim.learner.email},Probe\n".encode()
    attacker_tab.navigate("/admin/members" + page.format(a=victim.org_id, child=victim.child_id))
    attacker_tab.dispatch(MembersState.load())
    reply = upload(attacker_tab, data)
    assert reply.toasts("error") and not reply.toasts("success")
    state = attacker_tab.state(MembersState)
    assert state.import_step == "" and state.import_preview == []
    confirm = attacker_tab.dispatch(MembersState.confirm_import())
    assert not confirm.toasts("success")
    whole_tab = attacker_tab.state(State).dict()
    # The probe row carries A's learner's email in the file itself; what matters is that
    # the tab learned nothing about it (no "already a member" verdict).
    assert "already a member" not in repr(whole_tab)
    assert not [s for s in _leaks(victim, whole_tab) if s != victim.learner.email]
    assert _a_view(victim) == before
    _attacker_unchanged(attacker)
    with tenant_session(attacker.ctx) as session:  # nor in the attacker's own org
        assert members.list_members(session, attacker.ctx, search=planted).total == 0


def test_attackers_own_import_lands_in_their_own_org(
    prepared_scenario: Scenario, attacker_tab: StateHarness
) -> None:
    """Previewing in their own org, failing to switch the page to A, then confirming:
    the rows go to the attacker's org, never A's."""
    attacker, victim = prepared_scenario.attacker, prepared_scenario.victim
    before = _a_view(victim)
    email = f.unique_email("mine")
    attacker_tab.navigate("/admin/members")
    attacker_tab.dispatch(MembersState.load())
    upload(attacker_tab, f"email,full_name\n{email},Mine\n".encode())
    assert attacker_tab.dispatch(MembersState.choose_org(str(victim.org_id))).toasts("error")
    reply = attacker_tab.dispatch(MembersState.confirm_import())
    assert reply.toast("success", "1 invited")
    assert _a_view(victim) == before  # an invite, not a member: even A's tree counts stay
    with tenant_session(attacker.ctx) as session:
        (invite,) = [i for i in invites.list_invites(session, attacker.ctx) if i.email == email]
    assert (invite.role, invite.status) == (Role.learner, "pending")


def test_importing_as_admins_email_invites_them_and_shows_b_nothing_of_theirs(
    other_tenant: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B's admin puts A's admin's address in a file: A's admin gets an invite they may
    ignore, stays out of B, and B learns nothing about them (no name, no account verdict)
    unless they accept it."""
    made: list[str] = []
    real_token = invites.new_token
    monkeypatch.setattr(invites, "new_token", lambda: made.append(real_token()) or made[-1])
    attacker, victim = other_tenant.attacker, other_tenant.victim
    a_admin = victim.admin
    before = _a_view(victim)
    with public_session() as session:
        a_orgs = auth.user_orgs(session, a_admin.user_id)
    unknown = f.unique_email("nobody")
    data = f"email,full_name\n{a_admin.email},Planted Name\n{unknown},Planted Too\n".encode()
    with StateHarness(cookie=attacker.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        upload(tab, data)
        known_row, unknown_row = tab.state(MembersState).import_preview
        assert (known_row["status"], known_row["message"]) == (
            unknown_row["status"],
            unknown_row["message"],
        )
        tab.dispatch(MembersState.confirm_import())
        tab.dispatch(MembersState.load())
        whole_tab = repr(tab.state(State).dict())
    assert a_admin.ctx.full_name not in whole_tab
    with public_session() as session:
        assert auth.user_orgs(session, a_admin.user_id) == a_orgs, "A's admin joined B"
    with tenant_session(attacker.ctx) as session:
        listed = members.list_members(session, attacker.ctx, page_size=500).rows
        pending = [i.email for i in invites.list_invites(session, attacker.ctx, limit=500)]
    assert a_admin.email not in {r.email for r in listed}
    assert a_admin.ctx.full_name not in {r.full_name for r in listed}
    assert a_admin.email in pending
    assert _a_view(victim) == before
    _attacker_unchanged(attacker)

    # Control: only their own acceptance puts them in B (and their name in B's list).
    (token,) = [t for t in made if invites.preview(t).email == a_admin.email]
    invites.do_accept_invite(token, signed_in_user_id=a_admin.user_id)
    with tenant_session(attacker.ctx) as session:
        listed = members.list_members(session, attacker.ctx, page_size=500).rows
    assert a_admin.ctx.full_name in {r.full_name for r in listed if r.email == a_admin.email}
