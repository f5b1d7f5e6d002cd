"""The compliance export (`GET /api/reports/compliance.csv?status=&search=`), authorized by
the session like any page: the compliance report as the viewer sees it (managers: their
team), refused when the org turned exports off. Errors use the one JSON shape
(`app/api/reports.py`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.api.reports import error_response
from app.api.session import request_context
from app.services.core.errors import ServiceError
from app.services.core.tenancy import tenant_session
from app.services.credentials import compliance_export, compliance_report


def compliance_csv(request: Request) -> Response:
    """The compliance report as CSV with the page's filters (`status`, `search`)."""
    q = request.query_params
    status = q.get("status", "")
    if status and status not in (*compliance_report.STATUSES, "due_soon"):
        status = ""
    try:
        ctx = request_context(request)
        with tenant_session(ctx) as session:
            export = compliance_export.compliance_csv(
                session, ctx, status=status, search=q.get("search", "")[:100]
            )
    except ServiceError as exc:
        return error_response(exc)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        export.csv,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="compliance-{stamp}.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "X-Export-Rows": str(export.rows),
            "X-Export-Truncated": "true" if export.truncated else "false",
        },
    )


ROUTES: list[BaseRoute] = [
    Route("/api/reports/compliance.csv", compliance_csv, methods=["GET"]),
]
