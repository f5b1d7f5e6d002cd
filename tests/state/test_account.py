"""Sign-in through the real `SignInState`: a ticket for the cookie route, or a field error."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from app.services.core import audit
from app.services.core.tenancy import public_session, tenant_session
from app.services.people import auth
from app.state.account import SignInState
from tests import factories as f
from tests.state.harness import StateHarness

pytestmark = pytest.mark.usefixtures("backend")


def _complete_url(reply_locations: list[str]) -> tuple[str, dict[str, list[str]]]:
    (url,) = reply_locations
    parts = urlsplit(url)
    return parts.path, parse_qs(parts.query)


def test_right_password_sends_the_browser_to_the_cookie_route() -> None:
    admin = f.new_admin()
    with StateHarness(path="/signin?next=/admin/members", ip="198.51.100.23") as tab:
        reply = tab.dispatch(SignInState.submit({"email": admin.email, "password": f.PASSWORD}))
        state = tab.state(SignInState)
        assert state.errors == {} and state.form_error == ""

    path, query = _complete_url(reply.locations)
    assert path == "/api/auth/complete"
    assert query["next"] == ["/admin/members"]
    (ticket,) = query["ticket"]

    # The ticket is real: the cookie route would turn it into this user's session.
    with public_session() as session:
        token = auth.do_redeem_ticket(session, ticket)
    ctx = f.context(token)
    assert (ctx.user_id, ctx.org_id) == (admin.user_id, admin.org_id)

    # The handler passed the tab's IP (router.session.client_ip) to the service.
    with tenant_session(admin.ctx) as session:
        events = audit.list_events(session, admin.ctx, action="auth.signed_in").rows
    assert "198.51.100.23" in {e.ip for e in events}


@pytest.mark.parametrize("unsafe", ["https://evil.example", "//evil.example", "/\\evil.example"])
def test_an_off_site_next_on_the_signin_page_becomes_the_dashboard(unsafe: str) -> None:
    admin = f.new_admin()
    with StateHarness(path="/signin") as tab:
        tab.navigate(f"/signin?next={unsafe}")
        reply = tab.dispatch(SignInState.submit({"email": admin.email, "password": f.PASSWORD}))
    _path, query = _complete_url(reply.locations)
    assert query["next"] == ["/dashboard"]


def test_wrong_password_sets_the_password_error_and_sends_nothing() -> None:
    admin = f.new_admin()
    with StateHarness(path="/signin") as tab:
        reply = tab.dispatch(
            SignInState.submit({"email": admin.email, "password": "Wrong-password-99"})
        )
        state = tab.state(SignInState)
        assert state.errors == {"password": auth.SIGN_IN_FAILED}
        assert state.password_error == auth.SIGN_IN_FAILED
        assert state.email_error == ""
        assert state.busy is False
    assert reply.locations == [] and reply.redirects == []


def test_unknown_email_gets_the_same_answer_as_a_wrong_password() -> None:
    with StateHarness(path="/signin") as tab:
        tab.dispatch(
            SignInState.submit({"email": f.unique_email("nobody"), "password": f.PASSWORD})
        )
        assert tab.state(SignInState).errors == {"password": auth.SIGN_IN_FAILED}


def test_a_field_error_clears_on_the_next_try() -> None:
    admin = f.new_admin()
    with StateHarness(path="/signin") as tab:
        tab.dispatch(SignInState.submit({"email": admin.email, "password": "Wrong-password-99"}))
        reply = tab.dispatch(SignInState.submit({"email": admin.email, "password": f.PASSWORD}))
        assert tab.state(SignInState).errors == {}
    assert len(reply.locations) == 1
