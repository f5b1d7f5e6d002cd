"""Members of an org: listing, role changes, deactivation, managers and teams."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from app.models.base import as_utc, utcnow
from app.models.user import Membership, User
from app.services.config import orgs
from app.services.core import audit
from app.services.core.authz import (
    MANAGED_ROLES,
    MANAGER_ROLES,
    ORG_ADMIN_ROLES,
    STUDENT_ROLES,
    Permission,
    is_org_admin_role,
    may_have_manager,
    require,
)
from app.services.core.errors import Conflict, NotFound, ValidationFailed
from app.services.core.tenancy import OrgContext, access, count_rows, scoped
from app.services.people import auth, joined
from app.services.people.roles import check_manager, check_role
from app.services.people.seats import check_seat


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
    manager_user_id: str = ""
    manager_name: str = ""


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
    manager = aliased(User)
    rows = session.execute(
        stmt.add_columns(User, col(manager.full_name))
        .outerjoin(manager, col(manager.id) == col(Membership.manager_id))
        .order_by(func.lower(User.full_name))
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return MemberPage(
        rows=[_row(m, u, manager_name) for m, u, manager_name in rows],
        total=int(total),
        page=page,
        page_size=page_size,
    )


def _row(m: Membership, u: User, manager_name: str | None = None) -> MemberRow:
    return MemberRow(
        membership_id=str(m.id),
        user_id=str(u.id),
        full_name=u.full_name,
        email=u.email,
        role=m.role,
        is_active=m.is_active,
        joined=as_utc(m.created),
        manager_user_id=str(m.manager_id) if m.manager_id else "",
        manager_name=manager_name or "",
    )


def _email_of(session: Session, membership: Membership) -> str:
    """The member's email, as audit rows name them."""
    user = session.get(User, membership.user_id)
    return user.email if user else str(membership.user_id)


def _admins_left(session: Session, ctx: OrgContext, org_id: uuid.UUID) -> int:
    stmt = scoped(ctx, Membership, org_ids=[org_id]).where(
        col(Membership.role).in_(ORG_ADMIN_ROLES),
        Membership.is_active == True,  # noqa: E712
    )
    return count_rows(session, stmt)


def do_change_role(
    session: Session, ctx: OrgContext, membership_id: uuid.UUID | str, role: str
) -> Membership:
    """Give a member another role; the last active org admin cannot be demoted."""
    require(ctx, Permission.members_manage)
    role = check_role(role)
    membership = access(session, ctx, Membership, membership_id)
    if membership.role == role:
        return membership
    if is_org_admin_role(membership.role) and _admins_left(session, ctx, membership.org_id) <= 1:
        raise Conflict("An organization needs at least one org admin.", field="role")
    if (membership.role in STUDENT_ROLES) != (role in STUDENT_ROLES):
        check_seat(session, membership.org_id, role)
    before = membership.role
    membership.role, membership.modified = role, utcnow()
    session.add(membership)
    audit.record(
        session,
        action="member.role_changed",
        org_id=membership.org_id,
        ctx=ctx,
        target=_email_of(session, membership),
        detail={"before": {"role": before}, "after": {"role": role}},
    )
    joined.member_joined(session, org_id=membership.org_id, user_id=membership.user_id, role=role)
    session.commit()
    return membership


def do_set_active(
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
        if (
            is_org_admin_role(membership.role)
            and _admins_left(session, ctx, membership.org_id) <= 1
        ):
            raise Conflict("An organization needs at least one org admin.")
    else:
        check_seat(session, membership.org_id, membership.role)
    membership.is_active, membership.modified = active, utcnow()
    session.add(membership)
    if not active:
        auth.revoke_all_sessions(session, membership.user_id)
    audit.record(
        session,
        action="member.reactivated" if active else "member.deactivated",
        org_id=membership.org_id,
        ctx=ctx,
        target=_email_of(session, membership),
    )
    joined.member_joined(
        session, org_id=membership.org_id, user_id=membership.user_id, role=membership.role
    )
    session.commit()
    return membership


def do_assign_manager(
    session: Session,
    ctx: OrgContext,
    membership_id: uuid.UUID | str,
    manager_user_id: uuid.UUID | str | None,
) -> Membership:
    """Set (or clear, with None) a learner's manager: an active manager, staff member or
    org admin of the same org, never the learner themselves. Audited with before and after."""
    require(ctx, Permission.members_manage)
    membership = access(session, ctx, Membership, membership_id)
    if not may_have_manager(membership.role):
        raise ValidationFailed("Only learners have a manager.", field="manager")
    manager: User | None = None
    if manager_user_id not in (None, ""):
        assert manager_user_id is not None
        manager = check_manager(session, ctx, membership.org_id, manager_user_id)
        if manager.id == membership.user_id:
            raise ValidationFailed("Nobody can be their own manager.", field="manager")
    new_id = manager.id if manager else None
    if membership.manager_id == new_id:
        return membership
    before = session.get(User, membership.manager_id) if membership.manager_id else None
    membership.manager_id, membership.modified = new_id, utcnow()
    session.add(membership)
    audit.record(
        session,
        action="member.manager_changed",
        org_id=membership.org_id,
        ctx=ctx,
        target=_email_of(session, membership),
        detail={
            "before": {"manager": before.email if before else None},
            "after": {"manager": manager.email if manager else None},
        },
    )
    session.commit()
    return membership


def manager_choices(
    session: Session, ctx: OrgContext, org_id: uuid.UUID | str
) -> list[tuple[str, str]]:
    """(user id, name) of the active members of an org who may manage learners."""
    require(ctx, Permission.members_view)
    org = orgs.require_in_subtree(session, ctx, org_id)
    rows = session.execute(
        scoped(ctx, Membership, org_ids=[org.id])
        .where(
            Membership.is_active == True,  # noqa: E712
            col(Membership.role).in_(MANAGER_ROLES),
        )
        .join(User, col(User.id) == col(Membership.user_id))
        .add_columns(User)
        .order_by(func.lower(User.full_name))
        .limit(500)
    ).all()
    return [(str(u.id), u.full_name) for _m, u in rows]


def team_of(session: Session, ctx: OrgContext, manager_user_id: uuid.UUID | str) -> list[MemberRow]:
    """The active learners managed by `manager_user_id` in the orgs the context may read.

    Anyone may ask for their own team; asking for someone else's needs `members.view`.
    """
    try:
        key = (
            manager_user_id
            if isinstance(manager_user_id, uuid.UUID)
            else uuid.UUID(str(manager_user_id))
        )
    except ValueError as exc:
        raise NotFound() from exc
    if key != ctx.user_id:
        require(ctx, Permission.members_view)
    rows = session.execute(
        scoped(ctx, Membership)
        .where(
            Membership.manager_id == key,
            col(Membership.role).in_(MANAGED_ROLES),
            Membership.is_active == True,  # noqa: E712
        )
        .add_columns(User)
        .join(User, col(User.id) == col(Membership.user_id))
        .order_by(func.lower(User.full_name))
    ).all()
    return [_row(m, u) for m, u in rows]
