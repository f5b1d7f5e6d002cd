"""The sign-up form and its emailed link, through the real State classes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from app.services.core.tenancy import public_session
from app.services.people import auth
from app.state.account import SignUpConfirmState, SignUpState
from tests import factories as f
from tests.mailbox import Mailbox
from tests.state.harness import StateHarness

pytestmark = pytest.mark.usefixtures("backend")


def _form(email: str) -> dict[str, str]:
    return {
        "full_name": "Fay Founder",
        "email": email,
        "password": f.PASSWORD,
        "org_name": f.unique("Harbour Skills"),
        "org_kind": "provider",
    }


def _answer(email: str) -> tuple[dict[str, object], list[str]]:
    """What the visitor sees after submitting the form for `email`."""
    with StateHarness(path="/signup") as tab:
        reply = tab.dispatch(SignUpState.submit(_form(email)))
        state = tab.state(SignUpState)
        seen = {
            "sent_to": state.sent_to,
            "errors": dict(state.errors),
            "form_error": state.form_error,
            "busy": state.busy,
        }
    return seen, reply.toasts() + reply.locations + reply.redirects


def test_the_form_answers_the_same_for_a_known_and_an_unknown_address() -> None:
    owner, _ = f.signup()
    fresh = f.unique_email("fresh")
    known_seen, known_sent = _answer(owner.email)
    fresh_seen, fresh_sent = _answer(fresh)
    assert known_seen == {**fresh_seen, "sent_to": owner.email}
    assert fresh_seen == {"sent_to": fresh, "errors": {}, "form_error": "", "busy": False}
    assert known_sent == fresh_sent == [], "no toast, no redirect: only 'check your email'"


def test_the_emailed_link_signs_the_new_admin_in(mailbox: Mailbox) -> None:
    email = f.unique_email("linked")
    _answer(email)
    link = mailbox.link(email, "/signup/confirm/")
    path = urlsplit(link).path
    with StateHarness(path=path) as tab:
        reply = tab.dispatch(SignUpConfirmState.load())
        assert tab.state(SignUpConfirmState).problem == ""
    (location,) = reply.locations
    query = parse_qs(urlsplit(location).query)
    assert query["next"] == ["/dashboard"]
    with public_session() as session:
        token = auth.do_redeem_ticket(session, query["ticket"][0])
    assert f.context(token).email == email

    with StateHarness(path=path) as again:  # the link is spent
        reply = again.dispatch(SignUpConfirmState.load())
        assert "invalid or has expired" in again.state(SignUpConfirmState).problem
    assert reply.locations == []


def test_coming_back_to_the_form_shows_it_fresh() -> None:
    with StateHarness(path="/signup") as tab:
        tab.dispatch(SignUpState.submit(_form(f.unique_email("first"))))
        assert tab.state(SignUpState).sent_to
        tab.dispatch(SignUpState.load())  # the tab keeps its state across pages
        assert tab.state(SignUpState).sent_to == ""
