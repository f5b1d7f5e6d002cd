"""Every way in, tried by someone who must not get through: one table per surface.

A user of org B (or the admin of org C, a child of A) tries org A's ids on every service
entry point, HTTP route and Reflex event handler that takes an id or an org. Each attempt
must be refused the way a missing id is (`NotFound`: another tenant's ids reveal nothing),
show nothing of A's, and leave A exactly as it was: A's org, tree, members, invites,
audit log, mail and sessions are read back as A afterwards and compared.

The attackers: the admin of an unrelated org B (`other_tenant`), and the admin of C, a child
org of A, whose scope names A as an ancestor (`child_admin`). Every table runs on SQLite and
on PostgreSQL; on PostgreSQL row-level security would hide a missed filter, so a leak shows
on SQLite first.

**Extending it.** A new feature adds rows, not tests:

* a service that takes an id or an org: a `Surface` in `SERVICE_SURFACES` (an `attempt`
  that calls the service with the attacker's context and A's ids; `refused_with=None` for a
  list or search that must simply not show A's rows). It runs for both attackers
  (`CHILD_TO_PARENT` includes every row; add rows there that only make sense upwards). If
  the attack needs new things of A's, add them to `Victim` and `_victim`, and what A sees
  of them to `_a_view`.
* an HTTP route: an `HttpSurface` in `HTTP_SURFACES`.
* an event handler: a `HandlerSurface` in `HANDLER_SURFACES`.

Each service row is also run by A's own admin (`test_owner_control`, unless the row says
`owner_may=False` and why), which proves the row calls the service the right way: a row
that fails for everyone proves nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from reflex.state import State
from reflex_base.event import EventSpec
from sqlmodel import Session
from starlette.testclient import TestClient

from app.api.routes import build_api
from app.models.user import Role
from app.services.comms import mail
from app.services.config import orgs
from app.services.core import audit
from app.services.core.errors import NotFound, ServiceError
from app.services.core.tenancy import OrgContext, public_session, tenant_session
from app.services.people import auth, invites, members
from app.settings import get_settings
from app.state.logs import AuditState, MailState
from app.state.members import MembersState
from app.state.orgs import OrgDetailState, OrgsState
from app.state.session import SessionState
from tests import factories as f
from tests.conftest import Backend
from tests.state.harness import Reply, StateHarness

# --------------------------------------------------------------------------- org A


@dataclass(frozen=True)
class Victim:
    """Org A and one of each of its things, with the ids an attacker would try."""

    admin: f.SignedIn  # A's org admin (the one admin of A)
    learner: f.SignedIn  # a learner of A, signed in
    org_id: uuid.UUID
    org_name: str
    child_id: uuid.UUID  # a child org of A
    learner_membership_id: str
    admin_membership_id: str
    invite_id: str  # a pending invite to A
    invite_email: str

    @property
    def secrets(self) -> tuple[str, ...]:
        """Strings that only A's own rows hold: none may reach the attacker."""
        return (self.learner.email, self.invite_email, self.org_name)


def _victim(admin: f.SignedIn) -> Victim:
    """Give A's admin a child org, a learner and a pending invite."""
    child = f.child_org(admin.ctx)
    admin = f.refresh(admin)
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    invite_email, _ = f.invite(admin.ctx, Role.learner)
    with tenant_session(admin.ctx) as session:
        people = members.list_members(session, admin.ctx, page_size=100).rows
        (invite,) = [i for i in invites.list_invites(session, admin.ctx) if i.email == invite_email]
        org = orgs.get_org(session, admin.ctx, admin.org_id)
    by_email = {r.email: r.membership_id for r in people}
    return Victim(
        admin=admin,
        learner=learner,
        org_id=admin.org_id,
        org_name=org.name,
        child_id=child.id,
        learner_membership_id=by_email[learner.email],
        admin_membership_id=by_email[admin.email],
        invite_id=invite.id,
        invite_email=invite_email,
    )


def _a_view(v: Victim) -> dict[str, Any]:
    """Everything of A's that an attack could change, read as A's admin."""
    ctx = v.admin.ctx
    with tenant_session(ctx) as session:
        org = orgs.get_org(session, ctx, v.org_id)
        child = orgs.get_org(session, ctx, v.child_id)
        events = audit.list_events(session, ctx, page_size=500)
        sent, sent_total = mail.list_mail(session, ctx, page_size=500)
        view = {
            "org": (org.name, org.kind, org.parent_id, org.sibling_key),
            "child": (child.name, child.kind, child.parent_id),
            "tree": [
                (n.id, n.parent_id, n.name, n.member_count) for n in orgs.org_tree(session, ctx)
            ],
            "members": sorted(
                (r.membership_id, r.email, r.role, r.is_active)
                for r in members.list_members(session, ctx, page_size=500).rows
            ),
            "child_members": members.list_members(session, ctx, org_id=v.child_id).total,
            "invites": sorted(
                (i.id, i.email, i.role, i.status) for i in invites.list_invites(session, ctx)
            ),
            # A's own log and its child's (A's admin also reads the logs of orgs below,
            # such as C's, where an attacking child admin may well write its own rows).
            "audit": sorted(
                (e.id, e.action, e.target)
                for e in events.rows
                if e.org_id in (str(v.org_id), str(v.child_id))
            ),
            "mail": (sent_total, sorted((m.id, m.to_email, m.status) for m in sent)),
        }
    view["sessions alive"] = (
        f.resolve(v.admin.token) is not None,
        f.resolve(v.learner.token) is not None,
    )
    return view


def _leaks(v: Victim, anything: object) -> list[str]:
    """Which of A's secrets appear in `anything` (a service result, a state, a response)."""
    text = repr(anything)
    return [s for s in v.secrets if s in text]


# --------------------------------------------------------------------------- the attackers


@dataclass(frozen=True)
class Scenario:
    """Someone who must not reach A, and A."""

    attacker: f.SignedIn
    victim: Victim


@pytest.fixture
def other_tenant(backend: Backend) -> Scenario:
    """The admin of an unrelated root org B (with a child of its own) against org A."""
    victim = _victim(f.new_admin())
    b = f.new_admin()
    f.child_org(b.ctx)
    f.invite(b.ctx, Role.learner)  # B has audit rows and mail of its own to show
    return Scenario(attacker=f.refresh(b), victim=victim)


@pytest.fixture
def child_admin(backend: Backend) -> Scenario:
    """The admin of C, a child org of A (C has a child of its own), against A."""
    a = f.new_admin()
    c = f.child_org(a.ctx)
    victim = _victim(f.refresh(a))
    c_admin = f.invite_and_accept_member(victim.admin.ctx, Role.org_admin, org_id=c.id)
    f.child_org(c_admin.ctx, kind="local")
    c_admin = f.refresh(c_admin)
    assert c_admin.ctx.org_id == c.id and victim.org_id in c_admin.ctx.ancestor_ids
    return Scenario(attacker=c_admin, victim=victim)


@pytest.fixture(params=["other_tenant", "child_admin"])
def scenario(request: pytest.FixtureRequest, backend: Backend) -> Scenario:
    """Each attacker in turn (for the HTTP and handler tables), on each backend."""
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def _own_child(ctx: OrgContext) -> uuid.UUID:
    """A child org in the context's own subtree (every scenario's attacker has one)."""
    return sorted(ctx.org_ids - {ctx.org_id})[0]


def _attacker_unchanged(who: f.SignedIn) -> None:
    now = f.resolve(who.token)
    assert now is not None, "the attacker's own session ended"
    assert now.org_id == who.ctx.org_id, "the attacker's session moved to another org"


# --------------------------------------------------------------------------- services


@dataclass(frozen=True)
class Surface:
    """One service entry point, called by the attacker with A's ids.

    `attempt(session, attacker_ctx, victim)` runs in a tenant session of the attacker.
    `refused_with`: the error it must raise; None for reads that return a list, which must
    then contain none of A's secrets. `owner_may=False` when A's own admin is refused too,
    for another reason (e.g. the last admin cannot demote themselves).
    """

    name: str
    attempt: Callable[[Session, OrgContext, Victim], object]
    refused_with: type[ServiceError] | None = NotFound
    owner_may: bool = True


SERVICE_SURFACES: list[Surface] = [
    # --- organizations
    Surface("orgs.get_org(A)", lambda s, me, a: orgs.get_org(s, me, a.org_id)),
    Surface("orgs.get_org(A's child)", lambda s, me, a: orgs.get_org(s, me, a.child_id)),
    Surface("orgs.org_detail(A)", lambda s, me, a: orgs.org_detail(s, me, a.org_id)),
    Surface("orgs.org_picker(A)", lambda s, me, a: orgs.org_picker(s, me, a.org_id)),
    Surface(
        "orgs.require_in_subtree(A)", lambda s, me, a: orgs.require_in_subtree(s, me, a.org_id)
    ),
    Surface(
        "orgs.do_create_child_org(parent_id=A)",
        lambda s, me, a: orgs.do_create_child_org(
            s, me, parent_id=a.org_id, name=f.unique("Sneaky"), kind="local"
        ),
    ),
    Surface(
        "orgs.do_create_child_org(parent_id=A's child)",
        lambda s, me, a: orgs.do_create_child_org(
            s, me, parent_id=a.child_id, name=f.unique("Sneaky"), kind="group"
        ),
    ),
    Surface(
        "orgs.do_move_org(A's child -> under mine)",
        lambda s, me, a: orgs.do_move_org(s, me, org_id=a.child_id, new_parent_id=me.org_id),  # type: ignore[arg-type]
    ),
    Surface(
        "orgs.do_move_org(A -> under mine)",
        lambda s, me, a: orgs.do_move_org(s, me, org_id=a.org_id, new_parent_id=_own_child(me)),
        owner_may=False,  # an admin moves orgs below the active one, never the active one
    ),
    Surface(
        "orgs.do_move_org(my child -> under A)",
        lambda s, me, a: orgs.do_move_org(s, me, org_id=_own_child(me), new_parent_id=a.org_id),
    ),
    Surface(
        "orgs.org_tree shows none of A",
        lambda s, me, a: orgs.org_tree(s, me),
        refused_with=None,
    ),
    # --- members
    Surface(
        "members.list_members(org_id=A)",
        lambda s, me, a: members.list_members(s, me, org_id=a.org_id),
    ),
    Surface(
        "members.list_members(org_id=A's child)",
        lambda s, me, a: members.list_members(s, me, org_id=a.child_id),
    ),
    Surface(
        "members.list_members searching for A's learner",
        lambda s, me, a: members.list_members(s, me, search=a.learner.email),
        refused_with=None,
    ),
    Surface(
        "members.do_change_role(A's learner -> org_admin)",
        lambda s, me, a: members.do_change_role(s, me, a.learner_membership_id, Role.org_admin),
    ),
    Surface(
        "members.do_change_role(A's admin -> learner)",
        lambda s, me, a: members.do_change_role(s, me, a.admin_membership_id, Role.learner),
        owner_may=False,  # the last org admin cannot be demoted
    ),
    Surface(
        "members.do_set_active(A's learner, False)",
        lambda s, me, a: members.do_set_active(s, me, a.learner_membership_id, False),
    ),
    Surface(
        "members.do_set_active(A's admin, False)",
        lambda s, me, a: members.do_set_active(s, me, a.admin_membership_id, False),
        owner_may=False,  # nobody deactivates themselves
    ),
    # --- invites
    Surface(
        "invites.do_invite(org_id=A)",
        lambda s, me, a: invites.do_invite(
            s, me, email=f.unique_email("plant"), role=Role.org_admin, org_id=a.org_id
        ),
    ),
    Surface(
        "invites.do_invite(org_id=A's child)",
        lambda s, me, a: invites.do_invite(
            s, me, email=f.unique_email("plant"), role=Role.learner, org_id=a.child_id
        ),
    ),
    Surface(
        "invites.list_invites(org_id=A)",
        lambda s, me, a: invites.list_invites(s, me, org_id=a.org_id),
    ),
    Surface(
        "invites.do_revoke_invite(A's invite)",
        lambda s, me, a: invites.do_revoke_invite(s, me, a.invite_id),
    ),
    Surface(
        "invites.do_resend_invite(A's invite)",
        lambda s, me, a: invites.do_resend_invite(s, me, a.invite_id),
    ),
    # --- logs
    Surface(
        "audit.list_events shows none of A's events",
        lambda s, me, a: audit.list_events(s, me, page_size=500),
        refused_with=None,
    ),
    Surface(
        "audit.list_events filtered to A's learner shows nothing",
        lambda s, me, a: audit.list_events(s, me, actor=a.learner.email, page_size=500),
        refused_with=None,
    ),
    Surface(
        "mail.list_mail shows none of A's mail",
        lambda s, me, a: mail.list_mail(s, me, page_size=500),
        refused_with=None,
    ),
    # --- sessions
    Surface("auth.do_switch_org(A)", lambda s, me, a: auth.do_switch_org(s, me, a.org_id)),
    Surface(
        "auth.do_switch_org(A's child)",
        lambda s, me, a: auth.do_switch_org(s, me, a.child_id),
        owner_may=False,  # A's admin is not a member of the child org either
    ),
]

# The admin of a child org C looking up at its parent A: every row above, plus the ones that
# only make sense upwards. C's scope carries A as an ancestor (A's org row and config are
# readable for inheritance), which must not turn into access to A.
CHILD_TO_PARENT: list[Surface] = [
    *SERVICE_SURFACES,
    Surface(
        "orgs.do_move_org(my own org -> under A's other child)",
        lambda s, me, a: orgs.do_move_org(s, me, org_id=me.org_id, new_parent_id=a.child_id),  # type: ignore[arg-type]
        owner_may=False,  # an admin moves orgs below the active one, never the active one
    ),
    Surface(
        "invites.do_invite(org_id=A, role=org_admin) for myself",
        lambda s, me, a: invites.do_invite(
            s, me, email=me.email, role=Role.org_admin, org_id=a.org_id
        ),
        owner_may=False,  # A's admin is already a member of A
    ),
]


def _run_attack(scenario: Scenario, surface: Surface) -> None:
    attacker, victim = scenario.attacker, scenario.victim
    before = _a_view(victim)
    with tenant_session(attacker.ctx) as session:
        if surface.refused_with is None:
            result = surface.attempt(session, attacker.ctx, victim)
            assert not _leaks(victim, result), f"{surface.name} showed A's {_leaks(victim, result)}"
        else:
            with pytest.raises(ServiceError) as refused:
                surface.attempt(session, attacker.ctx, victim)
            assert type(refused.value) is surface.refused_with, (
                f"{surface.name}: expected {surface.refused_with.__name__}, "
                f"got {type(refused.value).__name__}: {refused.value.message}"
            )
            assert not _leaks(victim, refused.value.message)
    assert _a_view(victim) == before, f"{surface.name} changed org A"
    _attacker_unchanged(attacker)


@pytest.mark.parametrize("surface", SERVICE_SURFACES, ids=lambda s: s.name)
def test_other_tenant_cannot_reach_a(other_tenant: Scenario, surface: Surface) -> None:
    _run_attack(other_tenant, surface)


@pytest.mark.parametrize("surface", CHILD_TO_PARENT, ids=lambda s: s.name)
def test_child_admin_cannot_reach_the_parent(child_admin: Scenario, surface: Surface) -> None:
    _run_attack(child_admin, surface)


@pytest.mark.parametrize(
    "surface", [s for s in CHILD_TO_PARENT if s.owner_may], ids=lambda s: s.name
)
def test_owner_control(other_tenant: Scenario, surface: Surface) -> None:
    """A's own admin gets through every row: the refusals above are about who asks."""
    victim = other_tenant.victim
    with tenant_session(victim.admin.ctx) as session:
        result = surface.attempt(session, victim.admin.ctx, victim)
    if surface.refused_with is None:
        assert _leaks(victim, result), f"{surface.name}: A's own admin sees none of A's rows"


# --------------------------------------------------------------------------- HTTP routes


@dataclass(frozen=True)
class HttpSurface:
    """One HTTP route, called from the attacker's browser (their session cookie is set).

    `call(client, victim, prepared)` makes the request; `prepare(victim)` runs first (before
    A's state is recorded) for requests that need something of A's to exist, such as a
    ticket A already used. The response must have a status in `statuses`, set no session
    cookie, and carry none of A's secrets; `check(attacker, response)` then confirms the
    route did its (harmless) job, so a row cannot pass by never reaching the route.
    """

    name: str
    call: Callable[[TestClient, Victim, Any], Any]
    statuses: frozenset[int]
    check: Callable[[f.SignedIn, Any], object]
    prepare: Callable[[Victim], Any] = field(default=lambda v: None)


def _used_ticket(v: Victim) -> str:
    """A login ticket of A's learner that A's browser already exchanged for a session."""
    with public_session() as session:
        ticket = auth.do_sign_in(session, email=v.learner.email, password=v.learner.password)
    with public_session() as session:
        auth.do_redeem_ticket(session, ticket)
    return ticket


HTTP_SURFACES: list[HttpSurface] = [
    HttpSurface(
        "GET /health shows no tenant data",
        lambda c, v, _: c.get("/health"),
        statuses=frozenset({200}),
        check=lambda me, r: r.json()["database"]["ok"],
    ),
    HttpSurface(
        "GET /api/auth/complete replaying A's used ticket",
        lambda c, v, ticket: f.complete_sign_in(c, ticket),
        statuses=frozenset({303}),
        check=lambda me, r: (
            r.headers["location"].startswith("/signin?error=") and f.resolve(me.token)
        ),
        prepare=_used_ticket,
    ),
    HttpSurface(
        "POST /api/auth/signout ends only my session",
        lambda c, v, _: c.post("/api/auth/signout", headers={"origin": "http://localhost:3000"}),
        statuses=frozenset({303}),
        check=lambda me, r: f.resolve(me.token) is None,  # the attacker's own, and only it
    ),
]


@pytest.mark.parametrize("surface", HTTP_SURFACES, ids=lambda s: s.name)
def test_http_route_gives_attacker_nothing(scenario: Scenario, surface: HttpSurface) -> None:
    attacker, victim = scenario.attacker, scenario.victim
    prepared = surface.prepare(victim)
    before = _a_view(victim)
    with TestClient(
        build_api(), base_url="http://localhost:3000", follow_redirects=False
    ) as client:
        client.cookies.set(get_settings().session_cookie_name, attacker.token)
        response = surface.call(client, victim, prepared)
    assert response.status_code in surface.statuses, (surface.name, response.status_code)
    if response.status_code in (301, 302, 303, 307, 308):
        assert response.headers["location"].startswith(("/signin", "/dashboard")), surface.name
    for cookie in response.headers.get_list("set-cookie"):
        name, _, rest = cookie.partition("=")
        value = rest.split(";", 1)[0].strip('"')
        assert not (name == get_settings().session_cookie_name and value), (
            f"{surface.name} handed out a session"
        )
    assert not _leaks(victim, (response.text, dict(response.headers))), surface.name
    assert surface.check(attacker, response), f"{surface.name}: the route did not do its job"
    assert _a_view(victim) == before, f"{surface.name} changed org A"


# --------------------------------------------------------------------------- event handlers


@dataclass(frozen=True)
class HandlerSurface:
    """Reflex event handlers sent from the attacker's signed-in tab with A's ids.

    `events(victim)` are dispatched in order from the page `path(victim)`. Nothing may
    succeed (no success toast), the tab's state may hold none of A's secrets, A is
    unchanged, and `check(tab, replies)` (if given) sees the refusal the user would see.
    """

    name: str
    path: Callable[[Victim], str]
    events: Callable[[Victim, OrgContext], list[EventSpec]]
    check: Callable[[StateHarness, list[Reply]], object] | None = None


def _error_toast(_tab: StateHarness, replies: list[Reply]) -> bool:
    return bool(replies[-1].toasts("error"))


HANDLER_SURFACES: list[HandlerSurface] = [
    HandlerSurface(
        "OrgsState.create(parent_id=A)",
        lambda v: "/admin/orgs",
        lambda v, me: [
            OrgsState.create({"parent_id": str(v.org_id), "name": f.unique("S"), "kind": "local"})
        ],
        check=_error_toast,
    ),
    HandlerSurface(
        "OrgsState.move(A's child -> under mine)",
        lambda v: "/admin/orgs",
        lambda v, me: [OrgsState.move({"org_id": str(v.child_id), "parent_id": str(me.org_id)})],
        check=lambda tab, r: r[-1].toasts("error") and tab.state(OrgsState).move_error,
    ),
    HandlerSurface(
        "OrgsState.move(my child -> under A)",
        lambda v: "/admin/orgs",
        lambda v, me: [OrgsState.move({"org_id": str(_own_child(me)), "parent_id": str(v.org_id)})],
        check=_error_toast,
    ),
    HandlerSurface(
        "OrgDetailState.load on /orgs/<A>",
        lambda v: f"/orgs/{v.org_id}",
        lambda v, me: [OrgDetailState.load()],
        check=lambda tab, r: not tab.state(OrgDetailState).found,
    ),
    HandlerSurface(
        "OrgDetailState.load on /orgs/<A's child>",
        lambda v: f"/orgs/{v.child_id}",
        lambda v, me: [OrgDetailState.load()],
        check=lambda tab, r: not tab.state(OrgDetailState).found,
    ),
    HandlerSurface(
        "MembersState.load on /admin/members?org=<A>",
        lambda v: f"/admin/members?org={v.org_id}",
        lambda v, me: [MembersState.load()],
        check=lambda tab, r: tab.state(MembersState).missing,
    ),
    HandlerSurface(
        "MembersState.choose_org(A)",
        lambda v: "/admin/members",
        lambda v, me: [MembersState.load(), MembersState.choose_org(str(v.org_id))],
        check=_error_toast,
    ),
    HandlerSurface(
        "MembersState.invite on /admin/members?org=<A>",
        lambda v: f"/admin/members?org={v.org_id}",
        lambda v, me: [
            MembersState.load(),
            MembersState.invite({"email": f.unique_email("plant"), "role": "org_admin"}),
        ],
        check=_error_toast,
    ),
    HandlerSurface(
        "MembersState.revoke(A's invite)",
        lambda v: "/admin/members",
        lambda v, me: [MembersState.load(), MembersState.revoke(v.invite_id)],
        check=_error_toast,
    ),
    HandlerSurface(
        "MembersState.resend(A's invite)",
        lambda v: "/admin/members",
        lambda v, me: [MembersState.load(), MembersState.resend(v.invite_id)],
        check=_error_toast,
    ),
    HandlerSurface(
        "MembersState.change_role(A's learner -> org_admin)",
        lambda v: "/admin/members",
        lambda v, me: [
            MembersState.load(),
            MembersState.change_role(v.learner_membership_id, "org_admin"),
        ],
        check=_error_toast,
    ),
    HandlerSurface(
        "MembersState.set_active(A's admin, False)",
        lambda v: "/admin/members",
        lambda v, me: [MembersState.load(), MembersState.set_active(v.admin_membership_id, False)],
        check=_error_toast,
    ),
    HandlerSurface(
        "SessionState.switch_org(A)",
        lambda v: "/dashboard",
        lambda v, me: [SessionState.load_private(), SessionState.switch_org(str(v.org_id))],
        check=lambda tab, r: r[-1].toasts("error") and not r[-1].locations,
    ),
    HandlerSurface(
        "AuditState.load shows none of A's events",
        lambda v: "/admin/audit",
        lambda v, me: [AuditState.load()],
        check=lambda tab, r: tab.state(AuditState).events,  # it did load the attacker's own
    ),
    HandlerSurface(
        "MailState.load shows none of A's mail",
        lambda v: "/admin/mail",
        lambda v, me: [MailState.load()],
        check=lambda tab, r: tab.state(MailState).messages,
    ),
]


@pytest.fixture
def attacker_tab(scenario: Scenario) -> Iterator[StateHarness]:
    """The attacker's signed-in browser tab."""
    with StateHarness(cookie=scenario.attacker.token) as tab:
        yield tab


@pytest.mark.parametrize("surface", HANDLER_SURFACES, ids=lambda s: s.name)
def test_event_handler_gives_attacker_nothing(
    scenario: Scenario, attacker_tab: StateHarness, surface: HandlerSurface
) -> None:
    attacker, victim = scenario.attacker, scenario.victim
    before = _a_view(victim)
    attacker_tab.navigate(surface.path(victim))
    replies = [attacker_tab.dispatch(spec) for spec in surface.events(victim, attacker.ctx)]
    for reply in replies:
        assert not reply.toasts("success"), f"{surface.name} reported success"
    whole_tab = attacker_tab.state(State).dict()
    assert not _leaks(victim, whole_tab), f"{surface.name} put A's {_leaks(victim, whole_tab)}"
    if surface.check is not None:
        assert surface.check(attacker_tab, replies), f"{surface.name}: refusal not shown"
    assert _a_view(victim) == before, f"{surface.name} changed org A"
    _attacker_unchanged(attacker)
