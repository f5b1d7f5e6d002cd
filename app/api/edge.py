"""ASGI middleware at the HTTP edge: security headers on every response, and the Origin
check on every state-changing request.

Both wrap the Starlette app `build_api()` returns, which Reflex mounts itself inside, so
they see pages, static assets, `/_upload`, the websocket handshake and our routes alike.
Plain ASGI (not `BaseHTTPMiddleware`, which buffers streaming and breaks websockets);
websocket and lifespan scopes pass through untouched.
"""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
from reflex.utils import prerequisites
from reflex_base import constants
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import csp
from app.services.core.errors import PermissionDenied
from app.settings import Settings, get_settings, origin_of

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)
# One year, this host only: other hosts of the org's domain may not be on HTTPS yet.
HSTS = "max-age=31536000"

# Responses our own pages may frame: the lesson player shows a PDF lesson in an iframe of
# `/files/...`. Everything else refuses every frame (clickjacking of admin pages).
SAME_ORIGIN_FRAMED = ("/files/",)

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Machine-to-machine routes that authenticate each request by a signature and send no
# Origin: e.g. "/api/stripe/webhook" (checked by its `Stripe-Signature`) once it exists.
ORIGIN_EXEMPT_PATHS: frozenset[str] = frozenset()


def built_pages_dir() -> Path:
    """Where Reflex serves the compiled frontend from in production (`.web/build/client`)."""
    return prerequisites.get_web_dir() / constants.Dirs.STATIC


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response, keeping any a route set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._hashes: dict[tuple[Path, int], tuple[str, ...]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._headers(scope["path"], get_settings(), await self._script_hashes())

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _script_hashes(self) -> tuple[str, ...]:
        """The inline-script hashes of the current build, read once per build."""
        pages = built_pages_dir()
        try:
            key = (pages, pages.stat().st_mtime_ns)  # a rebuild replaces the directory
        except OSError:
            return ()
        if key not in self._hashes:
            self._hashes[key] = await anyio.to_thread.run_sync(csp.inline_script_hashes, pages)
        return self._hashes[key]

    @staticmethod
    def _headers(path: str, settings: Settings, hashes: tuple[str, ...]) -> dict[str, str]:
        headers = {
            "X-Content-Type-Options": "nosniff",
            # Reset and invite links carry their token in the path: never send it elsewhere.
            "Referrer-Policy": "same-origin",
            "Permissions-Policy": PERMISSIONS_POLICY,
        }
        if path.startswith(SAME_ORIGIN_FRAMED):
            headers["Content-Security-Policy"] = "frame-ancestors 'self'"
            headers["X-Frame-Options"] = "SAMEORIGIN"
        else:
            headers["Content-Security-Policy"] = csp.content_security_policy(
                origins=settings.allowed_origins,
                script_hashes=hashes,
                file_origins=csp.file_origins(settings),
            )
            headers["X-Frame-Options"] = "DENY"
        if settings.secure_cookies:  # the site is HTTPS
            headers["Strict-Transport-Security"] = HSTS
        return headers


def request_origin(headers: Headers) -> str | None:
    """The origin a request says it comes from: `Origin`, else the `Referer`'s origin."""
    return origin_of(headers.get("origin") or headers.get("referer") or "") or None


class OriginCheckMiddleware:
    """Refuses (403) a POST/PUT/PATCH/DELETE whose Origin (or Referer) is not one of ours.

    SameSite=Lax cookies alone let some cross-site POSTs through (and a sign-out needs no
    cookie to be harmful); a browser always names the origin of a cross-site POST.
    """

    def __init__(self, app: ASGIApp, exempt: frozenset[str] = ORIGIN_EXEMPT_PATHS) -> None:
        self.app = app
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in STATE_CHANGING
            and scope["path"] not in self.exempt
            and request_origin(Headers(scope=scope)) not in get_settings().allowed_origins
        ):
            refusal = PermissionDenied("This request did not come from a Guildhall page.")
            await JSONResponse(refusal.as_json(), status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)
