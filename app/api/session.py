"""Resolving the session cookie of an HTTP request, for routes that need the signed-in user.

Routes mounted beside Reflex get no auth from Reflex: each authorizes itself with this.
"""

from __future__ import annotations

from starlette.requests import Request

from app.services.core.errors import Unauthenticated
from app.services.core.tenancy import OrgContext, public_session
from app.services.people import auth
from app.settings import get_settings


def request_context(request: Request) -> OrgContext:
    """The caller's org context, or `Unauthenticated` (turned into 401 by the route)."""
    token = request.cookies.get(get_settings().session_cookie_name, "")
    if not token:
        raise Unauthenticated()
    ip = request.client.host if request.client else ""
    with public_session() as session:
        ctx = auth.resolve(session, token, ip=ip)
    if ctx is None:
        raise Unauthenticated()
    return ctx
