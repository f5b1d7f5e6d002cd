"""The Content-Security-Policy of our pages, and the two things it is built from: the hashes
of the inline scripts in the compiled frontend, and the origin private files come from.

Each directive and what in the compiled Reflex app (`.web/build/client`) forces it:

- `script-src 'self'`: the route bundles under `/assets/` and `/player.js`.
- the `'sha256-...'` hashes: inline scripts of the prerendered pages (Reflex's theme script,
  React Router's `__reactRouterContext` and stream scripts, React's `$RC` streaming helpers,
  the per-route `<script type="module">` entry). Hashed at startup from the built pages,
  so no `'unsafe-inline'` for scripts.
- `'unsafe-eval'`: Reflex runs `rx.call_script` / `run_script` payloads with `eval` in the
  browser (our sign-in redirect, the sign-out form submit, `rx.clear_selected_files`).
- `style-src 'unsafe-inline'`: emotion (every `style=`/`css` prop of Reflex components) and
  sonner (toasts) insert `<style>` elements at run time, and the prerendered pages carry
  emotion's `<style data-emotion>` tags; none of them can take a nonce or a stable hash.
- `font-src data:`: KaTeX's stylesheet (Markdown) inlines a font as a data: URL.
- `img-src` / `media-src` / `frame-src`: our own `/files/...`, plus the S3 origin when private
  files are handed out as presigned redirects (lesson video, PDF in the player's iframe).
- `connect-src`: `/env.json`, `/_upload` and the socket.io websocket `/_event` of our origin.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from app.settings import Settings


def content_security_policy(
    *, origins: Sequence[str], script_hashes: Iterable[str], file_origins: Sequence[str]
) -> str:
    """The policy of our pages, served from `origins` (the first is the site itself)."""
    sockets = [("wss" if o.startswith("https:") else "ws") + o[o.index(":") :] for o in origins]
    files = list(file_origins)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'unsafe-eval'", *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *files],
        "media-src": ["'self'", "data:", "blob:", *files],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'", *sockets],
        "frame-src": ["'self'", *files],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def file_origins(settings: Settings) -> tuple[str, ...]:
    """Where the browser fetches private files from besides us: the S3 origin of presigned
    URLs (`app/api/files.py`), or nothing for local storage and proxied S3 downloads."""
    if not settings.s3_bucket or settings.s3_proxy_downloads:
        return ()
    if settings.s3_endpoint_url:  # path-style URLs on the configured endpoint
        parts = urlsplit(settings.s3_endpoint_url)
        return (f"{parts.scheme}://{parts.netloc}",)
    region = settings.s3_region
    if "." in settings.s3_bucket:  # not usable as a TLS host name: boto3 goes path-style
        return ("https://s3.amazonaws.com", f"https://s3.{region}.amazonaws.com")
    bucket = settings.s3_bucket
    return (f"https://{bucket}.s3.amazonaws.com", f"https://{bucket}.s3.{region}.amazonaws.com")


class _InlineScripts(HTMLParser):
    """Collects the text of every `<script>` without a `src`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.found: list[str] = []
        self._current: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and not any(name == "src" for name, _ in attrs):
            self._current = []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._current is not None:
            self.found.append("".join(self._current))
            self._current = None


def inline_script_hashes(pages_dir: Path) -> tuple[str, ...]:
    """The CSP sources (`'sha256-...'`) of every inline script in the built HTML pages under
    `pages_dir`, sorted; empty when nothing is built there (the dev server serves pages)."""
    hashes: set[str] = set()
    for page in sorted(pages_dir.rglob("*.html")) if pages_dir.is_dir() else ():
        parser = _InlineScripts()
        parser.feed(page.read_text(encoding="utf-8"))
        parser.close()
        for script in parser.found:
            digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest())
            hashes.add(f"'sha256-{digest.decode()}'")
    return tuple(sorted(hashes))
