"""Accounts and sessions: sign-up, sign-in, tickets, sessions, throttling, password resets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col

from app.models.base import utcnow
from app.models.user import LoginTicket, PasswordReset, Role, User
from app.services.comms import mail
from app.services.core.errors import Conflict, RateLimited, ValidationFailed
from app.services.core.security import token_hash
from app.services.core.tenancy import public_session, tenant_session
from app.services.people import auth, invites, members
from tests import factories as f
from tests.mailbox import Mailbox

pytestmark = pytest.mark.usefixtures("backend")


def _sign_in(email: str, password: str = f.PASSWORD, *, ip: str = f.IP) -> str:
    with public_session() as session:
        return auth.do_sign_in(session, email=email, password=password, ip=ip)


def _redeem(ticket: str, *, old_token: str | None = None) -> str:
    with public_session() as session:
        return auth.do_redeem_ticket(session, ticket, old_token=old_token)


def _request_reset(email: str) -> None:
    with public_session() as session:
        auth.do_request_password_reset(session, email=email, ip=f.IP)


def _reset(token: str, password: str) -> None:
    with public_session() as session:
        auth.do_reset_password(session, token=token, password=password, ip=f.IP)


# --------------------------------------------------------------------------- sign-up


def test_sign_up_creates_user_org_and_admin_membership() -> None:
    email = f.unique_email("Founder").upper()
    org_name = f.unique("Guild")
    user, org = f.signup(email=email, org_name=org_name, kind="national")

    assert user.email == email.lower()
    assert org.name == org_name and org.kind == "national" and org.parent_id is None
    ctx, _ = f.signed_in_ctx(email.lower())
    assert ctx.user_id == user.id
    assert ctx.org_id == org.id
    assert ctx.org_name == org_name
    assert ctx.role == Role.org_admin
    with public_session() as session:
        assert [(c.id, c.role) for c in auth.user_orgs(session, user.id)] == [
            (str(org.id), Role.org_admin)
        ]


def test_duplicate_email_is_refused_case_insensitively() -> None:
    email = f.unique_email("dup")
    f.signup(email=email)
    with pytest.raises(Conflict) as err:
        f.signup(email=email.upper())
    assert err.value.field == "email"
    assert "already exists" in err.value.message


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Sh0rt!", "at least 10 characters"),
        ("onlylettersherenow", "Mix letters with numbers or symbols"),
        ("password123", "too easy to guess"),
        ("My-QuentinBlake-2024", "email address"),
    ],
    ids=["short", "letters-only", "common", "contains-email"],
)
def test_weak_passwords_are_refused_with_a_clear_message(password: str, message: str) -> None:
    email = f"quentinblake@{f.unique('p')}.example.com"
    with pytest.raises(ValidationFailed) as err:
        f.signup(email=email, password=password)
    assert err.value.field == "password"
    assert message in err.value.message
    # Nothing was created: the same email signs up fine with a good password.
    f.signup(email=email)


def test_root_org_name_taken_is_refused_and_nothing_is_created() -> None:
    name = f.unique("Taken Guild")
    f.signup(org_name=name)
    email = f.unique_email("second")
    with pytest.raises(Conflict) as err:
        f.signup(email=email, org_name=name.upper())
    assert err.value.field == "name"
    assert "already exists" in err.value.message
    # The refused sign-up left no half-made account behind.
    user, _ = f.signup(email=email)
    assert user.email == email


# --------------------------------------------------------------------------- sign-in


def test_sign_in_redeem_resolve_round_trip() -> None:
    user, org = f.signup()
    ticket = _sign_in(user.email)
    token = _redeem(ticket)
    assert token != ticket
    ctx = f.resolve(token, ip="198.51.100.1")
    assert ctx is not None
    assert (ctx.user_id, ctx.org_id, ctx.email) == (user.id, org.id, user.email)
    assert ctx.ip == "198.51.100.1"
    assert ctx.session_id is not None
    assert org.id in ctx.org_ids


def test_wrong_password_and_unknown_email_get_the_same_refusal() -> None:
    user, _ = f.signup()
    with pytest.raises(ValidationFailed) as wrong:
        _sign_in(user.email, "Not-the-password-1")
    with pytest.raises(ValidationFailed) as unknown:
        _sign_in(f.unique_email("nobody"), f.PASSWORD)
    assert wrong.value.message == unknown.value.message == auth.SIGN_IN_FAILED
    assert wrong.value.field == unknown.value.field


def test_ticket_cannot_be_redeemed_twice() -> None:
    user, _ = f.signup()
    ticket = _sign_in(user.email)
    _redeem(ticket)
    with pytest.raises(ValidationFailed, match="expired"):
        _redeem(ticket)


def test_expired_ticket_is_refused() -> None:
    user, _ = f.signup()
    ticket = _sign_in(user.email)
    with public_session() as session:
        session.execute(
            update(LoginTicket)
            .where(col(LoginTicket.ticket_hash) == token_hash(ticket))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()
    with pytest.raises(ValidationFailed, match="expired"):
        _redeem(ticket)


def test_tampered_or_unknown_token_resolves_to_nothing() -> None:
    user, _ = f.signup()
    token = f.sign_in_token(user.email)
    assert f.resolve(token) is not None
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert f.resolve(tampered) is None
    assert f.resolve("") is None
    assert f.resolve(_sign_in(user.email)) is None, "a login ticket is not a session token"


def test_session_past_its_absolute_expiry_ends() -> None:
    user, _ = f.signup()
    token = f.sign_in_token(user.email)
    # Still "fresh" by idle time, but past the absolute lifetime.
    f.age_session(token, expires_at=utcnow() - timedelta(minutes=1), last_seen=utcnow())
    assert f.resolve(token) is None


def test_idle_session_ends_and_active_use_keeps_it_alive(settings_env) -> None:
    settings_env(session_idle_minutes=30)
    user, _ = f.signup()
    idle = f.sign_in_token(user.email)
    busy = f.sign_in_token(user.email)
    f.age_session(idle, last_seen=utcnow() - timedelta(minutes=31))
    assert f.resolve(idle) is None
    # Seen 29 minutes ago: resolving slides the idle window forward.
    f.age_session(busy, last_seen=utcnow() - timedelta(minutes=29))
    assert f.resolve(busy) is not None
    assert f.resolve(busy) is not None


def test_sign_out_revokes_the_session() -> None:
    user, _ = f.signup()
    token = f.sign_in_token(user.email)
    other = f.sign_in_token(user.email)
    with public_session() as session:
        auth.do_sign_out(session, token)
    assert f.resolve(token) is None
    assert f.resolve(other) is not None, "signing out one browser must not end the others"


def test_sign_in_rotates_the_old_session() -> None:
    user, _ = f.signup()
    old = f.sign_in_token(user.email)
    new = _redeem(_sign_in(user.email), old_token=old)
    assert new != old
    assert f.resolve(old) is None
    assert f.resolve(new) is not None


# --------------------------------------------------------------------------- throttling


def test_account_is_locked_after_too_many_failures(settings_env) -> None:
    settings_env(login_max_failures_per_account=3, login_max_failures_per_ip=100)
    user, _ = f.signup()
    for _ in range(3):
        with pytest.raises(ValidationFailed):
            _sign_in(user.email, "Wrong-password-9")
    with pytest.raises(RateLimited) as err:
        _sign_in(user.email)  # the right password, refused anyway
    assert "Too many" in err.value.message
    # Another account from the same IP is unaffected.
    other, _ = f.signup()
    assert _sign_in(other.email)


def test_success_before_the_limit_clears_the_account_count(settings_env) -> None:
    settings_env(login_max_failures_per_account=3, login_max_failures_per_ip=100)
    user, _ = f.signup()
    for _ in range(2):
        with pytest.raises(ValidationFailed):
            _sign_in(user.email, "Wrong-password-9")
    _sign_in(user.email)
    for _ in range(2):
        with pytest.raises(ValidationFailed):
            _sign_in(user.email, "Wrong-password-9")
    assert _sign_in(user.email)


def test_ip_is_locked_after_failures_across_accounts(settings_env) -> None:
    settings_env(login_max_failures_per_account=100, login_max_failures_per_ip=3)
    victim, _ = f.signup()
    for _ in range(3):
        with pytest.raises(ValidationFailed):
            _sign_in(f.unique_email("spray"), "Wrong-password-9", ip="192.0.2.66")
    with pytest.raises(RateLimited):
        _sign_in(victim.email, ip="192.0.2.66")
    # The same account from another address still gets in.
    assert _sign_in(victim.email, ip="192.0.2.67")


# --------------------------------------------------------------------------- password reset


def test_password_reset_round_trip(mailbox: Mailbox) -> None:
    admin = f.new_admin()
    old_token = admin.token
    _request_reset(admin.email.upper())

    reset_token = mailbox.token(admin.email, "/reset/")
    _reset(reset_token, "Brand-new-secret-77")

    assert f.resolve(old_token) is None, "a reset must end existing sessions"
    with pytest.raises(ValidationFailed):
        _sign_in(admin.email, f.PASSWORD)
    assert f.resolve(f.sign_in_token(admin.email, "Brand-new-secret-77")) is not None


def test_reset_token_works_once(mailbox: Mailbox) -> None:
    admin = f.new_admin()
    _request_reset(admin.email)
    reset_token = mailbox.token(admin.email, "/reset/")
    _reset(reset_token, "Brand-new-secret-77")
    with pytest.raises(ValidationFailed) as err:
        _reset(reset_token, "Another-secret-88")
    assert err.value.field == "token"
    f.sign_in_token(admin.email, "Brand-new-secret-77")


def test_expired_reset_token_is_refused(mailbox: Mailbox) -> None:
    admin = f.new_admin()
    _request_reset(admin.email)
    reset_token = mailbox.token(admin.email, "/reset/")
    with public_session() as session:
        session.execute(
            update(PasswordReset)
            .where(col(PasswordReset.token_hash) == token_hash(reset_token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()
    with pytest.raises(ValidationFailed, match="expired"):
        _reset(reset_token, "Brand-new-secret-77")
    assert f.resolve(admin.token) is not None, "a refused reset must not end sessions"


def test_reset_refuses_a_weak_password_without_using_the_token(mailbox: Mailbox) -> None:
    admin = f.new_admin()
    _request_reset(admin.email)
    reset_token = mailbox.token(admin.email, "/reset/")
    with pytest.raises(ValidationFailed) as err:
        _reset(reset_token, "short1!")
    assert err.value.field == "password"
    _reset(reset_token, "Brand-new-secret-77")


def test_reset_request_for_unknown_email_reveals_nothing(peek) -> None:
    known, _ = f.signup()
    nobody = f.unique_email("ghost")
    _request_reset(nobody)  # no error, same as for a real account
    _request_reset(known.email)
    sent = "SELECT count(*) FROM outbound_emails WHERE to_email = :to"
    assert peek(sent, to=nobody)[0][0] == 0
    assert peek(sent, to=known.email)[0][0] == 1


def test_a_reset_link_never_reaches_a_mail_log(mailbox: Mailbox, peek) -> None:
    """A learner of org A who is an admin of org B: A's admin asks for their reset, and
    nothing in A's (or B's) mail log can be used to take the account."""
    a_admin = f.new_admin()
    b_admin = f.new_admin()
    both = f.invite_and_accept_member(a_admin.ctx, Role.learner)
    _, b_token = f.invite(b_admin.ctx, Role.org_admin, email=both.email)
    invites.do_accept_invite(b_token, signed_in_user_id=both.ctx.user_id, ip=f.IP)
    _request_reset(both.email)

    token = mailbox.token(both.email, "/reset/")  # the recipient got a working link
    for admin in (a_admin, b_admin):
        with tenant_session(admin.ctx) as session:
            rows, _ = mail.list_mail(session, admin.ctx, page_size=200)
        assert not [r for r in rows if r.kind == "password_reset"], "a reset mail is no org's"
        assert all(token not in r.body_text for r in rows)
    stored = peek(
        "SELECT org_id, body_text, sealed_body FROM outbound_emails"
        " WHERE to_email = :to AND kind = 'password_reset'",
        to=both.email,
    )
    assert len(stored) == 1
    org_id, body, sealed = stored[0]
    assert org_id is None and sealed is None, "logged mode keeps no copy of the link"
    assert token not in body and mail.REDACTED in body
    _reset(token, "Brand-new-secret-77")


def test_reset_request_validates_the_address() -> None:
    with pytest.raises(ValidationFailed) as err:
        _request_reset("not an email")
    assert err.value.field == "email"


# --------------------------------------------------------------------------- deactivation


def test_deactivated_member_is_signed_out_and_cannot_sign_in() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    with tenant_session(admin.ctx) as session:
        page = members.list_members(session, admin.ctx, search=learner.email)
        (row,) = page.rows
        members.do_set_active(session, admin.ctx, row.membership_id, False)

    assert f.resolve(learner.token) is None
    with pytest.raises(ValidationFailed) as err:
        _sign_in(learner.email)
    assert err.value.message == auth.SIGN_IN_FAILED


def test_deactivated_account_cannot_sign_in() -> None:
    user, _ = f.signup()
    token = f.sign_in_token(user.email)
    with public_session() as session:
        session.execute(update(User).where(col(User.id) == user.id).values(is_active=False))
        session.commit()
    assert f.resolve(token) is None
    with pytest.raises(ValidationFailed) as err:
        _sign_in(user.email)
    assert err.value.message == auth.SIGN_IN_FAILED
