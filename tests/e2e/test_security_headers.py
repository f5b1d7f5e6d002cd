"""The HTTP edge of the compiled app in Chromium: security headers on real pages, a
Content-Security-Policy the app really runs under, no framing by other sites, and an upload
endpoint that refuses strangers before it reads their body."""

from __future__ import annotations

import contextlib
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from app.models.course import LessonKind
from app.models.user import Role
from app.seed_media import demo_video
from app.services.infra import storage
from app.settings import get_settings
from app.state import uploads
from app.state.settings import SettingsState
from tests import factories as f
from tests import learning_factories as lf
from tests.e2e.conftest import PASSWORD, E2EApp, sign_in, unique_email, wait_ready

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

Services = Callable[[], contextlib.AbstractContextManager[None]]

# Reports every CSP violation of every page of the context to the test (across navigations).
_VIOLATION_PROBE = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__ghCspViolation({
    directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile,
    line: e.lineNumber, sample: e.sample, page: location.href,
  });
});
"""


class CspWatch:
    """Collects CSP violation events and the console's "Refused to ..." lines of a context."""

    def __init__(self, context: BrowserContext) -> None:
        self.violations: list[dict[str, Any]] = []
        self.refusals: list[str] = []
        context.expose_binding("__ghCspViolation", lambda _src, v: self.violations.append(v))
        context.add_init_script(_VIOLATION_PROBE)
        context.on("console", self._console)
        context.on("weberror", lambda e: self._text(str(e.error)))

    def _console(self, message: Any) -> None:
        self._text(message.text)

    def _text(self, text: str) -> None:
        if "Refused to" in text or "Content Security Policy" in text:
            self.refusals.append(text)

    def assert_clean(self) -> None:
        assert not self.violations, self.violations
        assert not self.refusals, self.refusals


def _assert_policy(headers: dict[str, str]) -> None:
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "'sha256-" in policy  # the inline scripts of the built pages are hashed
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert "camera=()" in headers["permissions-policy"]
    assert "strict-transport-security" not in headers  # served over plain http


def test_a_real_page_carries_the_security_headers(e2e_app: E2EApp) -> None:
    for path in ("/signin", "/admin/members", "/no-such-page"):
        response = httpx.get(f"{e2e_app.base_url}{path}", timeout=10, follow_redirects=True)
        assert response.status_code in (200, 404), (path, response.status_code)
        for hop in (*response.history, response):  # the static server's redirects too
            _assert_policy(dict(hop.headers))
    asset = httpx.get(f"{e2e_app.base_url}/player.js", timeout=10)
    assert asset.status_code == 200
    assert asset.headers["x-content-type-options"] == "nosniff"


def test_the_app_runs_under_its_policy(
    new_context: Callable[[], BrowserContext], app_services: Services
) -> None:
    """Sign-in, the dashboard, a video lesson and an admin upload: no CSP violation."""
    with app_services():
        admin = f.new_admin(kind="provider")
        learner = f.invite_and_accept_member(admin.ctx, Role.learner)
        course = lf.published_course(admin.ctx)
        video_id = course.by_kind[LessonKind.video]
        key = f"org/{admin.org_id}/courses/{course.course_id}/demo.webm"
        storage.get_storage().put(key, demo_video(20), "video/webm")
        lf.enrollment(learner.ctx, course)

    context = new_context()
    watch = CspWatch(context)
    page = context.new_page()
    first = page.goto("/signin")
    assert first is not None
    _assert_policy(first.headers)
    sign_in(page, learner.email, learner.password)  # waits for the dashboard
    page.goto(f"/learn/{course.course_id}/{video_id}")
    expect(page.locator("video#lesson-video")).to_be_visible()
    wait_ready(page)
    page.wait_for_function(
        "document.querySelector('#lesson-video').readyState >= 1", timeout=20_000
    )
    page.evaluate(
        "async () => { const v = document.querySelector('#lesson-video');"
        " v.muted = true; await v.play(); }"
    )
    page.wait_for_function(
        "document.querySelector('#lesson-video').currentTime >= 1", timeout=20_000
    )
    page.evaluate("document.querySelector('#lesson-video').pause()")
    watch.assert_clean()

    # An admin: the settings console and a CSV upload through the guarded /_upload.
    admin_context = new_context()
    admin_watch = CspWatch(admin_context)
    admin_page = admin_context.new_page()
    sign_in(admin_page, admin.email, PASSWORD)
    admin_page.goto("/admin/settings")
    expect(admin_page.locator("#cfg-color")).to_be_visible()
    admin_page.goto("/admin/members")
    expect(admin_page.locator("#member-import")).to_be_visible()
    wait_ready(admin_page)
    csv = f"email,full_name,role\n{unique_email('csp')},Cleo Csp,learner\n"
    admin_page.locator("#member-csv input[type=file]").set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    admin_page.click("#import-check")
    expect(admin_page.locator("#import-counts")).to_contain_text("1 rows ready")
    admin_watch.assert_clean()


def _framed_urls(page: Page) -> list[str]:
    """The URLs the page's child frames show (Chromium puts an error page in place of a
    refused one)."""
    return [frame.url for frame in page.frames if frame.parent_frame is not None]


def test_another_site_cannot_frame_an_admin_page(
    new_context: Callable[[], BrowserContext], e2e_app: E2EApp, app_services: Services
) -> None:
    with app_services():
        admin = f.new_admin()
    context = new_context()
    page = context.new_page()
    sign_in(page, admin.email, PASSWORD)
    target = f"{e2e_app.base_url}/admin/members"
    context.route(
        "http://evil.example/**",
        lambda route: route.fulfill(
            content_type="text/html",
            body=(
                f'<html><body><iframe id="victim" src="{target}"></iframe><script>'
                "document.getElementById('victim').onload = () => { window.__framed = true; };"
                "</script></body></html>"
            ),
        ),
    )
    page.goto("http://evil.example/clickjack")
    page.wait_for_function("window.__framed === true", timeout=20_000)
    framed = _framed_urls(page)
    # Refused, Chromium shows its own error page in the frame, never ours.
    assert framed and not any(url.startswith(e2e_app.base_url) for url in framed), framed
    for frame in page.frames:
        if frame.parent_frame is not None:
            assert frame.locator("#side-nav").count() == 0, "our page rendered inside the frame"


_PART_HEAD = (
    b"--x\r\n"
    b'Content-Disposition: form-data; name="files"; filename="logo.png"\r\n'
    b"Content-Type: image/png\r\n\r\n"
)


def _raw_upload(e2e_app: E2EApp, headers: dict[str, str], declared: int) -> tuple[int, float]:
    """Send an upload's head and the start of a `declared`-byte multipart body over a raw
    socket and read the status line: (status, seconds until it came). Unguarded, Reflex
    would sit reading (and spooling to disk) the rest of the body that never comes."""
    parts = urlsplit(e2e_app.base_url)
    head = [
        "POST /_upload HTTP/1.1",
        f"Host: {parts.netloc}",
        f"Origin: {e2e_app.base_url}",
        "Content-Type: multipart/form-data; boundary=x",
        f"Content-Length: {declared}",
        *(f"{k}: {v}" for k, v in headers.items()),
        "",
        "",
    ]
    started = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as s:
        s.sendall("\r\n".join(head).encode() + _PART_HEAD + b"\x89PNG" + b"x" * 1024)
        status_line = s.recv(200).split(b"\r\n", 1)[0].decode()
    return int(status_line.split()[1]), time.monotonic() - started


def test_an_upload_from_a_stranger_is_refused_before_its_body(
    e2e_app: E2EApp, app_services: Services
) -> None:
    handler = {
        "Reflex-Event-Handler": uploads.handler_name(SettingsState.upload_logo),
        "Reflex-Client-Token": str(uuid.uuid4()),
    }
    two_gb = 2 * 1024**3
    status, seconds = _raw_upload(e2e_app, handler, two_gb)
    assert status == 401
    assert seconds < 3

    with app_services():
        admin = f.new_admin()
        cookie = {"Cookie": f"{get_settings().session_cookie_name}={admin.token}"}
    status, seconds = _raw_upload(e2e_app, {**handler, **cookie}, two_gb)
    assert status == 413
    assert seconds < 3
