"""Checks the compliance modules share: the LMS gate behind a permission, and course titles."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col

from app.models.course import Course
from app.services.config import gates
from app.services.core.authz import Permission, require
from app.services.core.tenancy import OrgContext, scoped_with_ancestors


def require_lms(session: Session, ctx: OrgContext, permission: Permission) -> uuid.UUID:
    """The active org's id, once `ctx` holds `permission` and the org has the LMS on."""
    require(ctx, permission)
    assert ctx.org_id is not None  # `require` refuses contexts without an active org
    gates.require_feature(session, ctx.org_id, "lms")
    return ctx.org_id


def course_titles(session: Session, ctx: OrgContext, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Titles of courses the context's rows point at (own, subtree or shared by ancestors)."""
    if not ids:
        return {}
    rows = session.exec(scoped_with_ancestors(ctx, Course).where(col(Course.id).in_(ids))).all()
    return {c.id: c.title for c in rows}
