"""Sign-up by confirmed email: the same answer for every address, the link creates the org."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col

from app.models.base import utcnow
from app.models.user import Role, SignupRequest
from app.services.core.errors import Conflict, RateLimited, ValidationFailed
from app.services.core.security import token_hash
from app.services.core.tenancy import public_session
from app.services.people import auth, signup
from tests import factories as f
from tests.mailbox import Mailbox

pytestmark = pytest.mark.usefixtures("backend")


def _request(email: str, *, org_name: str | None = None, password: str = f.PASSWORD) -> str:
    with public_session() as session:
        return signup.do_request_sign_up(
            session,
            full_name="Fay Founder",
            email=email,
            password=password,
            org_name=org_name or f.unique("Harbour Skills"),
            org_kind="provider",
            ip=f.IP,
        )


def _confirm(token: str) -> str:
    with public_session() as session:
        return signup.do_confirm_sign_up(session, token=token, ip=f.IP)


def test_nothing_exists_until_the_emailed_link_is_used(mailbox: Mailbox, peek) -> None:
    email = f.unique_email("Founder")
    org_name = f.unique("Harbour Skills")
    assert _request(email.upper(), org_name=org_name) == email.lower()
    assert peek("SELECT count(*) FROM users WHERE email = :e", e=email.lower())[0][0] == 0
    assert peek("SELECT count(*) FROM organizations WHERE name = :n", n=org_name)[0][0] == 0

    ticket = _confirm(mailbox.token(email, "/signup/confirm/"))
    with public_session() as session:
        token = auth.do_redeem_ticket(session, ticket)
    ctx = f.context(token)
    assert (ctx.email, ctx.org_name, ctx.role) == (email.lower(), org_name, Role.org_admin)
    assert ctx.full_name == "Fay Founder"


def test_an_address_with_an_account_gets_the_same_answer_and_a_note(mailbox: Mailbox, peek) -> None:
    owner, _ = f.signup()
    fresh = f.unique_email("fresh")
    answers = [_request(owner.email), _request(fresh)]
    assert answers == [owner.email, fresh], "both answers only repeat the address"

    (note,) = mailbox.to(owner.email)
    assert "already has an account" in note.body and "/signup/confirm/" not in note.body
    assert "/forgot" in note.body
    requests = "SELECT count(*) FROM signup_requests WHERE email = :e"
    assert peek(requests, e=owner.email)[0][0] == 0, "nothing is stored for a known address"
    assert peek(requests, e=fresh)[0][0] == 1
    # The owner's account is untouched: same password, same single org.
    f.sign_in_token(owner.email)
    with public_session() as session:
        assert len(auth.user_orgs(session, owner.id)) == 1


def test_form_errors_do_not_depend_on_the_address() -> None:
    owner, _ = f.signup()
    for email in (owner.email, f.unique_email("new")):
        with pytest.raises(ValidationFailed) as err:
            _request(email, password="short1")
        assert err.value.field == "password"
        assert "at least 10 characters" in err.value.message


def test_a_link_works_once_and_not_after_it_expires(mailbox: Mailbox) -> None:
    email = f.unique_email("once")
    _request(email)
    token = mailbox.token(email, "/signup/confirm/")
    _confirm(token)
    with pytest.raises(ValidationFailed, match="invalid or has expired"):
        _confirm(token)

    late = f.unique_email("late")
    _request(late)
    late_token = mailbox.token(late, "/signup/confirm/")
    with public_session() as session:
        session.execute(
            update(SignupRequest)
            .where(col(SignupRequest.token_hash) == token_hash(late_token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()
    with pytest.raises(ValidationFailed, match="invalid or has expired"):
        _confirm(late_token)


def test_two_links_for_one_address_make_one_account(mailbox: Mailbox, peek) -> None:
    email = f.unique_email("twice")
    _request(email)
    _request(email)
    first, second = (m.body.split("/signup/confirm/", 1)[1].split()[0] for m in mailbox.to(email))
    _confirm(second)
    with pytest.raises(Conflict, match="already has an account"):
        _confirm(first)
    assert peek("SELECT count(*) FROM users WHERE email = :e", e=email)[0][0] == 1


def test_a_taken_top_level_org_name_is_a_field_error() -> None:
    _, org = f.signup()
    with pytest.raises(Conflict) as err:
        _request(f.unique_email("clash"), org_name=org.name)
    assert err.value.field == "name"


def test_sign_ups_for_one_address_are_throttled(mailbox: Mailbox) -> None:
    email = f.unique_email("bombed")
    for _ in range(5):
        _request(email)
    with pytest.raises(RateLimited):
        _request(email)
    assert len(mailbox.to(email)) == 5, "the address gets at most five mails an hour"


def test_links_for_one_address_confirmed_at_once_make_one_account_and_clear_refusals(
    mailbox: Mailbox, peek
) -> None:
    """Many tabs confirming links for one address at the same moment (the reliability
    finding: 50 concurrent sign-ups gave 14 unhandled IntegrityErrors): one account is
    made, and every other tab gets the "already has an account" answer, never a crash."""
    email = f.unique_email("stampede")
    for _ in range(5):  # as many as the per-address limit allows
        _request(email)
    tokens = [m.body.split("/signup/confirm/", 1)[1].split()[0] for m in mailbox.to(email)]
    barrier = threading.Barrier(len(tokens))

    def confirm(token: str) -> str:
        barrier.wait()
        try:
            _confirm(token)
        except Conflict as exc:
            return f"conflict: {exc.message}"
        return "created"

    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        outcomes = list(pool.map(confirm, tokens))
    assert outcomes.count("created") == 1, outcomes
    assert all(o == "created" or "already has an account" in o for o in outcomes), outcomes
    assert peek("SELECT count(*) FROM users WHERE email = :e", e=email)[0][0] == 1
