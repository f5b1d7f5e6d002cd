"""Certificate PDFs (`GET /api/certificates/{certificate_id}.pdf`), authorized by the session
like any page: the learner's own certificate, or any in the org for an admin who manages
certificates. Anyone else, signed in or not, and any id that does not exist, gets the same 404
(ids of other people reveal nothing). The compliance export lives in `app/api/compliance.py`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api.session import request_context
from app.services.core.errors import NotFound, ServiceError
from app.services.core.tenancy import tenant_session
from app.services.credentials import certificate_downloads


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
            pdf = certificate_downloads.pdf_for(session, ctx, certificate_id)
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


ROUTES: list[BaseRoute] = [
    Route("/api/certificates/{certificate_id}.pdf", certificate_pdf, methods=["GET"]),
]
