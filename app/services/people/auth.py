"""Accounts and sessions: sign-up, sign-in with throttling, sessions, sign-out, resets.

The browser holds a random session token in an HttpOnly cookie; the database holds only its
SHA-256. Sign-in happens in a Reflex handler, which cannot set HttpOnly cookies, so it hands
the browser a one-time, short-lived ticket that our own HTTP route exchanges for the session
cookie (`do_redeem_ticket`).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import timedelta

from limits import RateLimitItemPerSecond
from sqlalchemy import update
from sqlmodel import Session, col, select

from app.db import bind_user, widen_scope
from app.models.base import as_utc, utcnow
from app.models.org import Organization
from app.models.user import AuthSession, LoginTicket, Membership, PasswordReset, Role, User
from app.services.comms import mail
from app.services.config import orgs
from app.services.core import audit
from app.services.core.authz import SUBTREE_ROLES
from app.services.core.errors import Conflict, NotFound, RateLimited, ValidationFailed
from app.services.core.security import (
    check_password_strength,
    dummy_verify,
    hash_password,
    new_token,
    token_hash,
    verify_password,
)
from app.services.core.tenancy import OrgContext, mark_scoped
from app.services.core.validation import clean_text, normalize_email
from app.services.infra import ratelimit
from app.settings import get_settings

SIGN_IN_FAILED = "That email and password do not match an active account."
# The browser that asked for a ticket also gets this cookie (from our page's script); the
# cookie route refuses a ticket without it, so nobody can sign a victim's browser into
# the sender's account by sending them a ticket link (login CSRF).
LOGIN_BINDING_COOKIE = "gh_login_binding"


def ticket_binding(ticket: str) -> str:
    """The value the requesting browser must hold in `LOGIN_BINDING_COOKIE` for `ticket`."""
    key = get_settings().secret_key.encode()
    return hmac.new(key, ticket.encode(), hashlib.sha256).hexdigest()


def binding_matches(ticket: str, cookie_value: str | None) -> bool:
    """Whether the browser presenting `ticket` is the one it was issued to."""
    return bool(cookie_value) and hmac.compare_digest(ticket_binding(ticket), cookie_value or "")


@dataclass(frozen=True)
class OrgChoice:
    """An org the user belongs to, for the org switcher."""

    id: str
    name: str
    role: str


def find_user_by_email(session: Session, email: str) -> User | None:
    """The user with this (normalized) email, if any."""
    return session.exec(select(User).where(User.email == email.strip().lower())).first()


def create_user(session: Session, *, email: str, full_name: str, password: str) -> User:
    """Validate and add a new user (no commit)."""
    email = normalize_email(email)
    full_name = clean_text(full_name, field="full_name", label="your name", max_length=120)
    check_password_strength(password, email=email)
    if find_user_by_email(session, email) is not None:
        raise Conflict("An account with this email already exists. Sign in instead.", field="email")
    user = User(email=email, full_name=full_name, password_hash=hash_password(password))
    session.add(user)
    return user


def do_sign_up(
    session: Session,
    *,
    full_name: str,
    email: str,
    password: str,
    org_name: str,
    org_kind: str,
    ip: str = "",
) -> tuple[User, Organization]:
    """Create an account and a new organization at once, its owner as org admin.

    For operators, seeding and tests; visitors go through `signup.do_request_sign_up`, which
    confirms the address first.
    """
    email = normalize_email(email)
    check_password_strength(password, email=email)
    user, org = create_account_and_org(
        session,
        email=email,
        full_name=full_name,
        password_hash=hash_password(password),
        org_name=org_name,
        org_kind=org_kind,
        ip=ip,
    )
    session.commit()
    return user, org


def create_account_and_org(
    session: Session,
    *,
    email: str,
    full_name: str,
    password_hash: str,
    org_name: str,
    org_kind: str,
    ip: str = "",
) -> tuple[User, Organization]:
    """Add a user, a root organization and their org-admin membership (no commit)."""
    email = normalize_email(email)
    full_name = clean_text(full_name, field="full_name", label="your name", max_length=120)
    if find_user_by_email(session, email) is not None:
        raise Conflict("An account with this email already exists. Sign in instead.", field="email")
    user = User(email=email, full_name=full_name, password_hash=password_hash)
    session.add(user)
    session.flush()
    org = orgs.create_org(session, name=org_name, kind=org_kind, parent=None, ip=ip)
    session.add(Membership(org_id=org.id, user_id=user.id, role=Role.org_admin))
    audit.record(
        session,
        action="user.signed_up",
        org_id=org.id,
        actor_id=user.id,
        actor_email=user.email,
        target=user.email,
        detail={"role": Role.org_admin},
        ip=ip,
    )
    return user, org


def _throttle_keys(email: str, ip: str) -> list[tuple[RateLimitItemPerSecond, str]]:
    s = get_settings()
    window = s.login_failure_window_seconds
    return [
        (ratelimit.window(s.login_max_failures_per_account, window), f"login-account:{email}"),
        (ratelimit.window(s.login_max_failures_per_ip, window), f"login-ip:{ip or 'unknown'}"),
    ]


def do_sign_in(
    session: Session, *, email: str, password: str, ip: str = "", user_agent: str = ""
) -> str:
    """Check credentials and return a one-time login ticket for the cookie route.

    Failures are counted per account and per IP; past the limit every attempt is refused
    (even with the right password) until the window passes.
    """
    try:
        email = normalize_email(email)
    except ValidationFailed:
        raise ValidationFailed(SIGN_IN_FAILED, field="email") from None
    keys = _throttle_keys(email, ip)
    if any(ratelimit.is_exhausted(item, key) for item, key in keys):
        minutes = max(get_settings().login_failure_window_seconds // 60, 1)
        raise RateLimited(
            f"Too many failed sign-ins. Wait {minutes} minutes or reset your password.",
            field="email",
        )
    user = find_user_by_email(session, email)
    memberships = _active_memberships(session, user.id) if user else []
    if user is None:
        dummy_verify(password)
    ok = user is not None and user.is_active and verify_password(user.password_hash, password)
    # Deactivated in every org (and not a platform admin): no account left to sign in to.
    ok = ok and (bool(memberships) or bool(user and user.is_super_admin))
    if not ok:
        for item, key in keys:
            ratelimit.hit(item, key)
        org_id = memberships[0].org_id if memberships else None
        if org_id is not None:
            widen_scope(session, org_ids={org_id})
        audit.record(
            session,
            action="auth.sign_in_failed",
            org_id=org_id,
            actor_id=user.id if user else None,
            actor_email=email,
            target=email,
            ip=ip,
        )
        session.commit()
        raise ValidationFailed(SIGN_IN_FAILED, field="password")
    assert user is not None
    ratelimit.clear(keys[0][0], keys[0][1])
    return _issue_ticket(
        session,
        user=user,
        active_org_id=memberships[0].org_id if memberships else None,
        ip=ip,
        user_agent=user_agent,
    )


def ticket_for_user(
    session: Session, *, user_id: uuid.UUID, active_org_id: uuid.UUID | None, ip: str = ""
) -> str:
    """A login ticket for a user who just proved who they are another way (invite, reset)."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound()
    return _issue_ticket(session, user=user, active_org_id=active_org_id, ip=ip, user_agent="")


def _issue_ticket(
    session: Session,
    *,
    user: User,
    active_org_id: uuid.UUID | None,
    ip: str,
    user_agent: str,
) -> str:
    ticket = new_token()
    session.add(
        LoginTicket(
            ticket_hash=token_hash(ticket),
            user_id=user.id,
            active_org_id=active_org_id,
            ip=ip[:64],
            user_agent=user_agent[:300],
            expires_at=utcnow() + timedelta(seconds=get_settings().login_ticket_seconds),
        )
    )
    if active_org_id is not None:
        widen_scope(session, org_ids={active_org_id})
    audit.record(
        session,
        action="auth.signed_in",
        org_id=active_org_id,
        actor_id=user.id,
        actor_email=user.email,
        target=user.email,
        ip=ip,
    )
    session.commit()
    return ticket


def do_redeem_ticket(session: Session, ticket: str, *, old_token: str | None = None) -> str:
    """Exchange a login ticket for a new session token (once); revoke the old session."""
    now = utcnow()
    result = session.execute(
        update(LoginTicket)
        .where(col(LoginTicket.ticket_hash) == token_hash(ticket))
        .where(col(LoginTicket.used_at).is_(None))
        .where(col(LoginTicket.expires_at) > now)
        .values(used_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise ValidationFailed("This sign-in link has expired. Please sign in again.")
    row = session.exec(
        select(LoginTicket).where(LoginTicket.ticket_hash == token_hash(ticket))
    ).one()
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        session.rollback()
        raise ValidationFailed("This account is not active.")
    if old_token:
        _revoke(session, old_token, now)
    token = new_token()
    settings = get_settings()
    session.add(
        AuthSession(
            user_id=row.user_id,
            token_hash=token_hash(token),
            active_org_id=row.active_org_id,
            ip=row.ip,
            user_agent=row.user_agent,
            last_seen=now,
            expires_at=now + timedelta(hours=settings.session_absolute_hours),
        )
    )
    session.commit()
    return token


def _revoke(session: Session, token: str, now: object) -> None:
    session.execute(
        update(AuthSession)
        .where(col(AuthSession.token_hash) == token_hash(token))
        .where(col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )


def do_sign_out(session: Session, token: str) -> None:
    """Revoke the session behind `token` (a no-op for an unknown token)."""
    row = _live_session(session, token)
    _revoke(session, token, utcnow())
    if row is not None:
        user = session.get(User, row.user_id)
        if row.active_org_id:
            widen_scope(session, org_ids={row.active_org_id})
        audit.record(
            session,
            action="auth.signed_out",
            org_id=row.active_org_id,
            actor_id=row.user_id,
            actor_email=user.email if user else "",
            target=user.email if user else "",
            ip=row.ip,
        )
    session.commit()


def revoke_all_sessions(session: Session, user_id: uuid.UUID) -> None:
    """End every session of a user (deactivation, password reset). No commit."""
    session.execute(
        update(AuthSession)
        .where(col(AuthSession.user_id) == user_id)
        .where(col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


def _live_session(session: Session, token: str) -> AuthSession | None:
    if not token:
        return None
    row = session.exec(
        select(AuthSession).where(AuthSession.token_hash == token_hash(token))
    ).first()
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    if as_utc(row.expires_at) <= now or as_utc(row.last_seen) + idle <= now:
        return None
    return row


def _active_memberships(session: Session, user_id: uuid.UUID) -> list[Membership]:
    bind_user(session, user_id)
    return list(
        session.exec(
            mark_scoped(
                select(Membership)
                .where(Membership.user_id == user_id)
                .where(Membership.is_active == True)  # noqa: E712
                .order_by(col(Membership.created))
            )
        ).all()
    )


def resolve(session: Session, token: str, *, ip: str = "") -> OrgContext | None:
    """The context for a session cookie, or None if it is missing, tampered, idle or expired.

    Touches `last_seen` at most once a minute so idle expiry slides with use.
    """
    row = _live_session(session, token)
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    bind_user(session, user.id)
    now = utcnow()
    if now - as_utc(row.last_seen) > timedelta(seconds=60):
        row.last_seen = now
        session.add(row)
        session.commit()
    return build_context(session, user, row.active_org_id, ip=ip, session_id=row.id)


def build_context(
    session: Session,
    user: User,
    active_org_id: uuid.UUID | None,
    *,
    ip: str = "",
    session_id: uuid.UUID | None = None,
) -> OrgContext:
    """The org context of `user` acting in `active_org_id` (or their first org)."""
    bind_user(session, user.id)
    memberships = _active_memberships(session, user.id)
    chosen = next((m for m in memberships if m.org_id == active_org_id), None)
    if chosen is None and memberships:
        chosen = memberships[0]
    if chosen is None:
        return OrgContext(
            user_id=user.id,
            email=user.email,
            full_name=user.full_name,
            org_id=None,
            is_super_admin=user.is_super_admin,
            ip=ip,
            session_id=session_id,
        )
    org = session.exec(
        mark_scoped(select(Organization).where(Organization.id == chosen.org_id))
    ).one()
    readable = {org.id}
    if chosen.role in SUBTREE_ROLES:
        readable |= {o.id for o in orgs.descendants(session, org.id)}
    parents = {o.id for o in orgs.ancestors(session, org)}
    return OrgContext(
        user_id=user.id,
        email=user.email,
        full_name=user.full_name,
        org_id=org.id,
        org_name=org.name,
        role=chosen.role,
        org_ids=frozenset(readable),
        ancestor_ids=frozenset(parents),
        is_super_admin=user.is_super_admin,
        ip=ip,
        session_id=session_id,
    )


def user_orgs(session: Session, user_id: uuid.UUID) -> list[OrgChoice]:
    """The orgs the user is an active member of, for the switcher."""
    result: list[OrgChoice] = []
    for m in _active_memberships(session, user_id):
        org = session.exec(
            mark_scoped(select(Organization).where(Organization.id == m.org_id))
        ).first()
        if org is not None:
            result.append(OrgChoice(id=str(org.id), name=org.name, role=m.role))
    return result


def do_switch_org(session: Session, ctx: OrgContext, org_id: uuid.UUID | str) -> None:
    """Make another org the session's active org; the user must be a member of it."""
    try:
        target = uuid.UUID(str(org_id))
    except ValueError as exc:
        raise NotFound() from exc
    if not any(m.org_id == target for m in _active_memberships(session, ctx.user_id)):
        raise NotFound()
    if ctx.session_id is None:
        raise NotFound()
    row = session.get(AuthSession, ctx.session_id)
    if row is None:
        raise NotFound()
    row.active_org_id = target
    session.add(row)
    session.commit()


def create_reset_token(session: Session, user: User, *, ttl: timedelta | None = None) -> str:
    """Add a one-use password-reset token for `user` and return it (no mail, no commit).

    It expires after `ttl` (default `password_reset_ttl_minutes`); a welcome link for a new
    account lives longer. `reset_link(token)` is the page that uses it.
    """
    token = new_token()
    lifetime = ttl or timedelta(minutes=get_settings().password_reset_ttl_minutes)
    session.add(
        PasswordReset(user_id=user.id, token_hash=token_hash(token), expires_at=utcnow() + lifetime)
    )
    return token


def reset_link(token: str) -> str:
    """The page where a reset token sets a new password."""
    return f"{get_settings().base_url.rstrip('/')}/reset/{token}"


def do_request_password_reset(session: Session, *, email: str, ip: str = "") -> None:
    """Email a reset link if the account exists; say nothing either way (no enumeration).

    The account is the person's, not a tenant's: the mail and its audit row belong to no
    org, so no org's admin ever sees them (the link itself never reaches any log).
    """
    email = normalize_email(email)
    user = find_user_by_email(session, email)
    if user is None or not user.is_active:
        return
    token = create_reset_token(session, user)
    settings = get_settings()
    mail.queue(
        session,
        org_id=None,
        to=user.email,
        subject="Reset your Guildhall password",
        body=(
            f"Hello {user.full_name},\n\nSomeone (hopefully you) asked to reset your password."
            f"\nOpen this link within {settings.password_reset_ttl_minutes} minutes:\n\n"
            f"{mail.LINK_SLOT}\n\n"
            "If you did not ask, ignore this email: your password stays as it is.\n"
        ),
        kind="password_reset",
        secret_link=reset_link(token),
    )
    audit.record(
        session,
        action="auth.password_reset_requested",
        org_id=None,
        actor_id=user.id,
        actor_email=user.email,
        target=user.email,
        ip=ip,
    )
    session.commit()


def do_reset_password(session: Session, *, token: str, password: str, ip: str = "") -> uuid.UUID:
    """Set a new password with a reset token (once); every session of the user ends."""
    row = session.exec(
        select(PasswordReset).where(PasswordReset.token_hash == token_hash(token))
    ).first()
    if row is None or row.used_at is not None or as_utc(row.expires_at) <= utcnow():
        raise ValidationFailed(
            "This reset link is invalid or has expired. Ask for a new one.", field="token"
        )
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise ValidationFailed("This reset link is invalid or has expired.", field="token")
    check_password_strength(password, email=user.email)
    claimed = session.execute(
        update(PasswordReset)
        .where(col(PasswordReset.id) == row.id)
        .where(col(PasswordReset.used_at).is_(None))
        .values(used_at=utcnow())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise ValidationFailed("This reset link was already used.", field="token")
    user.password_hash = hash_password(password)
    user.modified = utcnow()
    session.add(user)
    revoke_all_sessions(session, user.id)
    memberships = _active_memberships(session, user.id)
    org_id = memberships[0].org_id if memberships else None
    if org_id is not None:
        widen_scope(session, org_ids={org_id})
    audit.record(
        session,
        action="auth.password_reset",
        org_id=org_id,
        actor_id=user.id,
        actor_email=user.email,
        target=user.email,
        ip=ip,
    )
    session.commit()
    return user.id
