"""Seats: how many of an org's learner and staff seats are taken (active members plus
pending invites), refusing an addition past the org's limits, and the usage the settings
page shows against each limit."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.models.base import utcnow
from app.models.invite import Invite
from app.models.user import Membership
from app.services.config import gates, inheritance, orgs
from app.services.core.authz import STUDENT_ROLES, Permission, require
from app.services.core.errors import LimitReached
from app.services.core.tenancy import OrgContext, mark_scoped


def pending(now: datetime) -> list[object]:
    """Conditions of an invite still waiting for its answer at `now`."""
    return [
        col(Invite.accepted_at).is_(None),
        col(Invite.revoked_at).is_(None),
        col(Invite.expires_at) > now,
    ]


def seats_used(session: Session, org_id: uuid.UUID, *, students: bool) -> int:
    """Active members plus pending invites in the seat class (students or staff)."""
    now = utcnow()
    role_filter = (
        col(Membership.role).in_(STUDENT_ROLES)
        if students
        else col(Membership.role).not_in(STUDENT_ROLES)
    )
    members = session.exec(
        mark_scoped(
            select(func.count())
            .select_from(Membership)
            .where(Membership.org_id == org_id, Membership.is_active == True, role_filter)  # noqa: E712
        )
    ).one()
    invite_filter = (
        col(Invite.role).in_(STUDENT_ROLES) if students else col(Invite.role).not_in(STUDENT_ROLES)
    )
    invites = session.exec(
        mark_scoped(
            select(func.count())
            .select_from(Invite)
            .where(Invite.org_id == org_id, invite_filter, *pending(now))  # type: ignore[arg-type]
        )
    ).one()
    return int(members) + int(invites)


def check_seat(session: Session, org_id: uuid.UUID, role: str, *, planned: int = 0) -> None:
    """Refuse with `LimitReached` when the role's seat class is full.

    `planned`: seats of the same class that earlier rows of a batch (a CSV preview) would
    take but that are not in the database yet.
    """
    limits = inheritance.effective_config(session, org_id).limits
    students = role in STUDENT_ROLES
    cap = limits.max_students if students else limits.max_staff
    if cap is None:
        return
    used = seats_used(session, org_id, students=students) + planned
    if used >= cap:
        kind = "learner" if students else "staff"
        raise LimitReached(
            f"This organization has used all {cap} of its {kind} seats "
            f"({used} members and pending invites). Revoke an invite, deactivate a member "
            "or raise the limit in the org settings.",
            field="role",
        )


def free_seats(session: Session, org_id: uuid.UUID) -> dict[bool, int | None]:
    """Seats still free now, keyed by seat class (`True`: students); None: no limit."""
    limits = inheritance.effective_config(session, org_id).limits
    caps = {True: limits.max_students, False: limits.max_staff}
    return {
        students: None if cap is None else cap - seats_used(session, org_id, students=students)
        for students, cap in caps.items()
    }


def usage(
    session: Session, ctx: OrgContext, *, org_id: uuid.UUID | str
) -> dict[str, tuple[int, int | None]]:
    """For each limit: (used, limit) in an org of the admin's subtree; limit None: unlimited.

    Over-limit usage is possible (a limit lowered below what is in use): new additions are
    refused, nothing is removed.
    """
    require(ctx, Permission.config_edit)
    org = orgs.require_in_subtree(session, ctx, org_id)
    limits = inheritance.effective_config(session, org.id).limits
    return {
        "max_students": (seats_used(session, org.id, students=True), limits.max_students),
        "max_staff": (seats_used(session, org.id, students=False), limits.max_staff),
        "max_programs": (gates.programs_used(session, org.id), limits.max_programs),
    }
