"""The compliance report as an audited CSV download (the viewer's scope and filter)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from app.services.config import gates
from app.services.core import audit
from app.services.core.authz import Permission
from app.services.core.tenancy import OrgContext
from app.services.credentials.compliance_report import STATUS_LABELS, compliance_report
from app.services.credentials.compliance_scope import require_lms

MAX_EXPORT_ROWS = 50_000
EXPORT_COLUMNS = (
    "learner",
    "email",
    "course",
    "due",
    "status",
    "progress_percent",
    "completed",
    "certificate_expires",
)


@dataclass(frozen=True)
class ComplianceExport:
    """The report as CSV, how many rows it holds, and whether the limit cut it short."""

    csv: str
    rows: int
    truncated: bool


def compliance_csv(
    session: Session, ctx: OrgContext, *, status: str = "", search: str = ""
) -> ComplianceExport:
    """The compliance report (the viewer's scope and filter) as CSV; refused when the org
    turned report exports off. The export is audited."""
    org_id = require_lms(session, ctx, Permission.compliance_view)
    gates.require_reporting(session, org_id, "exports")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    count, page, truncated = 0, 1, False
    while True:
        report = compliance_report(
            session, ctx, status=status, search=search, page=page, page_size=1000
        )
        for r in report.rows:
            if count >= MAX_EXPORT_ROWS:
                truncated = True
                break
            cells: tuple[Any, ...] = (
                r.learner_name,
                r.email,
                r.course_title,
                r.due_at.strftime("%Y-%m-%d") if r.due_at else "",
                r.status_label or STATUS_LABELS[r.status],
                str(r.progress),
                r.completed_at.strftime("%Y-%m-%d") if r.completed_at else "",
                r.certificate_expires_at.strftime("%Y-%m-%d") if r.certificate_expires_at else "",
            )
            writer.writerow([audit.csv_cell(str(c)) for c in cells])
            count += 1
        if truncated or len(report.rows) < 1000:
            break
        page += 1
    audit.record(
        session,
        action="compliance.exported",
        org_id=org_id,
        ctx=ctx,
        target="compliance.csv",
        detail={"status": status, "rows": count, "truncated": truncated},
    )
    session.commit()
    return ComplianceExport(csv=out.getvalue(), rows=count, truncated=truncated)
