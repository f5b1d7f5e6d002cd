"""`/health` and the session-cookie routes.

Reflex handlers cannot set HttpOnly cookies, so sign-in ends here: the handler hands the
browser a one-time ticket, this route exchanges it for the session cookie and redirects.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from app.api.edge import OriginCheckMiddleware, SecurityHeadersMiddleware
from app.api.upload_guard import UploadGuardMiddleware
from app.services.core.errors import ServiceError
from app.services.core.tenancy import public_session
from app.services.infra import health
from app.services.people import auth
from app.settings import get_settings


def _safe_next(raw: str | None) -> str:
    if raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/dashboard"


def _set_cookie(response: Response, token: str) -> None:
    s = get_settings()
    response.set_cookie(
        s.session_cookie_name,
        token,
        max_age=s.session_absolute_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=s.secure_cookies,
        path="/",
    )


async def health_route(_request: Request) -> JSONResponse:
    """Database, Redis and storage status; 503 when a part is down or does not answer
    within a second (the probes run on threads of their own: app/services/infra/health.py)."""
    ok, parts = await health.check_async()
    return JSONResponse(
        {"status": "ok" if ok else "degraded", **parts}, status_code=200 if ok else 503
    )


# The database work of the routes below runs on a thread: on the event loop, a hung database
# would freeze every request and websocket of this worker until its timeouts ran out.
def _redeem(ticket: str, old: str | None) -> str:
    with public_session() as session:
        return auth.do_redeem_ticket(session, ticket, old_token=old)


def _sign_out(token: str) -> None:
    with public_session() as session:
        auth.do_sign_out(session, token)


async def complete_sign_in(request: Request) -> Response:
    """Exchange `?ticket=` for the session cookie (rotating any old session)."""
    ticket = request.query_params.get("ticket", "")
    old = request.cookies.get(get_settings().session_cookie_name)
    if not auth.binding_matches(ticket, request.cookies.get(auth.LOGIN_BINDING_COOKIE)):
        return RedirectResponse("/signin?error=invalid", status_code=303)
    try:
        token = await run_in_threadpool(_redeem, ticket, old)
    except ServiceError as exc:
        return RedirectResponse(f"/signin?error={exc.code}", status_code=303)
    response = RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    _set_cookie(response, token)
    response.delete_cookie(auth.LOGIN_BINDING_COOKIE, path="/api/auth")
    response.headers["Cache-Control"] = "no-store"
    return response


async def sign_out(request: Request) -> Response:
    """Revoke the session and clear the cookie."""
    name = get_settings().session_cookie_name
    token = request.cookies.get(name)
    if token:
        await run_in_threadpool(_sign_out, token)
    response = RedirectResponse("/signin", status_code=303)
    s = get_settings()
    response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=s.secure_cookies)
    return response


ROUTES = [
    Route("/health", health_route, methods=["GET"]),
    Route("/api/auth/complete", complete_sign_in, methods=["GET"]),
    Route("/api/auth/signout", sign_out, methods=["POST"]),
]


class _EdgeStarlette(Starlette):
    """A Starlette whose security headers wrap even its own error handler (500s)."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeadersMiddleware(super().build_middleware_stack())


def build_api() -> Starlette:
    """The Starlette app Reflex mounts itself under (our routes match first).

    Each area keeps its routes in its own module (`ROUTES`), collected here. Its middleware
    sees every request, Reflex's too: security headers on every response (outermost), then
    the Origin check, then the upload guard in front of `/_upload`.
    """
    from app.api import certificates, compliance, files, imports, reports
    from app.state.uploads import upload_limit

    return _EdgeStarlette(
        routes=[
            *ROUTES,
            *reports.ROUTES,
            *files.ROUTES,
            *imports.ROUTES,
            *certificates.ROUTES,
            *compliance.ROUTES,
        ],
        middleware=[
            Middleware(OriginCheckMiddleware),
            Middleware(UploadGuardMiddleware, limit_for=upload_limit),
        ],
    )
