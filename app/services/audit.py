"""Recording and reading the audit log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col

from app.models.audit import AuditEvent
from app.models.base import as_utc
from app.services.authz import Permission, require
from app.services.tenancy import OrgContext, count_rows, scoped


def record(
    session: Session,
    *,
    action: str,
    org_id: uuid.UUID | None,
    ctx: OrgContext | None = None,
    actor_id: uuid.UUID | None = None,
    actor_email: str = "",
    target: str = "",
    detail: dict[str, Any] | None = None,
    ip: str = "",
) -> AuditEvent:
    """Add an audit row to the session (committed with the change it describes)."""
    event = AuditEvent(
        org_id=org_id,
        actor_id=ctx.user_id if ctx else actor_id,
        actor_email=ctx.email if ctx else actor_email,
        action=action,
        target=target[:200],
        detail=detail or {},
        ip=(ctx.ip if ctx else ip)[:64],
    )
    session.add(event)
    return event


@dataclass(frozen=True)
class AuditRow:
    """One audit entry as the log viewer shows it."""

    id: str
    created: datetime
    actor_email: str
    action: str
    target: str
    detail: dict[str, Any]
    ip: str
    org_id: str


@dataclass(frozen=True)
class Page:
    """A page of rows and the total they come from."""

    rows: list[AuditRow]
    total: int
    page: int
    page_size: int


def list_events(
    session: Session,
    ctx: OrgContext,
    *,
    action: str = "",
    actor: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    page_size: int = 25,
) -> Page:
    """The audit log of the orgs the context may read, newest first, filtered and paginated."""
    require(ctx, Permission.audit_view)
    stmt = scoped(ctx, AuditEvent)
    if action:
        stmt = stmt.where(col(AuditEvent.action).startswith(action.strip()))
    if actor:
        stmt = stmt.where(col(AuditEvent.actor_email).contains(actor.strip().lower()))
    if since:
        stmt = stmt.where(col(AuditEvent.created) >= since)
    if until:
        stmt = stmt.where(col(AuditEvent.created) < until)
    total = count_rows(session, stmt)
    page = max(page, 1)
    rows = session.exec(
        stmt.order_by(col(AuditEvent.created).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return Page(
        rows=[
            AuditRow(
                id=str(r.id),
                created=as_utc(r.created),
                actor_email=r.actor_email,
                action=r.action,
                target=r.target,
                detail=r.detail,
                ip=r.ip,
                org_id=str(r.org_id),
            )
            for r in rows
        ],
        total=int(total),
        page=page,
        page_size=page_size,
    )
