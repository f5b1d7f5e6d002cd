"""Report downloads (`/api/reports/{name}.csv`), authorized by the session like any page.

Errors use the one JSON shape: 401 without a session, 403 without the permission, 400 for
bad filters.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api.session import request_context
from app.services.core.errors import (
    NotFound,
    PermissionDenied,
    RateLimited,
    ServiceError,
    Unauthenticated,
    ValidationFailed,
)
from app.services.core.tenancy import tenant_session
from app.services.core.validation import day_range
from app.services.reports import exports as reports

_STATUS: dict[type[ServiceError], int] = {
    Unauthenticated: 401,
    PermissionDenied: 403,
    NotFound: 404,
    ValidationFailed: 400,
    RateLimited: 429,
}


def error_response(exc: ServiceError) -> JSONResponse:
    """A service error as the HTTP surface's JSON shape, with its status."""
    status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 400)
    return JSONResponse(exc.as_json(), status_code=status, headers={"Cache-Control": "no-store"})


def audit_csv(request: Request) -> Response:
    """The audit log as CSV with the viewer's filters (`action`, `actor`, `since`, `until`;
    `until` is inclusive, like the audit page). Sync: runs in Starlette's thread pool."""
    q = request.query_params
    try:
        ctx = request_context(request)
        since, until = day_range(q.get("since", ""), q.get("until", ""))
        with tenant_session(ctx) as session:
            export = reports.audit_csv(
                session,
                ctx,
                action=q.get("action", "")[:60],
                actor=q.get("actor", "")[:254],
                since=since,
                until=until,
            )
    except ServiceError as exc:
        return error_response(exc)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        export.csv,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="audit-{stamp}.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "X-Export-Rows": str(export.rows),
            "X-Export-Truncated": "true" if export.truncated else "false",
        },
    )


ROUTES: list[BaseRoute] = [Route("/api/reports/audit.csv", audit_csv, methods=["GET"])]
