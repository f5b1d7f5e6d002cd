"""Factories: fresh users, orgs, members and signed-in contexts through the real services.

Every helper goes through the public service functions (sign-up, sign-in, ticket, resolve,
invites), so what they return is exactly what a browser session would get. Names and emails
carry a random suffix: tests share a database per session and never see each other's rows.

Use them inside a test that requested the `backend` (or `pg_backend`) fixture:

    t = two_tenants()
    with tenant_session(t.b.ctx) as session:
        with pytest.raises(NotFound):
            orgs.get_org(session, t.b.ctx, t.a.org_id)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import col

from app.models.org import Organization
from app.models.user import AuthSession, User
from app.services.config import orgs
from app.services.core.security import token_hash
from app.services.core.tenancy import OrgContext, public_session, tenant_session
from app.services.people import auth, invites

PASSWORD = "Sturdy-lantern-42"
IP = "203.0.113.7"


def unique(prefix: str = "x") -> str:
    """`prefix` with a short random suffix."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def unique_email(prefix: str = "user") -> str:
    """A fresh email address on a reserved test domain."""
    return f"{unique(prefix)}@example.com"


@dataclass(frozen=True)
class SignedIn:
    """A signed-in user: their org context and the session cookie value."""

    ctx: OrgContext
    token: str
    email: str
    password: str

    @property
    def user_id(self) -> uuid.UUID:
        return self.ctx.user_id

    @property
    def org_id(self) -> uuid.UUID:
        assert self.ctx.org_id is not None
        return self.ctx.org_id


@dataclass(frozen=True)
class TwoTenants:
    """The admins of two unrelated root orgs, A and B."""

    a: SignedIn
    b: SignedIn


def signup(
    email: str | None = None,
    org_name: str | None = None,
    kind: str = "national",
    *,
    password: str = PASSWORD,
    full_name: str | None = None,
    ip: str = IP,
) -> tuple[User, Organization]:
    """Sign up a new user with a new root org (they become its org admin)."""
    with public_session() as session:
        return auth.do_sign_up(
            session,
            full_name=full_name or unique("Person"),
            email=email or unique_email("admin"),
            password=password,
            org_name=org_name or unique("Org"),
            org_kind=kind,
            ip=ip,
        )


def sign_in_token(email: str, password: str = PASSWORD, *, ip: str = IP) -> str:
    """Sign in and redeem the ticket: the session token a browser cookie would hold."""
    with public_session() as session:
        ticket = auth.do_sign_in(
            session, email=email, password=password, ip=ip, user_agent="pytest"
        )
    with public_session() as session:
        return auth.do_redeem_ticket(session, ticket)


def resolve(token: str, *, ip: str = IP) -> OrgContext | None:
    """The context behind a session token (None when the session is not valid)."""
    with public_session() as session:
        return auth.resolve(session, token, ip=ip)


def context(token: str, *, ip: str = IP) -> OrgContext:
    """Like `resolve`, but the session must be valid."""
    ctx = resolve(token, ip=ip)
    assert ctx is not None, "session token did not resolve"
    return ctx


def signed_in_ctx(email: str, password: str = PASSWORD, *, ip: str = IP) -> tuple[OrgContext, str]:
    """Sign in through auth.do_sign_in + redeem_ticket + resolve: (context, session token)."""
    token = sign_in_token(email, password, ip=ip)
    return context(token, ip=ip), token


def signed_in(email: str, password: str = PASSWORD, *, ip: str = IP) -> SignedIn:
    """`signed_in_ctx` as a `SignedIn`."""
    ctx, token = signed_in_ctx(email, password, ip=ip)
    return SignedIn(ctx=ctx, token=token, email=email, password=password)


def refresh(who: SignedIn) -> SignedIn:
    """Re-resolve the session (after org, role or membership changes)."""
    return SignedIn(ctx=context(who.token), token=who.token, email=who.email, password=who.password)


def new_admin(kind: str = "national", *, org_name: str | None = None) -> SignedIn:
    """A new root org and its signed-in org admin."""
    email = unique_email("admin")
    signup(email=email, org_name=org_name, kind=kind)
    return signed_in(email)


def two_tenants() -> TwoTenants:
    """Admins of two unrelated root orgs: `t.a.ctx`, `t.b.ctx`, `t.a.org_id`, ..."""
    return TwoTenants(a=new_admin(), b=new_admin())


def invite(
    ctx: OrgContext, role: str, *, email: str | None = None, org_id: uuid.UUID | None = None
) -> tuple[str, str]:
    """Invite a fresh (or given) email; returns (email, invite token)."""
    email = email or unique_email(role)
    with tenant_session(ctx) as session:
        _, token = invites.do_invite(session, ctx, email=email, role=role, org_id=org_id)
    return email, token


def invite_and_accept_member(
    ctx: OrgContext,
    role: str,
    *,
    org_id: uuid.UUID | None = None,
    full_name: str | None = None,
    email: str | None = None,
) -> SignedIn:
    """Invite a new person with `role`, let them create their account, sign them in."""
    email, token = invite(ctx, role, email=email, org_id=org_id)
    invites.do_accept_invite(
        token, full_name=full_name or unique("Member"), password=PASSWORD, ip=IP
    )
    return signed_in(email)


def invite_and_accept(
    ctx: OrgContext, role: str, *, org_id: uuid.UUID | None = None, full_name: str | None = None
) -> OrgContext:
    """The context of a new member with `role` in the admin's org (or `org_id`)."""
    return invite_and_accept_member(ctx, role, org_id=org_id, full_name=full_name).ctx


def child_org(
    ctx: OrgContext,
    *,
    kind: str = "regional",
    name: str | None = None,
    parent_id: uuid.UUID | None = None,
) -> Organization:
    """A child org under the context's org (or `parent_id`)."""
    with tenant_session(ctx) as session:
        return orgs.do_create_child_org(
            session,
            ctx,
            parent_id=parent_id or ctx.org_id,  # type: ignore[arg-type]
            name=name or unique("Child"),
            kind=kind,
        )


def age_session(token: str, **values: object) -> None:
    """Rewrite columns of a session row (e.g. `last_seen=...`, `expires_at=...`)."""
    with public_session() as session:
        session.execute(
            update(AuthSession)
            .where(col(AuthSession.token_hash) == token_hash(token))
            .values(**values)
        )
        session.commit()


def complete_sign_in(
    client: object,
    ticket: str | None,
    *,
    session_token: str | None = None,
    bind: bool = True,
    **params: str,
) -> object:
    """GET /api/auth/complete as the browser the ticket was issued to (it holds the binding
    cookie our page sets), optionally already carrying a session cookie."""
    from app.settings import get_settings

    cookies = []
    if session_token:
        cookies.append(f"{get_settings().session_cookie_name}={session_token}")
    if bind and ticket:
        cookies.append(f"{auth.LOGIN_BINDING_COOKIE}={auth.ticket_binding(ticket)}")
    query = dict(params)
    if ticket is not None:
        query["ticket"] = ticket
    headers = {"cookie": "; ".join(cookies)} if cookies else {}
    return client.get("/api/auth/complete", params=query, headers=headers)  # type: ignore[attr-defined]
