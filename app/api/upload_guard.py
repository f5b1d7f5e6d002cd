"""The guard in front of Reflex's `POST /_upload`: a signed-in session, a known upload
handler, and a body no larger than that handler accepts.

Reflex's route (and Starlette's form parser under it) writes the whole body to a temporary
file before a handler sees it, and runs whatever handler the `Reflex-Event-Handler` header
names, for anyone. So everything is decided here from the headers, before a body byte is
read, and the body is then counted as it arrives:

- no valid session cookie -> 401; not an allowed upload handler -> 400 (Reflex answers a
  bare 500 for a handler without a file argument);
- a `Content-Length` over the handler's limit -> 413, unread;
- a body (chunked, or longer than it said) that crosses the limit -> 413 at that point: the
  crossing chunk is withheld and Reflex is told the client went away, so it stops;
- more than `MAX_CONCURRENT` uploads of one session at once in this process -> 429.

Refusals use the JSON error shape of our routes. The handlers still check permissions and
exact sizes themselves; this only keeps strangers and oversized bodies off the disk.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable

import anyio.to_thread
from reflex_base import constants
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.services.core.errors import RateLimited, ServiceError, Unauthenticated, ValidationFailed
from app.services.core.tenancy import OrgContext, public_session
from app.services.people import auth
from app.settings import get_settings

UPLOAD_PATH = str(constants.Endpoint.UPLOAD)
# Room for the multipart framing around the file: boundaries, part headers, file name.
MULTIPART_SLACK = 64 * 1024
MAX_CONCURRENT = 2


def _refuse(error: ServiceError, status: int) -> JSONResponse:
    return JSONResponse(error.as_json(), status_code=status, headers={"Cache-Control": "no-store"})


def _resolve(token: str, ip: str) -> OrgContext | None:
    with public_session() as session:
        return auth.resolve(session, token, ip=ip)


class UploadGuardMiddleware:
    """Checks `POST /_upload` (see the module docstring); everything else passes through.

    `limit_for(handler_name)` is the largest file that handler accepts, in bytes, or None
    when it is not an upload handler (`app.state.uploads.upload_limit`).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit_for: Callable[[str], int | None],
        max_concurrent: int = MAX_CONCURRENT,
    ) -> None:
        self.app = app
        self.limit_for = limit_for
        self.max_concurrent = max_concurrent
        # Uploads in flight per session; one event loop per process, so no lock needed.
        self._in_flight: Counter[uuid.UUID] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != UPLOAD_PATH:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal, ctx, allowed = await self._check(scope, headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        assert ctx is not None
        key = ctx.session_id or ctx.user_id
        if self._in_flight[key] >= self.max_concurrent:
            busy = RateLimited("Wait for your other uploads to finish.")
            await _refuse(busy, 429)(scope, receive, send)
            return
        self._in_flight[key] += 1
        try:
            await _forward_at_most(self.app, allowed, scope, receive, send)
        finally:
            self._in_flight[key] -= 1
            if not self._in_flight[key]:
                del self._in_flight[key]

    async def _check(
        self, scope: Scope, headers: Headers
    ) -> tuple[JSONResponse | None, OrgContext | None, int]:
        """(refusal, None, 0), or (None, the session's context, the body limit in bytes)."""
        token = cookie_parser(headers.get("cookie", "")).get(get_settings().session_cookie_name)
        client = scope.get("client")
        ctx = (
            await anyio.to_thread.run_sync(_resolve, token, client[0] if client else "")
            if token
            else None
        )
        if ctx is None:
            return _refuse(Unauthenticated(), 401), None, 0
        name = headers.get("reflex-event-handler", "")
        limit = self.limit_for(name) if name and headers.get("reflex-client-token") else None
        if limit is None:
            return _refuse(ValidationFailed("Not an upload handler of this app."), 400), None, 0
        allowed = limit + MULTIPART_SLACK
        declared = headers.get("content-length")
        if declared is not None and not declared.isdigit():
            return _refuse(ValidationFailed("Content-Length is not a number."), 400), None, 0
        if declared is not None and int(declared) > allowed:
            return _refuse(_too_large(limit), 413), None, 0
        return None, ctx, allowed


def _too_large(limit: int) -> ValidationFailed:
    return ValidationFailed(f"The file is larger than {limit / (1024 * 1024):.3g} MB.")


async def _forward_at_most(
    app: ASGIApp, allowed: int, scope: Scope, receive: Receive, send: Send
) -> None:
    """Run `app` with a body cut off after `allowed` bytes (answered with 413 by us)."""
    received = 0
    cut = False  # the body crossed the limit: the inner app gets no more of it
    started = False  # the inner app has begun its response
    answered = False  # we answered 413 ourselves: the inner app's reply goes nowhere

    async def counted_receive() -> Message:
        nonlocal received, cut, answered
        if cut:
            return {"type": "http.disconnect"}
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > allowed:
                cut = True
                if not started:
                    answered = True
                    await _refuse(_too_large(allowed - MULTIPART_SLACK), 413)(scope, receive, send)
                # Reflex's parser treats this as a client that went away and stops reading.
                return {"type": "http.disconnect"}
        return message

    async def guarded_send(message: Message) -> None:
        nonlocal started
        if answered:
            return
        if message["type"] == "http.response.start":
            started = True
        await send(message)

    await app(scope, counted_receive, guarded_send)
