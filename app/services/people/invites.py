"""Invites: an admin invites an email with a role; the link signs up or links the account.

An invite is the only way an account joins an org it is not in: the person accepts it.
What the inviting org sees and is told never depends on whether the address already has
an account (or where): only its own members and pending invites are refused. `add_invite`
makes one invite and its mail; single invites (`do_invite`) and the CSV import
(`member_import`) both go through it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.db import widen_scope
from app.models.base import as_utc, utcnow
from app.models.invite import Invite
from app.models.org import Organization
from app.models.user import Membership, User
from app.services.comms import mail, notifications
from app.services.config import orgs
from app.services.core import audit
from app.services.core.authz import (
    ROLE_LABELS,
    ROLES_ONLY_ADMINS_GRANT,
    Permission,
    is_org_admin,
    may_have_manager,
    require,
)
from app.services.core.errors import Conflict, NotFound, ValidationFailed
from app.services.core.security import new_token, token_hash
from app.services.core.tenancy import OrgContext, access, mark_scoped, public_session, scoped
from app.services.core.validation import normalize_email
from app.services.people import auth, joined
from app.services.people.roles import check_manager, check_role
from app.services.people.seats import check_seat, pending
from app.settings import get_settings


def check_role_grant(ctx: OrgContext, role: str) -> str:
    """A role that exists and that the context may give, or `ValidationFailed`."""
    role = check_role(role)
    if role in ROLES_ONLY_ADMINS_GRANT and not is_org_admin(ctx):
        raise ValidationFailed("Only an org admin can invite that role.", field="role")
    return role


def active_member_emails(
    session: Session, ctx: OrgContext, org_id: uuid.UUID, emails: Collection[str]
) -> set[str]:
    """Which of these (normalized) emails are active members of the org: one query."""
    if not emails:
        return set()
    found = session.execute(
        scoped(ctx, Membership, org_ids=[org_id])
        .join(User, col(User.id) == col(Membership.user_id))
        .where(Membership.is_active == True, col(User.email).in_(list(emails)))  # noqa: E712
        .with_only_columns(col(User.email), maintain_column_froms=True)
    ).scalars()
    return {str(e) for e in found}


def pending_invite_emails(
    session: Session, ctx: OrgContext, org_id: uuid.UUID, emails: Collection[str]
) -> set[str]:
    """Which of these (normalized) emails have a pending invite to the org: one query."""
    if not emails:
        return set()
    found = session.execute(
        scoped(ctx, Invite, org_ids=[org_id])
        .where(col(Invite.email).in_(list(emails)), *pending(utcnow()))  # type: ignore[arg-type]
        .with_only_columns(col(Invite.email))
    ).scalars()
    return {str(e) for e in found}


def _refuse_member_or_pending(
    session: Session, ctx: OrgContext, org: Organization, email: str
) -> None:
    # Both checks read this org's rows only, so the answer is the same for an address
    # with an account elsewhere and for one nobody has used.
    if active_member_emails(session, ctx, org.id, [email]):
        raise Conflict(f"{email} is already a member of {org.name}.", field="email")
    if pending_invite_emails(session, ctx, org.id, [email]):
        raise Conflict(
            f"{email} already has a pending invite. Revoke it to send a new one.", field="email"
        )


def do_invite(
    session: Session,
    ctx: OrgContext,
    *,
    email: str,
    role: str,
    org_id: uuid.UUID | str | None = None,
) -> tuple[Invite, str]:
    """Invite `email` to an org of the admin's subtree with `role`; emails the link."""
    require(ctx, Permission.members_invite)
    org = orgs.require_in_subtree(session, ctx, org_id or ctx.org_id)  # type: ignore[arg-type]
    email = normalize_email(email)
    role = check_role_grant(ctx, role)
    _refuse_member_or_pending(session, ctx, org, email)
    check_seat(session, org.id, role)
    invite, token = add_invite(session, ctx, org=org, email=email, role=role)
    session.commit()
    return invite, token


def add_invite(
    session: Session,
    ctx: OrgContext,
    *,
    org: Organization,
    email: str,
    role: str,
    full_name: str = "",
    manager_id: uuid.UUID | None = None,
    audit_detail: dict[str, str] | None = None,
) -> tuple[Invite, str]:
    """Add a pending invite of a checked email and role, its mail and its audit row to the
    session (the caller checked and commits). Returns the invite and its secret token."""
    token = new_token()
    invite = Invite(
        org_id=org.id,
        email=email,
        role=role,
        full_name=full_name,
        manager_id=manager_id,
        token_hash=token_hash(token),
        invited_by=ctx.user_id,
        expires_at=utcnow() + timedelta(days=get_settings().invite_ttl_days),
    )
    session.add(invite)
    _queue_invite_mail(session, ctx, org=org, invite=invite, token=token)
    audit.record(
        session,
        action="invite.sent",
        org_id=org.id,
        ctx=ctx,
        target=email,
        detail={"role": role, **(audit_detail or {})},
    )
    return invite, token


def _queue_invite_mail(
    session: Session, ctx: OrgContext, *, org: Organization, invite: Invite, token: str
) -> None:
    """The invite mail: the one place its text and link are made."""
    settings = get_settings()
    link = f"{settings.base_url.rstrip('/')}/invite/{token}"
    mail.queue(
        session,
        org_id=org.id,
        to=invite.email,
        subject=f"You're invited to {org.name} on Guildhall",
        body=(
            f"{ctx.full_name} invited you to join {org.name} as {ROLE_LABELS[invite.role]}.\n\n"
            f"Accept the invite here (valid for {settings.invite_ttl_days} days):\n\n"
            f"{mail.LINK_SLOT}\n"
        ),
        kind="invite",
        secret_link=link,  # only the invitee may read it: never in the mail log
    )


def do_resend_invite(session: Session, ctx: OrgContext, invite_id: uuid.UUID | str) -> Invite:
    """Mail a pending or expired invite again with a fresh link (the old link stops
    working) and a fresh expiry. The mail log never held the link, so a lost mail is
    recovered this way."""
    require(ctx, Permission.members_invite)
    invite = access(session, ctx, Invite, invite_id, write=True)
    status = invite_status(invite)
    if status in ("accepted", "revoked"):
        raise Conflict(f"This invite was {status}; send a new one instead.")
    check_role_grant(ctx, invite.role)  # staff may not resend an org-admin invite
    org = orgs.require_in_subtree(session, ctx, invite.org_id)
    token = new_token()
    invite.token_hash = token_hash(token)
    invite.expires_at = utcnow() + timedelta(days=get_settings().invite_ttl_days)
    session.add(invite)
    _queue_invite_mail(session, ctx, org=org, invite=invite, token=token)
    audit.record(
        session,
        action="invite.resent",
        org_id=invite.org_id,
        ctx=ctx,
        target=invite.email,
        detail={"role": invite.role},
    )
    session.commit()
    return invite


def do_revoke_invite(session: Session, ctx: OrgContext, invite_id: uuid.UUID | str) -> Invite:
    """Revoke a pending invite so its link stops working."""
    require(ctx, Permission.members_invite)
    invite = access(session, ctx, Invite, invite_id)
    if invite.accepted_at is not None:
        raise Conflict("This invite was already accepted.")
    if invite.revoked_at is None:
        invite.revoked_at = utcnow()
        session.add(invite)
        audit.record(
            session,
            action="invite.revoked",
            org_id=invite.org_id,
            ctx=ctx,
            target=invite.email,
            detail={"role": invite.role},
        )
        session.commit()
    return invite


@dataclass(frozen=True)
class InviteRow:
    """An invite as the members page lists it."""

    id: str
    email: str
    role: str
    status: str
    created: datetime
    expires_at: datetime


def invite_status(invite: Invite, now: datetime | None = None) -> str:
    """`accepted`, `revoked`, `expired` or `pending`."""
    now = now or utcnow()
    if invite.accepted_at is not None:
        return "accepted"
    if invite.revoked_at is not None:
        return "revoked"
    if as_utc(invite.expires_at) <= now:
        return "expired"
    return "pending"


def list_invites(
    session: Session, ctx: OrgContext, *, org_id: uuid.UUID | str | None = None, limit: int = 50
) -> list[InviteRow]:
    """Recent invites of an org in the subtree, newest first."""
    require(ctx, Permission.members_invite)
    org = orgs.require_in_subtree(session, ctx, org_id or ctx.org_id)  # type: ignore[arg-type]
    rows = session.exec(
        scoped(ctx, Invite, org_ids=[org.id]).order_by(col(Invite.created).desc()).limit(limit)
    ).all()
    now = utcnow()
    return [
        InviteRow(
            id=str(r.id),
            email=r.email,
            role=r.role,
            status=invite_status(r, now),
            created=as_utc(r.created),
            expires_at=as_utc(r.expires_at),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class InvitePreview:
    """What the invite page shows before acceptance."""

    org_name: str
    email: str
    role: str
    status: str
    has_account: bool  # shown to the token holder only: never to the inviting org
    full_name: str = ""  # the name the inviting admin suggested (the account form's default)


def _load_by_token(session: Session, token: str) -> Invite:
    row = session.exec(
        mark_scoped(select(Invite).where(Invite.token_hash == token_hash(token)))
    ).first()
    if row is None:
        raise NotFound("This invite link is not valid.")
    return row


def _refuse_unusable(invite: Invite) -> None:
    status = invite_status(invite)
    if status == "accepted":
        raise Conflict("This invite was already used. Sign in instead.")
    if status == "revoked":
        raise ValidationFailed("This invite was revoked. Ask your admin for a new one.")
    if status == "expired":
        raise ValidationFailed("This invite has expired. Ask your admin for a new one.")


def preview(token: str) -> InvitePreview:
    """Who the invite is for and whether it can still be used (no org scope needed)."""
    with public_session(invite_token_hash=token_hash(token)) as session:
        invite = _load_by_token(session, token)
        widen_scope(session, org_ids={invite.org_id})
        org = session.exec(
            mark_scoped(select(Organization).where(Organization.id == invite.org_id))
        ).one()
        return InvitePreview(
            org_name=org.name,
            email=invite.email,
            role=invite.role,
            status=invite_status(invite),
            has_account=auth.find_user_by_email(session, invite.email) is not None,
            full_name=invite.full_name,
        )


def _manager_still_valid(session: Session, invite: Invite, user: User) -> uuid.UUID | None:
    """The invite's manager if they still manage learners in the org; else no manager (the
    person joins anyway: a stale manager is no reason to refuse them)."""
    if (
        invite.manager_id is None
        or invite.manager_id == user.id
        or not may_have_manager(invite.role)
    ):
        return None
    ctx = OrgContext(
        user_id=user.id,
        email=user.email,
        full_name=user.full_name,
        org_id=invite.org_id,
        org_ids=frozenset({invite.org_id}),
    )
    try:
        return check_manager(session, ctx, invite.org_id, invite.manager_id).id
    except ValidationFailed:
        return None


def do_accept_invite(
    token: str,
    *,
    signed_in_user_id: uuid.UUID | None = None,
    full_name: str = "",
    password: str = "",
    ip: str = "",
) -> tuple[uuid.UUID, uuid.UUID]:
    """Use an invite: link the signed-in account, or create one. Returns (user id, org id).

    The invite is claimed with a conditional update, so two tabs or a replayed link cannot
    use it twice.
    """
    with public_session(invite_token_hash=token_hash(token)) as session:
        invite = _load_by_token(session, token)
        _refuse_unusable(invite)
        widen_scope(session, org_ids={invite.org_id})
        user: User | None
        if signed_in_user_id is not None:
            user = session.get(User, signed_in_user_id)
            if user is None or user.email != invite.email:
                raise ValidationFailed(
                    f"This invite is for {invite.email}. Sign out and open the link again.",
                )
        else:
            user = auth.find_user_by_email(session, invite.email)
            if user is not None:
                raise Conflict(
                    f"An account for {invite.email} exists. Sign in to accept the invite.",
                    field="email",
                )
            user = auth.create_user(
                session, email=invite.email, full_name=full_name, password=password
            )
            session.flush()
        claimed = session.execute(
            update(Invite)
            .where(col(Invite.id) == invite.id, col(Invite.accepted_at).is_(None))
            .where(col(Invite.revoked_at).is_(None))
            .values(accepted_at=utcnow(), accepted_by=user.id)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            raise Conflict("This invite was already used. Sign in instead.")
        membership = session.exec(
            mark_scoped(
                select(Membership).where(
                    Membership.org_id == invite.org_id, Membership.user_id == user.id
                )
            )
        ).first()
        if membership is None:
            membership = Membership(org_id=invite.org_id, user_id=user.id, role=invite.role)
        else:
            membership.role, membership.is_active, membership.modified = (
                invite.role,
                True,
                utcnow(),
            )
        if invite.manager_id is not None:
            membership.manager_id = _manager_still_valid(session, invite, user)
        session.add(membership)
        audit.record(
            session,
            action="invite.accepted",
            org_id=invite.org_id,
            actor_id=user.id,
            actor_email=user.email,
            target=user.email,
            detail={"role": invite.role},
            ip=ip,
        )
        joined.member_joined(session, org_id=invite.org_id, user_id=user.id, role=invite.role)
        notifications.invite_accepted(session, invite=invite, who=user.full_name or user.email)
        session.commit()
        return user.id, invite.org_id
