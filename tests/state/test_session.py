"""`SessionState`: every event re-reads the session cookie; bad or ended sessions are refused."""

from __future__ import annotations

import asyncio

import pytest

from app.models.user import Role
from app.services.comms import notifications
from app.services.core.authz import Permission
from app.services.core.errors import PermissionDenied, Unauthenticated
from app.services.core.tenancy import public_session, tenant_session
from app.services.people import auth, invites
from app.state.live import hub
from app.state.members import MembersState
from app.state.session import SessionState, _config_changed
from tests import factories as f
from tests.state.harness import StateHarness

pytestmark = pytest.mark.usefixtures("backend")


def _tampered(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def test_a_valid_cookie_loads_the_user_and_their_permissions() -> None:
    admin = f.new_admin()
    with StateHarness(cookie=admin.token, path="/dashboard") as tab:
        reply = tab.dispatch(SessionState.load_private())
        state = tab.state(SessionState)
        assert reply.redirects == []
        assert state.signed_in is True
        assert (state.user_email, state.org_id) == (admin.email, str(admin.org_id))
        assert state.role == Role.org_admin
        assert Permission.members_manage.value in state.permissions
        assert [o["id"] for o in state.orgs] == [str(admin.org_id)]
        assert tab.bare_state(SessionState)._require(Permission.members_manage).user_id == (
            admin.user_id
        )


@pytest.mark.parametrize(
    "cookie",
    [
        pytest.param(lambda token: _tampered(token), id="one character changed"),
        pytest.param(lambda token: token + "x", id="extended"),
        pytest.param(lambda token: "", id="empty"),
        pytest.param(lambda token: "not-a-session", id="made up"),
    ],
)
def test_a_tampered_cookie_is_refused(cookie) -> None:  # type: ignore[no-untyped-def]
    admin = f.new_admin()
    with StateHarness(cookie=cookie(admin.token), path="/admin/members") as tab:
        with pytest.raises(Unauthenticated):
            tab.bare_state(SessionState)._require()
        reply = tab.dispatch(SessionState.load_private())
        assert reply.redirects == ["/signin?next=/admin/members"]
        state = tab.state(SessionState)
        assert state.signed_in is False and state.user_email == "" and state.permissions == []


@pytest.mark.parametrize(
    "header",
    ['gh_session="unterminated', "gh_session", ";;;", "other=1; gh_session=; x"],
)
def test_a_malformed_cookie_header_is_a_signed_out_visitor(header: str) -> None:
    with StateHarness(path="/dashboard") as tab:
        tab.set_raw_cookie(header)
        with pytest.raises(Unauthenticated):
            tab.bare_state(SessionState)._require()
        assert tab.dispatch(SessionState.load_private()).redirects == ["/signin?next=/dashboard"]


@pytest.mark.parametrize(
    "others",
    [
        "theme=dark",
        "_ga=GA1.2.3.4",
        'prefs={"lang":"en","size":2}',  # JSON, as JS libraries write it
        "greeting=hello world",  # a space
        "name=Jürgen",  # not ASCII
        'broken="unterminated',
        "path=C:\\temp",
    ],
)
def test_the_session_cookie_is_found_among_other_cookies(others: str) -> None:
    """Other cookies of the site, however odd, must not sign the user out. The HTTP routes
    read cookies with Starlette's browser-like parser; the handlers must agree with them."""
    admin = f.new_admin()
    with StateHarness(path="/dashboard") as tab:
        tab.set_raw_cookie(f"{others}; gh_session={admin.token}; z=1")
        assert tab.bare_state(SessionState)._require().user_id == admin.user_id
        assert tab.dispatch(SessionState.load_private()).redirects == []


def test_no_cookie_redirects_private_pages_and_not_public_ones() -> None:
    with StateHarness(path="/dashboard") as tab:
        assert tab.dispatch(SessionState.load_private()).redirects == ["/signin?next=/dashboard"]
        tab.navigate("/")
        assert tab.dispatch(SessionState.load_public()).redirects == []
        assert tab.state(SessionState).signed_in is False


def test_a_session_ended_elsewhere_is_refused_at_the_next_event() -> None:
    admin = f.new_admin()
    with StateHarness(cookie=admin.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        assert tab.state(MembersState).rows
        with public_session() as session:
            auth.do_sign_out(session, admin.token)  # e.g. signed out in another tab
        reply = tab.dispatch(MembersState.invite({"email": f.unique_email(), "role": "learner"}))
        assert reply.redirects == ["/signin"]
        assert tab.dispatch(MembersState.load()).redirects == ["/signin?next=/admin/members"]


def test_require_refuses_a_permission_the_role_lacks() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    with StateHarness(cookie=learner.token, path="/dashboard") as tab:
        session_state = tab.bare_state(SessionState)
        assert session_state._require(Permission.dashboard_view).user_id == learner.user_id
        with pytest.raises(PermissionDenied):
            session_state._require(Permission.members_view)


def test_switch_org_moves_the_session_to_another_membership() -> None:
    first = f.new_admin()
    second = f.new_admin()
    _email, token = f.invite(second.ctx, Role.instructor, email=first.email)
    invites.do_accept_invite(token, signed_in_user_id=first.user_id)
    with StateHarness(cookie=first.token, path="/dashboard") as tab:
        tab.dispatch(SessionState.load_private())
        assert {o["id"] for o in tab.state(SessionState).orgs} == {
            str(first.org_id),
            str(second.org_id),
        }
        reply = tab.dispatch(SessionState.switch_org(str(second.org_id)))
        assert reply.locations == ["/dashboard"]
        tab.dispatch(SessionState.load_private())
        state = tab.state(SessionState)
        assert (state.org_id, state.role) == (str(second.org_id), Role.instructor)


def test_the_bell_counts_the_user_s_unread_notifications_only() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    with tenant_session(admin.ctx) as session:
        for user in (learner.user_id, learner.user_id, admin.user_id):
            notifications.notify(
                session, org_id=admin.org_id, user_id=user, kind="test", title="Hello"
            )
        session.commit()
    with StateHarness(cookie=learner.token, path="/dashboard") as tab:
        tab.dispatch(SessionState.load_private())
        assert tab.state(SessionState).unread == 2
        with tenant_session(learner.ctx) as session:
            notifications.do_mark_all_read(session, learner.ctx)
        tab.dispatch(SessionState.load_private())
        assert tab.state(SessionState).unread == 0


def test_a_config_change_keeps_the_open_page_s_live_topics() -> None:
    """A live push refreshes the session without leaving the page: the page's topics stay
    (a chat or class view must keep receiving after an admin changes the config)."""
    admin = f.new_admin()
    with StateHarness(cookie=admin.token, path="/chat") as tab:
        tab.dispatch(SessionState.load_private())
        hub.watch(tab.token, {"org:x:channel:y"}, group="page")
        state = tab.bare_state(SessionState)
        asyncio.run(_config_changed(state, [(f"org:{admin.org_id}:config", None)]))
        assert "org:x:channel:y" in hub.watching(tab.token)
        tab.dispatch(SessionState.load_private())  # a page load starts a new page
        assert "org:x:channel:y" not in hub.watching(tab.token)
