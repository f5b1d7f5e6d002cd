"""Recording and reading the audit log."""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col
from sqlmodel.sql.expression import SelectOfScalar

from app.models.audit import AuditEvent
from app.models.base import as_utc
from app.models.org import Organization
from app.services.core.authz import Permission, require
from app.services.core.tenancy import OrgContext, count_rows, scoped


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


def _filtered(
    ctx: OrgContext,
    *,
    action: str,
    actor: str,
    since: datetime | None,
    until: datetime | None,
) -> SelectOfScalar[AuditEvent]:
    """The scoped, filtered select shared by the viewer and the export."""
    stmt = scoped(ctx, AuditEvent)
    if action:
        stmt = stmt.where(col(AuditEvent.action).startswith(action.strip()))
    if actor:
        stmt = stmt.where(col(AuditEvent.actor_email).contains(actor.strip().lower()))
    if since:
        stmt = stmt.where(col(AuditEvent.created) >= since)
    if until:
        stmt = stmt.where(col(AuditEvent.created) < until)
    return stmt


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
    stmt = _filtered(ctx, action=action, actor=actor, since=since, until=until)
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


# --- CSV export -------------------------------------------------------------------------------

MAX_EXPORT_ROWS = 50_000
EXPORT_COLUMNS = ("when", "org", "org_id", "actor", "action", "target", "detail", "ip")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    """A cell a spreadsheet will not run: text starting like a formula gets a leading quote."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


@dataclass(frozen=True)
class AuditExport:
    """An export's CSV text, how many rows it holds, and whether the limit cut it short."""

    csv: str
    rows: int
    truncated: bool


def build_export(
    session: Session,
    ctx: OrgContext,
    *,
    action: str = "",
    actor: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    max_rows: int = MAX_EXPORT_ROWS,
) -> AuditExport:
    """The audit log as CSV, with the viewer's filters and scope, newest first.

    At most `max_rows` rows (read from the database in batches); `truncated` says whether
    more matched. The export itself is audited in the active org.
    """
    require(ctx, Permission.audit_view)
    names = {o.id: o.name for o in session.exec(scoped(ctx, Organization)).all()}
    stmt = (
        _filtered(ctx, action=action, actor=actor, since=since, until=until)
        .order_by(col(AuditEvent.created).desc(), col(AuditEvent.id))
        .limit(max_rows + 1)
        .execution_options(yield_per=1000)
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    truncated = False
    result = session.exec(stmt)
    for event in result:
        if count >= max_rows:
            truncated = True
            break
        detail = (
            json.dumps(event.detail, sort_keys=True, ensure_ascii=False) if event.detail else ""
        )
        cells = (
            as_utc(event.created).strftime("%Y-%m-%dT%H:%M:%SZ"),
            names.get(event.org_id, "") if event.org_id else "",
            str(event.org_id or ""),
            event.actor_email,
            event.action,
            event.target,
            detail,
            event.ip,
        )
        writer.writerow([csv_cell(c) for c in cells])
        count += 1
    result.close()
    record(
        session,
        action="audit.exported",
        org_id=ctx.org_id,
        ctx=ctx,
        target="audit.csv",
        detail={
            "filters": {
                "action": action,
                "actor": actor,
                "since": since.isoformat() if since else None,
                "until": until.isoformat() if until else None,
            },
            "rows": count,
            "truncated": truncated,
        },
    )
    session.commit()
    return AuditExport(csv=out.getvalue(), rows=count, truncated=truncated)
