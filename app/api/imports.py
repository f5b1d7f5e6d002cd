"""HTTP routes: member imports (see build_api in app/api/routes.py).

`GET /api/imports/{import_id}/errors.csv` downloads the failed rows of a finished import.
Routes beside Reflex get no auth from it: the session cookie is resolved here, the caller
needs `members.manage`, and the import must belong to an org they may read (another org's
id is a 404 like a missing one).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api.session import request_context
from app.services.core.errors import NotFound, PermissionDenied, ServiceError, Unauthenticated
from app.services.core.tenancy import tenant_session
from app.services.people import member_import

_STATUS: dict[type[ServiceError], int] = {
    Unauthenticated: 401,
    PermissionDenied: 403,
    NotFound: 404,
}


def _error_report(request: Request) -> str:
    ctx = request_context(request)
    with tenant_session(ctx) as session:
        return member_import.error_report_csv(session, ctx, str(request.path_params["import_id"]))


async def import_errors_csv(request: Request) -> Response:
    """The error report of one import, as CSV."""
    try:
        # On a thread: a hung database must not block the event loop.
        body = await run_in_threadpool(_error_report, request)
    except ServiceError as exc:
        return JSONResponse(
            exc.as_json(),
            status_code=_STATUS.get(type(exc), 400),
            headers={"Cache-Control": "no-store"},
        )
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="import-errors.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


ROUTES: list[BaseRoute] = [
    Route("/api/imports/{import_id}/errors.csv", import_errors_csv, methods=["GET"]),
]
