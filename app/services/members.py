"""Members of an org: listing, role changes, deactivation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import Session

from app.models.base import as_utc, utcnow
from app.models.user import Membership, Role, User
from app.services import audit, auth, orgs
from app.services.authz import Permission, require
from app.services.errors import Conflict, ValidationFailed
from app.services.invites import check_role, check_seat
from app.services.tenancy import OrgContext, access, count_rows, scoped


@dataclass(frozen=True)
class MemberRow:
    """A member as the members table shows them."""

    membership_id: str
    user_id: str
    full_name: str
    email: str
    role: str
    is_active: bool
    joined: datetime


@dataclass(frozen=True)
class MemberPage:
    """A page of members and how many match in all."""

    rows: list[MemberRow]
    total: int
    page: int
    page_size: int


def list_members(
    session: Session,
    ctx: OrgContext,
    *,
    org_id: uuid.UUID | str | None = None,
    search: str = "",
    role: str = "",
    status: str = "",
    page: int = 1,
    page_size: int = 25,
) -> MemberPage:
    """Members of an org in the subtree, filtered and paginated in the database."""
    require(ctx, Permission.members_view)
    org = orgs.require_in_subtree(session, ctx, org_id or ctx.org_id)  # type: ignore[arg-type]
    stmt = scoped(ctx, Membership, org_ids=[org.id]).join(User, User.id == Membership.user_id)  # type: ignore[arg-type]
    if search.strip():
        like = f"%{search.strip().lower()}%"
        stmt = stmt.where(
            or_(func.lower(User.full_name).like(like), func.lower(User.email).like(like))
        )
    if role:
        stmt = stmt.where(Membership.role == role)
    if status in ("active", "inactive"):
        stmt = stmt.where(Membership.is_active == (status == "active"))
    total = count_rows(session, stmt)
    page = max(page, 1)
    rows = session.execute(
        stmt.add_columns(User)
        .order_by(func.lower(User.full_name))
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return MemberPage(
        rows=[
            MemberRow(
                membership_id=str(m.id),
                user_id=str(u.id),
                full_name=u.full_name,
                email=u.email,
                role=m.role,
                is_active=m.is_active,
                joined=as_utc(m.created),
            )
            for m, u in rows
        ],
        total=int(total),
        page=page,
        page_size=page_size,
    )


def _admins_left(session: Session, ctx: OrgContext, org_id: uuid.UUID) -> int:
    stmt = scoped(ctx, Membership, org_ids=[org_id]).where(
        Membership.role == Role.org_admin,
        Membership.is_active == True,  # noqa: E712
    )
    return count_rows(session, stmt)


def change_role(
    session: Session, ctx: OrgContext, membership_id: uuid.UUID | str, role: str
) -> Membership:
    """Give a member another role; the last active org admin cannot be demoted."""
    require(ctx, Permission.members_manage)
    role = check_role(role)
    membership = access(session, ctx, Membership, membership_id)
    if membership.role == role:
        return membership
    if membership.role == Role.org_admin and _admins_left(session, ctx, membership.org_id) <= 1:
        raise Conflict("An organization needs at least one org admin.", field="role")
    if (membership.role in ("learner",)) != (role in ("learner",)):
        check_seat(session, membership.org_id, role)
    before = membership.role
    membership.role, membership.modified = role, utcnow()
    session.add(membership)
    user = session.get(User, membership.user_id)
    audit.record(
        session,
        action="member.role_changed",
        org_id=membership.org_id,
        ctx=ctx,
        target=user.email if user else str(membership.user_id),
        detail={"before": {"role": before}, "after": {"role": role}},
    )
    session.commit()
    return membership


def set_active(
    session: Session, ctx: OrgContext, membership_id: uuid.UUID | str, active: bool
) -> Membership:
    """Deactivate (ending the member's sessions) or reactivate a membership."""
    require(ctx, Permission.members_manage)
    membership = access(session, ctx, Membership, membership_id)
    if membership.is_active == active:
        return membership
    if not active:
        if membership.user_id == ctx.user_id:
            raise ValidationFailed("You cannot deactivate yourself.")
        if membership.role == Role.org_admin and _admins_left(session, ctx, membership.org_id) <= 1:
            raise Conflict("An organization needs at least one org admin.")
    else:
        check_seat(session, membership.org_id, membership.role)
    membership.is_active, membership.modified = active, utcnow()
    session.add(membership)
    if not active:
        auth.revoke_all_sessions(session, membership.user_id)
    user = session.get(User, membership.user_id)
    audit.record(
        session,
        action="member.reactivated" if active else "member.deactivated",
        org_id=membership.org_id,
        ctx=ctx,
        target=user.email if user else str(membership.user_id),
    )
    session.commit()
    return membership
