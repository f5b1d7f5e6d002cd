"""Report exports, gated by the org's reporting settings (`reporting.exports`)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from app.services.config import gates
from app.services.core import audit
from app.services.core.authz import Permission, require
from app.services.core.errors import PermissionDenied
from app.services.core.tenancy import OrgContext


def exports_allowed(session: Session, ctx: OrgContext) -> bool:
    """Whether the active org lets its people download reports."""
    return ctx.org_id is not None and gates.reporting_enabled(session, ctx.org_id, "exports")


def audit_csv(
    session: Session,
    ctx: OrgContext,
    *,
    action: str = "",
    actor: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> audit.AuditExport:
    """The audit log export, refused when the org turned exports off."""
    require(ctx, Permission.audit_view)
    if ctx.org_id is None:
        raise PermissionDenied()
    gates.require_reporting(session, ctx.org_id, "exports")
    return audit.build_export(session, ctx, action=action, actor=actor, since=since, until=until)
