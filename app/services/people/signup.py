"""Sign-up with a confirmed email: a visitor asks, the emailed link creates the account.

`do_request_sign_up` checks the form and answers the same way whether or not the address
already has an account, so the form cannot be used to learn who is on Guildhall: a new
address gets a confirmation link; an address with an account gets a note saying so (with
links to sign in and to reset the password), and nothing is stored. `do_confirm_sign_up`
uses the link once: it creates the account, the organization and the org-admin membership
(`auth.do_sign_up`) and hands back a login ticket for the browser that opened it.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.db import Scope, open_session
from app.models.base import as_utc, utcnow
from app.models.org import Organization
from app.models.user import SignupRequest
from app.services.comms import mail
from app.services.config import orgs
from app.services.core import audit
from app.services.core.errors import Conflict, RateLimited, ValidationFailed
from app.services.core.security import (
    check_password_strength,
    hash_password,
    new_token,
    token_hash,
)
from app.services.core.tenancy import mark_scoped
from app.services.core.validation import clean_text, normalize_email
from app.services.infra import ratelimit
from app.services.people import auth
from app.settings import get_settings

LINK_INVALID = "This sign-up link is invalid or has expired. Sign up again."
ACCOUNT_EXISTS = "This email already has an account. Sign in instead."
# Per address and per IP: enough for typos and a lost mail, too few to mail-bomb anyone.
_PER_EMAIL = (5, 3600)
_PER_IP = (30, 3600)


def _throttle(email: str, ip: str) -> None:
    limits = [
        (ratelimit.window(*_PER_EMAIL), f"signup-email:{email}"),
        (ratelimit.window(*_PER_IP), f"signup-ip:{ip or 'unknown'}"),
    ]
    if any(ratelimit.is_exhausted(item, key) for item, key in limits):
        raise RateLimited("Too many sign-ups from here. Try again in an hour.", field="email")
    for item, key in limits:
        ratelimit.hit(item, key)


def confirm_link(token: str) -> str:
    """The page that uses a sign-up token."""
    return f"{get_settings().base_url.rstrip('/')}/signup/confirm/{token}"


def _top_level_name_taken(name: str) -> bool:
    """Whether a root org already has this name (row-level security hides other orgs from
    a visitor's session, so the check reads in the system scope, and reads only this)."""
    key = orgs.sibling_key(None, name)
    stmt = mark_scoped(select(Organization.id).where(Organization.sibling_key == key))
    with open_session(Scope(system=True)) as system:
        return system.exec(stmt).first() is not None


def do_request_sign_up(
    session: Session,
    *,
    full_name: str,
    email: str,
    password: str,
    org_name: str,
    org_kind: str,
    ip: str = "",
) -> str:
    """Check the form and email the address; returns the normalized address.

    Field errors are about what was typed (and the organization's name), never about
    whether the address has an account.
    """
    email = normalize_email(email)
    full_name = clean_text(full_name, field="full_name", label="your name", max_length=120)
    check_password_strength(password, email=email)
    org_name = clean_text(org_name, field="name", label="a name", max_length=120, min_length=2)
    org_kind = orgs.check_kind(org_kind)
    if _top_level_name_taken(org_name):
        raise Conflict(
            f"An organization named “{org_name}” already exists on Guildhall.", field="name"
        )
    _throttle(email, ip)
    # Hash in both branches, so the answer takes as long whether or not the account exists.
    password_hash = hash_password(password)
    if auth.find_user_by_email(session, email) is not None:
        _mail_existing_owner(session, email)
    else:
        _store_request(
            session,
            email=email,
            full_name=full_name,
            password_hash=password_hash,
            org_name=org_name,
            org_kind=org_kind,
            ip=ip,
        )
    session.commit()
    return email


def _mail_existing_owner(session: Session, email: str) -> None:
    base = get_settings().base_url.rstrip("/")
    mail.queue(
        session,
        org_id=None,
        to=email,
        subject="You already have a Guildhall account",
        body=(
            "Someone (hopefully you) tried to sign up on Guildhall with this address, which "
            "already has an account, so nothing was created.\n\n"
            f"Sign in: {base}/signin\nForgot your password? {base}/forgot\n\n"
            "If this was not you, you can ignore this email.\n"
        ),
        kind="signup_existing",
    )


def _store_request(
    session: Session,
    *,
    email: str,
    full_name: str,
    password_hash: str,
    org_name: str,
    org_kind: str,
    ip: str,
) -> None:
    token = new_token()
    hours = get_settings().signup_ttl_hours
    session.add(
        SignupRequest(
            email=email,
            full_name=full_name,
            password_hash=password_hash,
            org_name=org_name,
            org_kind=org_kind,
            token_hash=token_hash(token),
            ip=ip[:64],
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    mail.queue(
        session,
        org_id=None,
        to=email,
        subject=f"Confirm your email to create {org_name} on Guildhall",
        body=(
            f"Hello {full_name},\n\nOpen this link within {hours} hours to confirm your email "
            f"and create {org_name}:\n\n{mail.LINK_SLOT}\n\n"
            "If you did not sign up, ignore this email: nothing is created without it.\n"
        ),
        kind="signup_confirm",
        secret_link=confirm_link(token),
    )


def do_confirm_sign_up(session: Session, *, token: str, ip: str = "") -> str:
    """Use a sign-up link (once): create the account and org; returns a login ticket."""
    row = session.exec(
        select(SignupRequest).where(SignupRequest.token_hash == token_hash(token))
    ).first()
    if row is None or row.used_at is not None or as_utc(row.expires_at) <= utcnow():
        raise ValidationFailed(LINK_INVALID)
    claimed = session.execute(
        update(SignupRequest)
        .where(col(SignupRequest.id) == row.id, col(SignupRequest.used_at).is_(None))
        .values(used_at=utcnow())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise ValidationFailed(LINK_INVALID)
    if auth.find_user_by_email(session, row.email) is not None:
        session.rollback()
        raise Conflict(ACCOUNT_EXISTS)
    try:
        user, org = auth.create_account_and_org(
            session,
            email=row.email,
            full_name=row.full_name,
            password_hash=row.password_hash,
            org_name=row.org_name,
            org_kind=row.org_kind,
            ip=ip,
        )
    except IntegrityError:  # the same address confirmed in another tab at the same moment
        session.rollback()
        raise Conflict(ACCOUNT_EXISTS) from None
    except Conflict as exc:  # ... and committed between our check and its own
        session.rollback()
        if exc.field != "email":
            raise
        raise Conflict(ACCOUNT_EXISTS) from None
    audit.record(
        session,
        action="user.email_confirmed",
        org_id=org.id,
        actor_id=user.id,
        actor_email=user.email,
        target=user.email,
        ip=ip,
    )
    session.commit()
    return auth.ticket_for_user(session, user_id=user.id, active_org_id=org.id, ip=ip)
