"""Certificate PDFs and the compliance export, authorized by the session like any page.

- `GET /api/certificates/{certificate_id}.pdf`: the learner's own certificate, or any in the
  org for an admin who manages certificates. Anyone else, signed in or not, and any id that
  does not exist, gets the same 404 (ids of other people reveal nothing).
- `GET /api/reports/compliance.csv?status=&search=`: the compliance report as the viewer
  sees it (managers: their team), refused when the org turned exports off.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api.reports import error_response
from app.api.session import request_context
from app.services.core.errors import NotFound, ServiceError
from app.services.core.tenancy import tenant_session
from app.services.credentials import certificates, compliance


def _not_found() -> JSONResponse:
    return JSONResponse(
        NotFound().as_json(), status_code=404, headers={"Cache-Control": "no-store"}
    )


def certificate_pdf(request: Request) -> Response:
    """One certificate as a PDF download (sync: runs in Starlette's thread pool)."""
    certificate_id = str(request.path_params.get("certificate_id", ""))[:64]
    try:
        ctx = request_context(request)
        with tenant_session(ctx) as session:
            pdf = certificates.pdf_for(session, ctx, certificate_id)
    except ServiceError:
        # signed out, another person's id, a feature turned off: all look like a missing id
        return _not_found()
    return Response(
        pdf.data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{pdf.filename}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def compliance_csv(request: Request) -> Response:
    """The compliance report as CSV with the page's filters (`status`, `search`)."""
    q = request.query_params
    status = q.get("status", "")
    if status and status not in (*compliance.STATUSES, "due_soon"):
        status = ""
    try:
        ctx = request_context(request)
        with tenant_session(ctx) as session:
            export = compliance.compliance_csv(
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
    Route("/api/certificates/{certificate_id}.pdf", certificate_pdf, methods=["GET"]),
    Route("/api/reports/compliance.csv", compliance_csv, methods=["GET"]),
]
