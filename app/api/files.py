"""`GET /files/{key}`: files from the storage interface, authorized by what each belongs to.

- `public/org/{org}/...` (logos, course covers): anyone, cacheable for a few minutes.
- `org/{org}/...`: by what the file belongs to, not only by org (`file_access.may_read_file`):
  a certificate's PDF to whoever may download that certificate, a lesson's media to whoever
  may open or preview that lesson, any other key to nobody. Everyone refused, signed in or
  not, gets the same 404 as for a missing file, so a key (a serial is on the public
  verification page) reveals nothing.

Local storage is served from disk by `FileResponse` (Range requests work, so video seeks).
With S3, public files are streamed through the app (small, stable cacheable URL, the S3
endpoint need not be reachable by browsers or mail clients), while private files get a 307
redirect to a presigned URL valid `s3_presign_seconds`: large files and video then go
straight from S3 to the browser with Range support, and the app still authorizes every
request. `GUILDHALL_S3_PROXY_DOWNLOADS=true` streams private files through instead, for
stores browsers cannot reach. Streamed means chunk by chunk (`Storage.stream`), never the
whole object in memory: a proxied 450 MB video costs the app a chunk, not 450 MB.
"""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import BaseRoute, Route

from app.api.session import request_context
from app.services.core.errors import NotFound, ServiceError
from app.services.core.tenancy import tenant_session
from app.services.files import access as file_access
from app.services.infra import storage
from app.settings import get_settings

PUBLIC_CACHE = "public, max-age=300"
PRIVATE_CACHE = "private, no-store"
STREAM_CHUNK = 256 * 1024
"""Bytes per chunk when a file is streamed through the app from S3."""

# Shown in the browser as they are; anything else is a download inside a CSP sandbox, so an
# uploaded HTML or SVG file can never run script on our origin.
INLINE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/webp",
        "image/gif",
        "application/pdf",
        "video/mp4",
        "video/webm",
        "audio/mpeg",
        "audio/ogg",
        "text/plain",
        "text/csv",
    }
)


def _not_found() -> JSONResponse:
    return JSONResponse(
        NotFound().as_json(), status_code=404, headers={"Cache-Control": "no-store"}
    )


def _headers(key: str, content_type: str, cache: str) -> dict[str, str]:
    headers = {"Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
    base_type = content_type.split(";", 1)[0].strip().lower()
    if base_type not in INLINE_TYPES:
        name = key.rsplit("/", 1)[-1]
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
        headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return headers


def _may_read(request: Request, key: str, scope: storage.KeyScope) -> bool:
    if scope.visibility == "public":
        return True
    try:
        ctx = request_context(request)
    except ServiceError:
        return False
    with tenant_session(ctx) as session:
        return file_access.may_read_file(session, ctx, key)


def serve_file(request: Request) -> Response:
    """Serve one stored file (sync: Starlette runs it in its thread pool)."""
    key = str(request.path_params.get("key", ""))
    scope = storage.key_scope(key)  # None for traversal, bad keys and unknown prefixes
    if scope is None or not _may_read(request, key, scope):
        return _not_found()
    cache = PUBLIC_CACHE if scope.visibility == "public" else PRIVATE_CACHE
    store = storage.get_storage()
    if isinstance(store, storage.LocalStorage):
        path = store.path_for(key)
        if not path.is_file():
            return _not_found()
        content_type = store.content_type(key)
        return FileResponse(
            path, media_type=content_type, headers=_headers(key, content_type, cache)
        )
    settings = get_settings()
    if scope.visibility == "private" and not settings.s3_proxy_downloads:
        if not store.exists(key):
            return _not_found()
        url = store.presigned_get(key, settings.s3_presign_seconds)
        if url:
            return RedirectResponse(url, status_code=307, headers={"Cache-Control": PRIVATE_CACHE})
    try:
        stream = store.stream(key, STREAM_CHUNK)
    except NotFound:
        return _not_found()
    headers = _headers(key, stream.content_type, cache)
    if stream.size is not None:
        headers["Content-Length"] = str(stream.size)
    if request.method == "HEAD":
        stream.close()
        return Response(None, media_type=stream.content_type, headers=headers)
    # Chunk by chunk from S3 to the client: memory stays at a chunk whatever the file's size.
    return StreamingResponse(
        stream,
        media_type=stream.content_type,
        headers=headers,
        background=BackgroundTask(stream.close),
    )


ROUTES: list[BaseRoute] = [Route("/files/{key:path}", serve_file, methods=["GET", "HEAD"])]
