"""Role checks shared by invites, members and the CSV import: which roles exist, and who may
be a learner's manager (the rules themselves are `authz`'s). Imports no other `people`
module, so those can all import it."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col

from app.models.user import Membership, User
from app.services.core.authz import ROLE_LABELS, may_manage_learners
from app.services.core.errors import ValidationFailed
from app.services.core.tenancy import OrgContext, scoped


def check_role(role: str) -> str:
    """A role that exists, or `ValidationFailed`."""
    if role not in ROLE_LABELS:
        raise ValidationFailed("Choose a role.", field="role")
    return role


def check_manager(
    session: Session, ctx: OrgContext, org_id: uuid.UUID, manager_user_id: uuid.UUID | str
) -> User:
    """The user, if they are an active member of `org_id` with a manager role; else refuse."""
    try:
        key = (
            manager_user_id
            if isinstance(manager_user_id, uuid.UUID)
            else uuid.UUID(str(manager_user_id))
        )
    except ValueError as exc:
        raise ValidationFailed("Choose a manager from this organization.", field="manager") from exc
    found = session.execute(
        scoped(ctx, Membership, org_ids=[org_id])
        .where(Membership.user_id == key)
        .add_columns(User)
        .join(User, col(User.id) == col(Membership.user_id))
    ).first()
    if found is None:
        raise ValidationFailed(
            "The manager must be a member of this organization.", field="manager"
        )
    membership, user = found[0], found[1]
    assert isinstance(user, User)
    if not membership.is_active:
        raise ValidationFailed(f"{user.full_name} is not an active member.", field="manager")
    if not may_manage_learners(membership.role):
        raise ValidationFailed(
            f"{user.full_name} cannot manage learners: give them the manager, staff or "
            "org admin role first.",
            field="manager",
        )
    return user
